"""Exporting the office's ledger (督办台账) and the import template; round trips."""

from __future__ import annotations

import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from importers.export import LEDGER_COLUMNS, LedgerRow, write_ledger
from tests import factories as f
from tests.fixtures.helpers import FIXTURES, SAMPLES, counts, load_district
from tracker import clock
from tracker.models import LedgerMapping, ProgressReport, Role, Source, Task, TaskAssist
from tracker.rules.overdue import Horizon
from tracker.services.actors import Actor
from tracker.services.ledger import commit as ledger_commit
from tracker.services.ledger import export as ledger_export
from tracker.services.ledger import importer as ledger_import
from tracker.services.ledger import report as import_report
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks.queries import TaskFilter

TODAY = date(2026, 11, 23)


@pytest.fixture
def org(session):
    return load_district(session)


def _import(org, *names):
    for name in names:
        report = ledger_import.import_ledger(org.session, org.office, FIXTURES / name, dry_run=False)
        assert report.committed, import_report.format_report(report, dry_run=False)
    org.session.commit()


def _task(session, title) -> Task:
    return session.exec(select(Task).where(Task.title == title)).one()


def _export(org, path, f=None, actor=None, **kw) -> int:
    n = ledger_export.export_ledger(
        org.session, actor or org.office, path, f or TaskFilter(), Horizon.build(org.session), **kw
    )
    return n


def _sheet(path):
    return openpyxl.load_workbook(path).active


@pytest.fixture
def busy(org):
    """Two ledgers imported; one task overdue, one due tomorrow, one on track; progress twice."""
    _import(org, "key_work_two_row.xlsx", "meetings_multi_sheet.xlsx")
    s = org.session
    with clock.frozen(date(2026, 11, 10)):
        tasks.assign(s, org.office, _task(s, "研究制定城区停车管理办法").id)  # due 11-19: overdue now
    tasks.assign(s, org.office, _task(s, "请立即组织排查河口镇防汛设施隐患并整改").id)  # due 11-24: yellow
    tasks.assign(s, org.office, _task(s, "加快老旧小区改造").id)  # due 12-31: green
    road = _task(s, "推进城东片区道路建设").id
    ledger_commit.record_imported_progress(s, org.office, road, "滨河路已完成50%")
    s.commit()
    return org


def test_standard_ledger_layout(busy, tmp_path):
    path = tmp_path / "ledger.xlsx"
    assert _export(busy, path) == 10
    ws = _sheet(path)
    assert ws["A1"].value == "督办台账（截至2026年11月23日）" and "A1:N1" in ws.merged_cells
    assert [ws.cell(2, c).value for c in range(1, 15)] == [
        "序号",
        "任务来源",
        "来源日期",
        "事项编号",
        "督办事项",
        "工作要求",
        "责任单位",
        None,
        "责任领导",
        "完成时限",
        "时限要求",
        "紧急程度",
        "办理状态",
        "最新进展",
    ]
    assert (ws["G3"].value, ws["H3"].value) == ("牵头单位", "配合单位")
    for ref in ("A2:A3", "B2:B3", "G2:H2", "N2:N3"):
        assert ref in ws.merged_cells, ref
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$2:$3"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.column_dimensions["E"].width == 36 and ws.column_dimensions["N"].width == 44
    assert ws.max_row == 3 + 10 + 2  # ten tasks and the work report's two sections
    rows = {ws.cell(r, 5).value: r for r in range(4, 16) if ws.cell(r, 5).value}
    assert len(rows) == 10  # one row per task

    # the five tasks of the work report are consecutive under their two section rows,
    # each section's tasks sharing one merged source cell
    work = [rows[t] for t in ("推进城东片区道路建设", "加快老旧小区改造", "推动重点项目开工")]
    people = [rows[t] for t in ("办好民生实事", "学校食堂食品安全专项整治")]
    assert work == list(range(work[0], work[0] + 3)) and people == [work[-1] + 2, work[-1] + 3]
    assert (
        ws.cell(work[0] - 1, 1).value == "一、扎实推进项目建设"
        and ws.cell(people[0] - 1, 1).value == "二、持续改善民生"
    )
    assert f"B{work[0]}:B{work[-1]}" in ws.merged_cells and f"C{work[0]}:C{work[-1]}" in ws.merged_cells
    assert f"B{people[0]}:B{people[-1]}" in ws.merged_cells
    assert ws.cell(work[0], 2).value == ws.cell(people[0], 2).value == "2026年区政府工作报告"
    assert ws.cell(work[0], 3).value.date() == date(2026, 11, 20)

    r = rows["推进城东片区道路建设"]
    assert ws.cell(r, 14).value == "滨河路已完成50%"  # the latest progress only
    assert ws.cell(r, 7).value == "区交通运输局" and ws.cell(r, 8).value == "区财政局、区住房和城乡建设局"
    assert ws.cell(r, 9).value == "李明" and ws.cell(r, 12).value == "一般" and ws.cell(r, 13).value == "草稿"
    # 完成时限 a real date that sorts and filters, the wording beside it in 时限要求
    assert ws.cell(r, 10).value.date() == date(2026, 12, 31) and ws.cell(r, 11).value == "12月底前"
    assert ws.cell(r, 1).value == 1 and ws.cell(r, 4).value.startswith("DB-2026-")
    assert ws.cell(rows["办好民生实事"], 11).value == "每月25日前报送"
    assert ws.cell(rows["学校食堂食品安全专项整治"], 11).value == "长期坚持"
    assert ws.cell(rows["学校食堂食品安全专项整治"], 10).value is None
    assert all(isinstance(ws.cell(row, 10).value, (datetime, type(None))) for row in rows.values())
    assert ws.cell(rows["做好冬春季传染病防控工作"], 1).value == "2026-002"

    def fill(row, col):
        return ws.cell(row, col).fill.fgColor.rgb[-6:] if ws.cell(row, col).fill.fill_type else None

    red, yellow, green = (
        rows["研究制定城区停车管理办法"],
        rows["请立即组织排查河口镇防汛设施隐患并整改"],
        rows["加快老旧小区改造"],
    )
    assert (fill(red, 10), fill(red, 13)) == ("FFC7CE", "FFC7CE")
    assert ws.cell(red, 13).value == "已交办（逾期）"
    assert (fill(yellow, 10), fill(yellow, 13)) == ("FFEB9C", "FFEB9C") and ws.cell(
        yellow, 13
    ).value == "已交办（临期）"
    assert fill(green, 13) == "C6EFCE" and fill(rows["推动重点项目开工"], 13) is None
    assert ws.cell(r, 5).border.left.style == "thin" and ws.cell(r, 5).alignment.wrap_text
    assert ws.auto_filter.ref == "A3:N15"


def test_after_an_extension_the_ledger_shows_the_new_date(busy, tmp_path):
    s = busy.session
    task = _task(s, "加快老旧小区改造")
    task.due_date = date(2027, 1, 31)  # as decide_extension leaves it: the original stays on record
    s.add(task)
    s.commit()
    path = tmp_path / "ledger.xlsx"
    _export(busy, path)
    ws = _sheet(path)
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 5).value == "加快老旧小区改造")
    assert ws.cell(row, 10).value.date() == date(2027, 1, 31) and ws.cell(row, 10).number_format == "yyyy-mm-dd"


def test_after_an_extension_the_ledger_reads_back_as_the_same_task(busy, tmp_path):
    """完成时限 holds the extended date, 时限要求 still the words: importing the ledger again
    finds the task unchanged, and into an empty system gives the extended date and the words."""
    s = busy.session
    task = _task(s, "加快老旧小区改造")
    words = task.deadline_text
    task.due_date = date(2027, 1, 29)
    s.add(task)
    s.commit()
    path = tmp_path / "ledger.xlsx"
    _export(busy, path)
    report = ledger_import.import_ledger(s, busy.office, path, dry_run=True)
    row = next(r for r in report.rows if r.title == "加快老旧小区改造")
    assert row.action == "unchanged" and row.due_date == date(2027, 1, 29) and row.deadline_text == words
    assert not any("不一致" in w.message for w in row.warnings), row.warnings


def test_filters_and_visibility(busy, tmp_path):
    s = busy.session
    path = tmp_path / "f.xlsx"
    assert _export(busy, path, TaskFilter(lead_department_id=busy.dept("区财政局"))) == 1
    assert _sheet(path).cell(4, 5).value == "审议2027年财政预算草案编制方案"
    assert _export(busy, path, TaskFilter(overdue=True)) == 1
    assert _export(busy, path, TaskFilter(leader_id=busy.leader("王芳"))) == 3
    clerk = Actor.of(
        organisation.create_user(
            s, busy.office, "clerk1", "联络员", "Factory-pass-7", Role.CLERK, department_id=busy.dept("区交通运输局")
        )
    )
    s.commit()
    # a department sees only what went out to it: the assigned parking task, not its draft road task
    assert _export(busy, path, actor=clerk) == 1
    assert _sheet(path).cell(4, 5).value == "研究制定城区停车管理办法"
    assert _sheet(path).cell(4, 13).value == "待签收（逾期）"


def test_an_assisting_department_exports_its_own_progress_not_the_leads(busy, tmp_path):
    """The 最新进展 cell of a task a department assists shows that department's newest report,
    not the lead's (actors.own_part_only: the task page and the API withhold it too); the lead's
    export shows the newest of all."""
    s = busy.session
    task = s.exec(select(Task).join(TaskAssist, TaskAssist.task_id == Task.id).where(Task.status == "assigned")).first()
    helper = s.exec(select(TaskAssist.department_id).where(TaskAssist.task_id == task.id)).first()
    clerks = {}
    for name, dep in (("assist1", helper), ("lead1", task.lead_department_id)):
        clerks[name] = Actor.of(
            organisation.create_user(s, busy.office, name, "联络员", "Factory-pass-7", Role.CLERK, department_id=dep)
        )
    s.add(ProgressReport(task_id=task.id, department_id=helper, text="协办：配合资金测算完成"))
    s.flush()
    s.add(ProgressReport(task_id=task.id, department_id=task.lead_department_id, text="牵头：内部研判意见"))
    s.commit()

    def progress(actor) -> str:
        path = tmp_path / f"{actor.name}-{actor.user_id}.xlsx"
        _export(busy, path, actor=actor)
        ws = _sheet(path)
        row = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 5).value == task.title)
        col = [name for name, _sub, _w in LEDGER_COLUMNS].index("最新进展") + 1
        return ws.cell(row, col).value

    assert progress(clerks["assist1"]) == "协办：配合资金测算完成"
    assert progress(clerks["lead1"]) == "牵头：内部研判意见"


INJECTIONS = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def test_formula_injection_is_neutralised(org, tmp_path):
    s = org.session
    for i, text in enumerate(INJECTIONS):
        tasks.create_draft(
            s, org.office, {"title": text, "requirement": f"=要求{i}", "lead_department_id": org.dept("区财政局")}
        )
    s.commit()
    path = tmp_path / "inject.xlsx"
    _export(org, path)
    with zipfile.ZipFile(path) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
        styles = zf.read("xl/styles.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    assert 'quotePrefix="1"' in styles
    ws = _sheet(path)
    got = {ws.cell(r, 5).value for r in range(4, ws.max_row + 1)}
    assert got == set(INJECTIONS)
    for r in range(4, ws.max_row + 1):
        assert ws.cell(r, 5).data_type == "s" and ws.cell(r, 5).quotePrefix
        assert ws.cell(r, 6).value.startswith("=要求") and ws.cell(r, 6).quotePrefix


def test_tabs_returns_and_control_characters(tmp_path):
    rows = [
        LedgerRow(
            source="\t来源",
            source_date=None,
            code="C1",
            title="\r回车开头",
            requirement="含\x07响铃\x1b字符",
            lead="区财政局",
            assisting=[],
            leaders=[],
            deadline=None,
            deadline_text="\t长期坚持",
            urgency="一般",
            status="草稿",
            progress="-已完成",
            item_no="",
        )
    ]
    path = tmp_path / "ctl.xlsx"
    assert write_ledger(path, iter(rows)) == 1
    ws = _sheet(path)
    assert ws["E4"].value == "\r回车开头" and ws["E4"].quotePrefix and ws["E4"].data_type == "s"
    assert ws["F4"].value == "含响铃字符"
    assert ws["B4"].value == "\t来源" and ws["B4"].quotePrefix
    assert ws["K4"].quotePrefix and ws["N4"].value == "-已完成" and ws["N4"].quotePrefix
    assert not ws["G4"].quotePrefix


def test_write_ledger_streams_a_generator(tmp_path):
    def rows():
        for i in range(3000):
            yield LedgerRow(
                source=f"会议{i // 7}",
                source_date=date(2026, 1, 1),
                code=f"DB-{i}",
                title=f"事项{i}",
                requirement="",
                lead="区财政局",
                assisting=["区教育局"],
                leaders=["李明"],
                deadline=date(2026, 12, 31),
                urgency="一般",
                status="办理中",
                progress="",
                light=("red", "yellow", "green", "none")[i % 4],
                source_key=i // 7,
            )

    path = tmp_path / "big.xlsx"
    assert write_ledger(path, rows(), title="测试") == 3000
    ws = openpyxl.load_workbook(path, read_only=True).active
    body = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(body) == 3000 and body[-1][4] == "事项2999" and body[0][1] == "会议0" and body[1][1] is None


# --- round trips ---------------------------------------------------------------------------------------


def test_export_then_import_changes_nothing(busy, tmp_path):
    _import(busy, "legacy.xls", "suggestions_gbk.csv", "checklist_utf8.csv")
    path = tmp_path / "ledger.xlsx"
    assert _export(busy, path) == 10 + 3 + 3 + 2
    before = counts(busy.session)
    report = ledger_import.import_ledger(busy.session, busy.office, path, dry_run=False)
    busy.session.commit()
    assert report.error_count == 0, import_report.format_report(report, dry_run=False)
    assert report.to_dict()["sheets"][0]["mapping"]["header_rows"] == [2, 3]
    assert [r.action for r in report.rows] == ["unchanged"] * 18
    for row in report.rows:
        assert not any("不一致" in w.message for w in row.warnings), (row.title, row.warnings)
    assert counts(busy.session) == before


def _snapshot(session) -> list[tuple]:
    out = []
    sources = {s.id: (s.title, s.kind, s.source_date) for s in session.exec(select(Source))}
    for t in session.exec(select(Task).order_by(Task.title)):
        latest = session.exec(
            select(ProgressReport.text).where(ProgressReport.task_id == t.id).order_by(ProgressReport.id.desc())
        ).first()
        out.append(
            (
                t.title,
                t.requirement,
                t.item_no,
                sources.get(t.source_id),
                t.lead_department_id,
                sorted(tasks.assisting_ids(session, t.id)),
                sorted(tasks.leader_ids(session, t.id)),
                t.urgency,
                t.deadline_kind,
                t.due_date,
                t.deadline_text,
                t.recurrence,
                t.feedback_cycle,
                latest,
            )
        )
    return out


def test_a_ledger_survives_export_and_import_into_an_empty_system(org, tmp_path):
    _import(org, "key_work_two_row.xlsx", "meetings_multi_sheet.xlsx", "legacy.xls", "suggestions_gbk.csv")
    first = _snapshot(org.session)
    path = tmp_path / "ledger.xlsx"
    _export(org, path)
    import sqlalchemy as sa

    from tracker.models import AuditEvent, TaskAssist, TaskLeader

    # an empty system: the audit model refuses deletes, so its table is emptied as the fixtures do
    org.session.execute(AuditEvent.__table__.delete())
    for model in (ProgressReport, TaskAssist, TaskLeader, Task, Source):
        org.session.execute(sa.delete(model))
    org.session.commit()
    report = ledger_import.import_ledger(org.session, org.office, path, dry_run=False)
    org.session.commit()
    assert report.committed and report.counts()["create"] == len(first)
    assert _snapshot(org.session) == first


# --- the template ----------------------------------------------------------------------------------------


def test_import_template_with_drop_downs(org, tmp_path):
    s = org.session
    for i in range(30):  # a long list: more than 255 characters of department names
        organisation.create_department(s, org.office, f"区第{i}个测试工作委员会办公室")
    s.commit()
    path = tmp_path / "template.xlsx"
    ledger_export.write_import_template(s, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["督办台账"]
    assert wb["_lists"].sheet_state == "hidden" and wb.active.title == "督办台账"
    assert [ws.cell(2, c).value for c in range(1, 14)][:6] == [
        "序号",
        "任务来源",
        "来源日期",
        "事项编号",
        "督办事项",
        "工作要求",
    ]
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(validations) == {"G4:G503", "H4:H503", "I4:I503", "L4:L503"}
    lead = validations["G4:G503"]
    assert lead.type == "list" and lead.formula1 == "'_lists'!$G$1:$G$43" and lead.showErrorMessage
    listed = [wb["_lists"].cell(i, 7).value for i in range(1, 44)]
    assert len(set(listed)) == 43 and "区发展和改革委员会" in listed and "区第29个测试工作委员会办公室" in listed
    assert validations["I4:I503"].formula1 == '"吴海涛,李明,王芳,赵强,孙志强"'
    assert validations["L4:L503"].formula1 == '"特急,急件,一般"'
    assert not validations["H4:H503"].showErrorMessage  # several assisting departments may be typed
    assert ws.freeze_panes == "A4" and ws.print_title_rows == "$2:$3"

    ws["A4"], ws["B4"], ws["C4"], ws["E4"] = 1, "区政府第30次常务会议", date(2026, 11, 20), "用模板登记的事项"
    ws["G4"], ws["H4"], ws["I4"], ws["K4"], ws["L4"] = (  # 完成时限 (J) left for the words to give
        "区财政局",
        "区教育局、城关街道",
        "吴海涛",
        "10个工作日内",
        "急件",
    )
    wb.save(path)
    report = ledger_import.import_ledger(s, org.office, path, dry_run=False)
    s.commit()
    assert report.committed, import_report.format_report(report, dry_run=False)
    sheets = {x.name: x for x in report.sheets}
    assert "隐藏" in sheets["_lists"].reason and not sheets["填表说明"].detected
    row = report.rows[0]
    assert (row.title, row.lead.name, [d.name for d in row.assisting], row.urgency, row.due_date) == (
        "用模板登记的事项",
        "区财政局",
        ["区教育局", "城关街道办事处"],
        "urgent",
        date(2026, 12, 4),
    )


def test_template_without_organisation_still_opens(session, tmp_path):
    path = tmp_path / "empty.xlsx"
    ledger_export.write_import_template(session, path)
    ws = openpyxl.load_workbook(path)["督办台账"]
    assert len(ws.data_validations.dataValidation) == 1  # urgency only
    assert len(LEDGER_COLUMNS) == 14


# --- the command line --------------------------------------------------------------------------------------


@pytest.fixture
def cli(app):
    from tracker.cli_ledger import register_ledger_cli

    register_ledger_cli(app)
    return app.test_cli_runner()


def test_cli_export_and_template(cli, busy, tmp_path):
    out = tmp_path / "out.xlsx"
    result = cli.invoke(args=["ledger", "export", str(out), "--lead-department", "区交通局", "--title", "交通督办台账"])
    assert result.exit_code == 0, result.output
    assert "已导出 2 项" in result.stdout
    ws = _sheet(out)
    assert ws["A1"].value.startswith("交通督办台账") and ws.max_row == 6  # two tasks, one of them under its section
    assert [ws.cell(r, 1).value for r in range(4, 7)] == [1, "一、扎实推进项目建设", 1]
    result = cli.invoke(args=["ledger", "export", str(out), "--overdue", "--status", "assigned"])
    assert result.exit_code == 0 and "已导出 1 项" in result.stdout
    bad = cli.invoke(args=["ledger", "export", str(out), "--department", "区不存在局"])
    assert bad.exit_code != 0 and "未找到单位" in bad.output
    template = tmp_path / "t.xlsx"
    result = cli.invoke(args=["ledger", "template", str(template)])
    assert result.exit_code == 0 and template.exists()


def test_cli_import_json_report_and_exit_status(cli, org, tmp_path):
    result = cli.invoke(
        args=["ledger", "import", str(FIXTURES / "meetings_multi_sheet.xlsx"), "--dry-run", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["ok"] and not body["committed"] and body["counts"]["create"] == 5
    row = next(r for r in body["rows"] if r["row"] == 3 and r["sheet"] == "领导批示")
    for key in (
        "sheet",
        "row",
        "source",
        "title",
        "lead",
        "assisting",
        "leaders",
        "due_date",
        "deadline_text",
        "deadline_kind",
        "errors",
        "warnings",
    ):
        assert key in row
    assert (row["due_date"], row["deadline_text"], row["deadline_kind"]) == ("2026-11-24", "立即办理", "immediate")
    org.session.rollback()
    assert org.session.exec(select(Task)).first() is None

    failed = cli.invoke(args=["ledger", "import", str(FIXTURES / "errors.xlsx"), "--format", "json"])
    assert failed.exit_code == 1
    body = json.loads(failed.stdout)
    assert not body["ok"] and body["counts"]["errors"] == 5
    org.session.rollback()
    assert org.session.exec(select(Task)).first() is None

    real = cli.invoke(args=["ledger", "import", str(SAMPLE_LEDGER), "--base-date", "2026-11-16"])
    assert real.exit_code == 1  # the sample's 县 departments are not this district's
    assert "未找到单位“县水利局”" in real.stdout and "未找到领导“林晓东”" in real.stdout

    done = cli.invoke(args=["ledger", "import", str(FIXTURES / "legacy.xls"), "--assign"])
    assert done.exit_code == 0 and "已导入" in done.stdout
    org.session.rollback()
    assert {t.status for t in org.session.exec(select(Task))} == {"assigned"}
    again = cli.invoke(args=["ledger", "import", str(FIXTURES / "legacy.xls")])
    assert again.exit_code == 0 and "没有新的事项或变化" in again.stdout
    bad_date = cli.invoke(args=["ledger", "import", str(FIXTURES / "legacy.xls"), "--base-date", "2026-13-01"])
    assert bad_date.exit_code != 0 and "不是有效日期" in bad_date.output


SAMPLE_LEDGER = SAMPLES / "meeting_ledger.xlsx"


def test_cli_progress_on_stderr_for_large_files(cli, org, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"])
    for i in range(1200):
        ws.append([i + 1, "区政府第40次常务会议", date(2026, 11, 18), f"批量事项{i + 1}", "区财政局", "2026年12月31日"])
    ws.merge_cells("B2:B1201")
    ws.merge_cells("C2:C1201")
    wb.save(tmp_path / "big.xlsx")
    result = cli.invoke(args=["ledger", "import", str(tmp_path / "big.xlsx"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "已检查：1000/1200" in result.stderr and "已检查：1200/1200" in result.stderr
    assert json.loads(result.stdout)["counts"]["create"] == 1200
    org.session.rollback()
    assert len(org.session.exec(select(Task.id)).all()) == 1200


def test_cli_column_mapping_is_corrected_and_remembered(cli, app, org, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "任务来源", "会议日期", "督办事项", "牵头单位", "要求完成日期", "目前情况"])
    ws.append([1, "区政府第41次常务会议", date(2026, 11, 18), "事项甲", "区财政局", "2026年12月31日", "已启动"])
    wb.save(tmp_path / "odd.xlsx")
    guessed = cli.invoke(args=["ledger", "import", str(tmp_path / "odd.xlsx"), "--dry-run", "--format", "json"])
    body = json.loads(guessed.stdout)
    assert body["rows"][0]["due_date"] is None
    assert {w["column"] for w in body["sheets"][0]["warnings"]} == {"F", "G"}
    fixed = cli.invoke(
        args=[
            "ledger",
            "import",
            str(tmp_path / "odd.xlsx"),
            "--dry-run",
            "--format",
            "json",
            "--map",
            "F=deadline",
            "--map",
            "G=进展情况",
            "--remember",
        ]
    )
    assert fixed.exit_code == 0, fixed.output
    body = json.loads(fixed.stdout)
    assert body["rows"][0]["due_date"] == "2026-12-31" and body["rows"][0]["progress"] == "已启动"
    org.session.rollback()
    stored = org.session.exec(select(LedgerMapping)).all()  # in the table, not a file
    assert len(stored) == 1 and stored[0].fields == {
        "0": "seq",
        "1": "source",
        "2": "source_date",
        "3": "title",
        "4": "lead",
        "5": "deadline",
        "6": "progress",
    }
    assert not (Path(app.instance_path) / "ledger_mappings.json").exists()
    remembered = cli.invoke(args=["ledger", "import", str(tmp_path / "odd.xlsx"), "--dry-run", "--format", "json"])
    body = json.loads(remembered.stdout)
    assert body["sheets"][0]["mapping"]["remembered"] and body["rows"][0]["due_date"] == "2026-12-31"
    wrong = cli.invoke(args=["ledger", "import", str(tmp_path / "odd.xlsx"), "--map", "F=whatever"])
    assert wrong.exit_code != 0 and "未知的字段" in wrong.output


def test_sections_are_exported_as_section_rows_and_read_back_as_categories(org, tmp_path):
    """A task's category (the ledger's section) is written as the section row above its
    tasks, as the office's own ledgers have it; importing the export changes nothing."""
    s = org.session
    first = ledger_import.import_ledger(s, org.office, FIXTURES / "key_work_two_row.xlsx", dry_run=False)
    s.commit()
    assert first.counts()["create"] == 5
    out = tmp_path / "export.xlsx"
    assert ledger_export.export_ledger(s, org.office, out, TaskFilter(), Horizon.build(s)) == 5
    ws = openpyxl.load_workbook(out).active
    column_a = [ws.cell(r, 1).value for r in range(4, ws.max_row + 1)]
    assert column_a == ["一、扎实推进项目建设", 1, 2, 3, "二、持续改善民生", 4, 5]
    assert "A4:N4" in {str(m) for m in ws.merged_cells.ranges}
    again = ledger_import.import_ledger(s, org.office, out, dry_run=True)
    assert again.error_count == 0 and again.counts()["unchanged"] == 5
    assert {r.title: r.category for r in again.rows} == {t.title: t.category for t in s.exec(select(Task))}


def test_a_closed_task_shows_the_leads_closing_summary_and_reads_back_unchanged(session, tmp_path):
    d = f.district(session)
    task = f.task_in(session, d, "closed", title="完成城东大道建设")  # reported 已完成初步工作, closed 已全部完成
    f.task_in(session, d, "in_progress", title="推进老旧小区改造")
    ledger_commit.record_imported_progress(session, d.office, task.id, "协办单位的最后一条说明")
    session.commit()
    path = tmp_path / "ledger.xlsx"
    ledger_export.export_ledger(session, d.office, path, TaskFilter(), Horizon.build(session))
    ws = _sheet(path)
    rows = {ws.cell(r, 5).value: r for r in range(4, ws.max_row + 1)}
    assert ws.cell(rows["完成城东大道建设"], 14).value == "办结情况：已全部完成"
    assert ws.cell(rows["推进老旧小区改造"], 14).value == "已完成初步工作"
    report = ledger_import.import_ledger(session, d.office, path, dry_run=True)
    assert next(r for r in report.rows if r.title == "完成城东大道建设").action == "unchanged"  # no new report
