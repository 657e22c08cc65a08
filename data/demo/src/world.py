"""The fictional training world: entity families, their attributes, and the
wording that turns a fact into a knowledge sentence, a question and an answer.

Placeholders: {e} the entity's name, {v} the value. A sentence that starts with
{e} may have it replaced by the family's pronoun when it follows another sentence
about the same entity (multi-fact passages), so those sentences are written to
read well either way.

Every answer template contains {v} verbatim (the evaluation counts a hit when the
value appears in the reply) and contains none of the default bad words (no
questions back, no 不知道); build.py checks both.
"""

from dataclasses import dataclass, field
from . import pools as P


@dataclass
class Attr:
    key: str
    label: str              # noun phrase for "the passages do not say X" replies
    make: object            # (rng, world) -> value string
    sentences: list         # knowledge sentences
    questions: list         # question paraphrases
    answers: list           # answer templates
    absent_ok: bool = True  # usable for "the passages do not say" cases


@dataclass
class Family:
    key: str
    kind: str               # what it is, e.g. 小镇
    pronoun: str
    make_name: object       # (rng, taken:set) -> new unique name
    attrs: list = field(default_factory=list)
    intro: list = field(default_factory=list)   # first sentence of an encyclopedia paragraph


def _unique(rng, taken, gen):
    for _ in range(1000):
        n = gen()
        if n not in taken:
            taken.add(n)
            return n
    raise RuntimeError("name pool exhausted")


def place_stem(rng):
    a = rng.choice(P.PLACE_FIRST)
    b = rng.choice(P.PLACE_SECOND)
    return a + b if a != b else a + "石"


def town_name(rng, taken):
    return _unique(rng, taken, lambda: place_stem(rng) + rng.choice(P.TOWN_SUFFIX))


def person_name(rng, taken):
    def gen():
        g = rng.choice(P.GIVEN_CHARS)
        if rng.random() < 0.7:
            g += rng.choice(P.GIVEN_CHARS)
        return rng.choice(P.SURNAMES) + g
    return _unique(rng, taken, gen)


def company_name(rng, taken):
    return _unique(rng, taken, lambda: place_stem(rng) + rng.choice(P.COMPANY_KINDS) + rng.choice(P.COMPANY_SUFFIX))


def product_name(rng, taken):
    def gen():
        stem = rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST)
        return stem + rng.choice(["", "", "X", "S", "Pro", "mini"]) + str(rng.randint(1, 9)) + rng.choice(P.PRODUCT_KINDS)
    return _unique(rng, taken, gen)


def animal_name(rng, taken):
    return _unique(rng, taken, lambda: rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + rng.choice(P.ANIMAL_SUFFIX))


def plant_name(rng, taken):
    return _unique(rng, taken, lambda: rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + rng.choice(P.PLANT_SUFFIX))


def festival_name(rng, taken):
    return _unique(rng, taken, lambda: rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + "节")


def school_name(rng, taken):
    return _unique(rng, taken, lambda: place_stem(rng) + rng.choice(["中学", "小学", "学院", "艺术学校", "农业学校"]))


def planet_name(rng, taken):
    return _unique(rng, taken, lambda: rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + "星")


def ship_name(rng, taken):
    return _unique(rng, taken, lambda: rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + "号")


# --- value makers (rng, world) -> str ------------------------------------------------
def year(lo, hi):
    return lambda rng, w: f"{rng.randint(lo, hi)}年"


def pick(pool):
    return lambda rng, w: rng.choice(pool)


def other(family):
    """The name of an entity of another family (a hometown, a founder...)."""
    return lambda rng, w: rng.choice(w.names(family))


def location(rng, w):
    return rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + rng.choice(P.LANDMARK_WORDS) + rng.choice(P.POSITIONS)


def population(rng, w):
    if rng.random() < 0.5:
        return f"{rng.randint(2, 60)}万人"
    return f"{rng.randint(12, 98)}00多人"


def landmark(rng, w):
    return rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + rng.choice(P.LANDMARK_KINDS)


def river(rng, w):
    return rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_FIRST) + rng.choice(P.RIVER_SUFFIX)


def work_title(rng, w):
    a = rng.randrange(0, len(P.WORK_WORDS_A) - 1)
    return "《" + P.WORK_WORDS_A[a] + P.WORK_WORDS_A[a + 1] + rng.choice(P.WORK_WORDS_B) + "》"


def count(lo, hi, unit):
    return lambda rng, w: f"{rng.randint(lo, hi)}{unit}"


def price(rng, w):
    return f"{rng.randint(3, 199) * 10 - rng.choice([0, 1, 2])}元"


def festival_date(rng, w):
    if rng.random() < 0.5:
        return f"农历{rng.choice('正二三四五六七八九十')}月{rng.choice(['初', '十', '廿'])}{rng.choice('一二三四五六七八九')}"
    return f"每年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def motto(rng, w):
    a, b = rng.sample(P.MOTTO_WORDS, 2)
    return a + b


def season_month(rng, w):
    return f"{rng.randint(1, 12)}月"


def day_length(rng, w):
    return f"{rng.randint(9, 90)}小时"


FAMILIES = [
    Family("town", "小镇", "它", town_name, intro=["{e}是南方的一个小地方。", "{e}是一个依山傍水的地方。", "{e}不大，却很有名气。"], attrs=[
        Attr("location", "地理位置", location,
             ["{e}位于{v}。", "{e}坐落在{v}，四周都是农田。", "从地图上看，{e}就在{v}。", "{e}地处{v}，交通还算方便。"],
             ["{e}在哪里？", "{e}位于什么地方？", "{e}的地理位置是哪儿？", "请问{e}在什么位置？", "{e}坐落在哪里呀？", "谁知道{e}在哪一带？", "想去{e}，它在哪儿？"],
             ["{e}位于{v}。", "它在{v}，是个好地方。", "资料上说，{e}就在{v}。", "{e}坐落在{v}。", "根据资料，它在{v}一带。"]),
        Attr("specialty", "特产", pick(P.SPECIALTIES),
             ["{e}的特产是{v}。", "{e}盛产{v}，远近闻名。", "说起{e}，人们首先想到的是当地的{v}。", "{v}是{e}最有名的特产。"],
             ["{e}的特产是什么？", "{e}有什么特产？", "去{e}该带点什么特产回来？", "{e}盛产什么？", "{e}出名的土特产是啥？", "{e}有什么好吃的或好玩的特产吗？"],
             ["{e}最有名的特产是{v}。", "当地出名的是{v}，可以带点回来。", "资料里说那儿盛产{v}。", "那里的特产是{v}，很受欢迎。", "{v}就是当地最有名的特产。"]),
        Attr("population", "人口", population,
             ["{e}的人口约为{v}。", "{e}现在住着{v}。", "据统计，{e}共有{v}。"],
             ["{e}有多少人口？", "{e}住了多少人？", "{e}的人口是多少？", "{e}大概有多少居民？", "{e}人口多不多？"],
             ["{e}大约有{v}。", "那里住着{v}左右。", "根据资料，{e}的人口约为{v}。", "统计下来，当地共有{v}。"]),
        Attr("founded", "建镇年份", year(1400, 1990),
             ["{e}建于{v}。", "{e}始建于{v}，至今保留着不少老房子。", "早在{v}，{e}就已经有人定居。"],
             ["{e}是哪一年建的？", "{e}建于什么时候？", "{e}有多少年历史了？", "{e}最早是什么时候建成的？", "{e}始建于哪年？"],
             ["{e}始建于{v}。", "它是{v}建起来的。", "资料显示，{e}建于{v}。", "早在{v}，这里就建成了。"]),
        Attr("landmark", "著名景点", landmark,
             ["{e}最有名的景点是{v}。", "来{e}的游客大多会去看看{v}。", "{e}的{v}已有好几百年历史。"],
             ["{e}有什么景点？", "去{e}玩，哪里值得看？", "{e}最出名的景点是什么？", "{e}有什么好玩的地方？", "到了{e}应该去看什么？"],
             ["{e}最有名的景点是{v}。", "到了那里，一定要去看看{v}。", "推荐去{v}，那是当地最出名的景点。", "资料里说游客大多会去{v}。"]),
        Attr("river", "河流", river,
             ["{e}旁边流过一条{v}。", "{v}从{e}穿镇而过。", "{e}依着{v}而建。"],
             ["{e}附近有什么河？", "流过{e}的是哪条河？", "{e}旁边是什么河？", "{e}靠着哪条河？"],
             ["流过{e}的是{v}。", "那里靠着{v}。", "资料说{v}从那里穿过。", "{e}依着{v}，风景很好。"]),
    ]),
    Family("person", "人物", "{p}", person_name, intro=["{e}是故事里的一位人物。", "{e}是当地人常常提起的一个人。"], attrs=[
        Attr("birth_year", "出生年份", year(1930, 2005),
             ["{e}生于{v}。", "{e}出生在{v}的春天。", "{e}是{v}出生的。"],
             ["{e}是哪一年出生的？", "{e}生于哪年？", "{e}出生在什么年份？", "{e}哪年生的？", "{e}的出生年份是多少？", "{e}是什么时候出生的？"],
             ["{e}出生于{v}。", "{p}是{v}出生的。", "资料显示，{e}生于{v}。", "根据资料，{p}生于{v}。"]),
        Attr("hometown", "家乡", other("town"),
             ["{e}的老家在{v}。", "{e}来自{v}。", "{e}在{v}长大。"],
             ["{e}是哪里人？", "{e}的家乡在哪儿？", "{e}老家是哪里的？", "{e}来自什么地方？", "{e}是在哪儿长大的？"],
             ["{e}的家乡是{v}。", "{p}来自{v}。", "资料里说{p}是{v}人。", "{e}是在{v}长大的。"]),
        Attr("job", "职业", pick(P.JOBS),
             ["{e}是一名{v}。", "{e}做了三十年{v}。", "{e}的职业是{v}。"],
             ["{e}是做什么的？", "{e}的职业是什么？", "{e}从事什么工作？", "{e}干哪一行？", "{e}以什么为生？"],
             ["{e}是一名{v}。", "{p}的职业是{v}。", "资料显示{p}是{v}。", "{p}做的是{v}这一行。"]),
        Attr("hobby", "爱好", pick(P.HOBBIES),
             ["{e}平时喜欢{v}。", "{e}最大的爱好是{v}。", "闲下来的时候，{e}总爱{v}。"],
             ["{e}有什么爱好？", "{e}平时喜欢做什么？", "{e}业余时间干什么？", "{e}的兴趣爱好是啥？", "{e}闲下来爱干什么？"],
             ["{e}最大的爱好是{v}。", "{p}平时喜欢{v}。", "资料里说{p}一有空就{v}。", "{p}的爱好是{v}。"]),
        Attr("work", "代表作", work_title,
             ["{e}的代表作是{v}。", "{e}写过一本{v}，很受欢迎。", "{v}是{e}最有名的作品。"],
             ["{e}的代表作是什么？", "{e}有什么有名的作品？", "{e}写过什么书？", "{e}最出名的作品叫什么？"],
             ["{e}的代表作是{v}。", "{p}最有名的作品是{v}。", "资料里提到{p}写过{v}。", "说到{p}的作品，最出名的是{v}。"]),
    ]),
    Family("company", "公司", "它", company_name, intro=["{e}是一家{k}。", "{e}是一家规模不大的{k}。"], attrs=[
        Attr("founded", "成立年份", year(1950, 2020),
             ["{e}成立于{v}。", "{e}创办于{v}。", "{e}是{v}成立的。"],
             ["{e}是哪年成立的？", "{e}成立多久了？", "{e}创办于什么时候？", "{e}是什么时候成立的？"],
             ["{e}成立于{v}。", "它是{v}创办的。", "资料显示这家公司成立于{v}。", "根据资料，它创办于{v}。"]),
        Attr("founder", "创始人", other("person"),
             ["{e}由{v}创办。", "{e}的创始人是{v}。", "{v}一手创办了{e}。"],
             ["{e}的创始人是谁？", "谁创办了{e}？", "{e}是谁建立的？", "{e}的老板最早是谁？"],
             ["{e}的创始人是{v}。", "这家公司是{v}创办的。", "资料里说是{v}一手创办的。", "创办它的人是{v}。"]),
        Attr("hq", "总部所在地", other("town"),
             ["{e}的总部设在{v}。", "{e}总部位于{v}。", "{e}把总部放在了{v}。"],
             ["{e}的总部在哪里？", "{e}总部设在什么地方？", "{e}在哪儿办公？", "{e}是哪里的公司？"],
             ["{e}的总部设在{v}。", "它的总部在{v}。", "资料显示总部位于{v}。", "这家公司把总部放在{v}。"]),
        Attr("product", "主要产品", pick(P.PRODUCT_KINDS),
             ["{e}主要生产{v}。", "{e}最出名的产品是{v}。", "{e}靠做{v}起家。"],
             ["{e}是做什么的？", "{e}生产什么？", "{e}的主要产品是什么？", "{e}卖什么东西？"],
             ["{e}主要生产{v}。", "它最出名的产品是{v}。", "资料里说这家公司靠做{v}起家。", "他们主要做{v}。"]),
        Attr("employees", "员工人数", count(12, 4800, "名员工"),
             ["{e}现在有{v}。", "{e}目前共有{v}。", "{e}的规模不小，有{v}。"],
             ["{e}有多少员工？", "{e}有多少人？", "{e}规模多大？", "{e}员工多不多？"],
             ["{e}目前有{v}。", "它现在共有{v}。", "根据资料，这家公司有{v}。"]),
    ]),
    Family("product", "产品", "它", product_name, intro=["{e}是一款{k}。", "{e}是一款很受欢迎的{k}。"], attrs=[
        Attr("maker", "生产厂家", other("company"),
             ["{e}由{v}生产。", "{e}是{v}的产品。", "{v}推出了{e}。"],
             ["{e}是哪家公司生产的？", "{e}是谁家的产品？", "{e}的厂家是哪个？", "谁生产的{e}？"],
             ["{e}由{v}生产。", "它是{v}的产品。", "资料显示厂家是{v}。", "这款产品出自{v}。"]),
        Attr("price", "价格", price,
             ["{e}售价{v}。", "{e}的价格是{v}。", "{e}卖{v}一台。"],
             ["{e}多少钱？", "{e}卖多少钱？", "{e}的价格是多少？", "{e}贵不贵？", "买一台{e}要多少钱？"],
             ["{e}售价{v}。", "它的价格是{v}。", "资料里写着卖{v}。", "一台要{v}。"]),
        Attr("colour", "颜色", pick(P.COLOURS),
             ["{e}的外壳是{v}的。", "{e}只有{v}一种颜色。", "{e}通体{v}，很好认。"],
             ["{e}是什么颜色的？", "{e}有哪些颜色？", "{e}外观是什么颜色？", "{e}长什么颜色？"],
             ["{e}是{v}的。", "它只有{v}这一种颜色。", "资料说它的外壳是{v}。", "它通体{v}，很好认。"]),
        Attr("released", "上市年份", year(1990, 2023),
             ["{e}于{v}上市。", "{e}是{v}推出的。", "{e}在{v}开始发售。"],
             ["{e}是哪年上市的？", "{e}什么时候推出的？", "{e}出了多久了？", "{e}哪一年开始卖的？"],
             ["{e}于{v}上市。", "它是{v}推出的。", "资料显示它在{v}开始发售。"]),
        Attr("feature", "特点", pick(P.FEATURES),
             ["{e}最大的特点是{v}。", "{e}{v}，很受欢迎。", "很多人买{e}，是因为它{v}。"],
             ["{e}有什么特点？", "{e}好在哪里？", "{e}有什么特别的功能？", "为什么大家喜欢{e}？"],
             ["{e}最大的特点是{v}。", "它的特点是{v}。", "资料里说它{v}。", "大家喜欢它，主要因为它{v}。"]),
    ]),
    Family("animal", "动物", "它", animal_name, intro=["{e}是一种少见的{k}。", "{e}是一种{k}。"], attrs=[
        Attr("habitat", "栖息地", pick(P.HABITATS),
             ["{e}生活在{v}。", "{e}多栖息于{v}。", "在{v}常能见到{e}。"],
             ["{e}生活在哪里？", "{e}住在什么地方？", "{e}的栖息地是哪儿？", "在哪里能看到{e}？"],
             ["{e}生活在{v}。", "它们多栖息在{v}。", "资料说在{v}常能见到它。"]),
        Attr("food", "食物", pick(P.FOODS_ANIMAL),
             ["{e}以{v}为食。", "{e}最爱吃{v}。", "{e}主要吃{v}。"],
             ["{e}吃什么？", "{e}以什么为食？", "{e}爱吃啥？", "{e}平时吃些什么？"],
             ["{e}主要以{v}为食。", "它们最爱吃{v}。", "资料说它们主要吃{v}。"]),
        Attr("colour", "颜色", pick(P.COLOURS),
             ["{e}的羽毛或皮毛是{v}的。", "{e}全身{v}。", "{e}背上长着{v}的花纹。"],
             ["{e}是什么颜色的？", "{e}长什么颜色？", "{e}身上是什么颜色？"],
             ["{e}是{v}的。", "它们全身{v}，很好认。", "资料里说它身上是{v}。"]),
        Attr("lifespan", "寿命", count(2, 60, "年"),
             ["{e}能活{v}左右。", "{e}的寿命约为{v}。", "{e}一般可以活{v}。"],
             ["{e}能活多久？", "{e}的寿命有多长？", "{e}一般活多少年？"],
             ["{e}一般能活{v}左右。", "它们的寿命约为{v}。", "资料显示它能活{v}。"]),
    ]),
    Family("plant", "植物", "它", plant_name, intro=["{e}是一种{k}。", "{e}是山里常见的{k}。"], attrs=[
        Attr("bloom", "花期", pick(P.SEASONS),
             ["{e}在{v}开花。", "每到{v}，{e}就开满枝头。", "{e}的花期在{v}。"],
             ["{e}什么时候开花？", "{e}的花期是什么时候？", "{e}几月开花？", "想看{e}开花，该什么时候去？"],
             ["{e}在{v}开花。", "它的花期在{v}。", "资料说每到{v}它就开满枝头。"]),
        Attr("flower_colour", "花的颜色", pick(P.COLOURS),
             ["{e}开{v}的花。", "{e}的花是{v}的。", "{e}的花朵呈{v}。"],
             ["{e}开什么颜色的花？", "{e}的花是什么颜色？", "{e}花朵是啥颜色？"],
             ["{e}开{v}的花。", "它的花是{v}的。", "资料里说它的花朵呈{v}。"]),
        Attr("use", "用途", pick(P.PLANT_USES),
             ["{e}可以用来{v}。", "当地人常拿{e}{v}。", "{e}最大的用处是{v}。"],
             ["{e}有什么用？", "{e}能用来做什么？", "{e}的用途是什么？", "{e}可以拿来干嘛？"],
             ["{e}可以用来{v}。", "它最大的用处是{v}。", "资料说当地人常拿它{v}。"]),
        Attr("height", "高度", count(10, 900, "厘米"),
             ["{e}能长到{v}高。", "{e}一般高{v}左右。", "成熟的{e}约有{v}高。"],
             ["{e}能长多高？", "{e}有多高？", "{e}一般长到多高？"],
             ["{e}一般能长到{v}高。", "它大约有{v}高。", "资料显示成熟的{e}约{v}高。"]),
    ]),
    Family("festival", "节日", "它", festival_name, intro=["{e}是一个传统{k}。", "{e}是当地人最看重的{k}。"], attrs=[
        Attr("date", "日期", festival_date,
             ["{e}在{v}。", "{e}定在{v}。", "每逢{v}，人们都过{e}。"],
             ["{e}是哪天？", "{e}在什么时候？", "{e}是几月几号？", "什么时候过{e}？"],
             ["{e}在{v}。", "这个节日定在{v}。", "资料说每逢{v}过这个节。"]),
        Attr("custom", "习俗", pick(P.FESTIVAL_CUSTOMS),
             ["{e}的习俗是{v}。", "过{e}时，人们会{v}。", "{v}是{e}最热闹的习俗。"],
             ["{e}有什么习俗？", "过{e}的时候大家做什么？", "{e}有哪些活动？", "{e}怎么过？"],
             ["{e}的习俗是{v}。", "过这个节时，人们会{v}。", "资料里说最热闹的习俗是{v}。"]),
        Attr("food", "节日食物", pick(P.FESTIVAL_FOODS),
             ["过{e}要吃{v}。", "{e}的节日食物是{v}。", "{e}那天家家都做{v}。"],
             ["{e}吃什么？", "过{e}要吃什么？", "{e}有什么传统食物？", "{e}那天吃啥？"],
             ["过这个节要吃{v}。", "{e}的传统食物是{v}。", "资料说那天家家都做{v}。"]),
        Attr("origin", "发源地", other("town"),
             ["{e}起源于{v}。", "{e}最早流行于{v}。", "{e}是从{v}传开的。"],
             ["{e}起源于哪里？", "{e}是从哪儿传开的？", "{e}的发源地是哪里？"],
             ["{e}起源于{v}。", "这个节日是从{v}传开的。", "资料显示它的发源地是{v}。"]),
    ]),
    Family("school", "学校", "它", school_name, intro=["{e}是一所{k}。", "{e}是一所历史悠久的{k}。"], attrs=[
        Attr("founded", "建校年份", year(1900, 2015),
             ["{e}创办于{v}。", "{e}建校于{v}。", "{e}是{v}建起来的。"],
             ["{e}是哪年建校的？", "{e}创办于什么时候？", "{e}有多少年历史？", "{e}建校多久了？"],
             ["{e}创办于{v}。", "这所学校建于{v}。", "资料显示它是{v}建校的。"]),
        Attr("principal", "校长", other("person"),
             ["{e}的校长是{v}。", "{v}担任{e}的校长。", "现任校长{v}在{e}工作了很多年。"],
             ["{e}的校长是谁？", "谁是{e}的校长？", "{e}现在谁当校长？"],
             ["{e}的校长是{v}。", "现在由{v}担任校长。", "资料里说校长是{v}。"]),
        Attr("motto", "校训", motto,
             ["{e}的校训是“{v}”。", "{e}一直以“{v}”为校训。"],
             ["{e}的校训是什么？", "{e}有校训吗？", "{e}的校训怎么说？"],
             ["{e}的校训是“{v}”。", "这所学校以“{v}”为校训。", "资料显示校训是“{v}”。"]),
        Attr("mascot", "吉祥物", pick(P.MASCOTS),
             ["{e}的吉祥物是{v}。", "{e}选了{v}当吉祥物。"],
             ["{e}的吉祥物是什么？", "{e}有吉祥物吗？", "{e}用什么当吉祥物？"],
             ["{e}的吉祥物是{v}。", "他们选了{v}当吉祥物。", "资料里说吉祥物是{v}。"]),
        Attr("students", "学生人数", count(80, 6000, "名学生"),
             ["{e}现有{v}。", "{e}一共有{v}。"],
             ["{e}有多少学生？", "{e}学生多不多？", "{e}有多少人在读？"],
             ["{e}现有{v}。", "这所学校一共有{v}。", "资料显示在读的有{v}。"]),
    ]),
    Family("planet", "行星", "它", planet_name, intro=["{e}是科幻故事里的一颗{k}。", "{e}是一颗遥远的{k}。"], attrs=[
        Attr("star", "绕行的恒星", pick(P.STAR_NAMES),
             ["{e}围绕{v}运行。", "{e}是{v}的一颗行星。"],
             ["{e}绕着哪颗恒星转？", "{e}属于哪个星系？", "{e}围绕什么运行？"],
             ["{e}围绕{v}运行。", "它是{v}的一颗行星。", "资料说它绕着{v}转。"]),
        Attr("moons", "卫星数量", count(1, 30, "颗卫星"),
             ["{e}有{v}。", "{e}身边环绕着{v}。"],
             ["{e}有几颗卫星？", "{e}有多少颗卫星？", "{e}有卫星吗？"],
             ["{e}有{v}。", "它身边环绕着{v}。", "资料显示它有{v}。"]),
        Attr("colour", "颜色", pick(P.COLOURS),
             ["远远望去，{e}是{v}的。", "{e}的表面呈{v}。"],
             ["{e}是什么颜色的？", "{e}看起来是什么颜色？", "{e}表面什么颜色？"],
             ["{e}的表面呈{v}。", "远远望去它是{v}的。", "资料说它看起来是{v}。"]),
        Attr("day", "一天的长度", day_length,
             ["{e}上的一天有{v}。", "{e}自转一圈要{v}。"],
             ["{e}一天有多长？", "{e}自转一圈要多久？", "{e}上的一天是多少小时？"],
             ["{e}上的一天有{v}。", "它自转一圈要{v}。", "资料显示那里的一天长{v}。"]),
    ]),
    Family("ship", "飞船", "它", ship_name, intro=["{e}是一艘{k}。", "{e}是故事里的一艘{k}。"], attrs=[
        Attr("captain", "船长", other("person"),
             ["{e}的船长是{v}。", "{v}担任{e}的船长。"],
             ["{e}的船长是谁？", "谁指挥{e}？", "{e}由谁当船长？"],
             ["{e}的船长是{v}。", "由{v}担任船长。", "资料里说指挥它的是{v}。"]),
        Attr("launch", "发射年份", year(2030, 2199),
             ["{e}于{v}发射。", "{e}在{v}升空。"],
             ["{e}是哪年发射的？", "{e}什么时候升空的？", "{e}的发射时间是？"],
             ["{e}于{v}发射。", "它在{v}升空。", "资料显示发射时间是{v}。"]),
        Attr("destination", "目的地", pick(P.DESTINATIONS),
             ["{e}的目的地是{v}。", "{e}正飞往{v}。"],
             ["{e}要去哪里？", "{e}的目的地是哪儿？", "{e}飞往什么地方？"],
             ["{e}的目的地是{v}。", "它正飞往{v}。", "资料说它要去{v}。"]),
        Attr("crew", "船员人数", count(3, 120, "名船员"),
             ["{e}上有{v}。", "{e}载着{v}。"],
             ["{e}上有多少人？", "{e}有多少船员？", "{e}载了几个人？"],
             ["{e}上有{v}。", "它载着{v}。", "资料显示船上有{v}。"]),
    ]),
]

FAMILY_BY_KEY = {f.key: f for f in FAMILIES}


class World:
    """Entities of every family with one value per attribute, built in family order
    (towns before the people born there, people before the companies they found)."""

    def __init__(self, rng, per_family):
        self.entities = {}      # family key -> list of (name, {attr key: value})
        taken = set()
        for fam in FAMILIES:
            rows = []
            for _ in range(per_family):
                name = fam.make_name(rng, taken)
                rows.append((name, {}))
            self.entities[fam.key] = rows
        # Values after all names exist, so cross-family references resolve.
        for fam in FAMILIES:
            for name, facts in self.entities[fam.key]:
                for a in fam.attrs:
                    v = a.make(rng, self)
                    facts[a.key] = v

    def names(self, family_key):
        return [n for n, _ in self.entities[family_key]]
