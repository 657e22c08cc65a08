"""User memory: the user states facts about themselves, talks about other things,
then asks the bot to recall one fact.

Statements keep the value in a clause that contains 我, because the pipeline's
dynamic user profile (long-term memory) keeps exactly such clauses (split on
。！；？，), turning 我 into 你. Recall answers never repeat a long stretch of the
user's own words (the no-repeat session would ban it at inference).
"""

from . import personas as PS

NAMES_SURNAME = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许沈彭吕苏蒋蔡丁魏叶杜夏钟汪田任姜范方石谭廖熊陆孔白崔康毛邱秦江史顾侯孟段雷钱汤尹易常武乔贺文")
NAMES_GIVEN = list("明华建国立志文海春晓雪丽静敏婷芳燕军伟强磊洋勇杰涛超斌鹏浩宇轩然欣怡佳琪子思梦雨晨阳亮平安宁和秀兰玉云霞航远博达诚德乐嘉慧颖彤萱妍")
PET_KINDS = [("猫", "只"), ("狗", "条"), ("仓鼠", "只"), ("兔子", "只"), ("鹦鹉", "只"), ("乌龟", "只"), ("金鱼", "条")]
PET_NAMES = ["豆豆", "团子", "咪咪", "旺财", "毛毛", "球球", "花花", "小黑", "小白", "大黄", "布丁", "可乐", "雪球",
             "奶茶", "年糕", "汤圆", "饺子", "土豆", "橘子", "芒果", "皮皮", "乐乐", "点点", "妞妞", "胖胖", "元宝",
             "麦兜", "糖糖", "阿福", "豹豹"]
MAJORS = ["计算机", "中文", "数学", "物理", "化学", "历史", "法律", "医学", "会计", "英语", "建筑", "新闻",
          "心理学", "生物", "机械工程", "美术", "音乐", "经济学", "农学", "哲学"]
COLOURS = ["红色", "蓝色", "绿色", "黄色", "紫色", "白色", "黑色", "粉色", "橙色", "灰色"]


def birthday(rng):
    return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def person_name(rng):
    g = rng.choice(NAMES_GIVEN)
    if rng.random() < 0.75:
        g += rng.choice(NAMES_GIVEN)
    return rng.choice(NAMES_SURNAME) + g


# kind -> (value maker, statements, recall questions, answers). In statements {v} is the
# value and {k}/{m} the pet kind and its measure word; answers use the same fields.
FACTS = {
    "name": (
        lambda rng: {"v": person_name(rng)},
        ["我叫{v}。", "忘了说，我叫{v}。", "我的名字是{v}，很高兴认识你。", "你好呀，我叫{v}。", "先自我介绍一下，我叫{v}。"],
        ["你还记得我叫什么吗？", "我叫什么名字来着？", "你知道我的名字吗？", "还记得我的名字吗？", "考考你，我叫啥？",
         "我刚才说我叫什么来着？", "你记得我是谁吗？"],
        ["当然记得，你叫{v}。", "你是{v}呀，我没忘。", "记得呀，你的名字是{v}。", "你叫{v}，刚才你告诉过我的。"]),
    "city": (
        lambda rng: {"v": rng.choice(PS.CITIES)},
        ["我住在{v}。", "我现在在{v}生活。", "我家在{v}，住了好多年了。", "我在{v}上班，平时挺忙的。"],
        ["你还记得我住在哪儿吗？", "我住在哪个城市来着？", "你记得我在哪座城市吗？", "我刚说我住哪里？",
         "考考你，我家在哪个城市？"],
        ["你住在{v}呀。", "记得，你在{v}生活。", "你说过你家在{v}。", "你在{v}，这个我记着呢。"]),
    "job": (
        lambda rng: {"v": rng.choice(PS.JOBS)},
        ["我是一名{v}。", "我的工作是{v}，每天都挺忙。", "我现在当{v}，已经三年了。", "我是做{v}的。"],
        ["你还记得我是做什么的吗？", "我的职业是什么来着？", "我刚才说我做什么工作？", "你记得我干哪一行吗？"],
        ["你是一名{v}呀。", "记得，你的工作是{v}。", "你说过你当{v}，挺辛苦的。", "你是做{v}的，我记得。"]),
    "pet": (
        lambda rng: dict(zip(("k", "m"), rng.choice(PET_KINDS)), v=rng.choice(PET_NAMES)),
        ["我养了一{m}{k}，我叫它{v}。", "我家的{k}叫{v}，特别可爱。", "我有一{m}{k}，我给它起名叫{v}。", "我养的{k}名叫{v}。"],
        ["你还记得我的{k}叫什么吗？", "我家{k}叫啥来着？", "我养的{k}叫什么名字？", "考考你，我的{k}叫什么？",
         "我那{m}{k}的名字你记得吗？"],
        ["你的{k}叫{v}呀。", "记得，它叫{v}。", "是{v}，这个名字很好听。", "你家那{m}{k}叫{v}，我没忘。"]),
    "food": (
        lambda rng: {"v": rng.choice(PS.FOODS)},
        ["我最爱吃{v}。", "我特别喜欢吃{v}，一周能吃好几次。", "说到吃的，我最喜欢{v}。", "我从小就爱吃{v}。"],
        ["你还记得我最爱吃什么吗？", "我最喜欢吃的是什么来着？", "你记得我爱吃啥吗？", "考考你，我最爱的食物是什么？"],
        ["你最爱吃{v}。", "记得，你特别喜欢{v}。", "是{v}呀，你说过的。", "你爱吃{v}，下次可以去吃一顿。"]),
    "birthday": (
        lambda rng: {"v": birthday(rng)},
        ["我的生日是{v}。", "我是{v}出生的。", "我生日在{v}，快到了。", "每年{v}是我的生日。"],
        ["你还记得我的生日吗？", "我生日是哪天来着？", "我是哪天出生的，你记得吗？", "考考你，我生日是几号？"],
        ["你的生日是{v}。", "记得，你是{v}出生的。", "是{v}，到时候祝你生日快乐。", "你生日在{v}，我记住了。"]),
    "major": (
        lambda rng: {"v": rng.choice(MAJORS)},
        ["我大学学的是{v}。", "我的专业是{v}。", "我是学{v}的。", "我在大学读{v}专业。"],
        ["你还记得我学的什么专业吗？", "我的专业是什么来着？", "我大学学的啥？", "你记得我是学什么的吗？"],
        ["你学的是{v}。", "记得，你的专业是{v}。", "你是学{v}的呀。", "你大学读的{v}专业。"]),
    "hobby": (
        lambda rng: {"v": rng.choice(PS.HOBBIES)},
        ["我平时喜欢{v}。", "我的爱好是{v}。", "我周末一般会去{v}。", "我最近迷上了{v}。"],
        ["你还记得我的爱好是什么吗？", "我平时喜欢干什么来着？", "我说过我喜欢做什么？", "考考你，我有什么爱好？"],
        ["你喜欢{v}，这个我记得。", "记得，你的爱好是{v}。", "你说过你平时爱{v}。", "你的爱好是{v}呀。"]),
    "colour": (
        lambda rng: {"v": rng.choice(COLOURS)},
        ["我最喜欢{v}。", "我最喜欢的颜色是{v}。", "我的衣服大多是{v}的，我喜欢这个颜色。"],
        ["你还记得我最喜欢什么颜色吗？", "我喜欢的颜色是哪个来着？", "考考你，我最爱什么颜色？"],
        ["你最喜欢{v}。", "记得，你喜欢{v}。", "是{v}，你说过的。"]),
}

# Answers when the user profile (not the history) holds the fact.
PROFILE_FACTS = {
    "name": "我叫{v}", "city": "我住在{v}", "job": "我是一名{v}", "pet": "我的{k}叫{v}", "food": "我最爱吃{v}",
    "birthday": "我的生日是{v}", "major": "我的专业是{v}", "hobby": "我喜欢{v}", "colour": "我最喜欢{v}",
}
PROFILE_QUESTIONS = {
    "name": ["你知道我叫什么吗？", "我的名字是什么？", "你记得我叫啥吗？"],
    "city": ["你知道我住在哪儿吗？", "我是在哪个城市来着？"],
    "job": ["你知道我是做什么的吗？", "我的工作是什么？"],
    "pet": ["你知道我的{k}叫什么吗？", "我的{k}叫啥？"],
    "food": ["你知道我最爱吃什么吗？", "我最喜欢吃啥？"],
    "birthday": ["你知道我的生日吗？", "我生日是哪天？"],
    "major": ["你知道我学的什么专业吗？", "我是学什么的？"],
    "hobby": ["你知道我的爱好吗？", "我平时爱干啥？"],
    "colour": ["你知道我喜欢什么颜色吗？", "我最爱什么颜色？"],
}

# When the user asks about a fact they never stated.
NEVER_SAID = {
    "name": "你好像还没告诉过我你的名字，可以说给我听听。",
    "city": "你还没跟我说过你住的城市，我可不能乱猜。",
    "job": "你还没跟我说过你的工作，我记不起来了。",
    "pet": "你还没跟我提过你家{k}的名字，说给我听听吧。",
    "food": "你还没说过你最爱吃的东西，我很想知道。",
    "birthday": "你还没告诉过我你的生日，说一下我帮你记着。",
    "major": "你还没提过你学的专业，我记不起来了。",
    "hobby": "你还没说过你的爱好，我很好奇。",
    "colour": "你还没说过你喜欢的颜色，我可不敢乱说。",
}
