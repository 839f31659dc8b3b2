"""Splitting minutes into items, finding the phrases inside them, and saving the drafts."""

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.intake_names import demo_scanner
from tracker.models import AuditEvent, DepartmentKind, Source, SourceKind, Task, TaskAssist, TaskLeader
from tracker.services.actors import SYSTEM
from tracker.services.intake import decompose as dc
from tracker.services.organisation import directory as organisation

# --- split_items ---------------------------------------------------------------


def _nos(items):
    return [i.no for i in items]


def test_chinese_numbering_keeps_sub_points_inside_their_item():
    text = (
        "会议听取了区住建局的汇报。会议议定事项如下：\n"
        "一、关于老旧小区改造。由区住建局牵头。\n"
        "（一）完善项目清单；\n（二）落实资金1.5亿元。\n"
        "二、关于冬季供暖。\n"
        "三、关于营商环境。"
    )
    items = dc.split_items(text)
    assert _nos(items) == ["一", "二", "三"]
    assert items[0].text.startswith("关于老旧小区改造")
    assert "（一）完善项目清单" in items[0].text and "（二）落实资金1.5亿元" in items[0].text
    assert "会议听取" not in " ".join(i.text for i in items)  # the preamble is not an item


@pytest.mark.parametrize(
    "text, nos, first",
    [
        ("1. 加强A工作，投资1.5亿元。\n2. 推进B。\n3. 做好C", ["1", "2", "3"], "加强A工作，投资1.5亿元。"),
        ("1、甲\n2、乙", ["1", "2"], "甲"),
        ("１．全角编号甲\n２．全角编号乙", ["1", "2"], "全角编号甲"),
        ("（一）甲事项\n（二）乙事项", ["一", "二"], "甲事项"),
        ("(1)甲\n(2)乙", ["1", "2"], "甲"),
        ("第一项：甲事项\n第二项：乙事项", ["一", "二"], "甲事项"),
        ("①甲\n②乙", ["1", "2"], "甲"),
        ("会议议定：一、关于A。二、关于B。三、关于C", ["一", "二", "三"], "关于A。"),  # lost line breaks
        ("十、甲\n十一、乙", [], None),  # a list must start at one
    ],
)
def test_numbering_styles(text, nos, first):
    items = dc.split_items(text)
    if not nos:
        assert _nos(items) == ["1"]  # no numbering found: the paragraph is one item
        return
    assert _nos(items) == nos
    assert items[0].text == first


def test_numbers_out_of_sequence_stay_in_the_text():
    items = dc.split_items("1. 甲，详见附件\n3. 不是第二项\n2. 乙")
    assert _nos(items) == ["1", "2"]
    assert "3. 不是第二项" in items[0].text


def test_without_numbering_each_paragraph_is_an_item():
    assert [i.text for i in dc.split_items("甲段落\n\n乙段落\n续行")] == ["甲段落", "乙段落\n续行"]
    assert dc.split_items("  \n ") == []


# --- reading one item (the demo district's names, no database) -----------------


def _read(text):
    [row] = dc.propose(text, kind="minutes", scanner=demo_scanner()).rows
    return row


def test_lead_and_assisting_from_the_sentence():
    row = _read("1. 由区住建局牵头，区财政局、区发改委配合，抓紧完善项目清单，于2026年12月底前完成。")
    assert (row.lead, row.assisting, row.deadline_text) == ("区住建局", "区财政局、区发改委", "2026年12月底前")


def test_labelled_block_wins_over_the_sentence():
    row = _read(
        "1. 区城管局要立即开展排查，确保12月15日前全面供暖。"
        "（牵头单位：区城管局；配合单位：区应急管理局、各街道办事处；完成时限：12月20日前；责任领导：吴海涛）"
    )
    assert row.lead == "区城管局"
    assert row.assisting == "区应急管理局、各街道办事处"
    assert row.deadline_text == "12月20日前"
    assert row.leaders == "吴海涛"
    assert _read("1. 区城管局要立即开展排查。（牵头单位：区城管局）").title == "区城管局要立即开展排查"


def test_brackets_inside_a_labelled_value_do_not_end_it():
    row = _read("1. 开展排查。（牵头单位：区城管局；配合单位：区应急管理局、各镇（街道）；完成时限：12月15日前）")
    assert (row.lead, row.assisting, row.deadline_text) == ("区城管局", "区应急管理局、各镇（街道）", "12月15日前")


def test_responsible_units_label_the_first_leads():
    row = _read("1. 责任单位：区政数局、区市场监管局，12月底前完成。")
    assert (row.lead, row.assisting, row.deadline_text) == ("区政数局", "区市场监管局", "12月底前")


def test_jointly_with_and_compound_names():
    text = "1. 由区发改委会同区财政局和区住房和城乡建设局研究制定专项债券项目储备方案。"
    row = _read(text)
    assert row.lead == "区发改委"
    assert row.assisting == "区财政局、区住房和城乡建设局"
    assert row.title == "研究制定专项债券项目储备方案"


def test_assisting_with_etc_and_leaders_by_title():
    row = _read("1. 区教育局、区卫健委等单位配合做好学校食堂检查，吴海涛副区长负责统筹协调。")
    assert row.assisting == "区教育局、区卫健委"
    assert row.leaders == "吴海涛"
    assert _read("1. 常务副区长吴海涛负责督导。").leaders == "吴海涛"
    assert _read("1. 会议要求高志远副区长牵头协调。").leaders == "高志远"
    assert _read("1. 提请区长办公会研究，由分管副区长牵头。").leaders == ""


def test_deadlines_dates_win_recurrences_join_and_earlier_dates_are_offered_as_milestones():
    row = _read("1. 区水利局要在11月底前完成摸排，12月底前完成整改。")
    assert row.deadline_text == "12月底前"
    assert row.notes["deadline_text"] == ["文中另有时限：11月底前，可在事项中设为时间节点"]
    assert _read("1. 区水利局要立即开展排查，确保12月15日前全面供暖。").deadline_text == "12月15日前"
    assert _read("1. 区水利局持续推进，每月25日前报送进展。").deadline_text == "持续推进，每月25日前"
    assert _read("1. 区水利局12月底前完成，每月底前报送进展。").deadline_text == "12月底前，每月底前"
    assert _read("1. 区水利局10个工作日内制定措施。").deadline_text == "10个工作日内"
    assert _read("1. 区水利局加强宣传。").deadline_text == ""


def test_titles_and_urgency():
    assert dc.guess_title("关于老旧小区改造工作。会议原则同意《实施方案》。") == "老旧小区改造工作"
    long = "加快推进" + "城市更新" * 30 + "。"
    assert len(dc.guess_title(long)) == 60
    assert dc.guess_urgency("特急：立即处置") == "extra_urgent"
    assert dc.guess_urgency("要立即开展排查") == "urgent"
    assert dc.guess_urgency("稳步推进") == "normal"


# --- resolving and saving ------------------------------------------------------

MINUTES = """区政府第15次常务会议纪要
会议听取了有关工作汇报，议定事项如下：
一、关于老旧小区改造工作。会议原则同意《2027年老旧小区改造实施方案》，由区住建局牵头，区财政局、区发改委配合，于2026年12月底前完成年度改造任务。吴海涛副区长负责统筹协调。
二、关于冬季供暖保障。区城管局要立即开展供热管网排查。（牵头单位：区城管局；配合单位：区应急管理局、各街道；完成时限：12月15日前）
三、关于营商环境优化。责任单位：区政务服务中心、区市场监管局。10个工作日内制定优化营商环境若干措施。责任领导：李明。
四、关于防汛物资储备。由区水利局牵头，区火星局配合，持续推进，每月25日前报送进展。
"""


@pytest.fixture
def org(session):
    d = f.district(session)
    made = {}
    for name, aliases, kind in [
        ("区住房和城乡建设局", ["区住建局"], DepartmentKind.COMPONENT),
        ("区城市管理局", ["区城管局"], DepartmentKind.COMPONENT),
        ("区应急管理局", [], DepartmentKind.COMPONENT),
        ("区水利局", [], DepartmentKind.COMPONENT),
        ("区市场监督管理局", ["区市场监管局"], DepartmentKind.COMPONENT),
        ("区政务服务中心", [], DepartmentKind.INSTITUTION),
        ("城关街道办事处", [], DepartmentKind.STREET),
        ("东城街道办事处", [], DepartmentKind.STREET),
    ]:
        made[name] = organisation.create_department(session, SYSTEM, name, aliases=aliases, kind=kind).id
    src = Source(
        kind=SourceKind.EXECUTIVE_MEETING,
        title="区政府第15次常务会议",
        reference="第15次",
        source_date=date(2026, 11, 20),
        body=MINUTES,
    )
    session.add(src)
    session.commit()
    return d, made, src


def test_draft_rows_resolve_names_and_deadlines(session, org):
    d, made, src = org
    rows = dc.draft_rows(session, src, MINUTES)
    assert [r.item_no for r in rows] == ["一", "二", "三", "四"]
    one, two, three, four = rows
    assert one.title == "老旧小区改造工作"
    assert one.lead_id == made["区住房和城乡建设局"]
    assert set(one.assisting_ids) == {d.assist_id, d.lead_id}  # 区财政局, 区发改委
    assert one.leader_ids == [d.leader_id]
    assert one.due_date == "2026-12-31" and not one.errors
    assert two.lead_id == made["区城市管理局"] and two.urgency == "urgent"
    assert set(two.assisting_ids) == {made["区应急管理局"], made["城关街道办事处"], made["东城街道办事处"]}
    assert two.due_date == "2026-12-15"
    assert three.lead_id == made["区政务服务中心"] and three.assisting_ids == [made["区市场监督管理局"]]
    assert three.due_date == "2026-12-04"  # 10 working days from Friday 2026-11-20
    assert three.leader_ids and not three.errors
    assert four.lead_id == made["区水利局"]
    assert four.errors == {"assisting": "未识别的单位：区火星局"}  # never dropped
    assert four.deadline.kind == "ongoing" and four.deadline.recurrence == "monthly:25"


def test_unreadable_deadline_and_unknown_leader_are_row_errors(session, org):
    d, made, src = org
    row = dc.DraftRow(item_no="1", title="事项", lead="区水利局", leaders="王某某", deadline_text="尽早")
    assert not dc.resolve_rows(session, src, [row])
    assert "尽早" in row.errors["deadline_text"]
    assert row.errors["leaders"] == "未识别的领导：王某某"


def test_typed_date_overrides_the_phrase_until_the_phrase_changes(session, org):
    d, made, src = org
    row = dc.DraftRow(item_no="1", title="事项", lead="区水利局", deadline_text="12月底前")
    dc.resolve_rows(session, src, [row])
    assert row.due_date == row.parsed_due == "2026-12-31"
    row.due_date = "2026-12-20"  # the office types another date
    dc.resolve_rows(session, src, [row])
    assert row.deadline.due_date == date(2026, 12, 20) and not row.errors
    row.due_date, row.deadline_text = "2026-12-20", "11月30日前"
    row.parsed_due = "2026-12-20"  # as posted back after the override was shown
    dc.resolve_rows(session, src, [row])
    assert row.deadline.due_date == date(2026, 11, 30)


def test_save_rows_is_all_or_nothing(session, org):
    d, made, src = org
    rows = dc.draft_rows(session, src, MINUTES)
    with pytest.raises(dc.RowsInvalid) as info:
        dc.save_rows(session, d.office, src, rows, assign=True)
    assert "第 四 项" in info.value.message
    session.rollback()
    assert session.exec(select(Task)).all() == []

    rows[3].assisting = "区应急管理局"
    created = dc.save_rows(session, d.office, src, rows, assign=True)
    session.commit()
    assert [t.item_no for t in created] == ["一", "二", "三", "四"]
    assert all(t.status == "assigned" and t.source_id == src.id for t in created)
    assert created[3].deadline_kind == "ongoing" and created[3].recurrence == "monthly:25"
    assert created[3].feedback_cycle == "monthly"
    assert session.exec(select(TaskAssist).where(TaskAssist.task_id == created[0].id)).all()
    assert session.exec(select(TaskLeader).where(TaskLeader.task_id == created[0].id)).all()
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.task_id == created[0].id).order_by(AuditEvent.id)
    ).all()
    assert actions == ["create", "assign"]


def test_a_service_refusal_rolls_back_the_rows_already_created(session, org):
    d, made, src = org
    good = dc.DraftRow(item_no="1", title="甲", lead="区水利局", deadline_text="12月底前")
    long = dc.DraftRow(item_no="2", title="乙" * 201, lead="区水利局", deadline_text="12月底前")
    with pytest.raises(dc.RowsInvalid):
        dc.save_rows(session, d.office, src, [good, long], assign=True)
    assert list(long.errors) == ["title"]  # the task service refused the title
    assert session.exec(select(Task)).all() == []  # 甲 was created inside the savepoint and is gone


def test_a_deadline_already_past_is_a_warning_and_the_task_goes_out_overdue(session, org):
    """Minutes registered late (004 §30: the deadline stays the meeting's): the clerk may keep it."""
    d, made, src = org  # the meeting was on 2026-11-20; today is 2026-11-23
    late = dc.DraftRow(item_no="1", title="乙", lead="区水利局", deadline_text="", due_date="2026-11-21")
    assert dc.resolve_rows(session, src, [late], for_assign=True)
    assert not late.errors and any(dc.PAST_DUE in w for w in late.warnings["deadline_text"])
    [task] = dc.save_rows(session, d.office, src, [late], assign=True)
    assert task.status == "assigned" and task.due_date == date(2026, 11, 21)


def test_draft_only_allows_missing_lead_but_not_unknown_names(session, org):
    d, made, src = org
    loose = dc.DraftRow(item_no="1", title="待定事项")
    skipped = dc.DraftRow(item_no="2", title="不登记", lead="区火星局", include=False)
    created = dc.save_rows(session, d.office, src, [loose, skipped], assign=False)
    assert [t.status for t in created] == ["draft"] and created[0].lead_department_id is None
    with pytest.raises(dc.RowsInvalid):
        dc.save_rows(session, d.office, src, [dc.DraftRow(item_no="3", title="丙", lead="区火星局")], assign=False)


def test_earlier_dates_are_offered_as_milestones_on_the_row(session, org):
    d, made, src = org
    [row] = dc.draft_rows(session, src, "1. 由区水利局牵头，11月30日前完成摸排，12月31日前完成整改。")
    assert row.due_date == "2026-12-31" and not row.errors
    assert any("文中另有时限：11月30日前" in w for w in row.warnings["deadline_text"])


def test_every_proposed_field_carries_the_span_it_came_from():
    text = "区政府第9次常务会议纪要\r\n现纪要如下：\r\n一、由区住建局牵头，区财政局配合，12月底前完成。高志远副区长负责督导。\r\n"
    proposal = dc.propose(text, kind="minutes", scanner=demo_scanner())
    assert proposal.title == "区政府第9次常务会议" and text[slice(*proposal.title_span)] == "区政府第9次常务会议纪要"
    [row] = proposal.rows
    at = {column: [text[a:b] for a, b in spans] for column, spans in row.spans.items()}
    assert at["lead"] == ["区住建局"] and at["assisting"] == ["区财政局"] and at["leaders"] == ["高志远副区长"]
    assert at["deadline_text"] == ["12月底前"] and at["item_no"] == ["一、"]
    assert at["requirement"] == ["由区住建局牵头，区财政局配合，12月底前完成。高志远副区长负责督导。"]
    assert [(n.kind, n.name, text[n.start : n.end]) for n in proposal.names] == [
        ("department", "区住建局", "区住建局"),
        ("department", "区财政局", "区财政局"),
        ("leader", "高志远", "高志远副区长"),
    ]


def test_the_page_marks_every_name_where_it_stands_and_lists_each_once():
    text = (
        "一、由区住建局牵头，各街道办事处配合，12月底前完成。\n"
        "二、区大数据中心要会同区财政局抓好落实，各街道办事处积极配合。\n"
        "三、区住建局负责，各街道办事处配合。"
    )
    proposal = dc.propose(text, kind="minutes", scanner=demo_scanner())
    marks = dc.marked_text(text, proposal)
    assert "".join(m.text for m in marks) == text  # nothing lost or doubled
    marked = [(m.kind, m.text) for m in marks if m.kind]
    assert marked.count(("group", "各街道办事处")) == 3 and ("unknown", "区大数据中心") in marked
    said = [(m.kind, m.name, m.count) for m in dc.mentions(proposal)]
    assert said.count(("group", "各街道办事处", 3)) == 1  # once, not three times
    assert ("department", "区住建局", 2) in said
    assert dc.mentions(proposal)[-1] == dc.Mention("unknown", "区大数据中心", 1, ("二",))


# --- readings of the usual styles the corpus does not hold ------------------------------------


def test_a_heading_on_its_own_line_stays_the_title_and_is_not_joined_to_the_paragraph():
    text = (
        "区长办公会议纪要\n〔2026〕第12期\n"
        "2026年11月25日下午，区长周国平主持召开区长办公会议。现将会议议定事项纪要如下：\n"
        "一、关于城区停车难综合治理问题\n会议听取了区城管局的汇报。会议要求，区城管局要会同区交通局抓好落实。\n"
        "二、关于农村人居环境整治问题\n会议强调，区农业农村局具体负责，每月25日前报送工作进展。\n"
        "三、关于冬季消防安全问题\n区应急局牵头，各街道办事处配合，12月20日前完成排查。\n"
        "四、关于政务服务“一网通办”问题\n请区政数局研究提出推进方案，两周内报马丽副区长审定。\n"
    )
    proposal = dc.propose(text, kind="minutes", scanner=demo_scanner())
    assert proposal.title == "区长办公会议（2026年第12期）"
    assert [r.title for r in proposal.rows] == [
        "城区停车难综合治理问题",
        "农村人居环境整治问题",
        "冬季消防安全问题",
        "政务服务“一网通办”问题",
    ]
    assert [r.lead for r in proposal.rows] == ["区城管局", "区农业农村局", "区应急局", "区政数局"]


def test_an_unnumbered_finding_that_names_no_one_is_no_item():
    text = (
        "关于全区重点项目建设推进调度会议的纪要\n"
        "11月30日，常务副区长吴海涛主持召开调度会。纪要如下：\n"
        "会议指出，今年以来全区重点项目建设总体进展顺利，但仍有部分项目开工滞后。\n"
        "会议要求，区发改委牵头，各项目责任单位配合，建立重点项目周调度机制，每周五前报送项目进展情况。\n"
        "会议指出，区自规分局要加快办理城东片区土地报批手续，元旦前完成组卷上报。\n"
    )
    proposal = dc.propose(text, kind="minutes", scanner=demo_scanner())
    assert proposal.title == "全区重点项目建设推进调度会议"
    assert [(r.item_no, r.lead) for r in proposal.rows] == [("1", "区发改委"), ("2", "区自规分局")]
    assert proposal.rows[0].title == "建立重点项目周调度机制"  # not the clause that hands out a role


def test_a_numbered_item_is_kept_even_when_it_names_no_one():
    text = "专题会议纪要\n第8号\n（一）区住建局牵头，年底前完成规划编制。\n（二）会议指出，各项工作要压实责任。\n"
    proposal = dc.propose(text, kind="minutes", scanner=demo_scanner())
    assert proposal.title == "专题会议（第8号）" and len(proposal.rows) == 2


def test_an_instruction_under_a_header_line_without_a_colon():
    text = "吴海涛同志批示\n请区住建局阅处，会同区财政局认真研究群众反映的老旧小区加装电梯补贴问题，10个工作日内提出处理意见报我。\n吴海涛\n2026年12月1日\n"
    [row] = dc.propose(text, kind="instruction", scanner=demo_scanner()).rows
    assert row.requirement.startswith("请区住建局阅处") and row.leaders == "吴海涛"
    assert row.title == "认真研究群众反映的老旧小区加装电梯补贴问题"


def test_a_bare_festival_deadline_means_the_festival_the_item_names(session, org):
    d, made, src = org
    text = "一、区信访局牵头，元旦、春节期间做好信访维稳工作，节后3个工作日内报送工作总结。"
    [row] = dc.draft_rows(session, src, text)
    assert "按春节计" in " ".join(row.warnings["deadline_text"])
    # 2027 spring festival break: the due date falls after it, not after 元旦 (2027-01-01)
    assert row.due_date > "2027-02-10"


def test_a_form_copied_from_word_reads_its_labels_as_labels():
    """A 批示件 as a table: label<Tab>value rows, the signature inside the instruction's cell."""
    text = (
        "青山区人民政府办公室\n领导批示件\n来文单位\t区住建局\n标题\t关于老旧小区改造资金缺口的请示\n"
        "拟办意见\t呈周国平区长阅示。\n"
        "领导批示\t请吴海涛同志牵头研究，区财政局会同区住建局提出资金解决方案，两周内报吴海涛同志。 周国平 12月2日"
    )
    proposal = dc.propose(text, kind="instruction", scanner=demo_scanner())
    assert proposal.title == "周国平同志批示"
    assert proposal.document == "关于老旧小区改造资金缺口的请示"
    [row] = proposal.rows
    assert row.requirement.startswith("请吴海涛同志牵头研究") and row.requirement.endswith("报吴海涛同志。")
    assert (row.lead, row.assisting, row.deadline_text) == ("区财政局", "区住建局", "两周内")
    assert row.leaders == "周国平、吴海涛" and row.title == "提出资金解决方案"


def test_the_meetings_own_words_are_no_title():
    text = "一、会议研究了老年食堂建设问题。请区民政局负责，3个月内建成10个老年食堂。"
    [row] = dc.propose(text, kind="minutes", scanner=demo_scanner()).rows
    assert row.title == "老年食堂建设问题"
