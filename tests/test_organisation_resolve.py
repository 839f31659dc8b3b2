"""Department and leader names as people write them, resolved to ids."""

from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from tests import factories as f
from tests.fixtures.helpers import SAMPLES
from tracker.models import Department, DepartmentKind, Leader
from tracker.services.calendar import load_calendar
from tracker.services.intake.deadlines import parse_deadline
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver

K = DepartmentKind


@pytest.fixture
def org(session):
    """A small district; ``ids`` maps each full name to its id."""
    spec = [
        ("区发展和改革委员会", K.COMPONENT, ["区发改委"]),
        ("区财政局", K.COMPONENT, []),
        ("区教育局", K.COMPONENT, []),
        ("区住房和城乡建设局", K.COMPONENT, ["区住建局"]),
        ("区文化和旅游局", K.COMPONENT, []),
        ("区委宣传部", K.OTHER, ["区新闻办"]),
        ("区融媒体中心", K.INSTITUTION, []),
        ("城关街道办事处", K.STREET, ["城关街道"]),
        ("东城街道办事处", K.STREET, []),
        ("柳河镇人民政府", K.TOWN, ["柳河镇"]),
        ("青山乡人民政府", K.TOWN, []),
        ("区市场监督管理局", K.COMPONENT, ["区市场监管局"]),
    ]
    ids = {}
    for order, (name, kind, aliases) in enumerate(spec):
        ids[name] = f.department(session, name, kind=kind, aliases=aliases, sort_order=order).id
    session.commit()
    return ids


@pytest.fixture
def resolver(session, org):
    return DepartmentResolver.load(session)


FIN, EDU, NDRC = "区财政局", "区教育局", "区发展和改革委员会"


def _names(org, ids):
    by_id = {v: k for k, v in org.items()}
    return [by_id[i] for i in ids]


# --- splitting -------------------------------------------------------------------------

SEPARATED = [
    "区财政局、区教育局",
    "区财政局，区教育局",
    "区财政局,区教育局",
    "区财政局；区教育局",
    "区财政局;区教育局",
    "区财政局/区教育局",
    "区财政局 区教育局",
    "区财政局\n区教育局",
    "区财政局\r\n区教育局",
    "区财政局　区教育局",
    "区财政局 、 区教育局",
    "区财政局和区教育局",
    "区财政局及区教育局",
    "区财政局与区教育局",
    "区财政局以及区教育局",
    "、区财政局、、区教育局、",
]


@pytest.mark.parametrize("text", SEPARATED)
def test_separators(resolver, org, text):
    r = resolver.resolve_list(text)
    assert (r.lead_id, _names(org, r.assisting_ids)) == (None, [FIN, EDU])
    assert r.ok and r.matched == [(FIN, org[FIN]), (EDU, org[EDU])]


@pytest.mark.parametrize("text", SEPARATED[:6])
def test_first_is_lead(resolver, org, text):
    r = resolver.resolve_list(text, first_is_lead=True)
    assert (r.lead_id, r.assisting_ids) == (org[FIN], [org[EDU]])


@pytest.mark.parametrize(
    "text,expected",
    [
        ("区住房和城乡建设局", ["区住房和城乡建设局"]),
        ("区发展和改革委员会与区财政局", [NDRC, FIN]),
        ("区住房和城乡建设局和区文化和旅游局", ["区住房和城乡建设局", "区文化和旅游局"]),
        ("区财政局、区住房和城乡建设局及区文化和旅游局", [FIN, "区住房和城乡建设局", "区文化和旅游局"]),
    ],
)
def test_conjunctions_inside_names_are_not_cut(resolver, org, text, expected):
    r = resolver.resolve_list(text)
    assert _names(org, r.assisting_ids) == expected and r.ok


# --- lead and assisting markers ---------------------------------------------------------

LEAD_FIN = [
    "区财政局（牵头）、区教育局",
    "区财政局(牵头)、区教育局",
    "区财政局【牵头】、区教育局",
    "区教育局、区财政局（牵头）",
    "区财政局牵头、区教育局",
    "区财政局牵头，区教育局配合",
    "区教育局配合，区财政局牵头",
    "区教育局（配合）、区财政局（牵头）",
    "由区财政局牵头，区教育局协办",
    "区财政局 牵头 区教育局",
    "区财政局负责，区教育局协助",
    "牵头单位：区财政局；配合单位：区教育局",
    "牵头单位:区财政局 配合单位:区教育局",
    "区财政局（牵头单位）、区教育局（协办单位）",
]


@pytest.mark.parametrize("first_is_lead", [False, True])
@pytest.mark.parametrize("text", LEAD_FIN)
def test_lead_marker(resolver, org, text, first_is_lead):
    r = resolver.resolve_list(text, first_is_lead=first_is_lead)
    assert (r.lead_id, r.assisting_ids) == (org[FIN], [org[EDU]])
    assert r.ok, (r.unknown, r.warnings)


def test_a_marker_ending_a_clause_covers_the_clause(resolver, org):
    r = resolver.resolve_list("区财政局牵头，区教育局、区发改委配合")
    assert (r.lead_id, r.assisting_ids) == (org[FIN], [org[EDU], org[NDRC]])
    # Marked as assisting, the first name does not become the lead.
    r = resolver.resolve_list("区教育局、区发改委配合", first_is_lead=True)
    assert (r.lead_id, r.assisting_ids) == (None, [org[EDU], org[NDRC]])
    r = resolver.resolve_list("区教育局配合，区发改委", first_is_lead=True)
    assert (r.lead_id, r.assisting_ids) == (org[NDRC], [org[EDU]])


@pytest.mark.parametrize(
    "text",
    [
        "区财政局（牵头）、区教育局（牵头）",
        "区财政局、区教育局牵头",
        "区财政局牵头，区教育局牵头",
        "区财政局和区教育局牵头",
    ],
)
def test_two_leads_are_not_settled_by_guessing(resolver, org, text):
    r = resolver.resolve_list(text, first_is_lead=True)
    assert r.lead_id is None and r.assisting_ids == [org[FIN], org[EDU]]
    assert any("多个牵头单位" in w and "请确定一个" in w for w in r.warnings)


def test_the_same_lead_twice_is_one_lead(resolver, org):
    r = resolver.resolve_list("区财政局（牵头）、区教育局，区财政局牵头")
    assert (r.lead_id, r.assisting_ids, r.warnings) == (org[FIN], [org[EDU]], [])


def test_duplicates_are_dropped_and_the_lead_is_not_assisting(resolver, org):
    r = resolver.resolve_list("区财政局（牵头）、区教育局、区财政局、发改委、区发改委、区发展和改革委员会")
    assert (r.lead_id, r.assisting_ids) == (org[FIN], [org[EDU], org[NDRC]])
    assert len(r.matched) == 6  # every mention is reported with what it matched


# --- spellings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("区发改委", NDRC),
        ("发改委", NDRC),  # 区 + 发改委 is an alias
        ("财政局", FIN),  # 区 + 财政局 is a full name
        ("住建局", "区住房和城乡建设局"),
        ("市场监管局", "区市场监督管理局"),  # begins with 市, still gets 区 in front
        ("区 发改委", NDRC),  # a stray space does not cut a name
        ("区　财政局", FIN),
        ("城关街道", "城关街道办事处"),
        ("东城街道", "东城街道办事处"),  # 街道 → 街道办事处
        ("青山乡", "青山乡人民政府"),  # 乡/镇 → 人民政府
        ("柳河镇人民政府", "柳河镇人民政府"),
        ("区新闻办", "区委宣传部"),
        ("区委宣传部（区新闻办）", "区委宣传部"),  # two names of one office
    ],
)
def test_names_aliases_and_tolerated_spellings(resolver, org, text, expected):
    r = resolver.resolve_list(text)
    assert r.assisting_ids == [org[expected]] and r.ok


def test_lookup_of_a_single_name(resolver, org):
    assert resolver.lookup("发改委") == org[NDRC]
    assert resolver.lookup("区 财政局") == org[FIN]
    assert resolver.lookup("区不存在局") is None


def test_short_name_is_recognised(session, org):
    f.department(session, "区城市管理综合行政执法局", short_name="区城管执法局")
    r = DepartmentResolver.load(session).resolve_list("城管执法局")
    assert len(r.assisting_ids) == 1 and r.ok


def test_a_prefix_less_name_matching_two_departments_is_ambiguous(session, org):
    f.department(session, "县财政局", sort_order=99)  # candidates are listed in sort order
    r = DepartmentResolver.load(session).resolve_list("财政局、区教育局")
    assert r.assisting_ids == [org[EDU]] and r.unknown == ["财政局"]
    assert r.warnings == ["“财政局”对应多个单位（区财政局、县财政局），请选择"]


def test_a_prefixed_name_does_not_cross_levels(session, org):
    r = DepartmentResolver.load(session).resolve_list("县财政局")
    assert r.unknown == ["县财政局"] and not r.matched  # 县财政局 is not 区财政局


# --- group words ---------------------------------------------------------------------------

STREETS = ["城关街道办事处", "东城街道办事处"]
TOWNS = ["柳河镇人民政府", "青山乡人民政府"]
DIRECT = [NDRC, FIN, EDU, "区住房和城乡建设局", "区文化和旅游局", "区融媒体中心", "区市场监督管理局"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("各街道办事处", STREETS),
        ("各街道", STREETS),
        ("全区各街道", STREETS),
        ("各乡镇", TOWNS),
        ("各镇", TOWNS),
        ("各镇（街道）", STREETS + TOWNS),
        ("各镇(街道)", STREETS + TOWNS),
        ("各镇街", STREETS + TOWNS),
        ("各乡镇（街道）", STREETS + TOWNS),
        ("各乡镇街道", STREETS + TOWNS),
        ("区直各部门", DIRECT),  # component + institution, not 区委宣传部 (other)
        ("区直各单位", DIRECT),
        ("区政府各部门", DIRECT),
    ],
)
def test_group_words_expand_by_kind(resolver, org, text, expected):
    r = resolver.resolve_list(text)
    assert _names(org, r.assisting_ids) == expected and r.ok
    assert {t for t, _ in r.matched} == {r.matched[0][0]}


def test_group_with_a_named_lead(resolver, org):
    r = resolver.resolve_list("区财政局牵头，各街道配合", first_is_lead=True)
    assert (r.lead_id, _names(org, r.assisting_ids)) == (org[FIN], STREETS)


def test_named_member_of_a_group_is_listed_once(resolver, org):
    r = resolver.resolve_list("城关街道（牵头）、各街道")
    assert (r.lead_id, r.assisting_ids) == (org["城关街道办事处"], [org["东城街道办事处"]])


def test_a_group_cannot_be_the_lead(resolver, org):
    r = resolver.resolve_list("各街道", first_is_lead=True)
    assert r.lead_id is None and _names(org, r.assisting_ids) == STREETS
    assert r.warnings == ["“各街道”包含多个单位，不能作为牵头单位，请选择"]
    r = resolver.resolve_list("各镇街牵头")
    assert r.lead_id is None and "不能作为牵头单位" in r.warnings[0]


def test_a_group_with_no_members_says_so(session):
    f.department(session, "区财政局")
    r = DepartmentResolver.load(session).resolve_list("区财政局、各街道")
    assert r.warnings == ["“各街道”下没有登记任何单位，请选择"] and not r.unknown


@pytest.mark.parametrize(
    "text",
    [
        "相关街道",
        "有关单位",
        "相关部门",
        "各相关单位",
        "有关镇街",
        "区直有关部门",
        "区直相关部门",
        "其他相关单位",
        "各部门",
        "各单位",
        "涉及街道",
    ],
)
def test_vague_words_are_not_expanded(resolver, text):
    r = resolver.resolve_list(f"区财政局牵头，{text}配合")
    assert r.assisting_ids == [] and r.unknown == []
    assert r.warnings == [f"“{text}”未指明具体单位，请选择"]


# --- what cannot be resolved -----------------------------------------------------------------


def test_unknown_names_are_reported_in_order_and_never_created(session, resolver, org):
    before = session.exec(select(func.count()).select_from(Department)).one()
    r = resolver.resolve_list("区财政局（牵头）、区不存在局、区教育局和区另一个局，区不存在局", first_is_lead=True)
    assert (r.lead_id, r.assisting_ids) == (org[FIN], [org[EDU]])
    assert r.unknown == ["区不存在局", "区另一个局"]
    assert session.exec(select(func.count()).select_from(Department)).one() == before


def test_an_unknown_first_name_does_not_pass_the_lead_on(resolver, org):
    r = resolver.resolve_list("区不存在局、区财政局", first_is_lead=True)
    assert (r.lead_id, r.assisting_ids, r.unknown) == (None, [org[FIN]], ["区不存在局"])
    r = resolver.resolve_list("区不存在局（牵头）、区财政局", first_is_lead=True)
    assert (r.lead_id, r.assisting_ids, r.unknown) == (None, [org[FIN]], ["区不存在局"])


def test_bracketed_unknown_names_are_both_reported(resolver):
    r = resolver.resolve_list("区外事办（区侨办）")
    assert r.unknown == ["区外事办", "区侨办"]


def test_an_inactive_department_is_refused_with_a_reason(session, org):
    dep = session.get(Department, org[EDU])
    dep.active = False
    session.commit()
    r = DepartmentResolver.load(session).resolve_list("区财政局、区教育局、各街道")
    assert EDU not in _names(org, r.assisting_ids) and r.unknown == [EDU]
    assert r.warnings == ["“区教育局”已停用，请改选现有单位"]


def test_etc_is_flagged(resolver, org):
    r = resolver.resolve_list("区财政局、区教育局等单位")
    assert r.assisting_ids == [org[FIN], org[EDU]]
    assert r.warnings == ["“区教育局等”可能还有其他单位，请核对"]


@pytest.mark.parametrize("text", ["", "   ", "、，", None])
def test_empty_text(resolver, text):
    r = resolver.resolve_list(text)
    assert (r.lead_id, r.assisting_ids, r.unknown, r.warnings, r.matched) == (None, [], [], [], [])


def test_resolving_reads_nothing_more_from_the_database(session, db, org):
    resolver = DepartmentResolver.load(session)
    statements = []

    def listener(conn, cursor, statement, *rest):
        statements.append(statement)

    sa.event.listen(db, "before_cursor_execute", listener)
    try:
        session.exec(select(Department.id)).all()
        assert statements, "the listener must see this session's queries"
        statements.clear()
        for _ in range(20):
            resolver.resolve_list("区财政局牵头，各镇（街道）、区发改委、相关街道、区不存在局配合")
    finally:
        sa.event.remove(db, "before_cursor_execute", listener)
    assert statements == []


# --- leaders ----------------------------------------------------------------------------------


@pytest.fixture
def leaders(session):
    out = {
        "孙志强": f.leader(session, "孙志强", "区长").id,
        "吴海涛": f.leader(session, "吴海涛", "常务副区长").id,
        "李明": f.leader(session, "李明", "副区长").id,
        "王芳": f.leader(session, "王芳", "副区长").id,
        "李明华": f.leader(session, "李明华", "区政府党组成员").id,
    }
    session.commit()
    return out


@pytest.fixture
def lres(session, leaders):
    return LeaderResolver.load(session)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("吴海涛", ["吴海涛"]),
        ("吴海涛（副区长）", ["吴海涛"]),  # a 常务副区长 is a 副区长: no contradiction
        ("吴海涛(常务副区长)", ["吴海涛"]),
        ("常务副区长吴海涛", ["吴海涛"]),
        ("吴海涛常务副区长", ["吴海涛"]),
        ("吴海涛同志", ["吴海涛"]),
        ("区长 孙志强", ["孙志强"]),
        ("区长　孙志强", ["孙志强"]),
        ("孙志强 区长", ["孙志强"]),
        ("区长", ["孙志强"]),  # the only active 区长
        ("常务副区长", ["吴海涛"]),
        ("吴海涛、李明", ["吴海涛", "李明"]),
        ("吴海涛，李明；王芳", ["吴海涛", "李明", "王芳"]),
        ("吴海涛和李明", ["吴海涛", "李明"]),
        ("吴海涛 李明", ["吴海涛", "李明"]),
        ("副区长 李明 副区长 王芳", ["李明", "王芳"]),
        ("李明华", ["李明华"]),  # not 李明 plus 华
        ("区政府党组成员李明华", ["李明华"]),
        ("吴海涛、吴海涛（常务副区长）", ["吴海涛"]),
    ],
)
def test_leaders(lres, leaders, text, expected):
    r = lres.resolve_list(text)
    assert r.ids == [leaders[n] for n in expected]
    assert r.ok, (r.unknown, r.warnings)


def test_an_ambiguous_title_alone_asks(lres):
    r = lres.resolve_list("副区长")
    assert r.ids == [] and r.unknown == ["副区长"]
    assert r.warnings == ["“副区长”对应多位领导（李明、王芳），请选择"]


def test_unknown_leaders_are_reported(lres, leaders):
    r = lres.resolve_list("李明珠、吴海涛、区委书记、张三（副区长）")
    assert r.ids == [leaders["吴海涛"]]
    assert r.unknown == ["李明珠", "区委书记", "张三(副区长)"]


def test_a_contradicting_title_is_flagged_but_the_name_wins(lres, leaders):
    r = lres.resolve_list("吴海涛（区长）")
    assert r.ids == [leaders["吴海涛"]]
    assert r.warnings == ["“吴海涛(区长)”的职务与登记的“常务副区长”不一致，请核对"]


def test_namesakes_are_told_apart_by_title(session, leaders):
    f.leader(session, "李明", "区政府办公室主任")
    lres = LeaderResolver.load(session)
    r = lres.resolve_list("李明")
    assert r.ids == [] and r.unknown == ["李明"] and "2位同名领导" in r.warnings[0]
    r = lres.resolve_list("副区长李明")
    assert r.ids == [leaders["李明"]] and r.ok


def test_an_inactive_leader_is_refused_with_a_reason(session, leaders):
    session.get(Leader, leaders["王芳"]).active = False
    session.get(Leader, leaders["李明"]).active = False
    session.commit()
    lres = LeaderResolver.load(session)
    r = lres.resolve_list("王芳")
    assert r.ids == [] and r.unknown == ["王芳"] and r.warnings == ["“王芳”已不在任，请改选"]
    assert lres.resolve_list("副区长").ids == []  # nobody active holds it now


# --- the sample ledger ----------------------------------------------------------------------------

KIND_OF = {"政府组成部门": K.COMPONENT, "乡镇": K.TOWN, "街道": K.STREET, "事业单位": K.INSTITUTION}


def _rows(ws, header_first_cell):
    """Rows under the header as dicts; merged cells forward-filled (only the top-left holds a value)."""
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    for rng in ws.merged_cells.ranges:
        top = values[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                values[r - 1][c - 1] = top
    start = next(i for i, row in enumerate(values) if row[0] == header_first_cell)
    header = values[start]
    out = []
    for row in values[start + 1 :]:
        if row[0] is None:
            break
        out.append(dict(zip(header, row, strict=True)))
    return out


@pytest.fixture
def sample_org(session):
    """The departments and leaders of departments.xlsx, through the real services."""
    ws = openpyxl.load_workbook(SAMPLES / "departments.xlsx").worksheets[0]
    deps, portfolio = {}, {}
    for row in _rows(ws, "单位全称"):
        aliases = [a for a in (row["简称/别名"] or "").split("、") if a]
        dep = f.department(session, row["单位全称"], kind=KIND_OF[row["单位类型"]], aliases=aliases)
        deps[dep.name] = dep.id
        portfolio.setdefault(row["分管领导"], []).append(dep.id)
    leaders = {name: f.leader(session, name, "副县长", department_ids=ids).id for name, ids in portfolio.items()}
    session.commit()
    return deps, leaders


def test_every_cell_of_the_sample_ledger_parses_and_resolves(session, sample_org):
    deps, leaders = sample_org
    ws = openpyxl.load_workbook(SAMPLES / "meeting_ledger.xlsx").worksheets[0]
    rows = _rows(ws, "序号")
    assert len(rows) == 4
    base = date(2026, 11, 23)  # the ledger gives no meeting dates: resolve against one known day
    calendar = load_calendar(session)
    dres, lres = DepartmentResolver.load(session), LeaderResolver.load(session)
    seen = {}
    for row in rows:
        deadline = parse_deadline(row["完成时限"], base=base, calendar=calendar)
        lead = dres.resolve_list(row["牵头单位"], first_is_lead=True)
        assisting = dres.resolve_list(row["配合单位"] or "")
        people = lres.resolve_list(row["责任领导"])
        for r in (lead, assisting, people):
            assert r.ok, (row["序号"], r.unknown, r.warnings)
        assert lead.lead_id is not None and not lead.assisting_ids
        assert row["会议"]  # forward-filled from the merged cell
        seen[row["序号"]] = (deadline, lead.lead_id, assisting.assisting_ids, people.ids)

    by_id = {v: k for k, v in deps.items()}
    d1, lead1, assist1, people1 = seen[1]
    assert (d1.kind, d1.due_date) == ("date", date(2026, 12, 20))
    assert by_id[lead1] == "县交通运输局"  # written 县交通局, an alias
    assert [by_id[i] for i in assist1] == ["县财政局", "城关镇人民政府"]
    assert people1 == [leaders["林晓东"]]
    d2, _, assist2, _ = seen[2]
    assert (d2.kind, d2.due_date, d2.feedback_cycle) == ("ongoing", None, "monthly")
    assert [by_id[i] for i in assist2] == ["柳河乡人民政府", "城关镇人民政府"]  # "柳河乡，城关镇"
    d3, lead3, assist3, _ = seen[3]
    assert (d3.due_date, d3.provisional) == (date(2026, 12, 14), False)  # 15 working days
    assert by_id[lead3] == "县教育体育局" and assist3 == []
    d4, lead4, _, people4 = seen[4]
    assert (d4.due_date, by_id[lead4]) == (date(2027, 3, 31), "县民政局")
    assert people4 == [leaders["马丽"], leaders["何军"]]
