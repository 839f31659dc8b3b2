"""Demo data: a believable fictional district (青山区) built through the real services.

``seed_demo`` creates the organisation (departments with aliases, leaders with their
portfolios, a handful of users), three months of sources (meetings with minutes,
leaders' instructions, suggestions, audit findings...) and about 300 tasks in every
state of the closed loop. Every task change goes through ``tracker.services.tasks``
on a frozen past working day, so the audit log reads like a real history: assigned,
acknowledged, reported on, extended, returned, reminded, escalated, closed.

The plan is drawn from ``random.Random(seed)`` before anything is written, so a run
on the same "today" and calendar always produces the same district. The caller commits.

Only seven users are created (password hashing costs ~0.1–0.2 s each with scrypt); the
departments without a user of their own act through an ``Actor`` without ``user_id``
(their 联络员), so their reports carry the department but no author.
"""

from __future__ import annotations

import bisect
import random
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import DomainError
from tracker.models import (
    DeadlineKind,
    Department,
    DepartmentAlias,
    DepartmentKind,
    FeedbackCycle,
    Leader,
    Milestone,
    MEETING_KINDS,
    Role,
    SourceKind,
    Task,
    Urgency,
    User,
)
from tracker.rules.periods import week_label
from tracker.services import organisation, sources, tasks
from tracker.services.actors import SYSTEM, Actor
from tracker.services.calendar import load_calendar
from tracker.workflow import Status

DISTRICT = "青山区"
DEMO_PASSWORD = "Demo@2026"
DEFAULT_SEED = 20261123
TARGET_TASKS = 300
HISTORY_DAYS = 91  # sources reach this many calendar days back from today

# --- the organisation ----------------------------------------------------------

# Leader keys: who is who in the 区政府 leadership.
MAYOR, EXEC, GAO, LIN, MA, HE = "mayor", "exec", "gao", "lin", "ma", "he"

LEADERS = [
    # key, name, title
    (MAYOR, "周国平", "区长"),
    (EXEC, "吴海涛", "常务副区长"),
    (GAO, "高志远", "副区长"),
    (LIN, "林晓东", "副区长"),
    (MA, "马丽", "副区长"),
    (HE, "何军", "区政府党组成员、办公室主任"),
]

C, ST, TW, INS, OT = (DepartmentKind.COMPONENT, DepartmentKind.STREET, DepartmentKind.TOWN,
                      DepartmentKind.INSTITUTION, DepartmentKind.OTHER)

DEPARTMENTS = [
    # key (short name), full name, aliases (the first is the usual label), kind, leader in charge
    ("政府办", "区人民政府办公室", ["区政府办", "区政府办公室", "区府办"], C, HE),
    ("发改委", "区发展和改革委员会", ["区发改委", "发改委"], C, EXEC),
    ("教体局", "区教育体育局", ["区教体局", "教体局", "区教育局"], C, MA),
    ("科工信局", "区科学技术和工业信息化局", ["区科工信局", "科工信局", "区经信局"], C, LIN),
    ("公安分局", "区公安分局", ["公安青山分局", "区公安局"], C, MAYOR),
    ("民政局", "区民政局", ["民政局"], C, MA),
    ("司法局", "区司法局", ["司法局"], C, HE),
    ("财政局", "区财政局", ["财政局"], C, EXEC),
    ("人社局", "区人力资源和社会保障局", ["区人社局", "人社局"], C, MA),
    ("住建局", "区住房和城乡建设局", ["区住建局", "住建局"], C, GAO),
    ("城管局", "区城市管理执法局", ["区城管局", "城管局", "区城管执法局"], C, GAO),
    ("交通局", "区交通运输局", ["区交通局", "交通局"], C, LIN),
    ("水利局", "区水利和湖泊局", ["区水利局", "水利局", "区水务局"], C, LIN),
    ("农业农村局", "区农业农村局", ["区农业局", "农业农村局"], C, LIN),
    ("商务局", "区商务局", ["商务局"], C, EXEC),
    ("文旅局", "区文化和旅游局", ["区文旅局", "文旅局"], C, MA),
    ("卫健委", "区卫生健康委员会", ["区卫健委", "卫健委"], C, MA),
    ("退役军人局", "区退役军人事务局", ["区退役军人局"], C, MA),
    ("应急局", "区应急管理局", ["区应急局", "应急局"], C, LIN),
    ("审计局", "区审计局", ["审计局"], C, MAYOR),
    ("市场监管局", "区市场监督管理局", ["区市场监管局", "市场监管局"], C, EXEC),
    ("统计局", "区统计局", ["统计局"], C, EXEC),
    ("医保局", "区医疗保障局", ["区医保局", "医保局"], C, MA),
    ("信访局", "区信访局", ["信访局"], C, HE),
    ("政数局", "区政务服务和大数据管理局", ["区政数局", "区政务服务局", "政数局"], C, HE),
    ("自规分局", "区自然资源和规划分局", ["区自规分局", "自规分局", "区自然资源局"], OT, GAO),
    ("生态环境分局", "区生态环境分局", ["区环保局", "生态环境分局"], OT, GAO),
    ("机关事务中心", "区机关事务服务中心", ["区机关事务中心"], INS, HE),
    ("征收中心", "区房屋征收服务中心", ["区征收中心", "征收中心"], INS, GAO),
    ("投促中心", "区投资促进服务中心", ["区投促中心", "投促中心"], INS, EXEC),
    ("融媒体中心", "区融媒体中心", ["融媒体中心"], INS, HE),
    ("国资中心", "区国有资产服务中心", ["区国资中心"], INS, EXEC),
    ("交易中心", "区公共资源交易中心", ["区交易中心"], INS, EXEC),
    ("青山街道", "青山街道办事处", ["青山街道", "青山街"], ST, EXEC),
    ("滨江街道", "滨江街道办事处", ["滨江街道"], ST, EXEC),
    ("柳林街道", "柳林街道办事处", ["柳林街道"], ST, GAO),
    ("东湖路街道", "东湖路街道办事处", ["东湖路街道"], ST, GAO),
    ("南门街道", "南门街道办事处", ["南门街道"], ST, MA),
    ("北苑街道", "北苑街道办事处", ["北苑街道"], ST, MA),
    ("新华街道", "新华街道办事处", ["新华街道"], ST, HE),
    ("红星街道", "红星街道办事处", ["红星街道"], ST, HE),
    ("柳河镇", "柳河镇人民政府", ["柳河镇"], TW, LIN),
    ("石门镇", "石门镇人民政府", ["石门镇"], TW, LIN),
    ("白沙镇", "白沙镇人民政府", ["白沙镇"], TW, LIN),
]

STREETS = [d[0] for d in DEPARTMENTS if d[3] == ST]
TOWNS = [d[0] for d in DEPARTMENTS if d[3] == TW]

USERS = [
    # username, display name, role, department key, leader key
    ("admin", "系统管理员", Role.ADMIN, None, None),
    ("duchashi", "督查室王敏", Role.SUPERVISOR, None, None),
    ("duchashi2", "督查室张磊", Role.SUPERVISOR, None, None),
    ("wuhaitao", "吴海涛", Role.LEADER, None, EXEC),
    ("fgw", "区发改委陈静", Role.CLERK, "发改委", None),
    ("czj", "区财政局刘芳", Role.CLERK, "财政局", None),
    ("jiedao", "青山街道李娟", Role.CLERK, "青山街道", None),
]

# --- what tasks are about ------------------------------------------------------

PLACES = {
    "project": ["滨江新城片区", "青山大道东延段", "高铁站前广场片区", "柳河工业园三期", "南湖生态公园",
                "白沙物流园", "城北污水处理厂扩建", "东湖路棚户区", "区体育中心", "区人民医院新院区"],
    "community": ["红星小区", "纺织厂宿舍", "建设新村", "钢花新村", "农机厂小区", "工人新村", "粮食局宿舍",
                  "桃园小区"],
    "road": ["青山大道", "建设路", "和平大道", "滨江路", "工业一路", "友谊大道", "学府路"],
    "river": ["柳河", "青山港", "南湖", "东沟渠", "白沙河"],
    "school": ["区实验小学", "滨江初级中学", "柳林幼儿园", "区第二中学", "北苑小学"],
    "enterprise": ["华中智能装备", "江汉新材料", "鼎盛物流", "恒信新能源", "瑞康生物医药", "楚天数字科技"],
    "event": ["第三届青山美食文化节", "滨江半程马拉松", "元旦迎新灯会", "“青山杯”招商推介会"],
    "field": ["建筑施工", "危险化学品", "道路交通", "人员密集场所", "工贸企业", "冬季燃气供暖"],
}


@dataclass(frozen=True)
class Template:
    group: str  # 城建 经济 民生 安全 生态 农业 治理 调度
    topic: str  # for topic-meeting titles
    title: str
    requirement: str
    lead: tuple[str, ...]  # candidate lead departments ("@street" / "@town": the place drawn)
    assists: tuple[str, ...]
    steps: tuple[str, ...]  # progress, in order
    problems: tuple[str, ...] = ()


def _t(group, topic, title, requirement, lead, assists, steps, problems=()):
    return Template(group, topic, title, requirement, tuple(lead), tuple(assists), tuple(steps), tuple(problems))


TEMPLATES = [
    # 城建
    _t("城建", "征地拆迁", "推进{project}征地拆迁工作",
       "按照“阳光征收”要求，完成{project}范围内剩余{n}户房屋征收签约和腾退，做好安置补偿和矛盾化解，确保项目按期开工。",
       ["征收中心", "@street"], ["自规分局", "财政局", "@street", "公安分局"],
       ["完成入户调查和房屋测绘", "评估报告已公示，启动协议签约", "签约工作过半，已签约户完成腾退",
        "完成全部签约，正在组织拆除", "场地平整完成，具备交地条件"],
       ["剩余被征收户对补偿标准存在异议，签约推进困难", "个别被征收户提出超出政策范围的诉求，需街道加强沟通",
        "安置房源不足，需协调调剂"]),
    _t("城建", "老旧小区改造", "推进{community}等老旧小区改造",
       "完成{community}等{n}个老旧小区水电气管网改造、外立面整治和加装电梯，同步建立小区长效管理机制。",
       ["住建局"], ["@street", "财政局", "城管局"],
       ["完成改造方案设计和居民意见征求", "完成施工招标，施工单位进场", "地下管网改造完成",
        "外立面整治和道路黑化完成", "完成竣工验收，移交街道和物业管理"],
       ["部分居民对加装电梯意见不一，需街道协调", "管线迁改需水电气产权单位配合，进度较慢", "冬季施工受天气影响"]),
    _t("城建", "项目前期", "加快{project}项目前期手续办理",
       "加快办理{project}立项、用地预审、规划许可和环评等前期手续，倒排工期，力争尽早开工建设。",
       ["发改委"], ["自规分局", "生态环境分局", "住建局"],
       ["完成项目建议书批复", "完成可行性研究报告编制并报审", "取得用地预审与选址意见书", "完成环评批复",
        "取得建设工程规划许可证，具备开工条件"],
       ["用地指标需市级统筹，尚未下达", "项目涉及基本农田调整，需向上争取", "可研评审意见需补充修改"]),
    _t("城建", "道路改造", "推进{road}改造提升工程",
       "完成{road}道路改造、雨污分流和绿化亮化提升，施工期间做好交通组织和扬尘管控。",
       ["交通局"], ["住建局", "城管局", "公安分局", "@street"],
       ["完成施工图设计审查", "完成施工招标", "雨污管网施工过半", "路面施工完成", "绿化亮化完成，进入交工验收"],
       ["沿线管线迁改涉及多家产权单位，协调难度大", "施工占道引发周边商户投诉", "工程款拨付滞后"]),
    _t("城建", "城市更新", "开展{project}城市更新片区策划",
       "摸清{project}现状，编制城市更新片区策划方案，明确更新模式、实施主体和资金平衡路径。",
       ["住建局"], ["自规分局", "发改委", "财政局"],
       ["完成片区现状调查", "完成策划方案初稿", "征求相关部门和街道意见", "方案已提交区政府专题会议审议"],
       ["片区资金平衡测算尚不成熟", "涉及市属企业土地，需市级协调"]),
    _t("城建", "物业管理", "推进无物业小区专业化管理全覆盖",
       "对全区{n}个无物业老旧小区逐一制定管理方案，通过引入专业物业、街道托管等方式实现物业管理全覆盖。",
       ["住建局"], ["@street", "民政局"],
       ["完成无物业小区底数排查", "逐小区制定管理方案", "引入专业物业服务企业", "完成覆盖并开展满意度测评"],
       ["部分小区居民缴费意愿低，物业企业进驻积极性不高"]),
    _t("城建", "燃气安全", "开展城镇燃气安全隐患排查整治",
       "对全区餐饮场所、老旧小区燃气管道和液化气站点开展全覆盖排查，建立问题清单和整改清单，限期整改到位。",
       ["住建局"], ["应急局", "市场监管局", "@street"],
       ["制定排查整治工作方案", "完成餐饮场所燃气安全排查", "完成老旧燃气管道排查，形成隐患清单",
        "隐患整改完成率达到90%以上", "开展复查，建立长效监管机制"],
       ["部分餐饮场所拒不配合整改", "老旧管道更新改造资金缺口较大"]),
    _t("城建", "停车难", "缓解{community}片区停车难问题",
       "挖潜增设{community}片区停车泊位，规范路内停车秩序，研究错时共享停车措施。",
       ["城管局"], ["公安分局", "交通局", "@street"],
       ["完成片区停车供需调查", "制定停车泊位挖潜方案", "新增停车泊位{n}个", "开展错时共享停车试点"],
       ["可利用闲置地块权属复杂"]),
    _t("城建", "市容整治", "开展{road}沿线市容环境综合整治",
       "集中整治{road}沿线占道经营、乱堆乱放、违规广告招牌等问题，建立长效保洁机制。",
       ["城管局"], ["@street", "交通局", "市场监管局"],
       ["制定整治方案并动员部署", "拆除违规广告招牌{n}处", "清理占道经营和乱堆乱放", "建立路长制长效管理机制"],
       ["流动摊贩反复回潮"]),
    _t("城建", "垃圾分类", "推进生活垃圾分类示范小区创建",
       "在{street}等街道创建生活垃圾分类示范小区{n}个，完善分类投放设施和收运体系。",
       ["城管局"], ["@street", "融媒体中心"],
       ["确定示范小区名单", "完成分类投放设施改造", "开展入户宣传和督导", "通过区级验收"],
       ["部分小区投放点选址遭居民反对"]),
    _t("城建", "违法建设", "拆除{street}辖区存量违法建设",
       "对{street}辖区存量违法建设建立台账、分类处置，年内完成拆除{n}处。",
       ["@street"], ["城管局", "自规分局"],
       ["完成存量违建摸排建档", "下达限期拆除通知", "完成第一批违建拆除", "完成全部拆除并复绿"],
       ["个别当事人以历史遗留为由拒不拆除"]),
    _t("城建", "微更新", "推进背街小巷“微更新”",
       "对辖区背街小巷路面、照明、绿化和立面进行“微更新”，同步完善便民服务设施。",
       ["@street"], ["城管局", "住建局", "财政局"],
       ["完成背街小巷摸排和居民意见征集", "确定第一批改造点位", "第一批点位完工", "全部点位完工并移交管养"],
       ["部分点位涉及产权单位，协调进度较慢"]),
    _t("治理", "网格化治理", "深化社区网格化治理",
       "优化网格划分，配齐专兼职网格员，推动矛盾纠纷、安全隐患在网格内发现、在网格内解决。",
       ["@street"], ["政数局", "司法局", "公安分局"],
       ["完成网格优化调整", "配齐网格员并开展培训", "网格事件平台上线运行", "形成月度分析和考核机制"]),
    _t("治理", "物业纠纷", "化解辖区物业服务矛盾纠纷",
       "对辖区物业服务投诉集中的小区逐一建立工作台账，推动业委会组建和物业服务质量提升。",
       ["@street"], ["住建局", "司法局"],
       ["完成投诉集中小区梳理", "组织业主、物业、社区三方协商", "推动业委会组建", "投诉量明显下降"],
       ["个别小区业主与物业企业对立情绪较大"]),
    _t("安全", "冬季防火", "做好辖区冬季防火和安全隐患排查",
       "组织网格员对辖区“三合一”场所、群租房和老旧小区开展冬季防火排查，建立隐患台账，限期整改。",
       ["@street"], ["应急局", "公安分局"],
       ["部署冬季防火排查", "完成“三合一”场所和群租房排查", "隐患整改完成过半", "隐患全部整改销号"],
       ["群租房业主难以联系，整改推进困难"]),
    # 经济
    _t("经济", "招商引资", "推进{enterprise}项目签约落地",
       "加强与{enterprise}沟通对接，尽快明确项目选址和投资协议条款，推动项目签约落地、早日开工。",
       ["投促中心"], ["商务局", "发改委", "自规分局"],
       ["完成项目考察和初步对接", "明确项目选址意向", "投资协议文本已报区司法局审核", "完成投资协议签约",
        "项目公司完成注册登记"],
       ["企业对用地价格和配套政策仍有顾虑", "拟选址地块尚未完成收储", "需市级层面给予政策支持"]),
    _t("经济", "专项债券", "做好{year}年专项债券项目储备和申报",
       "按照“资金跟着项目走”的要求，梳理储备一批符合条件的专项债券项目，按时完成申报。",
       ["财政局"], ["发改委", "住建局", "交通局"],
       ["完成项目梳理，建立储备库", "完成项目实施方案和财务评估", "完成法律意见书和申报材料", "项目已报送市财政局"],
       ["部分项目收益平衡方案不符合要求，需调整"]),
    _t("经济", "营商环境", "优化营商环境，推进“高效办成一件事”改革",
       "梳理企业和群众高频事项，推动“一件事一次办”事项全部上线运行，压减办理时限和跑动次数。",
       ["政数局"], ["市场监管局", "人社局", "发改委"],
       ["完成高频事项梳理", "完成流程再造和系统对接", "事项上线试运行", "全部事项上线运行，开展评估"],
       ["部分市级业务系统数据接口尚未开放"]),
    _t("经济", "营商环境评价", "做好营商环境评价迎检和问题整改",
       "对照营商环境评价指标体系，逐项梳理短板弱项，限期整改，做好迎检准备。",
       ["发改委"], ["政数局", "市场监管局", "自规分局", "财政局"],
       ["完成指标任务分解", "完成短板问题清单", "整改完成过半", "完成整改并报送迎检材料"]),
    _t("经济", "惠企服务", "开展“千名干部联千企”服务活动",
       "组织干部走访规上企业，建立问题台账，推动企业反映的用工、融资、用地等问题解决。",
       ["科工信局"], ["商务局", "人社局", "财政局"],
       ["完成联系企业分工", "完成首轮走访，收集问题", "问题办结率达到80%", "开展回访和满意度评价"],
       ["部分问题涉及市级事权，需向上反映"]),
    _t("经济", "技改扩能", "推进{enterprise}技改扩能项目投产",
       "协调解决{enterprise}技改扩能项目建设中的供电、环评和安全评价问题，推动项目按期投产。",
       ["科工信局"], ["发改委", "应急局", "生态环境分局"],
       ["完成设备采购", "厂房改造完成", "完成安全设施竣工验收", "项目试生产"],
       ["专用变电设施增容需供电公司排期"]),
    _t("经济", "高企培育", "推进高新技术企业培育认定",
       "建立高新技术企业后备库，开展政策辅导，推动新增高新技术企业{n}家。",
       ["科工信局"], ["财政局"],
       ["完成后备企业摸底", "开展政策辅导和申报培训", "指导企业完成申报", "跟踪评审结果"]),
    _t("经济", "促消费", "开展冬季促消费系列活动",
       "组织商圈、餐饮、汽车等促消费活动，统筹发放消费券，做好活动期间安全保障。",
       ["商务局"], ["市场监管局", "文旅局", "融媒体中心"],
       ["制定活动方案", "完成消费券发放平台对接", "活动启动，首批消费券发放", "完成活动效果评估"]),
    _t("经济", "统计入库", "做好四季度经济运行监测和统计入库",
       "加强重点指标监测调度，推动符合条件的企业和项目应统尽统、及时入库。",
       ["统计局"], ["发改委", "科工信局", "商务局", "住建局"],
       ["完成重点指标监测分析", "梳理入库企业和项目清单", "新增入库企业{n}家", "完成季度数据核查"]),
    _t("经济", "资产盘活", "盘活区属国有企业闲置资产",
       "全面清查区属国有企业闲置房产和土地，制定盘活方案，通过出租、转让、合作开发等方式盘活。",
       ["国资中心"], ["财政局", "机关事务中心"],
       ["完成闲置资产清查", "制定盘活方案", "完成首批资产公开招租", "盘活收益入库"]),
    _t("经济", "部门预算", "编制{next_year}年区级部门预算",
       "坚持过紧日子，严格控制一般性支出，按时完成{next_year}年区级部门预算编制并提交区人大审查。",
       ["财政局"], ["发改委", "政府办"],
       ["布置预算编制工作", "完成部门“一上”预算审核", "下达预算控制数", "完成预算草案"]),
    _t("经济", "清欠", "清理拖欠中小企业账款",
       "全面排查政府部门和区属国有企业拖欠中小企业账款，建立台账，按计划清偿。",
       ["科工信局"], ["财政局", "国资中心"],
       ["完成拖欠账款排查", "制定清偿计划", "清偿进度过半", "完成清偿并建立防新增机制"],
       ["清偿资金来源需财政统筹"]),
    _t("经济", "招投标监管", "规范工程建设项目招投标监管",
       "开展工程建设项目招投标专项检查，纠正规避招标、围标串标等问题，完善电子化交易。",
       ["交易中心"], ["住建局", "交通局", "水利局"],
       ["制定专项检查方案", "完成在建项目抽查", "对发现问题下达整改通知", "完善制度并通报结果"]),
    # 民生
    _t("民生", "学校建设", "推进{school}改扩建工程",
       "加快{school}改扩建工程建设，确保按期竣工交付使用，新增学位{n}0个。",
       ["教体局"], ["住建局", "财政局", "自规分局"],
       ["完成方案设计和概算批复", "完成施工招标", "主体结构封顶", "室外配套完成，组织竣工验收"],
       ["概算调整需区政府审批", "周边居民对施工噪声投诉"]),
    _t("民生", "食品安全", "开展校园及周边食品安全专项整治",
       "对全区中小学校食堂、校外供餐单位和校园周边食品经营户开展全覆盖检查，限期整改问题。",
       ["市场监管局"], ["教体局", "公安分局", "@street"],
       ["制定专项整治方案", "完成学校食堂全覆盖检查", "完成校园周边经营户检查", "问题整改到位并开展复查"]),
    _t("民生", "基层医疗", "推进社区卫生服务中心标准化建设",
       "完成{n}个社区卫生服务中心标准化改造，提升基层首诊和慢病管理能力。",
       ["卫健委"], ["财政局", "@street"],
       ["完成改造方案", "完成设备采购", "改造施工完成", "通过标准化验收"],
       ["部分中心业务用房面积不达标"]),
    _t("民生", "疫病防控", "做好冬春季呼吸道传染病防控",
       "加强监测预警和医疗资源储备，落实学校、养老机构等重点场所防控措施。",
       ["卫健委"], ["教体局", "民政局", "市场监管局"],
       ["完成防控方案和应急预案修订", "完成药品和防护物资储备", "开展重点场所督导检查", "建立每日监测报告机制"]),
    _t("民生", "养老服务", "推进{street}养老服务综合体建设运营",
       "完成{street}养老服务综合体建设，引入专业机构运营，提供助餐、日间照料等服务。",
       ["民政局"], ["@street", "财政局"],
       ["完成选址和设计", "完成装修改造", "完成运营机构招标", "正式投入运营"],
       ["运营补贴标准尚未明确"]),
    _t("民生", "就业帮扶", "做好高校毕业生和就业困难人员就业帮扶",
       "组织专场招聘会，开发公益性岗位，确保零就业家庭动态清零。",
       ["人社局"], ["教体局", "商务局", "@street"],
       ["完成帮扶对象摸排", "举办专场招聘会", "开发公益性岗位{n}个", "零就业家庭动态清零"]),
    _t("民生", "根治欠薪", "开展根治欠薪冬季专项行动",
       "全面排查在建工程项目和重点行业欠薪隐患，确保春节前农民工工资应付尽付。",
       ["人社局"], ["住建局", "交通局", "水利局", "公安分局"],
       ["部署专项行动", "完成在建项目全覆盖排查", "欠薪线索办结率达到90%", "全部案件动态清零"],
       ["个别项目建设单位资金链紧张"]),
    _t("民生", "医保基金", "开展医保基金使用专项检查",
       "对定点医药机构开展医保基金使用专项检查，严厉打击欺诈骗保行为。",
       ["医保局"], ["卫健委", "公安分局", "市场监管局"],
       ["制定检查方案", "完成定点医药机构现场检查", "追回违规基金并处理", "通报检查结果"]),
    _t("民生", "退役军人服务", "做好退役军人就业创业服务",
       "组织退役军人专场招聘和技能培训，落实创业扶持政策。",
       ["退役军人局"], ["人社局"],
       ["完成退役军人就业需求调查", "举办专场招聘会", "开展技能培训", "落实创业扶持政策"]),
    _t("民生", "文旅活动", "筹办{event}",
       "精心筹办{event}，做好活动方案、安全保障、宣传推广和交通组织。",
       ["文旅局"], ["公安分局", "城管局", "融媒体中心", "市场监管局"],
       ["完成活动方案", "完成安全评估和应急预案", "完成宣传推广和招商", "活动顺利举办"],
       ["活动场地审批需市级部门同意"]),
    _t("民生", "社会救助", "做好困难群众冬季救助和临时救助",
       "全面摸排困难群众生活状况，及时发放救助资金和物资，确保温暖过冬。",
       ["民政局"], ["财政局", "@street"],
       ["完成困难群众摸排", "完成救助资金测算和拨付", "发放过冬物资", "开展回访"]),
    _t("民生", "托育服务", "推进普惠托育服务体系建设",
       "新增普惠性托位{n}个，支持幼儿园开设托班，完善托育机构监管。",
       ["卫健委"], ["教体局", "民政局"],
       ["完成托育资源摸底", "确定新增托位点", "托位建设完成", "开展托育机构质量评估"]),
    # 安全
    _t("安全", "安全生产", "开展{field}领域安全生产专项检查",
       "对{field}领域开展安全生产专项检查，建立隐患清单，实行闭环整改，严防重特大事故。",
       ["应急局"], ["住建局", "市场监管局", "交通局", "公安分局"],
       ["制定检查方案并部署", "完成重点企业检查", "建立隐患清单，督促整改", "隐患整改闭环，开展“回头看”"],
       ["部分企业主体责任落实不到位，整改拖延", "专业检查力量不足"]),
    _t("安全", "消防安全", "开展高层建筑和“九小场所”消防安全整治",
       "全面排查高层建筑和“九小场所”消防隐患，打通消防通道，整治违规住人和电动车违规充电。",
       ["应急局"], ["公安分局", "住建局", "@street"],
       ["部署排查整治", "完成高层建筑排查", "完成“九小场所”排查", "隐患整改完成，开展复查"],
       ["部分高层住宅消防设施老化，维修资金申请程序复杂"]),
    _t("安全", "自建房整治", "开展经营性自建房安全专项整治",
       "对经营性自建房开展安全排查和鉴定，存在安全隐患的限期整治，危房一律停止使用。",
       ["住建局"], ["自规分局", "应急局", "@street"],
       ["完成排查", "完成安全鉴定", "危房停用并启动整治", "完成整治销号"]),
    _t("安全", "电动车充电", "开展电动自行车充电安全整治",
       "新建集中充电设施，整治“飞线充电”和楼道停放充电，小区集中充电覆盖率达到90%以上。",
       ["应急局"], ["@street", "市场监管局", "住建局"],
       ["完成小区充电设施摸底", "新建集中充电桩{n}个", "清理“飞线充电”", "开展长效巡查"]),
    _t("安全", "冬春水利", "做好冬春水利设施维修养护",
       "完成堤防、泵站和灌排渠系冬春修，确保汛前全部完工。",
       ["水利局"], ["@town", "财政局"],
       ["完成冬修项目清单", "完成项目招标", "堤防和泵站维修完成", "渠系清淤完成并验收"]),
    # 生态
    _t("生态", "河长制", "落实河长制，推进{river}综合整治",
       "落实河湖长制，开展{river}清四乱、排口整治和岸线绿化，确保水质稳定达到考核要求。",
       ["水利局"], ["生态环境分局", "城管局", "@street", "@town"],
       ["完成“一河一策”方案修编", "完成沿河排口排查，建立整治台账", "完成清淤疏浚", "排口整治完成",
        "水质监测达标，迎接市级河长制考核"],
       ["部分排口溯源难，涉及多个街道", "岸线违建拆除涉及历史遗留问题"]),
    _t("生态", "大气污染防治", "加强扬尘管控，做好秋冬季大气污染防治",
       "落实工地“六个百分之百”，加强道路保洁和渣土车管理，确保空气质量优良天数比例达标。",
       ["生态环境分局"], ["住建局", "城管局", "交通局"],
       ["制定攻坚方案", "完成在建工地扬尘专项检查", "道路机扫水洗频次提高", "空气质量达到考核要求"],
       ["重污染天气期间部分工地未落实停工要求"]),
    _t("生态", "环保督察整改", "推进生态环境保护督察反馈问题整改",
       "对照督察反馈问题清单，逐项制定整改方案，按期完成整改销号。",
       ["生态环境分局"], ["水利局", "住建局", "@town"],
       ["制定整改方案", "整改完成过半", "完成整改，申请销号", "通过市级验收"],
       ["个别问题整改需较大资金投入"]),
    _t("生态", "人居环境", "推进农村人居环境整治提升",
       "开展村庄清洁行动，推进农村改厕和生活污水治理，建设美丽庭院示范户。",
       ["农业农村局"], ["@town", "生态环境分局", "城管局"],
       ["部署村庄清洁行动", "完成问题厕所整改", "污水治理设施建设完成", "开展评比验收"]),
    _t("生态", "秸秆禁烧", "做好秸秆禁烧和综合利用",
       "落实网格化巡查，推进秸秆肥料化、饲料化利用，确保不发生火点。",
       ["农业农村局"], ["@town", "生态环境分局"],
       ["部署网格化巡查", "推进秸秆还田和收储", "开展专项督查", "实现零火点"]),
    # 农业
    _t("农业", "高标准农田", "推进{town}高标准农田建设",
       "完成{town}高标准农田建设{n}00亩，同步完善灌排设施和田间道路。",
       ["农业农村局"], ["@town", "财政局", "水利局"],
       ["完成项目设计和招标", "土地平整完成", "灌排设施建设完成", "完成竣工验收"],
       ["个别地块农户对土地调整有意见"]),
    _t("农业", "乡村振兴", "推进{town}乡村振兴示范村建设",
       "围绕产业、人才、文化、生态、组织振兴，建设乡村振兴示范村，打造特色产业。",
       ["@town"], ["农业农村局", "财政局", "文旅局"],
       ["完成示范村规划", "产业项目落地", "村容村貌整治完成", "通过区级验收"]),
    _t("农业", "保供稳价", "做好冬春农产品保供稳价",
       "加强蔬菜生产和储备，做好节日期间农产品市场供应和价格监测。",
       ["农业农村局"], ["商务局", "市场监管局"],
       ["完成冬春蔬菜生产布局", "落实储备", "开展价格监测", "节日市场供应平稳"]),
    # 治理
    _t("治理", "信访积案", "化解{street}信访积案",
       "实行领导包案，逐案制定化解方案，推动{street}信访积案按期化解、息诉罢访。",
       ["信访局"], ["@street", "司法局", "住建局"],
       ["完成积案梳理和包案分工", "逐案约访当事人", "化解积案过半", "全部化解，当事人签订息诉罢访协议"],
       ["个别信访人诉求超出政策规定，化解难度大"]),
    _t("治理", "治安整治", "开展{street}重点区域治安秩序整治",
       "对{street}重点区域开展治安秩序整治，加强巡逻防控，整治突出治安问题。",
       ["公安分局"], ["@street", "城管局", "市场监管局"],
       ["制定整治方案", "开展集中清查", "整治突出问题", "建立常态化巡逻机制"]),
    _t("治理", "普法验收", "开展“八五”普法总结验收",
       "全面总结“八五”普法工作，整理验收材料，做好迎接市级验收准备。",
       ["司法局"], ["教体局", "@street"],
       ["部署总结验收", "完成部门自查", "完成资料整理", "通过市级验收"]),
    _t("治理", "政务公开", "做好政务公开和政府网站信息更新",
       "规范政府信息公开，及时更新政府网站重点领域信息，做好政策解读。",
       ["政府办"], ["政数局", "融媒体中心"],
       ["完成栏目梳理", "完成重点领域信息更新", "开展政策解读", "通过第三方测评"]),
    _t("治理", "12345热线", "提升12345热线诉求办理质效",
       "对重复投诉和不满意工单逐件分析，压实承办责任，提升群众满意率。",
       ["政数局"], ["住建局", "城管局", "@street"],
       ["完成工单分析", "建立重复投诉专班", "不满意工单回访整改", "满意率明显提升"]),
    _t("治理", "节能降耗", "推进公共机构节能降耗",
       "开展公共机构能耗统计和节能改造，完成年度能耗双控目标。",
       ["机关事务中心"], ["发改委", "财政局"],
       ["完成能耗统计", "制定节能改造方案", "完成节能改造", "完成目标考核"]),
    _t("治理", "考核迎检", "做好{year}年度目标责任考核迎检准备",
       "对照年度目标责任考核指标逐项梳理完成情况，补齐短板，整理迎检材料。",
       ["政府办"], ["发改委", "统计局", "财政局"],
       ["完成指标分解", "完成自查自评", "补齐短板", "完成迎检材料"]),
    _t("治理", "政策起草", "起草《青山区促进民营经济高质量发展若干措施》",
       "在充分调研和征求意见基础上起草政策文件，按程序提请区政府常务会议审议。",
       ["发改委"], ["财政局", "科工信局", "司法局"],
       ["完成调研", "完成初稿", "征求部门和企业意见", "完成合法性审查，提请审议"]),
    _t("治理", "政策起草", "起草《青山区老旧小区改造三年行动方案》",
       "梳理全区老旧小区底数，起草三年行动方案，按程序提请区政府常务会议审议。",
       ["住建局"], ["财政局", "城管局", "司法局"],
       ["完成底数梳理", "完成初稿", "征求意见", "完成合法性审查，提请审议"]),
]

# 重点工作调度推进会议: the blocked items, in the four kinds of 004 §30.
SCHEDULING_TEMPLATES = [
    _t("调度", "向上争取类", "协调解决{project}用地报批问题",
       "【向上争取类】{project}用地报批卡在市级审批环节，会议明确由分管区领导带队对接市自然资源和规划局，争取尽快获批。",
       ["自规分局"], ["发改委", "征收中心"],
       ["已向市局报送补充材料", "分管区领导带队对接市局", "用地批复已进入市局会审", "取得用地批复"],
       ["市级审批排队时间较长"]),
    _t("调度", "内部协调类", "协调{project}施工涉及的管线迁改问题",
       "【内部协调类】{project}施工涉及供水、燃气、通信管线迁改，会议明确由住建局牵头召集产权单位，制定迁改计划。",
       ["住建局"], ["交通局", "城管局", "@street"],
       ["召开产权单位协调会", "确定迁改方案和时序", "迁改施工完成过半", "迁改完成，主体施工恢复"],
       ["个别产权单位迁改费用存在分歧"]),
    _t("调度", "重要洽谈类", "对接{enterprise}增资扩产事宜",
       "【重要洽谈类】{enterprise}拟增资扩产，会议明确由投促中心牵头拟定洽谈方案，尽快形成合作意向。",
       ["投促中心"], ["科工信局", "商务局", "财政局"],
       ["完成企业诉求梳理", "拟定洽谈方案", "开展第一轮洽谈", "形成合作意向书"],
       ["企业提出的扶持条件超出现行政策"]),
    _t("调度", "项目推进类", "加快{project}建设进度",
       "【项目推进类】{project}建设进度滞后于年度计划，会议要求倒排工期、挂图作战，确保完成年度投资任务。",
       ["发改委"], ["住建局", "财政局"],
       ["制定赶工计划", "增加施工作业面", "形象进度追赶至计划", "完成年度投资任务"],
       ["施工单位资金周转困难，劳动力不足"]),
    _t("调度", "内部协调类", "协调解决{community}改造资金缺口",
       "【内部协调类】{community}改造存在资金缺口，会议明确由财政局会同住建局测算，提出资金筹措方案。",
       ["财政局"], ["住建局", "@street"],
       ["完成资金缺口测算", "提出资金筹措方案", "方案报区政府审定", "资金到位"],
       ["上级补助资金尚未下达"]),
    _t("调度", "向上争取类", "争取{project}纳入省级重点项目",
       "【向上争取类】会议明确由发改委牵头完善申报材料，主动对接省市发改部门，争取{project}纳入省级重点项目。",
       ["发改委"], ["自规分局", "财政局"],
       ["完成申报材料", "对接市发改委", "材料已报省发改委", "纳入省级重点项目清单"],
       ["省级名额有限，竞争激烈"]),
    _t("调度", "内部协调类", "协调{road}改造交通导改方案",
       "【内部协调类】{road}改造交通导改方案各方意见不一，会议明确由交通局牵头会同公安交警优化方案。",
       ["交通局"], ["公安分局", "城管局", "@street"],
       ["收集各方意见", "优化导改方案", "方案经交警部门审批", "导改实施"],
       ["公交线路调整需市公交集团同意"]),
    _t("调度", "重要洽谈类", "推进与市城投集团合作开发{project}",
       "【重要洽谈类】会议明确由国资中心牵头与市城投集团洽谈{project}合作开发模式和收益分配。",
       ["国资中心"], ["财政局", "自规分局", "发改委"],
       ["完成合作模式比选", "开展首轮洽谈", "合作框架协议报区政府审定", "签订合作框架协议"],
       ["收益分配比例双方分歧较大"]),
]

AUDIT_ISSUES = [
    ("整改{year}年度财政预算执行审计发现的项目资金闲置问题", "财政局", ["发改委"]),
    ("整改政府采购程序不规范问题", "财政局", ["交易中心"]),
    ("整改专项资金未按规定用途使用问题", "民政局", ["财政局"]),
    ("整改政府投资项目结算超概算问题", "住建局", ["财政局", "审计局"]),
    ("整改国有资产出租收入未及时上缴问题", "国资中心", ["财政局"]),
    ("整改农村集体“三资”管理不规范问题", "农业农村局", ["柳河镇", "石门镇"]),
    ("整改医疗机构药品耗材采购不规范问题", "卫健委", ["医保局"]),
    ("整改学校食堂财务管理不规范问题", "教体局", ["市场监管局"]),
]

SUPERVISION_ISSUES = [
    ("整改督查发现的{project}工地扬尘管控不到位问题", "住建局", ["生态环境分局"]),
    ("整改督查发现的{road}沿线占道经营反弹问题", "城管局", ["@street"]),
    ("整改督查发现的{community}消防通道堵塞问题", "应急局", ["@street", "公安分局"]),
    ("整改督查发现的{river}沿岸垃圾堆放问题", "水利局", ["@street", "城管局"]),
]

OPINION_ISSUES = [
    ("网民反映{community}小区连续停水", "住建局", ["@street"]),
    ("{road}施工夜间扰民", "交通局", ["生态环境分局", "@street"]),
    ("{school}周边上下学交通拥堵", "公安分局", ["教体局"]),
    ("网传{project}拆迁补偿不公", "征收中心", ["@street", "融媒体中心"]),
]

NPC_TOPICS = [
    ("增设{community}周边公交站点", "交通局", ["@street"]),
    ("完善社区养老服务设施", "民政局", ["@street", "卫健委"]),
    ("加强{river}沿岸环境整治", "水利局", ["生态环境分局"]),
    ("解决老旧小区停车难问题", "城管局", ["公安分局", "住建局"]),
    ("加快{school}周边道路改造", "交通局", ["教体局"]),
    ("加强农贸市场食品安全监管", "市场监管局", ["@street"]),
]

CPPCC_TOPICS = [
    ("促进民营经济高质量发展", "发改委", ["科工信局", "财政局"]),
    ("加强中小学生心理健康教育", "教体局", ["卫健委"]),
    ("推动夜间经济发展", "商务局", ["文旅局", "城管局"]),
    ("加强农村集体“三资”管理", "农业农村局", ["财政局"]),
    ("提升基层医疗服务能力", "卫健委", ["医保局"]),
    ("推进智慧社区建设", "政数局", ["民政局", "@street"]),
]

DOCUMENT_ITEMS = [
    # title, lead, assists, preset code, working days
    ("贯彻落实《市政府关于进一步优化营商环境的若干措施》", "发改委", ["政数局", "市场监管局"],
     "approval_normal", 14),
    ("办理区教体局关于学校改扩建工程追加预算的请示", "财政局", ["教体局"], "doc_normal", 5),
    ("办理青山街道关于老旧小区改造资金补助的请示", "财政局", ["青山街道", "住建局"], "doc_normal", 5),
    ("对《青山区国土空间总体规划（征求意见稿）》提出修改意见", "自规分局", ["发改委", "住建局"],
     "countersign_7", 7),
    ("落实市政府办公室关于做好冬季安全生产工作的通知", "应急局", ["住建局", "交通局"],
     "approval_expedited", 7),
    ("对《青山区政府投资项目管理办法（送审稿）》会签", "财政局", ["发改委", "司法局"], "countersign_3", 3),
    ("办理滨江街道关于增设社区卫生服务站的请示", "卫健委", ["滨江街道"], "doc_normal", 5),
]

LETTER_ITEMS = [
    ("落实工作提示函要求，加快{project}资金支付进度", "财政局", ["发改委"], "countersign_7", 7),
    ("回复工作沟通函，明确{road}改造中绿化迁移责任分工", "城管局", ["交通局"], "countersign_7", 7),
    ("落实工作提示函要求，做好元旦春节期间市场保供", "商务局", ["农业农村局", "市场监管局"], "countersign_7", 7),
    ("回复工作沟通函，协调{community}燃气管道改造施工许可", "住建局", ["@street"], "countersign_7", 7),
]

ASSIST_PHRASES = {
    "财政局": "项目资金测算和预算安排，相关资金已按程序拨付",
    "自规分局": "用地规划条件核实和用地手续办理",
    "生态环境分局": "环评审批服务指导和环境监管",
    "住建局": "施工许可、质量安全监管和技术指导",
    "城管局": "沿线违建拆除、市容保洁和渣土管理",
    "公安分局": "现场秩序维护、交通疏导和矛盾纠纷处置",
    "发改委": "项目立项审批和纳入年度投资计划",
    "市场监管局": "市场主体登记服务和食品安全抽检",
    "应急局": "安全风险评估和应急预案审核",
    "人社局": "用工保障和欠薪线索核查",
    "交通局": "交通组织方案制定和公交线路调整",
    "教体局": "学校宣传动员和校园安全管理",
    "卫健委": "医疗保障和卫生防疫指导",
    "融媒体中心": "宣传报道和舆论引导",
    "司法局": "合法性审查和法律服务",
    "审计局": "审计整改跟踪检查",
    "征收中心": "征收政策解释和补偿方案测算",
    "水利局": "水利设施和排水管网配合",
    "民政局": "困难群众排查和救助政策落实",
    "商务局": "企业对接和商贸流通配合",
    "科工信局": "企业服务和工业项目对接",
    "政数局": "政务服务事项办理和数据共享",
    "统计局": "统计口径核实和数据审核",
    "农业农村局": "农业项目指导和资金拨付",
    "文旅局": "文旅资源协调和活动组织",
    "国资中心": "国有资产核查和国企协调",
    "交易中心": "交易流程和电子化平台保障",
    "机关事务中心": "公共机构资产和能耗数据配合",
    "医保局": "医保政策解释和基金监管配合",
    "政府办": "统筹协调和材料汇总",
}

GENERIC_PROBLEMS = [
    "项目资金尚未拨付到位，影响后续推进",
    "涉及市级审批事项，审批周期较长，需向上争取",
    "受连续降雨天气影响，现场施工进度滞后",
    "部分群众对方案有不同意见，需进一步做好解释工作",
    "协办单位配合材料尚未报送，影响整体进度",
    "专业技术力量不足，需协调第三方机构支持",
]

EXTENSION_REASONS = [
    "受连续降雨天气影响，现场施工进度滞后，无法在原时限内完成",
    "事项涉及市级审批，审批时间较长，需待批复后推进",
    "项目资金尚未全部到位，需待资金拨付后完成剩余工作",
    "群众意见尚未统一，需进一步做好沟通协调工作",
    "需与市级部门对接，协调周期较长",
    "事项涉及多个单位配合，部分协办单位材料尚未报齐",
]

REFUSE_NOTES = [
    "该事项为区政府重点工作，时限不得延后，请倒排工期、加派力量，按原时限完成",
    "延期理由不充分，所述困难可通过加强协调解决，请按原时限办结",
    "该事项已列入区政府年度考核，不同意延期，请主要负责同志亲自调度",
]

RETURN_NOTES = [
    "佐证材料不全，请补充现场照片和验收资料后重新申请",
    "办结情况说明过于简单，未反映具体成效和群众满意度，请补充完善",
    "协办单位办理情况未体现，请汇总协办单位意见后重新申请",
    "经现场核查，整改尚未全部到位，请继续办理",
    "所报情况与会议要求不完全一致，请对照工作要求逐项说明",
]

SUSPEND_REASONS = [
    "根据区政府主要领导意见，该事项待市级政策明确后再推进",
    "项目选址需结合国土空间规划调整，暂缓办理",
    "企业投资计划调整，项目暂缓实施",
    "涉及上级统筹事项，待市级部署后再行推进",
]

CANCEL_REASONS = [
    "该事项已纳入市级统筹推进，区级不再单独督办",
    "经区政府常务会议研究，项目方案调整，撤销该督办事项",
    "与其他督办事项内容重复，合并办理",
    "该事项已由责任单位在交办前完成，无需督办",
]

REJECT_REASONS = [
    "工作要求表述不够具体，请明确完成标准和时间节点后再提交",
    "牵头单位确定不当，请与相关部门沟通后调整",
    "完成时限过于宽松，请结合会议要求压缩时限",
]

REASSIGN_REASONS = [
    "该事项不属于本单位职责范围，建议改由{other}牵头办理",
    "根据“三定”方案，该事项主要职责在{other}，申请改派",
]

PERSON_NAMES = ["李建华", "王志刚", "张丽", "刘德明", "陈伟", "杨帆", "赵敏", "黄涛", "周琳", "徐海",
                "孙立", "马超", "朱红", "胡勇", "郭静", "何平", "林峰", "罗丹"]

CN_DIGITS = "〇一二三四五六七八九十"


def _cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 23 → 二十三 (enough for numbered decisions)."""
    if n <= 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return (CN_DIGITS[tens] if tens > 1 else "") + "十" + (CN_DIGITS[ones] if ones else "")


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# --- the plan ------------------------------------------------------------------

DEPT_BY_KEY = {d[0]: d for d in DEPARTMENTS}
DEPT_LEADER = {d[0]: d[4] for d in DEPARTMENTS}
LEADER_BY_KEY = {k: (name, title) for k, name, title in LEADERS}


def _label(key: str) -> str:
    """The name people use: 区财政局, 区住建局, 青山街道, 柳河镇."""
    _key, name, aliases, kind, _leader = DEPT_BY_KEY[key]
    if kind in (ST, TW):
        return aliases[0]
    if len(name) <= 7:
        return name
    return next((a for a in aliases if a.startswith("区")), name)


# Where each status tends to sit among the tasks sorted newest → oldest (0 → 1), and how
# far it wanders: drafts are the newest, closed tasks the oldest, work in progress anywhere.
STATUS_PLAN = {
    Status.DRAFT: (14, 0.01, 0.02),
    Status.PENDING_APPROVAL: (12, 0.03, 0.04),
    Status.ASSIGNED: (26, 0.10, 0.10),
    Status.ACKNOWLEDGED: (26, 0.20, 0.18),
    Status.IN_PROGRESS: (100, 0.50, 0.45),
    Status.PENDING_REVIEW: (20, 0.45, 0.40),
    Status.CLOSED: (84, 0.78, 0.22),
    Status.SUSPENDED: (8, 0.60, 0.30),
    Status.CANCELLED: (10, 0.50, 0.40),
}

# Scenario → (how many per 300 tasks, minimum working days between assignment and today).
SCENARIOS = {
    Status.DRAFT: {"plain": (11, 0), "rejected": (3, 0)},
    Status.PENDING_APPROVAL: {"pending": (12, 0)},
    Status.ASSIGNED: {"fresh": (18, 0), "stale": (5, 3), "reassigned": (3, 2)},
    Status.ACKNOWLEDGED: {"normal": (17, 0), "soon": (4, 0), "overdue": (5, 3)},
    Status.IN_PROGRESS: {"ontrack": (28, 0), "soon": (12, 0), "overdue": (20, 3), "ext_ok": (9, 2),
                         "ext_overdue": (3, 6), "ext_refused": (6, 2), "ext_pending": (4, 1),
                         "returned": (7, 3), "ongoing": (5, 1), "reopened": (2, 6), "resumed": (2, 4),
                         "change": (2, 3)},
    Status.PENDING_REVIEW: {"normal": (12, 1), "late": (5, 3), "second": (3, 4)},
    Status.CLOSED: {"ontime": (46, 2), "late": (20, 4), "extended": (9, 5), "returned": (9, 5)},
    Status.SUSPENDED: {"suspended": (8, 2)},
    Status.CANCELLED: {"from_assigned": (4, 0), "from_progress": (4, 2), "from_pending": (2, 0)},
}


# Sources whose items are numbered 一、二、三… in the text (minutes, work plans, audit reports).
NUMBERED_KINDS = MEETING_KINDS | {SourceKind.KEY_WORK, SourceKind.AUDIT_FINDING}


@dataclass
class _SourcePlan:
    idx: int
    kind: SourceKind
    title: str
    reference: str
    day: date
    leader: str | None  # chair or issuer
    meta: dict  # what the texts need: issuer, level...
    intro: str
    items: list["_Item"] = field(default_factory=list)
    body: str = ""
    attendees: str = ""  # meetings: who attended
    document: str = ""  # instructions: the document the leader wrote on
    db_id: int | None = None


@dataclass
class _Item:
    source: _SourcePlan
    item_no: str
    title: str
    requirement: str
    lead: str
    assists: list[str]
    leaders: list[str]
    steps: tuple[str, ...]
    problems: tuple[str, ...]
    urgency: Urgency
    feedback: FeedbackCycle
    preset: tuple[str, int, str] | None = None  # code, working days (0: 24 hours), phrase
    status: Status = Status.DRAFT
    scenario: str = ""
    deadline_kind: DeadlineKind = DeadlineKind.DATE
    recurrence: str = ""
    deadline_text: str = ""
    preset_used: bool = False
    create_day: date | None = None
    assign_day: date | None = None
    due0: date | None = None  # as first assigned
    needs_approval: bool = False
    milestones: list[tuple[str, date]] = field(default_factory=list)
    missed: set[int] = field(default_factory=set)
    steps_plan: list[tuple[date, int, str, dict]] = field(default_factory=list)
    rank: int = 0
    remind_days: set = field(default_factory=set)
    # filled in while the plan runs
    task_id: int | None = None
    milestone_ids: list[int] = field(default_factory=list)
    request_id: int | None = None
    current_lead: str = ""

    def add(self, day: date, action: str, **kw) -> None:
        self.steps_plan.append((day, len(self.steps_plan), action, kw))

    def remind(self, day: date, action: str = "remind", **kw) -> None:
        """One reminder a day at most: the table allows one per task, department, rule and day."""
        if day not in self.remind_days:
            self.remind_days.add(day)
            self.add(day, action, **kw)


class _Planner:
    """Draws the whole district from one seeded generator; writes nothing."""

    def __init__(self, cal, today: date, seed: int):
        self.cal = cal
        self.rng = random.Random(seed)
        self.today = today
        self.last = today if cal.is_workday(today) else cal.add_workdays(today, -1).value
        self.first_due = today if cal.is_workday(today) else cal.add_workdays(today, 1).value
        self.soon_until = cal.add_workdays(today, 3).value
        start = today - timedelta(days=HISTORY_DAYS + 60)
        self.workdays = [start + timedelta(days=i) for i in range(HISTORY_DAYS + 60 + 500)
                         if cal.is_workday(start + timedelta(days=i))]
        w0 = today - timedelta(days=HISTORY_DAYS)
        self.past = [d for d in self.workdays if w0 <= d <= self.last]
        self.sources: list[_SourcePlan] = []
        self.items: list[_Item] = []
        self._pool: list[tuple[Template, dict]] = []
        self._sched_pool: list[tuple[Template, dict]] = []

    # -- calendar helpers -------------------------------------------------------

    def wd(self, day: date, n: int) -> date:
        return day if n == 0 else self.cal.add_workdays(day, n).value

    def wdb(self, a: date, b: date) -> int:
        return self.cal.workdays_between(a, b).value

    def cap(self, day: date) -> date:
        return min(day, self.last)

    def between(self, lo: date, hi: date) -> list[date]:
        i = bisect.bisect_left(self.workdays, lo)
        j = bisect.bisect_right(self.workdays, hi)
        return self.workdays[i:j]

    def rand_day(self, lo: date, hi: date) -> date:
        days = self.between(lo, hi)
        return self.rng.choice(days) if days else lo

    def spread(self, lo: date, hi: date, n: int) -> list[date]:
        days = self.between(lo, hi)
        if not days:
            return [lo] if n > 0 else []
        return sorted(self.rng.sample(days, min(n, len(days))))

    # -- what the tasks say -----------------------------------------------------

    def _pick_street(self) -> str:
        return self.rng.choice(STREETS + ["青山街道"] * 7)

    def _values(self, fixed: dict | None = None) -> dict:
        rng = self.rng
        v = {k: rng.choice(pool) for k, pool in PLACES.items()}
        v["street"] = self._pick_street()
        v["town"] = rng.choice(TOWNS)
        v["n"] = rng.choice([12, 15, 18, 20, 24, 30, 36, 45, 60])
        v["year"] = self.today.year
        v["next_year"] = self.today.year + 1
        v.update(fixed or {})
        return v

    @staticmethod
    def _expand(templates) -> list[tuple[Template, dict]]:
        """Every distinct title a template can give (one per place it names)."""
        out = []
        places = dict(PLACES, street=STREETS, town=TOWNS)
        for t in templates:
            keys = [k for k in places if "{" + k + "}" in t.title]
            if not keys:
                out.append((t, {}))
                continue
            key = keys[0]
            out.extend((t, {key: value}) for value in places[key])
        return out

    def _draw(self, pool_name: str, want=None) -> tuple[Template, dict]:
        pool = getattr(self, pool_name)
        if not pool:
            pool.extend(self._expand(SCHEDULING_TEMPLATES if pool_name == "_sched_pool" else TEMPLATES))
            self.rng.shuffle(pool)
        if want is not None:
            for i in range(len(pool) - 1, -1, -1):
                if want(pool[i][0]):
                    return pool.pop(i)
        return pool.pop()

    def _resolve(self, key: str, v: dict) -> str:
        if key == "@street":
            return v["street"]
        if key == "@town":
            return v["town"]
        return key

    def _urgency(self) -> Urgency:
        r = self.rng.random()
        return Urgency.EXTRA_URGENT if r < 0.08 else Urgency.URGENT if r < 0.3 else Urgency.NORMAL

    def _feedback(self) -> FeedbackCycle:
        return self.rng.choices([FeedbackCycle.WEEKLY, FeedbackCycle.MONTHLY, FeedbackCycle.ONCE],
                                [3, 4, 3])[0]

    def _item(self, src: _SourcePlan, t: Template, fixed: dict, *, extra_leaders=(), prefix="",
              urgency=None, feedback=None, lead=None, assists=None, preset=None) -> _Item:
        rng = self.rng
        v = self._values(fixed)
        title = t.title.format(**v)
        requirement = prefix + t.requirement.format(**v)
        lead_key = lead or self._resolve(rng.choice(t.lead), v)
        pool = [a for a in dict.fromkeys(self._resolve(a, v) for a in t.assists) if a != lead_key]
        if assists is None:
            k = min(len(pool), rng.choices([0, 1, 2, 3], [2, 4, 3, 1.5])[0])
            assists = rng.sample(pool, k)
        leaders = [DEPT_LEADER[lead_key]]
        for extra in extra_leaders:
            if extra and extra not in leaders:
                leaders.append(extra)
        item = _Item(source=src, item_no=str(len(src.items) + 1), title=title, requirement=requirement,
                     lead=lead_key, assists=[a for a in assists if a != lead_key], leaders=leaders,
                     steps=tuple(s.format(**v) for s in t.steps),
                     problems=tuple(p.format(**v) for p in t.problems) or tuple(GENERIC_PROBLEMS[:3]),
                     urgency=urgency or self._urgency(), feedback=feedback or self._feedback(), preset=preset)
        src.items.append(item)
        self.items.append(item)
        return item

    def _simple(self, src: _SourcePlan, title: str, lead: str, assists: list[str], *, preset=None,
                requirement: str = "", urgency=None, fixed=None) -> _Item:
        """An item from a short (title, lead, assists) row: audits, suggestions, documents."""
        v = self._values(fixed)
        title = title.format(**v)
        assists = [self._resolve(a, v) for a in assists]
        t = _t("专项", "", title, requirement or f"认真办理{title}相关工作，按时限报送办理结果。", [lead], assists,
               ["制定办理方案，明确责任分工", "开展调查核实", "落实具体措施", "形成办理结果"], GENERIC_PROBLEMS[:4])
        return self._item(src, t, {}, lead=lead, assists=assists, preset=preset, urgency=urgency,
                          extra_leaders=[src.leader] if src.leader in (MAYOR, EXEC) else [])

    # -- sources ----------------------------------------------------------------

    def _source(self, kind, title, reference, day, leader, meta, intro) -> _SourcePlan:
        src = _SourcePlan(len(self.sources), kind, title, reference, day, leader, meta, intro)
        self.sources.append(src)
        return src

    def _attendees(self, chair: str) -> list[str]:
        return [f"{LEADER_BY_KEY[k][1]}{LEADER_BY_KEY[k][0]}" for k, _n, _t2 in LEADERS if k != chair]

    def plan_sources(self) -> None:
        rng, past, year = self.rng, self.past, self.today.year
        n = len(past)
        base = 2 * past[0].month + 6  # meeting numbers so far this year, roughly
        mayor = LEADER_BY_KEY[MAYOR][0]

        for i, k in enumerate(range(2, n, 10)):
            no = base + i
            src = self._source(SourceKind.EXECUTIVE_MEETING, f"区政府第{no}次常务会议", f"青山府常纪〔{year}〕{no}号",
                               past[k], MAYOR, {"chair": mayor, "leaders": self._attendees(MAYOR)},
                               f"{_cn_date(past[k])}，区长{mayor}主持召开区政府第{no}次常务会议，区政府副区长、"
                               "党组成员出席，区直有关部门和街道（镇）主要负责同志列席。会议听取了有关工作汇报，"
                               "研究部署了近期重点工作。现将会议议定事项纪要如下：")
            for _ in range(rng.randint(7, 10)):
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed, extra_leaders=[MAYOR] if rng.random() < 0.15 else [])

        for i, k in enumerate(range(6, n, 13)):
            no = base // 2 + i
            src = self._source(SourceKind.MAYOR_OFFICE_MEETING, f"区长办公会议（{year}年第{no}次）",
                               f"青山府办纪〔{year}〕{no}号", past[k], MAYOR, {"chair": mayor},
                               f"{_cn_date(past[k])}，区长{mayor}主持召开区长办公会议，专题研究了重点项目推进"
                               "和民生实事有关问题。会议议定事项如下：")
            for _ in range(rng.randint(5, 7)):
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed)

        chair_groups = {GAO: ("城建", "生态"), LIN: ("安全", "农业", "经济"), MA: ("民生",), EXEC: ("经济",),
                        HE: ("治理",)}
        topic_no = base * 2
        for k in range(1, n, 5):
            chair = rng.choice([GAO, GAO, LIN, LIN, MA, MA, EXEC, HE])
            group = rng.choice(chair_groups[chair])
            first, fixed = self._draw("_pool", lambda t, g=group: t.group == g)
            name, title = LEADER_BY_KEY[chair]
            topic_no += 1
            src = self._source(SourceKind.TOPIC_MEETING, f"{first.topic}专题会议", f"青山府专纪〔{year}〕{topic_no}号",
                               past[k], chair, {"chair": name, "topic": first.topic},
                               f"{_cn_date(past[k])}，{title}{name}主持召开专题会议，研究{first.topic}有关工作。"
                               "会议议定事项如下：")
            self._item(src, first, fixed)
            for _ in range(rng.randint(2, 4)):
                t, fixed = self._draw("_pool", lambda t, g=group: t.group == g)
                self._item(src, t, fixed)

        exec_name = LEADER_BY_KEY[EXEC][0]
        seen_weeks: set[tuple[int, int]] = set()
        issue = 0
        for day in past:
            week = day.isocalendar()[:2]
            if week in seen_weeks:
                continue
            seen_weeks.add(week)
            issue += 1
            src = self._source(SourceKind.SCHEDULING_MEETING, f"重点工作调度推进会议（{week_label(day)}）",
                               f"调度〔{year}〕第{issue}期", day, EXEC, {"chair": exec_name},
                               f"{_cn_date(day)}，常务副区长{exec_name}主持召开重点工作调度推进会议，听取近期"
                               "重点工作推进情况汇报，聚焦影响工作推进的“节点”“阻点”“断点”问题逐项研究调度。"
                               "会议明确如下事项：")
            for _ in range(rng.randint(4, 6)):
                if rng.random() < 0.65:
                    t, fixed = self._draw("_sched_pool")
                    self._item(src, t, fixed, extra_leaders=[EXEC] if rng.random() < 0.3 else [],
                               feedback=FeedbackCycle.WEEKLY)
                else:
                    t, fixed = self._draw("_pool")
                    self._item(src, t, fixed, prefix="【项目推进类】", feedback=FeedbackCycle.WEEKLY)

        day = past[min(4, n - 1)]
        src = self._source(SourceKind.PLENARY_MEETING, f"区政府第{base // 4}次全体会议",
                           f"青山府全纪〔{year}〕{base // 4}号", day, MAYOR, {"chair": mayor},
                           f"{_cn_date(day)}，区长{mayor}主持召开区政府全体会议，总结前三季度工作，部署四季度"
                           "重点任务。会议要求：")
        for _ in range(5):
            t, fixed = self._draw("_pool")
            self._item(src, t, fixed, extra_leaders=[MAYOR])
        for j, k in enumerate((n // 3, 2 * n // 3)):
            no = base // 2 + j
            src = self._source(SourceKind.PARTY_GROUP_MEETING, f"区政府党组{year}年第{no}次会议",
                               f"青山府党组纪〔{year}〕{no}号", past[k], MAYOR, {"chair": mayor},
                               f"{_cn_date(past[k])}，区政府党组书记、区长{mayor}主持召开区政府党组会议。"
                               "会议研究议定事项如下：")
            for _ in range(3):
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed)

        half = "下半年" if past[0].month >= 7 else "上半年"
        src = self._source(SourceKind.KEY_WORK, f"{year}年区政府工作报告重点任务分解（{half}推进计划）",
                           f"青山政办〔{year}〕{rng.randint(30, 60)}号", past[0], MAYOR, {},
                           f"为确保{year}年区政府工作报告确定的目标任务落到实处，现将{half}重点工作分解如下，"
                           "各责任单位要细化措施、按月推进：")
        for _ in range(12):
            t, fixed = self._draw("_pool")
            self._item(src, t, fixed, feedback=FeedbackCycle.MONTHLY)

        def few(rows, count, make):
            for j, row in enumerate(rng.sample(rows, min(count, len(rows)))):
                make(j, row, self.rand_day(past[0], past[-1]))

        def npc(j, row, day, kind=SourceKind.NPC_SUGGESTION):
            topic, lead, assists = row
            v = self._values()
            topic = topic.format(**v)
            person = rng.choice(PERSON_NAMES)
            no = rng.randint(10, 180)
            if kind == SourceKind.NPC_SUGGESTION:
                title, ref, who = f"区人大代表{person}等关于{topic}的建议", f"区人大{year}年第{no}号建议", "人大代表"
            else:
                title, ref, who = f"区政协委员{person}关于{topic}的提案", f"区政协{year}年第{no}号提案", "政协委员"
            src = self._source(kind, title, ref, day, None, {"proposer": person},
                               f"{who}{person}提出：建议{topic}。经区政府研究，交由以下单位办理，"
                               "请严格责任、限时办结，主动公开办理结果：")
            self._simple(src, f"办理{who}关于{topic}的{'建议' if kind == SourceKind.NPC_SUGGESTION else '提案'}",
                         lead, assists, fixed=v, requirement=f"认真研究{who}意见，{topic}，与{who}当面沟通办理方案，"
                         "按时答复并公开办理结果。")

        few(NPC_TOPICS, 5, npc)
        few(CPPCC_TOPICS, 5,
            lambda j, row, day: npc(j, row, day, SourceKind.CPPCC_PROPOSAL))

        audits = [(f"{year}年度区本级财政预算执行和其他财政收支审计整改", AUDIT_ISSUES[:5]),
                  ("区属国有企业主要负责人经济责任审计整改", AUDIT_ISSUES[4:])]
        for j, (title, rows) in enumerate(audits):
            day = past[min(n - 1, 3 + 25 * j)]
            src = self._source(SourceKind.AUDIT_FINDING, title, f"青审报〔{year}〕{rng.randint(5, 30)}号", day,
                               MAYOR, {"auditor": "区审计局"},
                               f"区审计局审计发现以下问题，经区长{mayor}批示，请责任单位认真整改并向区政府报告：")
            for row in rows:
                self._simple(src, row[0], row[1], row[2],
                             requirement="对照审计报告逐项整改，建立整改台账，完善制度，整改结果报区审计局和区政府。")
        day = past[min(n - 1, n // 2)]
        src = self._source(SourceKind.AUDIT_FINDING, "区政府督查室重点工作专项督查发现问题整改",
                           f"青督通〔{year}〕{rng.randint(5, 20)}号", day, EXEC, {"auditor": "区政府督查室"},
                           "区政府督查室在专项督查中发现以下问题，请责任单位立行立改，并报送整改情况：")
        for row in SUPERVISION_ISSUES:
            self._simple(src, row[0], row[1], row[2], urgency=Urgency.URGENT,
                         requirement="立行立改，举一反三，3日内报送整改情况和佐证照片。")

        for j, row in enumerate(rng.sample(OPINION_ISSUES, 3)):
            v = self._values()
            issue_text = row[0].format(**v)
            day = self.rand_day(past[0], past[-1])
            src = self._source(SourceKind.PUBLIC_OPINION, f"关于“{issue_text}”网络舆情的处置",
                               f"舆情专报〔{year}〕第{rng.randint(20, 80)}期", day, HE, {"channel": "网络平台"},
                               f"据舆情监测，网络平台出现“{issue_text}”相关信息，阅读量较大。请责任单位立即核实，"
                               "5小时内发布权威信息，24小时内回应群众关切：")
            self._simple(src, f"处置“{issue_text}”网络舆情", row[1], row[2], fixed=v,
                         urgency=Urgency.EXTRA_URGENT, preset=("opinion_press", 0, "24小时内"),
                         requirement="立即核实情况，及时发布权威信息，回应群众关切，同步解决群众反映的实际问题。")

        for j, row in enumerate(rng.sample(DOCUMENT_ITEMS, 5)):
            title, lead, assists, code, days = row
            day = self.rand_day(past[0], past[-1])
            src = self._source(SourceKind.DOCUMENT, title.removeprefix("办理").removeprefix("落实"),
                               f"青政办文〔{year}〕{rng.randint(100, 400)}号", day, None, {},
                               f"{title}。请按规定时限办理：")
            self._simple(src, title, lead, assists, preset=(code, days, f"{days}个工作日内"))

        for j, row in enumerate(rng.sample(LETTER_ITEMS, 3)):
            title, lead, assists, code, days = row
            v = self._values()
            day = self.rand_day(past[0], past[-1])
            src = self._source(SourceKind.LETTER, "工作提示函" if "提示函" in title else "工作沟通函",
                               f"青督函〔{year}〕{rng.randint(10, 60)}号", day, None, {},
                               "请收函单位按要求办理，并于规定时限内书面回复：")
            self._simple(src, title, lead, assists, fixed=v, preset=(code, days, f"{days}个工作日内"))

        # Leaders' instructions make up the rest.
        issue = rng.randint(40, 90)
        issuers = [MAYOR] * 7 + [EXEC] * 5 + [GAO, GAO, LIN, LIN, MA, MA, HE] + [None] * 2
        while len(self.items) < TARGET_TASKS:
            issue += 1
            who = rng.choice(issuers)
            day = self.rand_day(past[0], past[-1])
            portfolio = {d for d, l in DEPT_LEADER.items() if l == who}
            t, fixed = self._draw("_pool", (lambda t: t.lead[0] in portfolio) if who not in (None, MAYOR) else None)
            if who is None:
                issuer, itype = "市政府分管副市长", "市领导"
                leader = MAYOR
                title = f"市领导关于{t.topic}工作的批示"
            else:
                name, ltitle = LEADER_BY_KEY[who]
                issuer, itype, leader = f"{ltitle}{name}", "区领导", who
                title = f"{ltitle}{name}关于{t.topic}工作的批示"
            src = self._source(SourceKind.LEADER_INSTRUCTION, title, f"青山批〔{year}〕{issue}号", day, leader,
                               {"issuer": issuer, "level": itype}, "")
            item = self._item(src, t, fixed, extra_leaders=[who] if rng.random() < 0.6 else [])
            src.document = f"{_label(item.lead)}《关于{t.topic}工作有关情况的报告》"
            if len(self.items) < TARGET_TASKS and rng.random() < 0.15:
                t, fixed = self._draw("_pool")
                self._item(src, t, fixed)

    # -- statuses and scenarios -------------------------------------------------

    def plan_days(self) -> None:
        rng = self.rng
        for it in self.items:
            kind = it.source.kind
            if kind in (SourceKind.LEADER_INSTRUCTION, SourceKind.PUBLIC_OPINION):
                delay = rng.choice([0, 0, 1])
            elif kind == SourceKind.SCHEDULING_MEETING:
                delay = 1
            else:
                delay = rng.randint(1, 3)
            it.create_day = self.cap(self.wd(it.source.day, delay))
            it.assign_day = it.create_day

    def assign_statuses(self) -> None:
        rng = self.rng
        total = len(self.items)
        counts = {s: round(q * total / 300) for s, (q, _m, _w) in STATUS_PLAN.items()}
        counts[Status.IN_PROGRESS] += total - sum(counts.values())
        keyed = []
        for status, count in counts.items():
            _q, mean, spread = STATUS_PLAN[status]
            keyed += [(min(1.0, max(0.0, mean + rng.uniform(-spread, spread))), status) for _ in range(count)]
        keyed.sort(key=lambda x: x[0])
        order = sorted(self.items, key=lambda it: (it.create_day, rng.random()), reverse=True)
        for it, (_key, status) in zip(order, keyed):
            it.status = status
        closed = [it for it in self.items if it.status == Status.CLOSED and not it.preset]
        for it in self.items:
            if it.preset and it.status != Status.CLOSED and self.natural_due(it, it.create_day) < self.today:
                swap = min(closed, key=lambda x: abs((x.create_day - it.create_day).days))
                closed.remove(swap)
                swap.status, it.status = it.status, Status.CLOSED
        for status, scenarios in SCENARIOS.items():
            group = [it for it in self.items if it.status == status]
            rng.shuffle(group)
            wanted = []
            for name, (q, min_age) in scenarios.items():
                wanted += [(min_age, name)] * round(q * len(group) / sum(q2 for q2, _ in scenarios.values()))
            first = next(iter(scenarios))
            while len(wanted) < len(group):
                wanted.append((scenarios[first][1], first))
            wanted.sort(key=lambda x: -x[0])
            free = list(group)
            for min_age, name in wanted[: len(group)]:
                pick = next((it for it in free if self.wdb(it.assign_day, self.last) >= min_age), free[0])
                pick.scenario = name
                free.remove(pick)

    # -- deadlines --------------------------------------------------------------

    def natural_due(self, it: _Item, a: date) -> date:
        """The deadline the item's time-limit preset gives (24 hours: the next day)."""
        days = it.preset[1]
        return a + timedelta(days=1) if days == 0 else self.wd(a, days)

    def pick_due(self, it: _Item, a: date, lo: date, hi: date) -> date:
        lo = max(lo, a)
        hi = max(hi, lo)
        if it.preset:
            natural = self.natural_due(it, a)
            if lo <= natural <= hi:
                it.preset_used = True
                return natural
        if self.rng.random() < 0.3:
            ends = []
            d = date(lo.year, lo.month, 1)
            while d <= hi:
                nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
                end = nxt - timedelta(days=1)
                if lo <= end <= hi:
                    ends.append(end)
                d = nxt
            if ends:
                return self.rng.choice(ends)
        return self.rand_day(lo, hi)

    def due_future(self, it: _Item, a: date) -> date:
        lo = max(self.wd(self.today, 4), self.wd(a, 10))
        hi = max(self.wd(a, 60), self.wd(lo, 8))
        return self.pick_due(it, a, lo, hi)

    def due_soon(self, it: _Item, a: date) -> date:
        return self.pick_due(it, a, self.first_due, self.soon_until)

    def due_past(self, it: _Item, a: date, before: date) -> date | None:
        """A deadline after ``a`` and before ``before`` (None if there is no room)."""
        hi = self.wd(before, -1)
        lo = self.wd(a, 1)
        if lo > hi:
            return None
        lo = max(lo, min(self.wd(a, 5), hi), self.wd(hi, -25))
        return self.pick_due(it, a, lo, hi)

    # -- the stories ------------------------------------------------------------

    def plan_stories(self) -> None:
        for it in self.items:
            getattr(self, f"_story_{it.status.value}")(it)
            self._finish(it)

    def _finish(self, it: _Item) -> None:
        if it.deadline_kind == DeadlineKind.ONGOING:
            it.deadline_text = "长期坚持"
        elif it.deadline_kind == DeadlineKind.RECURRING:
            it.deadline_text = "每月25日前报送进展"
        elif it.preset_used:
            it.deadline_text = it.preset[2]
        else:
            d = it.due0
            nxt = d + timedelta(days=1)
            it.deadline_text = f"{d.year}年{d.month}月底前" if nxt.day == 1 else f"{_cn_date(d)}前"
        if not it.preset_used:
            it.preset = None
        days = [s[0] for s in it.steps_plan]
        assert days and min(days) >= it.create_day and max(days) <= self.last, (it.title, it.scenario)

    def _milestones(self, it: _Item, a: date, due: date | None, *, open_: bool) -> None:
        if due is None or self.wdb(a, due) < 15 or self.rng.random() > 0.35:
            return
        k = self.rng.choice([2, 3])
        span = self.wdb(a, due)
        for j in range(1, k + 1):
            day = self.wd(a, span * j // (k + 1))
            step = it.steps[min(len(it.steps) - 1, (len(it.steps) * j) // (k + 1))]
            it.milestones.append((step, day))
            if open_ and day < self.today and self.rng.random() < 0.45:
                it.missed.add(j - 1)

    def _out(self, it: _Item, due: date | None, *, approval: bool | None = None) -> date:
        """Create and send out; returns the assignment day."""
        it.due0 = due
        c = it.create_day
        if approval is None:
            approval = (EXEC in it.leaders and self.rng.random() < 0.35 and c < self.last
                        and (due is None or due >= self.wd(c, 1)))
        it.needs_approval = approval
        it.add(c, "create")
        if approval:
            it.assign_day = self.cap(self.wd(c, 1))
            it.add(c, "submit")
            it.add(it.assign_day, "approve")
        else:
            it.add(c, "assign")
        return it.assign_day

    def _ack(self, it: _Item, a: date, latest: date | None = None) -> date:
        k = self.cap(self.wd(a, self.rng.choice([0, 1, 1, 1, 2])))
        if latest is not None:
            k = max(a, min(k, latest))
        it.add(k, "ack")
        return k

    def _pct(self, it: _Item, a: date, due: date | None, day: date) -> int:
        if due is None:
            return 0
        f = self.wdb(a, day) / max(1, self.wdb(a, due))
        return int(min(90, max(10, 100 * f + self.rng.uniform(-12, 8))) // 5 * 5)

    def _work(self, it: _Item, lo: date, hi: date, n: int, pct_to: int | None, *, final=False,
              problems=0.25, assists=True, done: set | None = None) -> None:
        """Lead reports on ``n`` days in [lo, hi] rising to ``pct_to``; assisting parts too."""
        rng = self.rng
        lo, hi = min(lo, hi), hi
        days = self.spread(lo, hi, n)
        if final and days and days[-1] != hi:
            days[-1] = hi
            days = sorted(set(days))
        done = done if done is not None else set()
        for j, day in enumerate(days):
            last = j == len(days) - 1
            pct = None
            if pct_to is not None:
                pct = 100 if (final and last) else max(5, int(pct_to * (j + 1) / len(days)) // 5 * 5)
            marks = []
            for m, (_title, mday) in enumerate(it.milestones):
                if m in done or (m in it.missed and not (final and last)):
                    continue
                if (final and last) or mday <= self.wd(day, 3):
                    marks.append(m)
                    done.add(m)
            has_problem = not (final and last) and rng.random() < problems
            it.add(day, "report", pct=pct, final=final and last, problem=has_problem, marks=marks)
        if assists:
            for dep in it.assists:
                if rng.random() < 0.55:
                    for day in self.spread(lo, hi, rng.choice([1, 1, 1, 2])):
                        it.add(day, "part", dep=dep)

    def _pressure(self, it: _Item, due: date, until: date) -> None:
        """What the office (and the leader) do once a deadline has passed."""
        rng = self.rng
        for n, action in ((1, "remind"), (3, "remind"), (5, "escalate"), (8, "leader_remind"), (12, "escalate3")):
            day = self.wd(due, n)
            if day > until or day > self.last:
                break
            if action == "leader_remind" and not self._leader_party(it):
                continue
            if action.startswith("escalate") and rng.random() > 0.75:
                continue
            if action in ("remind", "leader_remind"):
                it.remind(day, action, due=due, overdue=True)
            else:
                it.add(day, "escalate", due=due, level=3 if action == "escalate3" else 2)

    def _leader_party(self, it: _Item) -> bool:
        return EXEC in it.leaders or DEPT_LEADER[it.lead] == EXEC

    def _reports_n(self, it: _Item, lo: date, hi: date) -> int:
        per = {FeedbackCycle.WEEKLY: 5, FeedbackCycle.MONTHLY: 18, FeedbackCycle.ONCE: 25}[it.feedback]
        return max(1, min(3, 1 + self.wdb(lo, hi) // per))

    # statuses

    def _story_draft(self, it: _Item) -> None:
        c = it.create_day
        it.due0 = self.due_future(it, c)
        self._milestones(it, c, it.due0, open_=False)
        it.add(c, "create")
        if it.scenario == "rejected":
            if EXEC not in it.leaders:
                it.leaders.append(EXEC)
            it.needs_approval = True
            it.add(c, "submit")
            it.add(self.cap(self.wd(c, 1)), "reject")

    def _story_pending_approval(self, it: _Item) -> None:
        c = it.create_day
        if self.rng.random() < 0.7 and EXEC not in it.leaders:
            it.leaders.append(EXEC)
        it.needs_approval = True
        it.due0 = self.due_future(it, c)
        it.add(c, "create")
        it.add(c, "submit")

    def _story_assigned(self, it: _Item) -> None:
        rng = self.rng
        age = self.wdb(it.create_day, self.last)
        if it.scenario == "reassigned" and age >= 2:
            a = self._out(it, None, approval=False)
            it.due0 = self.due_future(it, a)
            options = [d for d in it.assists] or [d for d, l in DEPT_LEADER.items()
                                                   if l == DEPT_LEADER[it.lead] and d != it.lead]
            new = rng.choice(options)
            it.add(self.wd(a, 1), "reassign_request", new=new)
            it.add(self.cap(self.wd(a, 2)), "reassign_decide", new=new)
            return
        stale = it.scenario == "stale" or age >= 3
        due = None
        if stale and age >= 4 and (it.scenario == "stale" or rng.random() < 0.5):
            due = self.due_past(it, it.create_day, self.today)
        if due is None:
            due = self.due_soon(it, it.create_day) if rng.random() < 0.2 else self.due_future(it, it.create_day)
        a = self._out(it, due)
        self._milestones(it, a, due, open_=True)
        if stale:
            for n in (3, 6):
                day = self.wd(a, n)
                if day <= self.last and (due >= self.today or day <= due):
                    it.remind(day, due=due, unacknowledged=True, days=n)
            if due < self.today:
                self._pressure(it, due, self.last)
        for dep in it.assists:
            if rng.random() < 0.3:
                it.add(self.rand_day(a, self.last), "part", dep=dep)

    def _story_acknowledged(self, it: _Item) -> None:
        rng = self.rng
        due = None
        if it.scenario == "overdue":
            due = self.due_past(it, it.create_day, self.today)
        elif it.scenario == "soon":
            due = self.due_soon(it, it.create_day)
        if due is None:
            due = self.due_future(it, it.create_day)
        a = self._out(it, due)
        self._milestones(it, a, due, open_=True)
        k = self._ack(it, a, latest=due)
        for dep in it.assists:
            if rng.random() < 0.5:
                it.add(self.rand_day(k, self.last), "part", dep=dep)
        if due < self.today:
            self._pressure(it, due, self.last)
        elif self.wdb(k, self.last) > 10:
            it.remind(self.rand_day(self.wd(k, 8), self.last), due=due, no_report=True)
        if due <= self.soon_until and rng.random() < 0.6:
            it.remind(self.last, due=due, soon=True)

    def _story_in_progress(self, it: _Item) -> None:
        rng, last, today = self.rng, self.last, self.today
        sc = it.scenario
        c = it.create_day
        age = self.wdb(c, last)
        if sc == "ongoing":
            if rng.random() < 0.5:
                it.deadline_kind, it.feedback = DeadlineKind.ONGOING, FeedbackCycle.MONTHLY
            else:
                it.deadline_kind, it.recurrence = DeadlineKind.RECURRING, "monthly:25"
                it.feedback = FeedbackCycle.MONTHLY
            a = self._out(it, None)
            k = self._ack(it, a)
            self._work(it, self.wd(k, 1) if k < last else k, last, max(1, min(4, 1 + self.wdb(k, last) // 15)),
                       None, problems=0.15)
            return
        if sc == "overdue" and age >= 3:
            due = self.due_past(it, c, today)
            a = self._out(it, due, approval=False)
            self._milestones(it, a, due, open_=True)
            k = self._ack(it, a, latest=due)
            self._work(it, k, due, self._reports_n(it, k, due), rng.choice([30, 40, 50]), problems=0.3)
            self._work(it, self.wd(due, 1), last, rng.choice([1, 1, 2]), rng.choice([60, 70, 80, 85]),
                       problems=0.85, assists=False)
            self._pressure(it, due, last)
            return
        if sc == "ext_ok" and age >= 2:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a)
            e = self.rand_day(k, self.wd(last, -1)) if k < last else k
            due0 = self.pick_due(it, a, max(e, self.wd(a, 3)), self.wd(e, 5))
            due1 = self.wd(max(due0, today), rng.randint(8, 30))
            it.due0 = due0
            self._milestones(it, a, due0, open_=True)
            self._work(it, k, e, self._reports_n(it, k, e), self._pct(it, a, due0, e) // 2 + 10)
            it.add(e, "ext_request", new_due=due1)
            dd = self.cap(self.wd(e, 1))
            it.add(dd, "ext_decide", approve=True, new_due=due1)
            if dd < last:
                self._work(it, self.wd(dd, 1), last, rng.choice([1, 2]), self._pct(it, a, due1, last),
                           assists=False)
            return
        if sc == "ext_overdue" and age >= 6:
            a = self._out(it, None, approval=False)
            span = self.wdb(a, last)
            due1 = self.wd(last, -rng.randint(1, min(10, span - 4)))
            due0 = self.wd(due1, -rng.randint(1, max(1, min(10, self.wdb(a, due1) - 2))))
            it.due0 = due0
            k = self._ack(it, a, latest=due0)
            e = self.rand_day(k, due0)
            it.add(e, "ext_request", new_due=due1)
            dd = self.wd(e, 1)
            it.add(dd, "ext_decide", approve=True, new_due=due1)
            self._work(it, k, last, self._reports_n(it, k, last) + 1, rng.choice([60, 70, 80]), problems=0.6)
            self._pressure(it, due1, last)
            return
        if sc == "ext_refused" and age >= 2:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a)
            e = self.rand_day(k, self.wd(last, -1)) if k < last else k
            due0 = self.pick_due(it, a, max(e, self.wd(a, 2)), self.wd(e, 5))
            it.due0 = due0
            self._milestones(it, a, due0, open_=True)
            self._work(it, k, e, self._reports_n(it, k, e), 40)
            it.add(e, "ext_request", new_due=self.wd(due0, rng.randint(10, 20)))
            it.add(self.cap(self.wd(e, 1)), "ext_decide", approve=False)
            if due0 < today:
                self._work(it, self.wd(due0, 1), last, 1, rng.choice([60, 70, 80]), problems=0.8, assists=False)
                self._pressure(it, due0, last)
            return
        if sc == "ext_pending" and age >= 1:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a)
            e = self.rand_day(max(k, self.wd(last, -3)), last)
            due0 = self.pick_due(it, a, max(e, self.first_due), self.wd(today, 6))
            it.due0 = due0
            self._work(it, k, e, self._reports_n(it, k, e), rng.choice([50, 60, 70]), problems=0.6)
            it.add(e, "ext_request", new_due=self.wd(due0, rng.randint(10, 20)))
            return
        if sc == "returned" and age >= 3:
            past_due = rng.random() < 0.3 and age >= 6
            a0 = it.create_day
            due = self.due_past(it, a0, today) if past_due else None
            due = due or self.due_future(it, a0)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            r1 = self.rand_day(self.wd(k, 1), self.wd(last, -1))
            self._work(it, k, r1, self._reports_n(it, k, r1), 100, final=True)
            it.add(r1, "close_request")
            ret = self.cap(self.wd(r1, rng.choice([1, 1, 2])))
            it.add(ret, "return")
            self._work(it, ret, last, rng.choice([1, 2]), 90, assists=False, problems=0.3)
            if due < today:
                self._pressure(it, due, last)
            return
        if sc == "reopened" and age >= 6:
            due = self.due_future(it, it.create_day) if rng.random() < 0.4 else None
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            v = self.rand_day(self.wd(k, 2), self.wd(last, -3))
            if due is None:
                it.due0 = due = self.pick_due(it, a, v, self.wd(v, 5))
            r = self.wd(v, -1)
            self._work(it, k, r, self._reports_n(it, k, r), 100, final=True)
            it.add(r, "close_request")
            it.add(v, "approve_close")
            o = self.rand_day(self.wd(v, 1), self.wd(last, -1))
            it.add(o, "reopen")
            self._work(it, self.wd(o, 1), last, 1, 80, assists=False, problems=0.5)
            if due < today:
                self._pressure(it, max(due, o), last)
            return
        if sc == "resumed" and age >= 4:
            due = self.due_future(it, it.create_day)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            s = self.rand_day(self.wd(k, 1), self.wd(last, -2))
            self._work(it, k, s, 1, 20)
            it.add(s, "suspend")
            rs = self.rand_day(self.wd(s, 1), self.wd(last, -1))
            it.add(rs, "resume")
            self._work(it, self.wd(rs, 1), last, 1, 40, assists=False)
            return
        if sc == "change" and age >= 3:
            due = self.due_future(it, it.create_day)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            c1 = self.rand_day(self.wd(k, 1), self.wd(last, -1))
            self._work(it, k, c1, 1, 20)
            it.add(c1, "change_request")
            it.add(self.cap(self.wd(c1, 1)), "change_decide", approve=rng.random() < 0.6)
            self._work(it, self.cap(self.wd(c1, 1)), last, 1, self._pct(it, a, due, last), assists=False)
            return
        # on track, or due within three working days (and the fallback for the rest)
        soon = sc == "soon" or (sc not in ("ontrack",) and rng.random() < 0.2)
        due = self.due_soon(it, it.create_day) if soon else self.due_future(it, it.create_day)
        a = self._out(it, due)
        self._milestones(it, a, due, open_=True)
        k = self._ack(it, a)
        lo = self.wd(k, 1) if k < last else k
        pct = rng.choice([60, 70, 80, 90]) if soon else self._pct(it, a, due, last)
        self._work(it, lo, last, self._reports_n(it, lo, last), pct, problems=0.2)
        if soon and rng.random() < 0.6:
            it.remind(last, due=due, soon=True)

    def _story_pending_review(self, it: _Item) -> None:
        rng, last, today = self.rng, self.last, self.today
        sc = it.scenario
        age = self.wdb(it.create_day, last)
        if sc == "late" and age >= 3:
            r = self.rand_day(self.wd(it.create_day, 2), last)
            due = self.due_past(it, it.create_day, r)
            if due is not None:
                a = self._out(it, due, approval=False)
                k = self._ack(it, a, latest=due)
                self._work(it, k, r, self._reports_n(it, k, r) + 1, 100, final=True, problems=0.4)
                self._pressure(it, due, self.wd(r, -1))
                it.add(r, "close_request")
                return
        if sc == "second" and age >= 4:
            due = self.due_future(it, it.create_day)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a, latest=self.wd(last, -4))
            r1 = self.rand_day(self.wd(k, 1), self.wd(last, -2))
            self._work(it, k, r1, self._reports_n(it, k, r1), 100, final=True)
            it.add(r1, "close_request")
            ret = self.wd(r1, 1)
            it.add(ret, "return")
            r2 = self.rand_day(ret, last)
            self._work(it, ret, r2, 1, 100, final=True, assists=False)
            it.add(r2, "close_request", again=True)
            return
        a = self._out(it, None)
        k = self._ack(it, a)
        r = self.rand_day(max(k, self.wd(last, -4)), last)
        it.due0 = due = self.pick_due(it, a, max(r, self.wd(a, 3)), self.wd(today, 20))
        self._milestones(it, a, due, open_=False)
        self._work(it, k, r, self._reports_n(it, k, r), 100, final=True)
        it.add(r, "close_request")

    def _story_closed(self, it: _Item) -> None:
        rng, last = self.rng, self.last
        sc = it.scenario
        c = it.create_day
        age = self.wdb(c, last)
        if it.preset and self.natural_due(it, c) <= last:
            due = self.natural_due(it, c)
            it.preset_used = True
            a = self._out(it, due, approval=False)
            k = self._ack(it, a, latest=due)
            late = rng.random() < 0.3 and self.wd(due, 1) <= last
            v = self.rand_day(self.wd(due, 1), min(self.wd(due, 4), last)) if late else self.rand_day(k, min(due, last))
            self._work(it, k, v, 1, 100, final=True, assists=False)
            it.add(v, "close_request")
            it.add(v, "approve_close")
            return
        if sc == "late" and age >= 4:
            v = self.rand_day(self.wd(c, 4), last)
            due = self.due_past(it, c, self.wd(v, 0))
            if due is not None:
                a = self._out(it, due, approval=False)
                k = self._ack(it, a, latest=due)
                r = self.rand_day(self.wd(due, 1), v) if self.wd(due, 1) <= v else v
                self._work(it, k, r, self._reports_n(it, k, r) + 1, 100, final=True, problems=0.4)
                self._pressure(it, due, self.wd(r, -1))
                it.add(r, "close_request")
                it.add(v, "approve_close")
                return
        if sc == "extended" and age >= 5:
            a = self._out(it, None, approval=False)
            v = self.rand_day(self.wd(a, 5), last)
            due0 = self.pick_due(it, a, self.wd(a, 2), self.wd(v, -2))
            it.due0 = due0
            k = self._ack(it, a, latest=due0)
            e = self.rand_day(k, due0)
            late = rng.random() < 0.3 and self.wd(due0, 1) < v
            due1 = (self.rand_day(self.wd(due0, 1), self.wd(v, -1)) if late
                    else self.wd(max(v, due0), rng.randint(0, 15)))
            if due1 <= due0:
                due1 = self.wd(due0, 5)
            it.add(e, "ext_request", new_due=due1)
            dd = min(self.wd(e, 1), v)
            it.add(dd, "ext_decide", approve=True, new_due=due1)
            r = self.rand_day(dd, v)
            self._work(it, k, r, self._reports_n(it, k, r) + 1, 100, final=True)
            if late:
                self._pressure(it, due1, self.wd(r, -1))
            it.add(r, "close_request")
            it.add(v, "approve_close")
            return
        if sc == "returned" and age >= 5:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a, latest=self.wd(last, -5))
            v = self.rand_day(self.wd(k, 4), last)
            r1 = self.rand_day(self.wd(k, 1), self.wd(v, -3))
            ret = self.wd(r1, 1)
            r2 = self.rand_day(self.wd(ret, 1), self.wd(v, -1))
            if rng.random() < 0.3:
                due = self.pick_due(it, a, self.wd(a, 1), self.wd(v, -1))
            else:
                due = self.pick_due(it, a, v, self.wd(v, 15))
            it.due0 = due
            self._milestones(it, a, due, open_=False)
            done: set = set()
            self._work(it, k, r1, self._reports_n(it, k, r1), 100, final=True, done=done)
            it.add(r1, "close_request")
            it.add(ret, "return")
            self._work(it, ret, r2, 1, 100, final=True, assists=False, done=done)
            it.add(r2, "close_request", again=True)
            it.add(v, "approve_close")
            return
        # closed on time
        a = self._out(it, None)
        k = self._ack(it, a)
        v = self.rand_day(min(self.wd(a, 3), last), last) if a < last else a
        r = max(k, self.wd(v, -rng.choice([0, 1, 1, 2])))
        r = min(r, v)
        it.due0 = due = self.pick_due(it, a, v, self.wd(v, 20))
        self._milestones(it, a, due, open_=False)
        self._work(it, k, r, self._reports_n(it, k, r), 100, final=True)
        it.add(r, "close_request")
        it.add(v, "approve_close")

    def _story_suspended(self, it: _Item) -> None:
        rng, last = self.rng, self.last
        due = self.due_future(it, it.create_day)
        a = self._out(it, due)
        k = self._ack(it, a)
        s = self.rand_day(self.wd(k, 1), last) if k < last else k
        if s > k:
            self._work(it, k, self.wd(s, -1) if self.wd(s, -1) >= k else k, 1, rng.choice([10, 20, 30]))
        it.add(s, "suspend")

    def _story_cancelled(self, it: _Item) -> None:
        rng, last = self.rng, self.last
        if it.scenario == "from_pending":
            it.needs_approval = True
            if EXEC not in it.leaders:
                it.leaders.append(EXEC)
            it.due0 = self.due_future(it, it.create_day)
            it.add(it.create_day, "create")
            it.add(it.create_day, "submit")
            it.add(self.rand_day(it.create_day, last), "cancel")
            return
        due = self.due_future(it, it.create_day)
        a = self._out(it, due)
        if it.scenario == "from_progress" and a < last:
            k = self._ack(it, a)
            x = self.rand_day(self.wd(k, 1), last) if k < last else k
            self._work(it, k, x, 1, 20)
            it.add(x, "cancel")
        else:
            it.add(self.rand_day(a, last), "cancel")

    # -- minutes and instruction texts -------------------------------------------

    def compose_bodies(self) -> None:
        for src in self.sources:
            if src.kind in MEETING_KINDS:
                present = "、".join(dict.fromkeys(_label(d) for it in src.items for d in [it.lead, *it.assists]))
                leaders = "、".join(src.meta.get("leaders", []))
                src.attendees = (f"{leaders}；" if leaders else "") + f"列席：{present}"
            lines = [src.intro] if src.intro else []
            for it in src.items:
                assists = "、".join(_label(d) for d in it.assists)
                who = f"由{_label(it.lead)}牵头" + (f"，{assists}配合" if assists else "")
                leaders = "、".join(LEADER_BY_KEY[k][0] for k in it.leaders)
                when = f"{it.deadline_text}完成" if it.deadline_kind == DeadlineKind.DATE else it.deadline_text
                line = f"{it.title}。{it.requirement}{who}，{leaders}同志负责协调，{when}。"
                if src.kind in NUMBERED_KINDS:
                    lines.append(f"{_cn_number(int(it.item_no))}、{line}")
                else:
                    lines.append(line)
            if src.kind == SourceKind.LEADER_INSTRUCTION:
                it = src.items[0]
                issuer = src.meta["issuer"]
                first = (f"{issuer}批示：“{it.requirement}请{_label(it.lead)}牵头"
                         + (f"，{'、'.join(_label(d) for d in it.assists)}配合" if it.assists else "")
                         + (f"，{it.deadline_text}报办理结果。”" if it.deadline_kind == DeadlineKind.DATE
                            else f"，{it.deadline_text}。”"))
                if src.meta.get("level") == "市领导":
                    first += f"\n区长{LEADER_BY_KEY[MAYOR][0]}批示：“请{LEADER_BY_KEY[DEPT_LEADER[it.lead]][0]}同志牵头抓好落实。”"
                lines = [first] + [f"另：{x.title}，由{_label(x.lead)}办理。" for x in src.items[1:]]
            src.body = "\n".join(lines)



# --- running the plan through the services --------------------------------------


@dataclass
class _Org:
    departments: dict[str, int]
    leaders: dict[str, int]
    users: dict[str, User]
    office: Actor
    office2: Actor
    leader: Actor  # 吴海涛, the 常务副区长
    clerks: dict[str, Actor]
    created: Tally


def _free_aliases(session: Session, aliases: list[str]) -> list[str]:
    """Aliases no other department uses yet (a database may already hold real ones)."""
    out = []
    for alias in aliases:
        key = organisation.normalise_name(alias)
        taken = session.exec(select(DepartmentAlias).where(DepartmentAlias.alias == key)).first()
        named = session.exec(select(Department).where(Department.name == key)).first()
        if not taken and not named:
            out.append(alias)
    return out


def _build_org(session: Session) -> _Org:
    """Departments, leaders and users; existing ones (same name / login) are reused."""
    created: Tally = Tally()
    admin_user = session.exec(select(User).where(User.username == "admin")).first()
    if admin_user is None:
        admin_user = organisation.create_user(session, SYSTEM, "admin", "系统管理员", DEMO_PASSWORD, Role.ADMIN)
        created["user"] += 1
    admin = Actor.of(admin_user)

    departments: dict[str, int] = {}
    for order, (key, name, aliases, kind, _leader) in enumerate(DEPARTMENTS, start=1):
        dep = session.exec(select(Department).where(Department.name == organisation.normalise_name(name))).first()
        if dep is None:
            dep = organisation.create_department(session, admin, name, kind=kind, short_name=_label(key),
                                                 aliases=_free_aliases(session, aliases), sort_order=order * 10)
            created["department"] += 1
        else:
            for alias in _free_aliases(session, aliases):
                organisation.add_alias(session, dep, alias, audit_actor=admin)
        departments[key] = dep.id

    leaders: dict[str, int] = {}
    for order, (key, name, title) in enumerate(LEADERS, start=1):
        leader = session.exec(select(Leader).where(Leader.name == name, Leader.title == title)).first()
        if leader is None:
            portfolio = [departments[d] for d, l in DEPT_LEADER.items() if l == key]
            leader = organisation.create_leader(session, admin, name, title, department_ids=portfolio,
                                                sort_order=order * 10)
            created["leader"] += 1
        leaders[key] = leader.id

    users: dict[str, User] = {"admin": admin_user}
    for username, display, role, dep_key, leader_key in USERS:
        if username in users:
            continue
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = organisation.create_user(
                session, admin, username, display, DEMO_PASSWORD, role,
                department_id=departments[dep_key] if dep_key else None,
                leader_id=leaders[leader_key] if leader_key else None, must_change_password=False)
            created["user"] += 1
        users[username] = user

    def actor(username: str, display: str, role: Role, **kw) -> Actor:
        user = users[username]
        ok = (user.role == role and user.active
              and all(getattr(user, name) == value for name, value in kw.items()))
        # A same-named account with another role stays untouched; act without it.
        return Actor.of(user) if ok else Actor(None, display, role, **kw)

    clerks = {}
    for key, _name, _aliases, _kind, _leader in DEPARTMENTS:
        clerks[key] = Actor(None, f"{_label(key)}联络员", Role.CLERK, department_id=departments[key])
    for username, display, role, dep_key, _leader_key in USERS:
        if role == Role.CLERK:
            clerks[dep_key] = actor(username, display, role, department_id=departments[dep_key])
    return _Org(
        departments=departments, leaders=leaders, users=users,
        office=actor("duchashi", "督查室王敏", Role.SUPERVISOR),
        office2=actor("duchashi2", "督查室张磊", Role.SUPERVISOR),
        leader=actor("wuhaitao", "吴海涛", Role.LEADER, leader_id=leaders[EXEC]),
        clerks=clerks, created=created,
    )


class _Runner:
    """Replays the plan day by day on the frozen clock, through the services only."""

    def __init__(self, session: Session, org: _Org, plan: _Planner, seed: int):
        self.session = session
        self.org = org
        self.plan = plan
        self.rng = random.Random(seed + 1)  # texts are drawn in replay order

    def run(self) -> None:
        plan = self.plan
        ordered = sorted(plan.items, key=lambda it: (it.create_day, it.source.idx, int(it.item_no)))
        for rank, it in enumerate(ordered):
            it.rank = rank
            it.current_lead = it.lead
        events = [(src.day, -1, src.idx, 0, "source", src, {}) for src in plan.sources]
        for it in ordered:
            events += [(day, 0, it.rank, seq, action, it, kw) for day, seq, action, kw in it.steps_plan]
        events.sort(key=lambda e: e[:4])  # by day; sources first; each task's steps in order
        for day, _phase, _rank, _seq, action, subject, kw in events:
            with clock.frozen(day):
                getattr(self, f"_do_{action}")(subject, **kw)

    # helpers

    def office(self, it: _Item) -> Actor:
        return self.org.office2 if it.rank % 4 == 3 else self.org.office

    def lead(self, it: _Item) -> Actor:
        return self.org.clerks[it.current_lead]

    def dep(self, key: str) -> int:
        return self.org.departments[key]

    # sources

    def _do_source(self, src: _SourcePlan) -> None:
        row = sources.create_source(self.session, self.org.office, {
            "kind": src.kind, "title": src.title, "reference": src.reference, "source_date": src.day,
            "leader_id": self.org.leaders[src.leader] if src.leader else None, "body": src.body,
            "attendees": src.attendees, "document": src.document,
        })
        src.db_id = row.id

    # the loop

    def _do_create(self, it: _Item) -> None:
        data = {
            "title": it.title,
            "requirement": it.requirement,
            "source_id": it.source.db_id,
            "item_no": it.item_no,
            "lead_department_id": self.dep(it.lead),
            "assisting_department_ids": [self.dep(d) for d in it.assists],
            "leader_ids": [self.org.leaders[k] for k in it.leaders],
            "urgency": it.urgency,
            "deadline_kind": it.deadline_kind,
            "due_date": it.due0,
            "deadline_text": it.deadline_text,
            "recurrence": it.recurrence,
            "time_limit_preset": it.preset[0] if it.preset else "",
            "feedback_cycle": it.feedback,
            "needs_leader_approval": it.needs_approval,
            "milestones": [{"title": t, "due_date": d} for t, d in it.milestones],
        }
        task = tasks.create_draft(self.session, self.office(it), data)
        it.task_id = task.id
        if it.milestones:
            it.milestone_ids = list(self.session.exec(
                select(Milestone.id).where(Milestone.task_id == task.id).order_by(Milestone.sort_order)))

    def _do_submit(self, it: _Item) -> None:
        tasks.submit_for_approval(self.session, self.office(it), it.task_id)

    def _do_approve(self, it: _Item) -> None:
        tasks.leader_approve(self.session, self.org.leader, it.task_id, note="同意，请督查室交办并跟踪督办。")

    def _do_reject(self, it: _Item) -> None:
        tasks.leader_reject(self.session, self.org.leader, it.task_id, self.rng.choice(REJECT_REASONS))

    def _do_assign(self, it: _Item) -> None:
        tasks.assign(self.session, self.office(it), it.task_id)

    def _do_ack(self, it: _Item) -> None:
        tasks.acknowledge(self.session, self.lead(it), it.task_id)

    def _do_report(self, it: _Item, pct: int | None, final: bool, problem: bool, marks: list[int]) -> None:
        rng, steps = self.rng, it.steps
        if pct is None:
            idx = rng.randrange(len(steps))
            text = f"本期工作：{steps[idx]}，各项工作按计划持续推进。"
        elif final:
            idx = len(steps) - 1
            text = f"{steps[idx]}。各项工作已按要求全部完成，相关佐证材料已上传。"
        else:
            idx = min(len(steps) - 1, pct * len(steps) // 101)
            text = f"{steps[idx]}。目前整体完成约{pct}%。"
        if final:
            next_steps = "按程序申请办结。"
        elif idx + 1 < len(steps):
            next_steps = f"{steps[idx + 1]}。"
        else:
            next_steps = "巩固成效，做好收尾工作。"
        problems = ""
        if problem:
            problems = rng.choice(list(it.problems) + GENERIC_PROBLEMS) + "。"
        data = {"text": text, "percent": pct, "problems": problems, "next_steps": next_steps,
                "needs_coordination": bool(problem and rng.random() < 0.5),
                "milestones_done": [it.milestone_ids[m] for m in marks]}
        tasks.report_progress(self.session, self.lead(it), it.task_id, data)

    def _do_part(self, it: _Item, dep: str) -> None:
        if dep == it.current_lead or dep not in it.assists:
            return
        kind = DEPT_BY_KEY[dep][3]
        phrase = ASSIST_PHRASES.get(dep) or (
            "辖区内入户宣传、群众工作和现场协调" if kind in (ST, TW) else "本单位职责范围内的配合工作")
        text = (f"按照牵头单位{_label(it.current_lead)}的要求，已完成{phrase}。"
                + self.rng.choice(["相关材料已报送牵头单位。", "将继续做好配合工作。", "下一步将按时间节点配合推进。"]))
        tasks.report_progress(self.session, self.org.clerks[dep], it.task_id, {"text": text})

    def _do_ext_request(self, it: _Item, new_due: date) -> None:
        reason = f"{self.rng.choice(EXTENSION_REASONS)}，申请延期至{_cn_date(new_due)}。"
        req = tasks.request_extension(self.session, self.lead(it), it.task_id, new_due, reason)
        it.request_id = req.id

    def _do_ext_decide(self, it: _Item, approve: bool, new_due: date | None = None) -> None:
        note = (f"同意延期至{_cn_date(new_due)}，请严格按新时限办结。" if approve and new_due
                else self.rng.choice(REFUSE_NOTES))
        tasks.decide_extension(self.session, self.office(it), it.request_id, approve, note)

    def _do_close_request(self, it: _Item, again: bool = False) -> None:
        assists = "、".join(_label(d) for d in it.assists)
        summary = (("已按退回意见补充完善。" if again else "")
                   + f"{it.title}已按要求办理完毕：{it.steps[-1]}。"
                   + (f"{assists}按职责完成配合工作。" if assists else "")
                   + "佐证材料已上传，申请办结。")
        tasks.request_close(self.session, self.lead(it), it.task_id, summary)

    def _do_return(self, it: _Item) -> None:
        tasks.review_close(self.session, self.office(it), it.task_id, approve=False,
                           note=self.rng.choice(RETURN_NOTES))

    def _do_approve_close(self, it: _Item) -> None:
        tasks.review_close(self.session, self.office(it), it.task_id, approve=True,
                           note="经审核，办理结果符合要求，同意办结。")

    def _reminder_text(self, it: _Item, due: date | None, **kw) -> str:
        if kw.get("unacknowledged"):
            return f"该事项已交办{kw['days']}个工作日，贵单位尚未签收，请尽快签收并明确经办人。"
        if kw.get("soon"):
            return f"该事项将于{_cn_date(due)}到期，请抓紧办理，按时申请办结。"
        if kw.get("no_report"):
            return "该事项签收后未按反馈周期报送进展，请及时报送。"
        return f"该事项完成时限为{_cn_date(due)}，现已逾期，请抓紧办理并于明日下班前报送进展。"

    def _do_remind(self, it: _Item, due: date | None = None, **kw) -> None:
        tasks.remind(self.session, self.office(it), it.task_id, self._reminder_text(it, due, **kw))

    def _do_leader_remind(self, it: _Item, due: date | None = None, **kw) -> None:
        message = f"请{_label(it.current_lead)}主要负责同志亲自过问，尽快办结，办理情况报我。"
        tasks.remind(self.session, self.org.leader, it.task_id, message)

    def _do_escalate(self, it: _Item, due: date, level: int) -> None:
        who = "报请责任领导督办" if level == 3 else "现予督办"
        reason = (f"该事项已超过完成时限（{_cn_date(due)}），经多次催办仍未办结，{who}。请{_label(it.current_lead)}"
                  "主要负责同志亲自过问，3个工作日内书面报送办理情况。")
        tasks.escalate(self.session, self.office(it), it.task_id, reason, level=level)

    def _do_suspend(self, it: _Item) -> None:
        tasks.suspend(self.session, self.office(it), it.task_id, self.rng.choice(SUSPEND_REASONS))

    def _do_resume(self, it: _Item) -> None:
        tasks.resume(self.session, self.office(it), it.task_id, "暂缓原因已消除，恢复办理。")

    def _do_cancel(self, it: _Item) -> None:
        tasks.cancel(self.session, self.office(it), it.task_id, self.rng.choice(CANCEL_REASONS))

    def _do_reopen(self, it: _Item) -> None:
        tasks.reopen(self.session, self.office(it), it.task_id,
                     "复查核验发现整改不彻底，部分问题出现反弹，重新打开继续办理。")

    def _do_reassign_request(self, it: _Item, new: str) -> None:
        reason = self.rng.choice(REASSIGN_REASONS).format(other=_label(new))
        req = tasks.request_reassign(self.session, self.lead(it), it.task_id, reason,
                                     suggested_department_id=self.dep(new))
        it.request_id = req.id

    def _do_reassign_decide(self, it: _Item, new: str) -> None:
        tasks.decide_reassign(self.session, self.office(it), it.request_id, True,
                              new_lead_department_id=self.dep(new), note=f"经核实，同意改由{_label(new)}牵头办理。")
        it.current_lead = new
        it.assists = [d for d in it.assists if d != new]

    def _do_change_request(self, it: _Item) -> None:
        requirement = it.requirement + "（经协调，先行实施一期工程，二期视资金和用地条件另行安排。）"
        req = tasks.request_change(self.session, self.lead(it), it.task_id,
                                   "受资金和用地条件限制，原工作要求难以一次完成，申请调整工作内容。",
                                   requirement=requirement)
        it.request_id = req.id

    def _do_change_decide(self, it: _Item, approve: bool) -> None:
        note = "" if approve else "原工作要求系区政府会议议定，不宜调整，请按原要求办理。"
        tasks.decide_change(self.session, self.office(it), it.request_id, approve, note)


# --- the entry point -------------------------------------------------------------


def _score_history(session: Session, today: date) -> None:
    """Score snapshots on each Sunday of the last 26 weeks and yesterday, and the last
    complete week's and month's bulletins: the dashboard's trend and ranking have data."""
    from tracker.services import bulletins, scoring

    sunday = today - timedelta(days=today.weekday() + 1)
    for week in range(26):
        scoring.take_snapshot(session, sunday - timedelta(weeks=week))
    scoring.take_snapshot(session, today - timedelta(days=1))
    bulletins.generate_bulletin(session, "week")
    bulletins.generate_bulletin(session, "month")


def _this_week(session: Session, today: date) -> None:
    """This week's 每周调度 with eight blocked items on the agenda, and the day's reminders,
    escalations and digests, as the scheduler would have left them this morning."""
    from tracker.models import ScheduleItem, User
    from tracker.services import notify, recurring, reminders, schedule

    week = schedule.generate_week(session, today)
    blocked = session.exec(select(ScheduleItem.id).where(
        ScheduleItem.schedule_id == week.id, ScheduleItem.section == "blocked")
        .order_by(ScheduleItem.id).limit(8)).all()  # a meeting's worth, not every blocked item
    if blocked:
        office = session.exec(select(User).where(User.username == "duchashi")).one()
        schedule.update_items(session, Actor.of(office), week.id,
                              {item_id: {"on_agenda": True} for item_id in blocked})
    if load_calendar(session).is_workday(today):
        recurring.ensure_report_dues(session, today + timedelta(weeks=3))
        reminders.run_rules(session, today)
        notify.build_digests(session, today)


def seed_demo(session: Session, *, force: bool = False, seed: int = DEFAULT_SEED) -> str:
    """Write the demo district into ``session`` (not committed) and return a Chinese summary.

    Raises ``DomainError`` when the database already holds tasks, unless ``force``;
    departments, leaders and users that already exist (same name or login) are reused.
    """
    from tracker.services import derived

    existing = session.exec(select(sa.func.count()).select_from(Task)).one()
    if existing and not force:
        raise DomainError(f"数据库中已有 {existing} 件督办事项，为免与真实数据混在一起，未写入演示数据。"
                          "如确需写入，请加 --force。")
    today = clock.today()
    cal = load_calendar(session)
    plan = _Planner(cal, today, seed)
    plan.plan_sources()
    plan.plan_days()
    plan.assign_statuses()
    plan.plan_stories()
    plan.compose_bodies()

    setup_day = plan.wd(plan.past[0], -5)
    with clock.frozen(setup_day):
        org = _build_org(session)
    _Runner(session, org, plan, seed).run()
    session.flush()
    from tracker.services.demo_motions import seed_motions
    from tracker.services.motions import STAGE_LABELS

    motion_stages = seed_motions(session, org, today)  # the spring sessions' 建议 and 提案, in every stage
    motion_text = "、".join(f"{label}{motion_stages.get(code, 0)}" for code, label in STAGE_LABELS.items())
    _score_history(session, today)
    _this_week(session, today)

    ids = [it.task_id for it in plan.items]
    by_status = Tally(session.exec(select(Task.status).where(Task.id.in_(ids))).all())
    horizon = derived.Horizon.build(session)
    overdue = session.exec(select(sa.func.count()).select_from(Task).where(
        Task.id.in_(ids), derived.is_overdue(horizon))).one()
    soon = session.exec(select(sa.func.count()).select_from(Task).where(
        Task.id.in_(ids), derived.is_due_soon(horizon))).one()
    labels = [("draft", "草稿"), ("pending_approval", "待领导审核"), ("assigned", "已交办"),
              ("acknowledged", "已签收"), ("in_progress", "办理中"), ("pending_review", "待审核"),
              ("closed", "已办结"), ("suspended", "暂缓"), ("cancelled", "已撤销")]
    statuses = "、".join(f"{label}{by_status.get(code, 0)}" for code, label in labels)
    created = org.created
    reused = "" if not (len(DEPARTMENTS) - created["department"]) else "（已有单位、领导和用户沿用原数据）"
    return (
        f"已写入演示数据“{DISTRICT}”{reused}：单位 {len(org.departments)} 个、区领导 {len(org.leaders)} 位、"
        f"新建用户 {created['user']} 个、任务来源 {len(plan.sources)} 个、督办事项 {len(ids)} 件"
        f"（{statuses}），其中逾期 {overdue} 件、3个工作日内到期 {soon} 件；"
        f"另有人大代表建议和政协委员提案 {sum(motion_stages.values())} 件（{motion_text}）。\n"
        f"演示账号：duchashi、duchashi2（督查室）、fgw、czj、jiedao（承办单位）、wuhaitao（区领导）、"
        f"admin（管理员），密码均为 {DEMO_PASSWORD}。"
    )
