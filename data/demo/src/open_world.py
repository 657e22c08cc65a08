"""Open-world knowledge questions: shops, workshops, bridges, hills, islands, lamps...
of many kinds, each with a handful of relations worded in many shapes, numbers often
in Chinese numerals, and several passages about the same entity (its opening hours
beside its address) so that the question's relation, not only its name, picks the
sentence. Every entity and value is invented for its example.

Why: the world families of world.py have a fixed set of attributes with one
sentence shape each; a question about a kind or relation they lack (a tea house's
address, how many masters a paper workshop has) has no template to lean on. Here
the shapes vary more than the families do, so the model has to read the sentence.
All text written by us.
"""

from . import variety as V

NAME_CHARS = list("青雪月松竹兰芷蓉萱棠桐楠杉柏枫梧榆柳桂菱荷蕙茵芸苓璃瑶琳瑛璇珂珊翠碧岚晴曦晨暮"
                  "云霞虹烟雾溪涧泉潭湾渚洲屿峦岫崖禾稷麦粟桑梓杏梨桃李橙柚")
KINDS = {
    # kind word -> relations that fit it
    "茶馆": ["where", "owner", "opens", "famous", "count_seat", "founded"],
    "书店": ["where", "owner", "opens", "famous", "count_book", "founded"],
    "面馆": ["where", "owner", "opens", "famous", "price", "count_seat"],
    "豆腐坊": ["where", "founder", "count_master", "famous", "founded"],
    "裁缝铺": ["where", "founder", "famous", "count_master", "founded"],
    "钟表铺": ["where", "owner", "famous", "opens", "price"],
    "花圃": ["where", "famous", "opens", "closed", "area", "founded"],
    "博物馆": ["where", "famous", "opens", "closed", "count_item", "founded"],
    "石桥": ["where", "builder", "length", "material", "founded"],
    "古塔": ["where", "builder", "height", "material", "founded"],
    "山": ["height", "best_time", "famous", "name_from", "way"],
    "岛": ["way", "famous", "area", "best_time", "count_people"],
    "湖": ["where", "famous", "area", "best_time", "name_from"],
    "号": ["captain", "launched", "maker"],
    "台灯": ["price", "maker", "colour", "feature", "launched"],
    "剧团": ["where", "founder", "famous", "count_people", "founded"],
}
SPACE_KINDS = {"号"}

PLACES_A = ["巷", "街", "路", "桥", "坊", "弄"]
PLACES_B = ["的东头", "的西头", "口", "中段", "拐角", "北口", "南口"]
LANDMARKS = ["火车站", "老码头", "钟楼", "菜市场", "城隍庙", "长途汽车站", "体育馆", "邮局", "老戏台"]
TIMES = ["早上六点", "早上七点半", "上午八点", "上午九点", "上午十点", "中午十二点", "下午一点", "下午两点",
         "下午三点", "傍晚五点", "晚上六点"]
WEEKDAYS = ["每周一", "每周二", "每周三", "每周四", "每月初一", "每月十五"]
MONTH_PARTS = ["上旬", "中旬", "下旬", "初", "底"]
SEASON_WORDS = ["春末", "初夏", "盛夏", "初秋", "深秋", "冬天", "早春", "梅雨季之前", "入冬以前"]
FAMOUS_THINGS = ["桂花乌龙", "一把百年的紫砂壶", "桑皮纸", "豆瓣酱", "一棵两人合抱的樟树", "一口明代的铜钟",
                 "雪菜肉丝面", "一套宋版书", "会发光的蘑菇", "一面绣满荷花的屏风", "松烟墨", "鹅黄色的杜鹃",
                 "青花瓷盘", "竹根雕", "红油抄手", "古法红糖", "一块陨石", "野生的兰花", "清晨的云海", "成群的白鹭"]
MATERIALS = ["灰砖", "青石", "红砂岩", "汉白玉", "楠木", "花岗岩", "竹子", "夯土"]
SHAPES = ["像一只茶壶", "像一枚橄榄", "像一条鱼", "像一只展翅的鸟", "像一根银针", "像一个圆盘"]
FEATURES = ["光线可以调七档", "能自己感应亮度", "夹在床头也稳", "灯罩可以折起来", "充一次电用一个月"]
WAYS = ["坐早晚两趟的客船", "走一条三里长的栈道", "坐缆车", "搭村里的拖拉机", "从北坡的石阶爬上去", "划小船过去"]
NAME_ORIGINS = ["山腰上的一片野杏林", "水面上常有的晨雾", "山脚下的一座老庙", "一位古代的诗人",
                "岸边成片的芦苇", "山形像一只卧着的老虎"]
WHO = ["女士", "老先生", "年轻人", "老师傅", "退休教师", "木匠"]


def number(rng, lo, hi):
    n = rng.randint(lo, hi)
    return V.chinese_number(n) if rng.random() < 0.6 else str(n)


def name(rng, kind):
    stem = rng.choice(NAME_CHARS) + rng.choice(NAME_CHARS)
    if kind in SPACE_KINDS:
        return stem + "号"
    if kind == "台灯":
        return stem + rng.choice("QXSZ") + str(rng.randint(1, 9)) + kind
    return stem + kind


def person(rng):
    return V.person_name(rng)


# relation -> (value maker, sentences, questions, answers). {e} entity, {v} value,
# {w} who-word for people relations.
RELATIONS = {
    "where": (lambda rng: rng.choice([
        lambda: rng.choice(V.GIVEN_WIDE) + rng.choice("花槐柳杏桃梅") + rng.choice(PLACES_A) + rng.choice(PLACES_B),
        lambda: rng.choice(LANDMARKS) + rng.choice(["对面", "旁边", "后面", "斜对面", "东边"]),
    ])(),
        ["{e}开在{v}。", "{e}就在{v}，很好找。", "{e}位于{v}，门前种着一排竹子。", "要找{e}，就去{v}。"],
        ["{e}在哪儿？", "{e}的店面在哪儿？", "{e}的地址是哪里？", "去{e}该往哪儿走？", "{e}在哪个地方？"],
        ["{e}开在{v}。", "它就在{v}。", "资料说{e}位于{v}。", "去{v}就能找到它。"]),
    "owner": (lambda rng: person(rng),
        ["{e}的店主是{w}{v}。", "{e}由{v}经营。", "{v}是{e}的店主。", "{e}的主人叫{v}。"],
        ["{e}的老板是谁？", "{e}是谁在经营？", "{e}的店主叫什么？", "谁开的{e}？"],
        ["{e}的老板是{v}。", "经营它的是{v}。", "资料说店主叫{v}。"]),
    "founder": (lambda rng: person(rng),
        ["{e}最早是{w}{v}办的。", "{e}由{v}创办。", "{v}一手办起了{e}。"],
        ["{e}是谁开的？", "{e}的创办人是谁？", "谁办起了{e}？"],
        ["{e}是{v}办起来的。", "创办它的是{v}。", "资料说是{v}开的。"]),
    "builder": (lambda rng: person(rng),
        ["{e}由{v}主持修建。", "当年是{v}修了{e}。", "{e}的修建者是{w}{v}。"],
        ["{e}是谁修的？", "谁主持修建了{e}？", "{e}的修建者是谁？"],
        ["{e}是{v}带人修的。", "主持修建的是{v}。", "资料说当年是{v}修了它。"]),
    "captain": (lambda rng: person(rng),
        ["{e}的船长叫{v}。", "指挥{e}的是{v}。"],
        ["{e}的船长是谁？", "谁在指挥{e}？"],
        ["{e}的船长是{v}。", "指挥它的是{v}。"]),
    "opens": (lambda rng: rng.choice(TIMES),
        ["{e}{v}开门迎客。", "{e}{v}开始营业，到晚上九点打烊。", "每天到了{v}，{e}才开门。"],
        ["{e}几点开门？", "{e}什么时候开始营业？", "{e}每天啥时候开门？"],
        ["{e}{v}开门。", "它{v}开始营业。", "资料说{v}才开门。"]),
    "closed": (lambda rng: rng.choice(WEEKDAYS),
        ["{e}逢{v}闭馆。", "{e}在{v}休息。"],
        ["{e}哪天不开门？", "{e}什么时候闭馆？", "{e}哪天休息？"],
        ["{e}{v}闭馆。", "它在{v}休息。", "资料说{v}不开放。"]),
    "famous": (lambda rng: rng.choice(FAMOUS_THINGS),
        ["{e}最出名的是{v}。", "说起{e}，人们都会提到{v}。", "{e}最值得一看的是{v}。"],
        ["{e}最有名的是什么？", "{e}有什么宝贝？", "{e}最出名的东西是啥？", "去{e}该看点什么？"],
        ["{e}最出名的是{v}。", "最值得一看的是{v}。", "资料说人们都会提到{v}。"]),
    "count_seat": (lambda rng: number(rng, 12, 260) + "个座位",
        ["{e}里有{v}。", "{e}一共摆着{v}。"],
        ["{e}有多少座位？", "{e}能坐多少人？", "{e}有几个座位？"],
        ["{e}有{v}。", "那里一共{v}。"]),
    "count_book": (lambda rng: number(rng, 800, 40000) + "本书",
        ["{e}里摆着{v}。", "{e}的架子上有{v}。"],
        ["{e}有多少书？", "{e}里的书多不多？"],
        ["{e}有{v}。", "资料说那里摆着{v}。"]),
    "count_master": (lambda rng: number(rng, 3, 40) + rng.choice(["位师傅", "个工人", "名匠人"]),
        ["{e}雇了{v}。", "在{e}干活的有{v}。"],
        ["{e}雇了多少人？", "{e}有几位师傅？"],
        ["{e}雇了{v}。", "一共{v}。", "资料说在那里干活的有{v}。"]),
    "count_item": (lambda rng: number(rng, 200, 9000) + "件藏品",
        ["{e}收藏了{v}。", "{e}里有{v}。"],
        ["{e}有多少藏品？", "{e}收了多少件东西？"],
        ["{e}收藏了{v}。", "那里有{v}。"]),
    "count_people": (lambda rng: number(rng, 5, 900) + "个人",
        ["{e}上生活着{v}。", "{e}上有{v}。"],
        ["{e}上住了多少人？", "{e}上有多少个人？"],
        ["{e}上生活着{v}。", "一共{v}。"]),
    "founded": (lambda rng: f"{rng.randint(1600, 2015)}年",
        ["{e}创办于{v}。", "{e}是{v}开起来的。", "{e}建于{v}。"],
        ["{e}是哪年开的？", "{e}有多少年历史？", "{e}是什么时候建的？"],
        ["{e}创办于{v}。", "它是{v}开起来的。", "资料说建于{v}。"]),
    "launched": (lambda rng: f"{rng.randint(1990, 2190)}年",
        ["{e}于{v}推出。", "{e}在{v}第一次亮相。"],
        ["{e}是哪年出的？", "{e}什么时候推出的？"],
        ["{e}于{v}推出。", "它在{v}第一次亮相。"]),
    "price": (lambda rng: number(rng, 9, 2999) + "元",
        ["{e}卖{v}。", "{e}在店里标价{v}。", "{e}的价格是{v}。"],
        ["{e}多少钱？", "{e}卖多少钱？"],
        ["{e}卖{v}。", "它的价格是{v}。", "资料说要{v}。"]),
    "area": (lambda rng: number(rng, 2, 900) + rng.choice(["亩", "公顷", "平方公里"]),
        ["{e}占地{v}。", "{e}的面积有{v}。"],
        ["{e}有多大？", "{e}的面积是多少？", "{e}占地多少？"],
        ["{e}占地{v}。", "它的面积有{v}。"]),
    "height": (lambda rng: number(rng, 12, 6000) + "米",
        ["{e}高{v}。", "{e}的最高处有{v}。", "{e}足有{v}高。"],
        ["{e}有多高？", "{e}海拔多少？", "{e}高多少米？"],
        ["{e}高{v}。", "它有{v}高。", "资料说它高{v}。"]),
    "length": (lambda rng: number(rng, 8, 900) + "米",
        ["{e}从头到尾有{v}。", "{e}有{v}长。"],
        ["{e}有多长？", "{e}长多少米？"],
        ["{e}有{v}长。", "它从头到尾有{v}。"]),
    "material": (lambda rng: rng.choice(MATERIALS),
        ["{e}整座用{v}建成。", "{e}全部用{v}建造。"],
        ["{e}是用什么建的？", "{e}用的什么材料？"],
        ["{e}是用{v}建的。", "它整座用{v}建成。"]),
    "best_time": (lambda rng: rng.choice([lambda: f"{V.chinese_number(rng.randint(1, 12))}月{rng.choice(MONTH_PARTS)}",
                                           lambda: rng.choice(SEASON_WORDS)])(),
        ["{v}去{e}，风景最好。", "{v}是去{e}最好的时候。", "想去{e}的话，{v}最合适。"],
        ["什么时候去{e}最好？", "{e}什么季节去好？"],
        ["{v}去{e}最好。", "{v}去最合适。", "资料说{v}是最好的时候。"]),
    "name_from": (lambda rng: rng.choice(NAME_ORIGINS),
        ["{e}的名字来自{v}。", "{e}这个名字因{v}而起。"],
        ["{e}的名字是怎么来的？", "{e}为什么叫这个名字？"],
        ["{e}的名字来自{v}。", "这个名字因{v}而起。"]),
    "way": (lambda rng: rng.choice(WAYS),
        ["去{e}一般要{v}。", "要上{e}，得{v}。"],
        ["怎么去{e}？", "{e}要怎么上去？", "去{e}坐什么？"],
        ["去{e}一般要{v}。", "得{v}才能到。"]),
    "shape": (lambda rng: rng.choice(SHAPES),
        ["从远处看，{e}{v}。", "{e}{v}。"],
        ["{e}长什么样？", "{e}是什么形状？"],
        ["从远处看，{e}{v}。", "它{v}。"]),
    "maker": (lambda rng: rng.choice(NAME_CHARS) + rng.choice(NAME_CHARS) + rng.choice(["电器", "灯具", "工坊"]),
        ["{e}是{v}做的。", "{e}出自{v}。"],
        ["{e}是哪家做的？", "{e}是谁家的？"],
        ["{e}是{v}做的。", "它出自{v}。"]),
    "colour": (lambda rng: V.colour(rng),
        ["{e}是{v}的。", "{e}的灯罩是{v}。"],
        ["{e}是什么颜色？", "{e}什么颜色的？"],
        ["{e}是{v}的。", "它的灯罩是{v}。"]),
    "feature": (lambda rng: rng.choice(FEATURES),
        ["{e}最大的好处是{v}。", "{e}{v}，很受欢迎。"],
        ["{e}有什么特点？", "{e}好在哪？"],
        ["{e}最大的好处是{v}。", "它{v}。"]),
}


def sentence(rng, ent, rel):
    t = rng.choice(RELATIONS[rel][1])
    return t.format(e=ent["name"], v=ent[rel], w=rng.choice(WHO))


def entity(rng, kind=None):
    kind = kind or rng.choice(sorted(KINDS))
    ent = {"kind": kind, "name": name(rng, kind)}
    for rel in KINDS[kind]:
        ent[rel] = RELATIONS[rel][0](rng)
    return ent


def draw(rng):
    """(entity, asked relation, question, passages): the gold passage (the asked
    relation, sometimes with a second), 0-2 passages of other relations of the same
    entity, 1-3 of other entities, shuffled."""
    ent = entity(rng)
    rels = KINDS[ent["kind"]]
    rel = rng.choice(rels)
    others = [r for r in rels if r != rel]
    gold = sentence(rng, ent, rel)
    if rng.random() < 0.3:
        extra = sentence(rng, ent, rng.choice(others))
        gold = gold + extra if rng.random() < 0.5 else extra + gold
    know = [gold]
    for r in rng.sample(others, rng.randint(0, min(2, len(others)))):
        know.append(sentence(rng, ent, r))
    for _ in range(rng.randint(1, 3)):
        o = entity(rng)
        know.append(sentence(rng, o, rng.choice(KINDS[o["kind"]])))
    rng.shuffle(know)
    q = V.vary_question(rng, rng.choice(RELATIONS[rel][2]).format(e=ent["name"]))
    return ent, rel, q, know
