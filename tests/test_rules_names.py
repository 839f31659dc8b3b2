"""Department and leader names from text (``tracker.rules.names``), and the one resolver
every import reads them with: a ledger and a 建议/提案 list give the same departments for
the same cell."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from tests.fixtures.helpers import load_district
from tracker.models import Department, DepartmentKind, Task, TaskAssist
from tracker.rules import names
from tracker.services.ledger import importer as ledger_import
from tracker.services.motions import importer as motion_import

# --- the pure rules ------------------------------------------------------------------------


def test_normalise_name_folds_full_width_and_drops_spaces():
    assert names.normalise_name("区 发改委\u3000") == "区发改委"
    assert names.normalise_name("ＡＢＣ（牵头）") == "ABC(牵头)"


def test_split_list_cuts_at_separators_outside_brackets_only():
    assert names.split_list("区财政局、区教育局；城关镇/河口镇") == ["区财政局", "区教育局", "城关镇", "河口镇"]
    assert names.split_list("区财政局（牵头，负责资金）、区教育局") == ["区财政局(牵头,负责资金)", "区教育局"]
    assert names.split_list("吴海涛 孙志强") == ["吴海涛 孙志强"]
    assert names.split_list("吴海涛 孙志强", spaces=True) == ["吴海涛", "孙志强"]


def test_variants_tolerate_prefixes_and_suffixes():
    assert "区发改委" in names.name_variants("发改委")
    assert "交通局" in names.name_variants("县交通局")
    assert "城关街道办事处" in names.name_variants("城关街道")
    assert "城关镇" in names.name_variants("城关镇人民政府")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("区财政局(牵头)", ("区财政局", names.LEAD)),
        ("由区财政局牵头", ("区财政局", names.LEAD)),
        ("区教育局配合", ("区教育局", names.ASSIST)),
        ("配合单位:区教育局", ("区教育局", names.ASSIST)),
        ("区财政局", ("区财政局", None)),
    ],
)
def test_strip_markers_reads_the_role_words(text, expected):
    name, role, _suffix, _etc = names.strip_markers(text)
    assert (name, role) == expected


def test_groups_and_vague_words_use_the_department_kinds():
    kinds = {k.value for k in DepartmentKind}
    assert set(names.group_kinds("各镇(街道)")) == {"street", "town"} <= kinds
    assert set(names.group_kinds("区直各部门")) <= kinds
    assert names.is_vague("相关部门") and names.is_vague("各单位") and not names.is_vague("区财政局")


def test_split_leader_reads_name_and_title():
    assert names.split_leader("高志远（副县长）") == ("高志远", "副县长")
    assert names.split_leader("高志远") == ("高志远", "")
    assert names.same_office("副区长", "区政府常务副区长")
    assert not names.same_office("区长", "副区长")


KNOWN = [
    "区财政局",
    "区教育局",
    "县交通局",
    "县财政局",
    "区住房和城乡建设局",
    "城关镇",
    "河口镇人民政府",
    "区发改委",
    "区卫生健康委员会",
    "东城街道办事处",
]
SEPARATORS = ["、", "，", ",", "；", ";", "/", "和", "及", "与", "以及", " ", "\n"]


def _split_back(text: str) -> list[str]:
    """What the resolver does with a cell, knowing the names in ``KNOWN``: separators
    first, then the cut at 和/及/与 and spaces where it finds names."""
    known = set(KNOWN)
    out: list[str] = []
    for clause in names.split_outside_brackets(names.nfkc(text), names.MAJOR_SEPARATORS):
        for piece in names.split_outside_brackets(clause, names.MINOR_SEPARATORS):
            out.extend(
                names.segment(piece, lambda p: [names.normalise_name(p)], lambda n: n in known, names.normalise_name)
            )
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=5), st.data())
def test_any_join_of_known_names_splits_back_to_them(chosen, data):
    seps = [data.draw(st.sampled_from(SEPARATORS)) for _ in chosen[1:]]
    text = chosen[0] + "".join(sep + name for sep, name in zip(seps, chosen[1:]))
    assert _split_back(text) == chosen


def test_a_name_with_and_inside_stays_whole():
    assert _split_back("区住房和城乡建设局和区财政局") == ["区住房和城乡建设局", "区财政局"]


# --- the same cell through a ledger and through a 建议/提案 list ------------------------------


@pytest.fixture
def org(session):
    return load_district(session)


def _ledger(tmp_path, lead: str, assist: str, deadline) -> object:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["任务来源", "会议日期", "督办事项", "牵头单位", "配合单位", "完成时限"])
    ws.append(["区政府第12次常务会议", "2026年11月5日", "研究制定城区停车管理办法", lead, assist, deadline])
    path = tmp_path / "ledger.xlsx"
    wb.save(path)
    return path


def _motion_list(tmp_path, lead: str, assist: str, deadline) -> object:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["区十七届人大三次会议代表建议交办清单"])
    ws.append(["建议编号", "建议题目", "领衔代表", "主办单位", "协办单位", "办理时限"])
    ws.append([1, "关于改善城区停车的建议", "王芳", lead, assist, deadline])
    path = tmp_path / "motions.xlsx"
    wb.save(path)
    return path


def _departments(session, task_id: int) -> tuple[str, set[str]]:
    task = session.get(Task, task_id)
    lead = session.get(Department, task.lead_department_id).name
    assisting = {
        session.get(Department, a.department_id).name
        for a in session.exec(select(TaskAssist).where(TaskAssist.task_id == task_id))
    }
    return lead, assisting


@pytest.mark.parametrize(
    ("lead", "assist", "expected"),
    [
        # two units in the lead cell: the first leads, the second assists (with a warning)
        ("县交通局和县财政局", "", ("区交通运输局", {"区财政局"})),
        # two units in the assisting cell: both assist
        ("区教育局", "县交通局和县财政局", ("区教育局", {"区交通运输局", "区财政局"})),
    ],
)
def test_the_same_cell_gives_the_same_departments_in_a_ledger_and_a_motion_list(
    org, session, tmp_path, lead, assist, expected
):
    ledger = ledger_import.import_ledger(
        session, org.office, _ledger(tmp_path, lead, assist, "2026年12月31日"), dry_run=False
    )
    assert ledger.committed, [e.message for r in ledger.rows for e in r.errors]
    motions = motion_import.import_list(session, org.office, _motion_list(tmp_path, lead, assist, "2026年12月31日"))
    assert motions.committed, motions.errors
    assert _departments(session, ledger.rows[0].task_id) == expected
    assert _departments(session, motions.items[0].task_id) == expected
    assert (motions.items[0].lead, set(motions.items[0].assisting)) == expected


def test_an_unknown_unit_is_reported_the_same_way_by_both(org, session, tmp_path):
    ledger = ledger_import.import_ledger(
        session, org.office, _ledger(tmp_path, "县交通局和不存在局", "", "2026年12月31日")
    )
    assert [e.message for e in ledger.rows[0].errors] == ["未找到单位“不存在局”（请先在单位名录中登记该单位或其简称）"]
    report, _inputs = motion_import.read_list(
        session, _motion_list(tmp_path, "县交通局和不存在局", "", "2026年12月31日")
    )
    assert [e["message"] for e in report.items[0].errors] == ["主办单位“不存在局”不在单位名录中"]
    assert report.items[0].lead == "区交通运输局"


def test_ledger_and_motion_list_agree_on_a_date_written_in_text(org, session, tmp_path):
    ledger = ledger_import.import_ledger(session, org.office, _ledger(tmp_path, "区教育局", "", "2026年12月31日"))
    report, _inputs = motion_import.read_list(session, _motion_list(tmp_path, "区教育局", "", "2026年12月31日前"))
    assert ledger.rows[0].due_date == report.items[0].due_date == date(2026, 12, 31)
