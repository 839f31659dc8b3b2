"""Demo data for 人大代表建议 and 政协委员提案: the spring sessions' batch, in every stage.

区十七届人大三次会议 sends 30 代表建议 and 区政协十届三次会议 20 委员提案. They are
registered without assignment, and the office assigns 47 of them in one batch three
working days later (``motions.assign_batch``); the last three suggestions came in late
and still wait for 交办. From there each item follows its own fate (``FATES``):
co-handling opinions sent, 面商 recorded, answers A/B/C/D submitted, one returned and
resubmitted, reviewed and sent, satisfaction recorded; one 不满意 in its second round,
one B answer whose promise is followed up and one whose promise is kept; two items
overdue on a step (an opinion not sent, a 面商 not recorded).

Dates count back from today in working days so that the assignment is about eleven
weeks ago: the opinion (one month) and 面商 (two months) deadlines have passed and the
answers (three months) fall due in the coming weeks, whatever today is. Everything goes
through ``tracker.services.motions.handling`` on a frozen past working day, so the audit log tells
each item's story. No randomness: the plan is the tables below.
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from flask import has_app_context
from sqlmodel import Session
from werkzeug.datastructures import FileStorage

from tracker import clock
from tracker.demo.organisation import Org
from tracker.models import Motion, Task
from tracker.services.calendar import load_calendar
from tracker.services.motions import handling as motions
from tracker.services.motions import reminders as motion_reminders
from tracker.services.tasks.attachments import upload_dir

NPC_SESSION = "区十七届人大三次会议"
CPPCC_SESSION = "区政协十届三次会议"

# number, title, category, lead, co-handling units (department keys of tracker.demo.organisation.DEPARTMENTS)
SUGGESTIONS = [
    (1, "关于加快青山大道沿线老旧小区改造的建议", "城建", "住建局", ["青山街道", "财政局"]),
    (2, "关于增设滨江新城公交线路的建议", "交通", "交通局", ["滨江街道"]),
    (3, "关于加强南湖生态公园水环境治理的建议", "环保", "水利局", ["生态环境分局"]),
    (4, "关于解决柳林街道老旧小区停车难的建议", "城建", "城管局", ["公安分局", "柳林街道"]),
    (5, "关于完善社区居家养老服务的建议", "民生", "民政局", ["卫健委", "北苑街道"]),
    (6, "关于加强农贸市场食品安全监管的建议", "市场", "市场监管局", ["东湖路街道"]),
    (7, "关于缓解学校周边上下学交通拥堵的建议", "教育", "教体局", ["公安分局", "交通局"]),
    (8, "关于推进农村生活污水治理的建议", "农业农村", "农业农村局", ["生态环境分局", "柳河镇"]),
    (9, "关于提升基层卫生院服务能力的建议", "卫生", "卫健委", ["医保局"]),
    (10, "关于加快建设城市口袋公园的建议", "城建", "自规分局", ["住建局"]),
    (11, "关于规范电动自行车停放充电的建议", "安全", "应急局", ["城管局", "南门街道"]),
    (12, "关于加大高校毕业生就业扶持力度的建议", "就业", "人社局", ["财政局"]),
    (13, "关于优化政务服务“一网通办”的建议", "营商环境", "政数局", ["发改委"]),
    (14, "关于加强退役军人就业创业服务的建议", "民生", "退役军人局", ["人社局"]),
    (15, "关于改善白沙镇农村道路通行条件的建议", "交通", "交通局", ["白沙镇"]),
    (16, "关于加快发展社区托育服务的建议", "民生", "卫健委", ["民政局", "教体局"]),
    (17, "关于整治背街小巷环境卫生的建议", "城管", "城管局", ["新华街道"]),
    (18, "关于支持中小微企业融资的建议", "经济", "财政局", ["发改委", "科工信局"]),
    (19, "关于加强历史文化街区保护利用的建议", "文旅", "文旅局", ["自规分局"]),
    (20, "关于完善医保异地就医结算的建议", "卫生", "医保局", []),
    (21, "关于加强汛期防洪排涝设施建设的建议", "安全", "水利局", ["应急局", "住建局"]),
    (22, "关于提升石门镇集镇建设品质的建议", "城建", "石门镇", ["住建局"]),
    (23, "关于推进垃圾分类提质扩面的建议", "城管", "城管局", ["红星街道"]),
    (24, "关于增加中心城区中小学学位供给的建议", "教育", "教体局", ["自规分局", "财政局"]),
    (25, "关于加快老旧小区加装电梯的建议", "城建", "住建局", ["市场监管局"]),
    (26, "关于规范校外培训机构管理的建议", "教育", "教体局", ["市场监管局"]),
    (27, "关于推动柳河工业园产业升级的建议", "经济", "科工信局", ["投促中心"]),
    (28, "关于加强社区矛盾纠纷调解工作的建议", "社会治理", "司法局", ["信访局"]),
    (29, "关于盘活闲置国有资产的建议", "经济", "国资中心", ["机关事务中心"]),
    (30, "关于加强夜市食品摊点管理的建议", "市场", "市场监管局", ["城管局"]),
]
PROPOSALS = [
    (1, "关于促进民营经济高质量发展的提案", "经济", "发改委", ["科工信局", "财政局"]),
    (2, "关于加强中小学生心理健康教育的提案", "教育", "教体局", ["卫健委"]),
    (3, "关于推动夜间经济发展的提案", "商务", "商务局", ["文旅局", "城管局"]),
    (4, "关于加强农村集体“三资”管理的提案", "农业农村", "农业农村局", ["财政局"]),
    (5, "关于提升基层医疗服务能力的提案", "卫生", "卫健委", ["医保局"]),
    (6, "关于推进智慧社区建设的提案", "社会治理", "政数局", ["民政局", "滨江街道"]),
    (7, "关于发展乡村旅游的提案", "文旅", "文旅局", ["农业农村局", "石门镇"]),
    (8, "关于持续优化营商环境的提案", "营商环境", "发改委", ["政数局", "市场监管局"]),
    (9, "关于加强公共资源交易监管的提案", "经济", "交易中心", ["财政局"]),
    (10, "关于推进全民健身设施建设的提案", "教育", "教体局", ["住建局"]),
    (11, "关于加强生态环境监测能力建设的提案", "环保", "生态环境分局", []),
    (12, "关于加快5G网络建设的提案", "经济", "科工信局", ["住建局"]),
    (13, "关于完善城市应急避难场所的提案", "安全", "应急局", ["自规分局"]),
    (14, "关于加强非物质文化遗产保护的提案", "文旅", "文旅局", ["融媒体中心"]),
    (15, "关于提高养老机构服务质量的提案", "民生", "民政局", ["市场监管局"]),
    (16, "关于加快农产品品牌建设的提案", "农业农村", "农业农村局", ["商务局"]),
    (17, "关于完善招商引资激励政策的提案", "经济", "投促中心", ["财政局"]),
    (18, "关于加强青少年体育工作的提案", "教育", "教体局", []),
    (19, "关于推进城市更新行动的提案", "城建", "住建局", ["征收中心", "自规分局"]),
    (20, "关于推进政务数据共享的提案", "营商环境", "政数局", ["统计局"]),
]
LATE = {("suggestion", 28), ("suggestion", 29), ("suggestion", 30)}  # registered late, not yet assigned
KEY = {("suggestion", 1): "gao", ("suggestion", 3): "lin", ("proposal", 1): "exec"}  # 重点, with a 领办领导

# The fate of each assigned item. handling: opinions sent and 面商 recorded, answer not yet due;
# no_opinion / no_consult: overdue on that step; review: answered, awaiting the office;
# returned: answered, returned once, answered again; feedback: answer sent, awaiting the deputy;
# done: satisfaction recorded; second: 不满意, in its second round; promise: a B answer followed up;
# kept: a B answer whose promise is kept. The letter is the answer's category, the last the feedback.
FATES = {
    ("suggestion", 1): ("second", "A", "不满意"),
    ("suggestion", 2): ("done", "A", "满意"),
    ("suggestion", 3): ("promise", "B", "满意"),
    ("suggestion", 4): ("done", "A", "基本满意"),
    ("suggestion", 5): ("feedback", "A", ""),
    ("suggestion", 6): ("review", "A", ""),
    ("suggestion", 7): ("handling", "", ""),
    ("suggestion", 8): ("no_opinion", "", ""),
    ("suggestion", 9): ("done", "C", "基本满意"),
    ("suggestion", 10): ("handling", "", ""),
    ("suggestion", 11): ("done", "A", "满意"),
    ("suggestion", 12): ("feedback", "C", ""),
    ("suggestion", 13): ("returned", "A", ""),
    ("suggestion", 14): ("done", "D", "基本满意"),
    ("suggestion", 15): ("handling", "", ""),
    ("suggestion", 16): ("no_consult", "", ""),
    ("suggestion", 17): ("done", "A", "满意"),
    ("suggestion", 18): ("kept", "B", "满意"),
    ("suggestion", 19): ("feedback", "C", ""),
    ("suggestion", 20): ("done", "A", "满意"),
    ("suggestion", 21): ("handling", "", ""),
    ("suggestion", 22): ("review", "C", ""),
    ("suggestion", 23): ("done", "A", "满意"),
    ("suggestion", 24): ("handling", "", ""),
    ("suggestion", 25): ("feedback", "A", ""),
    ("suggestion", 26): ("done", "C", "满意"),
    ("suggestion", 27): ("handling", "", ""),
    ("proposal", 1): ("done", "A", "满意"),
    ("proposal", 2): ("handling", "", ""),
    ("proposal", 3): ("feedback", "A", ""),
    ("proposal", 4): ("done", "C", "基本满意"),
    ("proposal", 5): ("review", "A", ""),
    ("proposal", 6): ("done", "A", "满意"),
    ("proposal", 7): ("handling", "", ""),
    ("proposal", 8): ("done", "A", "满意"),
    ("proposal", 9): ("done", "D", "基本满意"),
    ("proposal", 10): ("feedback", "A", ""),
    ("proposal", 11): ("handling", "", ""),
    ("proposal", 12): ("done", "A", "满意"),
    ("proposal", 13): ("review", "C", ""),
    ("proposal", 14): ("done", "A", "满意"),
    ("proposal", 15): ("handling", "", ""),
    ("proposal", 16): ("done", "C", "满意"),
    ("proposal", 17): ("feedback", "A", ""),
    ("proposal", 18): ("done", "A", "满意"),
    ("proposal", 19): ("handling", "", ""),
    ("proposal", 20): ("done", "A", "满意"),
}

PEOPLE = [
    "王建国",
    "李秀英",
    "张卫东",
    "刘淑华",
    "陈志强",
    "杨桂芳",
    "赵德胜",
    "黄丽萍",
    "周海波",
    "吴红梅",
    "徐国庆",
    "孙玉兰",
    "胡振华",
    "朱晓燕",
    "高建平",
    "林文静",
    "何永刚",
    "郭春梅",
    "马学军",
    "罗小琴",
]
ANSWERS = {
    "A": "经研究，所提建议已采纳，相关工作已完成并建立长效机制。",
    "B": "所提问题已列入明年工作计划，将按承诺时限推进解决。",
    "C": "受资金和用地条件限制，目前暂不具备实施条件，已作说明并将持续关注。",
    "D": "所提意见留作今后工作参考。",
}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _letter() -> FileStorage:
    return FileStorage(stream=io.BytesIO(PDF), filename="答复函.pdf", content_type="application/pdf")


def _topic(title: str) -> str:
    return title.removeprefix("关于").removesuffix("的建议").removesuffix("的提案")


def seed_motions(session: Session, org: Org, today: date, *, directory: Path | None = None) -> Counter:
    """Write the two batches into ``session`` (not committed); returns motions by stage.

    ``org`` is the demo's ``Org``. ``directory`` holds the answer letters: the app's upload
    folder by default, a fresh temporary folder when there is no app (benchmarks).
    """
    if directory is None:
        directory = upload_dir() if has_app_context() else Path(tempfile.mkdtemp(prefix="demo-uploads-"))
    cal = load_calendar(session)

    def wd(day: date, n: int) -> date:
        return day if n == 0 else cal.add_workdays(day, n).value

    assign_day = wd(today, -55)
    register_day = wd(assign_day, -3)
    late_day = wd(today, -2)
    office = org.office
    dep = org.departments
    events: list[tuple[date, int, object]] = []  # (day, order, call): replayed in order on a frozen clock

    def at(day: date, call) -> None:
        events.append((day, len(events), call))

    def inputs(kind: str, rows, late: bool) -> list[motions.MotionInput]:
        out = []
        for number, title, category, lead, assists in rows:
            if ((kind, number) in LATE) != late:
                continue
            person = PEOPLE[(number * (3 if kind == "suggestion" else 7)) % len(PEOPLE)]
            leader = KEY.get((kind, number))
            out.append(
                motions.MotionInput(
                    kind=kind,
                    number=number,
                    session_name=NPC_SESSION if kind == "suggestion" else CPPCC_SESSION,
                    title=title,
                    proposer=person,
                    lead_department_id=dep[lead],
                    assisting_department_ids=[dep[a] for a in assists],
                    category=category,
                    body=(
                        f"{person}{'代表' if kind == 'suggestion' else '委员'}在调研中了解到，{_topic(title)}是群众反映集中的问题。"
                        f"建议：一是摸清底数，制定工作方案；二是加大投入，明确责任单位和完成时限；三是建立长效机制，定期向代表委员通报进展。"
                    ),
                    co_signers="、".join(PEOPLE[(number + k) % len(PEOPLE)] for k in (5, 9)) if number % 3 == 0 else "",
                    contact=f"139{number:04d}{len(title):04d}",
                    is_key=leader is not None,
                    supervising_leader_id=org.leaders[leader] if leader else None,
                )
            )
        return out

    made: dict[tuple[str, int], Motion] = {}
    rows = {"suggestion": SUGGESTIONS, "proposal": PROPOSALS}

    def register(late: bool) -> None:
        batch = inputs("suggestion", SUGGESTIONS, late) + inputs("proposal", PROPOSALS, late)
        for m in motions.register(session, office, batch, assign=False):
            made[(m.kind, m.number)] = m

    at(register_day, lambda: register(False))
    at(assign_day, lambda: motions.assign_batch(session, office, [made[k].id for k in FATES]))
    at(late_day, lambda: register(True))

    by_dep = {v: k for k, v in dep.items()}

    def lead_of(key):
        """The lead unit's clerk, as the task says now."""
        return org.clerks[by_dep[session.get(Task, made[key].task_id).lead_department_id]]

    def opinion(key, unit, topic):
        clerk = org.clerks[unit]
        motions.send_opinion(
            session,
            clerk,
            made[key].id,
            f"{clerk.name.removesuffix('联络员')}将积极配合，在职责范围内做好{topic}相关工作。",
        )

    def consult(key, day, form, text=""):
        motions.record_consult(
            session,
            lead_of(key),
            made[key].id,
            day,
            form,
            text or f"与{made[key].proposer}{form}沟通办理思路，代表委员对工作安排表示理解。",
        )

    def answer(key, category, summary, promise=None):
        motions.answer(
            session, lead_of(key), made[key].id, category, summary, _letter(), promise_date=promise, directory=directory
        )

    def review(key, approve, note):
        motions.review_answer(session, office, made[key].id, approve, note)

    def feedback(key, result, day):
        motions.record_feedback(
            session,
            office,
            made[key].id,
            result,
            "希望进一步明确施工时间表" if result == "不满意" else "对办理结果表示认可",
            day,
        )

    def kept(key):
        motions.keep_promise(session, lead_of(key), made[key].id, "承诺事项已落实，已向代表书面通报。")

    for (kind, number), (fate, category, feeling) in FATES.items():
        title, assists = rows[kind][number - 1][1], rows[kind][number - 1][4]
        key, topic = (kind, number), _topic(title)
        skip = number % 5  # spreads the days a little, deterministically

        # the co-handling units' opinions (no_opinion: the last unit never sends its)
        for j, unit in enumerate(assists):
            if not (fate == "no_opinion" and j == len(assists) - 1):
                at(wd(assign_day, 8 + skip + 2 * j), partial(opinion, key, unit, topic))
        if fate == "no_consult":
            continue
        consult_day = wd(assign_day, 18 + skip * 2)
        at(consult_day, partial(consult, key, consult_day, motions.CONSULT_FORMS[number % 4]))
        if fate in ("handling", "no_opinion"):
            continue

        if fate in ("review", "returned"):
            answer_day = wd(today, -(1 + skip % 3))
        elif fate == "feedback":
            answer_day = wd(assign_day, 40 + skip)
        else:
            answer_day = wd(assign_day, 28 + skip)
        promise = {"promise": today + timedelta(days=75), "kept": wd(assign_day, 50)}.get(fate)
        if fate == "returned":
            first = wd(today, -8)
            at(first, partial(answer, key, "A", f"{topic}：已研究。"))
            at(wd(first, 2), partial(review, key, False, "答复过于简单，请写明具体措施和完成时限后重新报送。"))
        at(answer_day, partial(answer, key, category, f"{topic}：{ANSWERS[category]}", promise))
        if fate in ("review", "returned"):
            continue
        review_day = wd(answer_day, 2)
        at(review_day, partial(review, key, True, ""))
        if fate == "feedback":
            continue
        feedback_day = wd(review_day, 5 + skip)
        at(feedback_day, partial(feedback, key, feeling, feedback_day))
        if fate == "second":
            at(
                wd(today, -10),
                partial(
                    consult, key, wd(today, -10), "座谈", "召开居民座谈会，逐项说明施工时间表，代表要求按月通报进度。"
                ),
            )
        if fate == "kept":
            at(wd(promise, -3), partial(kept, key))

    for day, _order, call in sorted(events, key=lambda e: (e[0], e[1])):
        with clock.frozen(day):
            call()
    session.flush()
    if cal.is_workday(today):
        motion_reminders.run_step_reminders(session, today)
    return Counter(("unassigned" if m.stage == motions.UNASSIGNED else m.stage) for m in made.values())
