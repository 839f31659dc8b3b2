"""Finding the table in a sheet: headers, merged cells, sections, notes; and the readers."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from openpyxl import Workbook

from importers import read_workbook
from importers.cells import as_text, clean_text, clean_value, header_key
from importers.layout import detect
from importers.mapping import DEPARTMENT_FIELDS, LEDGER_FIELDS, column_letter, match_header
from importers.workbook import RawSheet, _grid, read_xlsx_openpyxl
from tests.fixtures.helpers import FIXTURES, SAMPLES


def sheet(rows, merged=(), name="台账"):
    merged = list(merged)
    return RawSheet(name, _grid([list(r) for r in rows], merged), merged)


def ledger(rows, merged=(), **kw):
    return detect(sheet(rows, merged), LEDGER_FIELDS, {"title"}, **kw)


@pytest.mark.parametrize(
    "header, field",
    [
        ("序号", "seq"),
        ("编号", "seq"),
        ("督办事项", "title"),
        ("议定事项", "title"),
        ("工作任务", "title"),
        ("具体措施", "title"),
        ("建议题目", "title"),
        ("决定事项", "title"),
        ("牵头单位", "lead"),
        ("主办单位", "lead"),
        ("承办单位", "lead"),
        ("配合单位", "assist"),
        ("协办单位", "assist"),
        ("责任单位", "units"),
        ("责任领导", "leaders"),
        ("分管领导", "leaders"),
        ("批示领导", "leaders"),
        ("完成时限", "deadline"),
        ("办理时限", "deadline"),
        ("时间节点", "deadline"),
        ("进展情况", "progress"),
        ("办理进展", "progress"),
        ("任务来源", "source"),
        ("会议名称", "source"),
        ("来文单位", "source"),
        ("会议时间", "source_date"),
        ("事项编号", "code"),
        ("完成时限（截止日期）", "deadline"),
        ("督办事项内容", "title"),
        ("  牵 头 单 位 ", "lead"),
        ("＊完成时限", "deadline"),
        ("责任单位（牵头）", "lead"),
        ("责任单位(配合)", "assist"),
        ("备注", None),
        ("县政府第8次常务会议", None),
        ("长期坚持", None),
        ("县财政局、城关镇", None),
    ],
)
def test_header_synonyms(header, field):
    found = match_header(header, LEDGER_FIELDS)
    if field in ("lead", "assist") and header_key(header).startswith("责任单位"):
        from importers.layout import _column_field

        found = _column_field(header, None, LEDGER_FIELDS)
    assert (found[0] if found else None) == field


def test_one_row_header_under_a_merged_title_with_notes_below():
    rows = [
        ["县政府常务会议决定事项督办台账", None, None, None],
        ["序号", "督办事项", "牵头单位", "完成时限"],
        [1, "事项一", "县财政局", "2026年12月31日"],
        [None, None, None, None],
        [2, "事项二", "县水利局", "长期坚持"],
        ["备注：每周五更新。", None, None, None],
        ["填报人：张三", None, None, None],
    ]
    scan = ledger(rows, [(0, 0, 0, 3)])
    t = scan.table
    assert t.mapping.header_rows == [2] and t.title == "县政府常务会议决定事项督办台账"
    assert [r.row for r in t.rows] == [3, 5]
    assert [r.text("title") for r in t.rows] == ["事项一", "事项二"]
    assert t.notes == [(6, "备注：每周五更新。"), (7, "填报人：张三")]
    assert t.rows[0].columns == {"seq": "A", "title": "B", "lead": "C", "deadline": "D"}


@pytest.mark.parametrize("vertical_merges", [True, False])
def test_two_row_header_with_a_group_header(vertical_merges):
    rows = [
        ["重点工作台账（截至2026年11月20日）", None, None, None, None, None],
        ["序号", "工作任务", "责任单位", None, "完成时限", "进展情况"],
        [None, None, "牵头单位", "配合单位", None, None],
        [1, "事项一", "区财政局", "区教育局", "12月底前", "已启动"],
    ]
    merged = [(0, 0, 0, 5), (1, 2, 1, 3)]
    if vertical_merges:
        merged += [(1, c, 2, c) for c in (0, 1, 4, 5)]
    t = ledger(rows, merged).table
    assert t.mapping.header_rows == [2, 3]
    fields = {c.letter: (c.header, c.field) for c in t.mapping.columns}
    assert fields == {
        "A": ("序号", "seq"),
        "B": ("工作任务", "title"),
        "C": ("责任单位/牵头单位", "lead"),
        "D": ("责任单位/配合单位", "assist"),
        "E": ("完成时限", "deadline"),
        "F": ("进展情况", "progress"),
    }
    assert t.ledger_date == date(2026, 11, 20)
    assert [r.values for r in t.rows] == [
        {
            "seq": 1,
            "title": "事项一",
            "lead": "区财政局",
            "assist": "区教育局",
            "deadline": "12月底前",
            "progress": "已启动",
        }
    ]


def test_group_header_with_short_sub_headers():
    rows = [["序号", "督办事项", "责任单位", None], [None, None, "牵头", "配合"], [1, "事项", "区财政局", "区教育局"]]
    t = ledger(rows, [(0, 2, 0, 3)]).table
    assert {c.field for c in t.mapping.columns} == {"seq", "title", "lead", "assist"}


def test_merged_cells_spanning_rows_are_filled_down_and_marked():
    rows = [
        ["序号", "会议名称", "议定事项", "牵头单位"],
        [1, "第8次常务会议", "事项一", "区财政局"],
        [2, None, "事项二", "区教育局"],
        [3, None, "事项三", None],
        [4, "第9次常务会议", "事项四", "区民政局"],
    ]
    t = ledger(rows, [(1, 1, 3, 1), (2, 3, 3, 3)]).table
    assert [r.text("source") for r in t.rows] == ["第8次常务会议"] * 3 + ["第9次常务会议"]
    assert [r.filled for r in t.rows] == [set(), {"source"}, {"source", "lead"}, set()]
    assert t.rows[2].text("lead") == "区教育局"


def test_section_rows_become_categories():
    rows = [
        ["序号", "督办事项", "牵头单位", "完成时限"],
        ["一、扎实推进项目建设", None, None, None],  # merged across
        [1, "事项一", "区财政局", "12月底前"],
        [None, "（二）持续改善民生", None, None],  # a heading in the title column
        [2, "事项二", "区教育局", "12月底前"],
        ["三", "优化营商环境", None, None],  # numeral in 序号, text in 督办事项
        [3, "事项三", "区民政局", "12月底前"],
        ["第四部分 其他工作", None, None, None],  # unmerged, outside the title column
        [4, "事项四", "区民政局", "12月底前"],
    ]
    t = ledger(rows, [(1, 0, 1, 3)]).table
    assert [(r.text("title"), r.category) for r in t.rows] == [
        ("事项一", "一、扎实推进项目建设"),
        ("事项二", "（二）持续改善民生"),
        ("事项三", "三、优化营商环境"),
        ("事项四", "第四部分 其他工作"),
    ]
    assert [s[0] for s in t.sections] == [2, 4, 6, 8]


def test_a_lone_title_is_a_task_not_a_section_and_numbered_blank_rows_are_skipped():
    rows = [["序号", "督办事项", "牵头单位"], [1, "单独一行的事项", None], [2, None, None], [3, None, None]]
    t = ledger(rows).table
    assert [r.text("title") for r in t.rows] == ["单独一行的事项"] and t.sections == []


def test_a_header_repeated_in_the_middle_is_skipped():
    rows = [
        ["序号", "督办事项", "牵头单位"],
        [1, "事项一", "区财政局"],
        ["序号", "督办事项", "牵头单位"],
        [2, "事项二", "区教育局"],
    ]
    t = ledger(rows).table
    assert [r.text("title") for r in t.rows] == ["事项一", "事项二"] and t.skipped == [(3, "重复的表头行")]


def test_full_width_characters_and_stray_spaces():
    assert clean_text("\u3000区财政局\xa0 ") == "区财政局"
    assert clean_text("２０２６年１２月３１日前") == "2026年12月31日前"
    assert clean_text("区财政局，区教育局") == "区财政局，区教育局"  # Chinese punctuation stays
    assert clean_text("第一行  \r\n  第二行\x07") == "第一行\n第二行"
    assert clean_value("   ") is None and clean_value(3.0) == 3 and clean_value(2.5) == 2.5
    assert as_text(datetime(2026, 12, 31)) == "2026-12-31"
    rows = [["　序　号 ", "督 办 事 项", "牵头单位 "], [" 1 ", "　事项一　", "　区财政局 "]]
    t = ledger(rows).table
    assert t.rows[0].values == {"seq": "1", "title": "事项一", "lead": "区财政局"}


def test_no_header_no_table_and_hidden_sheets_are_skipped():
    assert ledger([["本表仅供参考"], ["没有列名"]]).table is None
    hidden = RawSheet("参考", [["序号", "督办事项", "牵头单位"], [1, "x", "y"]], [], hidden=True)
    scan = detect(hidden, LEDGER_FIELDS, {"title"})
    assert scan.table is None and scan.hidden


class _Store:
    """A MappingStore in memory (the real one is the LedgerMapping table, tests/test_web_import.py)."""

    def __init__(self):
        self.saved = {}

    def get(self, sig):
        return self.saved.get(sig)

    def remember(self, mapping):
        self.saved[mapping.signature] = {c.index: c.field for c in mapping.columns}


def test_mapping_overrides_and_the_remembered_mapping():
    rows = [["序号", "事项", "单位", "要求完成", "情况"], [1, "事项一", "区财政局", "12月底前", "已启动"]]
    guessed = ledger(rows).table.mapping
    assert [c.field for c in guessed.columns] == ["seq", "title", None, None, None]
    store = _Store()
    fixed = ledger(rows, overrides={2: "lead", 3: "deadline", 4: "progress"}).table
    assert [c.field for c in fixed.mapping.columns] == ["seq", "title", "lead", "deadline", "progress"]
    assert fixed.rows[0].values["lead"] == "区财政局"
    store.remember(fixed.mapping)
    again = ledger(rows, store=store).table
    assert again.mapping.remembered and [c.field for c in again.mapping.columns][2:] == ["lead", "deadline", "progress"]
    assert again.mapping.to_dict()["columns"][2] == {
        "column": "C",
        "index": 2,
        "header": "单位",
        "field": "lead",
        "label": "牵头单位",
        "guessed": False,
    }
    other = ledger([["序号", "督办事项", "牵头单位"], [1, "x", "区财政局"]], store=store).table
    assert not other.mapping.remembered


def test_department_list_header():
    t = detect(
        sheet([["单位全称", "简称/别名", "单位类型", "分管领导"], ["县财政局", "财政局", "组成部门", "高志远"]]),
        DEPARTMENT_FIELDS,
        {"name"},
    ).table
    assert [c.field for c in t.mapping.columns] == ["name", "aliases", "kind", "leader"]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


READABLE = [p for p in sorted(FIXTURES.glob("*.xlsx")) if p.name != "encrypted.xlsx"] + sorted(SAMPLES.glob("*.xlsx"))


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_calamine_and_openpyxl_read_the_same_grids(path):
    calamine = read_workbook(path).sheets
    reference = read_xlsx_openpyxl(path)
    assert [s.name for s in calamine] == [s.name for s in reference]
    for a, b in zip(calamine, reference):
        assert a.hidden == b.hidden
        assert sorted(a.merged) == sorted(b.merged)
        width = max(a.width, b.width)
        assert _norm(a.rows, width) == _norm(b.rows, width)


def _norm(rows, width):
    """Same width; a midnight datetime (openpyxl) equals the date (calamine)."""
    return [
        [
            v.date() if isinstance(v, datetime) and v.time() == datetime.min.time() else v
            for v in r + [None] * (width - len(r))
        ]
        for r in rows
    ]


def test_xls_and_csv_readers():
    xls = read_workbook(FIXTURES / "legacy.xls")
    assert xls.kind == "xls" and xls.sheets[0].merged and xls.sheets[0].rows[1][2] == date(2026, 10, 28)
    gbk = read_workbook(FIXTURES / "suggestions_gbk.csv")
    assert (gbk.kind, gbk.encoding) == ("csv", "gbk") and gbk.sheets[0].rows[0][1] == "建议题目"
    utf8 = read_workbook(FIXTURES / "checklist_utf8.csv")
    assert utf8.encoding == "utf-8" and utf8.sheets[0].rows[0][0] == "督办事项清单（截至2026年11月20日）"


def test_tab_separated_csv(tmp_path):
    path = tmp_path / "tabs.csv"
    path.write_text("序号\t督办事项\t牵头单位\n1\t事项一\t区财政局\n", encoding="utf-8")
    t = detect(read_workbook(path).sheets[0], LEDGER_FIELDS, {"title"}).table
    assert t.rows[0].values == {"seq": "1", "title": "事项一", "lead": "区财政局"}


def test_formulas_are_not_evaluated(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "督办事项", "牵头单位"])
    ws.append([1, '=CONCAT("事项","一")', "区财政局"])
    wb.save(tmp_path / "f.xlsx")
    t = detect(read_workbook(tmp_path / "f.xlsx").sheets[0], LEDGER_FIELDS, {"title"}).table
    # openpyxl stores no cached result; nothing computes one: the title is simply empty
    assert t.rows[0].values.get("title") in (None, "")
