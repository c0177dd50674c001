"""Word lists of the synthetic township: names, places, schools and the words clerks write.

Kept as data, apart from the logic, so a reader can see at a glance what the sheets may hold.
Every string here must encode in GBK: one census is written as a GBK CSV.
"""

from __future__ import annotations

# Surnames, most common first (the generator weights them by rank).
SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余杜叶程魏"
    "苏吕丁任沈姚卢姜钟谭陆汪范金石廖贾夏付方白邹熊秦江尹薛段雷侯龙史陶贺顾毛郝龚邵万严向汤"
)
BOY_CHARS = "浩宇轩睿博子涵俊杰晨泽明昊宏鑫磊阳诚伟一豪锦峰煜成然鹏毅志亮航天乐嘉凯晟斌恒哲勇坤龙文彬翔皓"
GIRL_CHARS = "欣怡梓涵雨萱思佳可雅静诗妍淑婷月琪琳蕾馨茜悦瑶颖梦倩芳璐依紫晴慧洁甜彤菲若娜蓉丽语心"
MAN_CHARS = "明建国军平强伟勇林华成东刚波峰忠德福贵荣生学志云祥兵永红金海"
WOMAN_CHARS = "英兰秀玲芳琴桂凤霞丽燕梅艳萍娟红翠莲云丹巧春小华"

# Villages after the town's own community (<town stem>社区); the first one also names the
# second primary school (后柳 + 中坝 → 后柳中坝小学).
VILLAGES = (
    "中坝村", "永红村", "长兴村", "喜河村", "兴坪村", "黄荆坝村", "梧桐村",
    "磨石村", "金星村", "双河村", "红岩村", "青龙村", "新联村", "建华村",
)
COUNTY = "石泉县"
REGION = "610922"  # GB/T 2260 code of 石泉县: the first six digits of every child's ID

# Schools outside the town, by level (外出就读 children, 已完成义务教育 youths, special schools).
OUTSIDE_PRIMARY = (
    "石泉县城关第一小学", "石泉县城关第二小学", "石泉县江南小学", "汉阴县城关第一小学",
    "安康市汉滨区新城小学", "西安市长安区第一小学", "西安市未央区第三小学",
)
OUTSIDE_MIDDLE = (
    "石泉县城关中学", "石泉县江南中学", "石泉县池河中学", "汉阴县城关中学",
    "安康市汉滨区江北中学", "西安市长安区第二中学", "西安市未央区第三中学",
)
HIGH_SCHOOLS = ("石泉中学", "石泉中学", "安康中学")
VOCATIONAL_SCHOOL = "石泉县职业教育中心"
SPECIAL_SCHOOLS = ("石泉县特殊教育学校", "安康市特殊教育学校")
MOVE_DESTINATIONS = ("西安市", "江苏省苏州市", "浙江省宁波市", "安康市汉滨区", "广东省东莞市")

# (relation to the child, weight, guardian is a man, shares the child's surname)
RELATIONS = (
    ("父亲", 430, True, True), ("母亲", 310, False, False), ("祖母", 100, False, False),
    ("祖父", 75, True, True), ("外祖母", 35, False, False), ("外祖父", 28, True, False),
    ("伯父", 16, True, True), ("叔叔", 3, True, True), ("姑姑", 3, False, True),
)
# Guardians of orphans and children nobody in fact raises are never the parents.
ORPHAN_RELATIONS = ("祖父", "祖母", "伯父", "叔叔", "姑姑", "外祖母")
FAMILY_TYPES = (
    ("一般家庭", 8380), ("脱贫户", 700), ("低保户", 350), ("监测户", 300),
    ("孤儿/事实无人抚养", 150), ("特困供养", 90), ("脱贫户、低保户", 30),
)
ETHNICITIES = (("汉族", 9870), ("回族", 60), ("土家族", 27), ("蒙古族", 20), ("苗族", 16), ("满族", 7))
DISABILITY_TYPES = (("肢体", 17), ("智力", 12), ("多重", 7), ("听力", 6), ("言语", 5), ("视力", 5), ("精神", 1))
DISABILITY_LEVELS = (("一级", 11), ("二级", 9), ("三级", 12), ("四级", 21))

PRIMARY_SUBJECTS = ("语文", "数学", "英语", "科学", "道德与法治", "体育", "音乐", "美术", "信息技术")
MIDDLE_SUBJECTS = (
    "语文", "数学", "英语", "物理", "化学", "历史", "地理", "生物", "道德与法治", "体育", "音乐",
    "美术", "信息技术",
)
HEAD_TEACHER_SUBJECTS = ("语文", "语文", "数学", "数学", "英语")
# 在岗情况 words of teachers no longer in post, each with the note a school writes.
OFF_DUTY = ("调离", "退休", "长期病假")

TEACHER_REMARKS = (("思想动摇", 80), ("学业困难", 60), ("家庭困难", 55), ("学业困难；思想动摇", 5))

# Follow-up records: (帮扶类型, 方式, 内容, 结果).
RETURN_CALL = ("劝返", "电话", "电话联系监护人了解未到校原因，宣传义务教育法", "家长表示将做学生工作")
RETURN_VISIT = ("劝返", "家访", "入户家访，与学生及监护人谈心谈话", "学生暂未返校，继续劝返")
RETURN_SUMMONS = ("劝返", "约谈", "镇村干部与教师约谈监护人，下达劝返通知书", "学生暂未返校，继续劝返")
RETURN_DONE = ("劝返", "家访", "送学生返校，落实帮扶措施", "已劝返复学")
HOME_TEACHING = ("康复训练指导", "识字与计数教学", "生活自理能力训练")
SUPPORT = (
    ("心理疏导", "约谈", "与学生谈心谈话，稳定学习情绪", "持续关注"),
    ("心理疏导", "电话", "电话了解学生在家表现，疏导厌学情绪", "持续关注"),
    ("学业帮扶", "家访", "入户辅导作业，与监护人沟通学习情况", "持续关注"),
    ("资助政策", "家访", "宣传教育资助政策，落实生活补助", "持续关注"),
)

CN_DIGITS = "〇一二三四五六七八九"
