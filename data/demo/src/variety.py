"""Variety for the `sft_fresh_*` files: values invented for each example and wider
wording, so that the reply's value can come only from the request.

Why (data/demo/train/RUNS.md, model-10 and model-11): in the main mix every world
entity keeps its attribute values across many examples and documents, and the
persona and memory values come from short fixed pools. A 10M model then recalls
answers from names instead of copying them, and on the held-out set (new names,
new values, other wording) it has nothing to recall. Here every value is drawn
afresh (many of them composed from characters, so that most occur once), and
questions and statements get openers and tails the templates do not have.
"""

from . import memory as M
from . import personas as PS
from . import pools as P

# --- wording ------------------------------------------------------------------------------
OPENERS = ["", "", "", "", "诶，", "话说，", "对了，", "请问，", "我想问问，", "问一下，", "嗯，", "那个，",
           "哎，", "顺便问下，", "好奇问一句，", "说起来，", "我问你啊，"]


def vary_question(rng, q):
    """An opener before the question (never two: the templates have none)."""
    return rng.choice(OPENERS) + q


# Recall questions: a noun phrase for the fact and frames around it.
RECALL_NOUNS = {
    "name": ["我的名字", "我叫什么", "我叫啥", "我的全名", "我怎么称呼"],
    "city": ["我住的城市", "我住在哪儿", "我在哪座城市", "我家在哪个地方", "我生活的地方"],
    "job": ["我的工作", "我是干什么的", "我做哪一行", "我的职业", "我上的什么班"],
    "pet": ["我家{k}的名字", "我的{k}叫什么", "我养的那{m}{k}叫啥", "我那{m}{k}的名字"],
    "food": ["我最爱吃的东西", "我最爱吃什么", "我最馋的吃的", "我最喜欢的食物", "我爱吃的那样东西"],
    "birthday": ["我的生日", "我哪天过生日", "我是哪天出生的", "我生日的日子"],
    "major": ["我的专业", "我学的什么专业", "我读的是啥", "我大学念的专业"],
    "hobby": ["我的爱好", "我平时喜欢干啥", "我业余喜欢做的事", "我最大的兴趣"],
    "colour": ["我最喜欢的颜色", "我喜欢哪种颜色", "我最中意的颜色", "我偏爱的颜色"],
}
RECALL_FRAMES = ["你还记得{n}吗？", "{n}，你还记得吗？", "{n}，你还有印象吗？", "{n}来着？", "{n}是什么来着？",
                 "我跟你说过{n}，还记得吗？", "你能说出{n}吗？", "帮我回忆一下{n}。", "{n}，你记得不？",
                 "考考你，{n}？", "{n}，你应该没忘吧？", "还记得{n}不？", "我前面提过{n}，你记住了吗？",
                 "{n}你能想起来吗？", "你记没记住{n}？"]

# Statement openers and tails around the value's clause.
STATEMENT_OPENERS = ["", "", "", "嗨，", "对了，", "跟你说，", "先说一下，", "顺便说一句，", "说起来，", "你好，",
                     "我先介绍下自己，", "哈哈，"]
STATEMENT_TAILS = ["", "", "", "，这个你记一下。", "，好多年了。", "，朋友们都知道。", "，说来话长。",
                   "，你可以记住哦。", "，挺有意思的吧。", "，一直都是这样。", "，以后多聊。"]

# Extra statement wordings per kind (the main mix's templates stay as they are).
EXTRA_STATEMENTS = {
    "name": ["我是{v}。", "我的全名是{v}。", "大家都叫我{v}。", "我名叫{v}。", "你好，我是{v}。"],
    "city": ["我人在{v}。", "我一直生活在{v}。", "我现在定居在{v}。", "我在{v}住了快十年。"],
    "job": ["我在做{v}。", "我的职业是{v}。", "我干的是{v}这一行。", "我现在是{v}，经常加班。"],
    "pet": ["我家有{m}{k}，我叫它{v}。", "我的{k}名叫{v}。", "我养着一{m}{k}，我叫它{v}。", "我给家里的{k}起名{v}。"],
    "food": ["我最馋{v}了。", "我的最爱是{v}。", "我每周都要吃{v}。", "我一想到{v}就饿了。"],
    "birthday": ["我在{v}过生日。", "我的生日在{v}。", "我出生在{v}。"],
    "major": ["我读的专业是{v}。", "我在学校念{v}。", "我学了四年{v}。"],
    "hobby": ["我业余最喜欢{v}。", "我一有空就{v}。", "我的兴趣是{v}。"],
    "colour": ["我偏爱{v}。", "我最中意{v}。", "我的东西大多是{v}的。"],
}

# --- values ---------------------------------------------------------------------------------
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方", "慕容", "令狐", "皇甫", "公孙", "南宫", "夏侯", "长孙"]
GIVEN_WIDE = list("明华建国立志文海春晓雪丽静敏婷芳燕军伟强磊洋勇杰涛超斌鹏浩宇轩然欣怡佳琪子思梦雨晨阳亮平安宁和"
                  "秀兰玉云霞航远博达诚德乐嘉慧颖彤萱妍婉满默舒言溪楠鹿星泽凯雯飞樱月刚琪龙舟晴瑶桐松竹梅"
                  "朗清岚川若书墨之逸辰瑾瑜琳珊蕾薇芸苒菲荷莲槐柏枫杉岩峰屿汐澜沫涵淇湘沅渝锦绣绮缨韵笙箫"
                  "琴瑟歌吟诗词曦昕昊旭晗暄烨炎焕煜耀彦彬斐朔望晏昭曜景晋恒恺悦怡忻忱慈惠贤俊杰豪骏驰")
PET_CHARS = list("豆团咪旺毛球花黑白黄布丁乐雪奶糖糕圆饺薯橘芒皮点妞胖宝兜福豹栗卷咕噜芋冬瓜桃梨枣莓果"
                 "米粒麦芽葱蒜椒酥饼丸虎妮壮嘟哈滚蛋仔乖萌甜")
FOOD_STEMS = ["蟹黄", "鲜肉", "荠菜", "韭菜", "虾仁", "牛肉", "羊肉", "酸辣", "麻辣", "红油", "酱香", "葱油", "桂花",
              "芝麻", "红豆", "绿豆", "椰汁", "酒酿", "糯米", "香菇", "番茄", "芋头", "南瓜", "板栗", "玉米"]
FOOD_KINDS = ["汤包", "馄饨", "米粉", "凉皮", "炒饭", "粥", "糕", "烧饼", "面", "饺子", "包子", "圆子", "酥",
              "春卷", "锅贴", "粉丝", "煎饺", "米糕", "汤圆", "拌面"]
JOB_STEMS = ["调香", "调酒", "园林", "灯光", "钢琴调音", "潜水", "烘焙", "动画", "陶艺", "珠宝", "插画", "音响",
             "宠物美容", "造型", "橱窗", "茶艺", "营养", "数据", "地图", "古籍修复"]
JOB_KINDS = ["师", "设计师", "工程师", "顾问", "技师", "员"]
HOBBY_VERBS = ["做", "养", "收集", "拼", "画", "折", "编", "雕", "种", "修"]
HOBBY_THINGS = ["陶笛", "多肉", "旧邮票", "模型飞机", "水彩", "纸船", "手链", "木头小人", "薄荷", "老式收音机",
                "风筝", "香囊", "竹篮", "蜡烛", "盆景", "书签", "剪纸", "沙画", "星空图", "贝壳"]
COLOUR_STEMS = ["墨", "湖", "藕", "杏", "鹅", "豆", "苔", "雾", "霞", "米", "砖", "烟", "银", "松", "石"]
COLOUR_KINDS = ["蓝色", "绿色", "粉色", "黄色", "灰色", "红色", "紫色", "白色", "青色"]
MAJOR_STEMS = ["天体", "古生物", "博物馆", "海洋", "园艺", "考古", "声学", "气象", "材料", "地质", "统计", "人类",
               "动画", "食品", "环境", "航海", "舞蹈", "戏剧", "档案", "测绘"]
MAJOR_KINDS = ["学", "物理", "工程", "科学", "设计", "管理"]
CN_DIGITS = "零一二三四五六七八九"


def chinese_number(n):
    """A non-negative integer below 100000 in Chinese numerals (十七, 三百零五, 一千零二十)."""
    if n == 0:
        return "零"
    units = [(10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")]
    out, zero = "", False
    for size, name in units:
        d, n = divmod(n, size)
        if d:
            if zero and out:
                out += "零"
            out += ("" if (size == 10 and not out and d == 1) else CN_DIGITS[d]) + name
            zero = False
        elif out:
            zero = True
    return out


def person_name(rng):
    r = rng.random()
    if r < 0.12:
        surname = rng.choice(COMPOUND_SURNAMES)
    else:
        surname = rng.choice(PS.SURNAMES)
    if rng.random() < 0.15:
        return rng.choice(["小", "阿"]) + rng.choice(GIVEN_WIDE)
    given = "".join(rng.choice(GIVEN_WIDE) for _ in range(1 if rng.random() < 0.35 else 2))
    return surname + given


def pet_name(rng):
    a = rng.choice(PET_CHARS)
    r = rng.random()
    if r < 0.3:
        return a + a
    if r < 0.4:
        return "小" + a
    return a + rng.choice(PET_CHARS)


def either(rng, pool, composed, share=0.6):
    """A composed value with probability `share`, else one from the fixed pool."""
    return composed() if rng.random() < share else rng.choice(pool)


def food(rng):
    return either(rng, PS.FOODS, lambda: rng.choice(FOOD_STEMS) + rng.choice(FOOD_KINDS))


def job(rng):
    return either(rng, PS.JOBS, lambda: rng.choice(JOB_STEMS) + rng.choice(JOB_KINDS))


def hobby(rng):
    return either(rng, PS.HOBBIES, lambda: rng.choice(HOBBY_VERBS) + rng.choice(HOBBY_THINGS))


def colour(rng):
    return rng.choice(COLOUR_STEMS) + rng.choice(COLOUR_KINDS) if rng.random() < 0.6 else rng.choice(P.COLOURS)


def city(rng):
    return either(rng, PS.CITIES, lambda: rng.choice(P.PLACE_FIRST) + rng.choice(P.PLACE_SECOND), share=0.5)


def major(rng):
    return rng.choice(MAJOR_STEMS) + rng.choice(MAJOR_KINDS)


def birthday(rng):
    return f"{rng.randint(1, 12)}月{rng.randint(1, 31 if rng.random() < 0.5 else 28)}日"


MEMORY_VALUES = {
    "name": lambda rng: {"v": person_name(rng)},
    "city": lambda rng: {"v": city(rng)},
    "job": lambda rng: {"v": job(rng)},
    "pet": lambda rng: dict(zip(("k", "m"), rng.choice(M.PET_KINDS)), v=pet_name(rng)),
    "food": lambda rng: {"v": food(rng)},
    "birthday": lambda rng: {"v": birthday(rng)},
    "major": lambda rng: {"v": major(rng)},
    "hobby": lambda rng: {"v": hobby(rng)},
    "colour": lambda rng: {"v": colour(rng)},
}


# Persona questions built from parts (sft_persona_wide.jsonl): a frame per attribute
# with the addressee ({s}: 你 or 您) and a sentence ending, so that one attribute is
# asked in hundreds of ways rather than the fifteen of the fixed lists. Written for this
# project; the held-out set's wordings were left out on purpose (eval/heldout.jsonl
# measures wordings the model has not seen).
WIDE_PERSONA_FRAMES = {
    "name": ["{s}的名字是啥", "{s}叫什么名字", "{s}的全名是什么", "怎么称呼{s}比较好", "{s}名叫什么",
             "我该叫{s}什么", "可以知道{s}的名字吗", "{s}的名字叫什么来着", "跟我说说{s}的名字", "{s}姓什么叫什么",
             "大家都管{s}叫什么", "{s}的姓名是什么", "认识一下，{s}叫啥", "{s}是哪位", "我还不知道{s}的名字",
             "{s}的名字怎么念"],
    "age": ["{s}今年多大岁数", "{s}多大年纪了", "{s}现在几岁", "{s}年纪有多大", "{s}有多大了", "{s}今年是多少岁",
            "问一下{s}的年纪", "{s}的岁数是多少", "{s}到底多大了", "{s}看着挺年轻，今年几岁", "{s}满多少岁了",
            "{s}今年几岁了", "{s}的年龄是几岁"],
    "job": ["{s}从事什么职业", "{s}的职业是啥", "{s}是干哪行的", "{s}平常做什么工作", "{s}干的是什么活",
            "{s}的饭碗是什么", "{s}是做啥工作的", "{s}每天忙什么工作", "{s}的本行是什么", "{s}做的是哪种工作",
            "{s}在哪一行干活", "{s}是干什么工作的", "{s}的工作是啥", "{s}上班干些什么"],
    "city": ["{s}住在哪个城市", "{s}在哪儿住", "{s}家在什么地方", "{s}现在人在哪座城市", "{s}在哪座城市落脚",
             "{s}定居在哪儿", "{s}待在什么城市", "{s}生活的城市是哪个", "{s}住哪儿", "{s}现在住在什么地方",
             "{s}的住处在哪个城市", "{s}平时住在哪里"],
    "hobby": ["{s}平时喜欢做点什么", "{s}有什么业余爱好", "{s}空闲时都做些什么", "{s}的爱好是啥", "{s}喜欢干嘛",
              "{s}周末都怎么过", "{s}有什么喜好", "{s}的消遣是什么", "{s}平时怎么打发时间", "{s}最喜欢的活动是什么",
              "不上班的时候{s}做什么", "{s}休息时爱干点啥", "{s}最大的爱好是什么"],
    "food": ["{s}最喜欢吃什么", "{s}爱吃啥", "{s}最爱的美食是什么", "{s}最想吃哪种东西", "{s}有没有特别爱吃的",
             "{s}平时最馋什么", "哪种美食是{s}的最爱", "{s}偏爱哪种吃的", "{s}最中意的食物是什么", "说说{s}爱吃的东西",
             "{s}吃东西最喜欢哪样", "要是请{s}吃饭，{s}想吃什么"],
    "personality": ["{s}的性子怎么样", "{s}是怎样性格的人", "{s}脾气好不好", "{s}是个什么脾气的人",
                    "说说{s}的性格", "{s}的为人怎么样"],
}
WIDE_PERSONA_ENDINGS = ["？", "？", "？", "呀？", "呢？", "啊？"]


def wide_persona_question(rng, attr):
    """A persona question about `attr` from WIDE_PERSONA_FRAMES, with an opener."""
    frame = rng.choice(WIDE_PERSONA_FRAMES[attr])
    addressee = "您" if rng.random() < 0.25 else "你"
    body = frame.replace("{s}", addressee)
    ending = "？" if body.endswith(("吗", "来着")) else rng.choice(WIDE_PERSONA_ENDINGS)
    if body.startswith(("说说", "跟我说说", "问一下", "认识一下", "我还不知道", "要是")):
        # A request rather than a question, unless a question word is in it.
        ending = "？" if any(w in body for w in ("吗", "什么", "啥", "哪", "几")) else "。"
    return vary_question(rng, body + ending)


def persona(rng):
    """A persona invented for one example, with wider values than personas.synthesize."""
    age = rng.randint(8, 80)
    return {"name": person_name(rng), "gender": rng.choice("男女"),
            "age": chinese_number(age) if rng.random() < 0.5 else str(age),
            "job": job(rng), "city": city(rng), "hobby": hobby(rng), "food": food(rng),
            "personality": rng.choice(PS.PERSONALITIES), "style": rng.choice(PS.STYLES), "extras": []}

# More ways to ask a persona question (the fresh files add them to personas.QUESTIONS).
EXTRA_PERSONA_QUESTIONS = {
    "name": ["请问你贵姓？", "你的名字怎么写？", "大家平时怎么叫你？", "我要怎么称呼你才好？", "你全名叫啥？",
             "能报一下名字吗？", "该喊你什么？"],
    "age": ["你多少岁数了？", "你今年几岁了呀？", "你年纪多大？", "能问问你的年龄吗？", "你今年多少岁？"],
    "job": ["你是靠什么吃饭的？", "你的工作是干啥的？", "你在哪一行做事？", "你每天的工作是什么？",
            "你是做哪行的？", "你的本职工作是什么？"],
    "city": ["你家住哪座城市？", "你目前住在什么地方？", "你在哪个地方生活？", "你常待在哪个城市？",
             "你住的城市叫什么？"],
    "hobby": ["你有空的时候干点啥？", "你平常有什么消遣？", "你喜欢玩些什么？", "你有什么兴趣？",
              "下班以后你爱做什么？"],
    "food": ["你嘴馋的时候想吃啥？", "哪样吃的你最喜欢？", "你最喜欢哪种吃的？", "什么东西你百吃不厌？",
             "你最想吃的是什么？"],
    "personality": ["你脾气怎么样？", "朋友们说你是什么性格？", "你的个性如何？"],
}
