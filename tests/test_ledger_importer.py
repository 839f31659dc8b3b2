"""Importing ledgers (台账): the samples, the fixture ledgers field by field, duplicates,
re-imports, progress history, dry run and the all-or-nothing commit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests.fixtures.helpers import FIXTURES, SAMPLES, counts, load_district, office_actor
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import (
    AuditEvent,
    Department,
    Leader,
    ProgressReport,
    Role,
    Source,
    Task,
)
from tracker.services.actors import Actor
from tracker.services.ledger import commit as ledger_commit
from tracker.services.ledger import department_list
from tracker.services.ledger import importer as ledger_import
from tracker.services.ledger import report as import_report
from tracker.services.organisation import directory as organisation
from tracker.services.organisation import resolve
from tracker.services.tasks import lifecycle as tasks

D = date


@pytest.fixture
def org(session):
    return load_district(session)


def _rows(report) -> dict[tuple[str, int], dict]:
    return {(r["sheet"], r["row"]): r for r in report.to_dict()["rows"]}


def _check(row: dict, expected: dict) -> None:
    """Every expected field, and exactly the expected warnings (by substring)."""
    want_warnings = expected.pop("warnings", [])
    for key, value in expected.items():
        got = row[key]
        if isinstance(value, date):
            value = value.isoformat()
        assert got == value, f"{row['sheet']}!{row['row']} {key}: {got!r} != {value!r}"
    assert row["errors"] == [], row["errors"]
    messages = [w["message"] for w in row["warnings"]]
    assert len(messages) == len(want_warnings), messages
    for part in want_warnings:
        assert any(part in m for m in messages), (part, messages)


# --- the shared samples -------------------------------------------------------------------


def test_sample_department_list_imports_every_department_leader_and_alias(session):
    office = office_actor(session)
    report = department_list.import_departments(session, office, SAMPLES / "departments.xlsx", dry_run=False)
    session.commit()
    assert report.committed and report.error_count == 0
    assert report.counts()["create"] == 10
    deps = {d.name: d for d in session.exec(select(Department))}
    assert set(deps) == {
        "县发展和改革委员会",
        "县财政局",
        "县交通运输局",
        "县水利局",
        "县教育体育局",
        "县民政局",
        "县公安局",
        "县政府办公室",
        "城关镇人民政府",
        "柳河乡人民政府",
    }
    assert deps["城关镇人民政府"].kind == "town" and deps["县财政局"].kind == "component"
    assert deps["县交通运输局"].short_name == "县交通局"
    resolver = resolve.DepartmentResolver.load(session)
    for alias, name in (
        ("县发改委", "县发展和改革委员会"),
        ("交通局", "县交通运输局"),
        ("县教体局", "县教育体育局"),
        ("柳河乡", "柳河乡人民政府"),
        ("县政府办", "县政府办公室"),
    ):
        assert resolver.lookup(alias) == deps[name].id, alias
    leaders = {x.name: x.id for x in session.exec(select(Leader))}
    assert set(leaders) == {"高志远", "林晓东", "马丽", "何军"}
    portfolio = organisation.portfolio_ids
    assert sorted(portfolio(session, leaders["林晓东"])) == sorted(
        [deps["县交通运输局"].id, deps["县水利局"].id, deps["柳河乡人民政府"].id]
    )
    assert sorted(portfolio(session, leaders["何军"])) == sorted(
        [deps["县公安局"].id, deps["县政府办公室"].id, deps["城关镇人民政府"].id]
    )
    events = session.exec(select(AuditEvent.action).where(AuditEvent.action == "departments_import")).all()
    assert len(events) == 1

    before = counts(session)
    again = department_list.import_departments(session, office, SAMPLES / "departments.xlsx", dry_run=False)
    session.commit()
    assert again.counts()["unchanged"] == 10 and not again.committed
    assert counts(session) == before


def test_sample_meeting_ledger_resolves_every_department_leader_and_deadline(session):
    office = office_actor(session)
    department_list.import_departments(session, office, SAMPLES / "departments.xlsx", dry_run=False)
    session.commit()

    # Without a date a relative deadline cannot be read, and the meetings have no date: refused.
    undated = ledger_import.import_ledger(session, office, SAMPLES / "meeting_ledger.xlsx", dry_run=False)
    assert not undated.committed and undated.error_count > 0
    assert session.scalar(select(Task.id)) is None
    fifteen = _rows(undated)[("台账", 5)]
    assert any("需要起算日期" in e["message"] and e["column"] == "G" for e in fifteen["errors"])

    report = ledger_import.import_ledger(
        session, office, SAMPLES / "meeting_ledger.xlsx", dry_run=False, base_date=D(2026, 11, 16)
    )
    session.commit()
    assert report.committed and report.error_count == 0
    sheet = report.to_dict()["sheets"][0]
    assert sheet["title"] == "县政府常务会议决定事项督办台账"
    assert sheet["notes"] == [{"row": 8, "text": "备注：进展情况每周五下班前更新。"}]
    rows = _rows(report)
    _check(
        rows[("台账", 3)],
        dict(
            source="县政府第8次常务会议",
            source_kind="executive_meeting",
            source_date=D(2026, 11, 16),
            title="完成县城主干道改造设计方案。",
            lead="县交通运输局",
            assisting=["县财政局", "城关镇人民政府"],
            leaders=["林晓东"],
            due_date=D(2026, 12, 20),
            deadline_kind="date",
            deadline_text="2026年12月20日前",
        ),
    )
    _check(
        rows[("台账", 4)],
        dict(
            source="县政府第8次常务会议",
            title="做好冬春季水利设施维护。",
            lead="县水利局",
            assisting=["柳河乡人民政府", "城关镇人民政府"],
            leaders=["林晓东"],
            due_date=None,
            deadline_kind="ongoing",
            deadline_text="长期坚持",
        ),
    )
    _check(
        rows[("台账", 5)],
        dict(
            source="县政府第8次常务会议",
            title="制定学校食堂食品安全专项整治方案。",
            lead="县教育体育局",
            assisting=[],
            leaders=["马丽"],
            due_date=D(2026, 12, 7),
            deadline_kind="date",
            deadline_text="15个工作日内",
        ),
    )
    _check(
        rows[("台账", 6)],
        dict(
            source="县长办公会议",
            source_kind="mayor_office_meeting",
            title="研究养老服务中心运营模式。",
            lead="县民政局",
            assisting=["县财政局"],
            leaders=["马丽", "何军"],
            due_date=D(2027, 3, 31),
            deadline_text="2027年3月底前",
        ),
    )
    saved = {t.title: t for t in session.exec(select(Task))}
    assert len(saved) == 4 and all(t.status == "draft" for t in saved.values())
    task = saved["制定学校食堂食品安全专项整治方案。"]
    assert task.due_date == D(2026, 12, 7) and task.deadline_text == "15个工作日内" and task.item_no == "3"
    sources = {s.title: s for s in session.exec(select(Source))}
    assert set(sources) == {"县政府第8次常务会议", "县长办公会议"}
    assert sources["县政府第8次常务会议"].source_date == D(2026, 11, 16)
    assert sum(t.source_id == sources["县政府第8次常务会议"].id for t in saved.values()) == 3


# --- the fixture ledgers, field by field ------------------------------------------------------

KEY_WORK = "2026年区政府工作报告"
EXPECTED = {
    "key_work_two_row.xlsx": {
        ("重点工作", 6): dict(
            category="一、扎实推进项目建设",
            item_no="1",
            source=KEY_WORK,
            source_kind="key_work",
            source_date=D(2026, 11, 20),
            title="推进城东片区道路建设",
            requirement="完成城东大道、滨河路两条道路主体工程",
            lead="区交通运输局",
            assisting=["区财政局", "区住房和城乡建设局"],
            leaders=["李明"],
            due_date=D(2026, 12, 31),
            deadline_kind="date",
            deadline_text="12月底前",
            progress="城东大道已完成路基施工",
        ),
        ("重点工作", 7): dict(
            category="一、扎实推进项目建设",
            item_no="2",
            source=KEY_WORK,
            title="加快老旧小区改造",
            requirement="完成12个老旧小区改造任务",
            lead="区住房和城乡建设局",
            assisting=["城关街道办事处", "东城街道办事处"],
            leaders=["李明"],
            due_date=D(2026, 12, 31),
            deadline_kind="date",
            deadline_text="2026年12月31日",
            progress=None,
        ),
        ("重点工作", 8): dict(
            category="一、扎实推进项目建设",
            item_no="3",
            title="推动重点项目开工",
            requirement="确保5个省市重点项目开工",
            lead="区发展和改革委员会",
            assisting=["区财政局"],
            leaders=["吴海涛"],
            due_date=D(2027, 9, 30),
            deadline_kind="date",
            deadline_text="三季度末",
            warnings=["已顺延至2027年"],
        ),
        ("重点工作", 11): dict(
            category="二、持续改善民生",
            item_no="4",
            source=KEY_WORK,
            title="办好民生实事",
            lead="区民政局",
            assisting=[],
            leaders=["王芳"],
            due_date=D(2026, 11, 25),
            deadline_kind="recurring",
            recurrence="monthly:25",
            feedback_cycle="monthly",
            deadline_text="每月25日前报送",
            progress="已完成前10个月目标",
        ),
        ("重点工作", 12): dict(
            category="二、持续改善民生",
            item_no="5",
            title="学校食堂食品安全专项整治",
            lead="区教育局",
            assisting=["区市场监督管理局", "区卫生健康委员会"],
            leaders=["王芳"],
            due_date=None,
            deadline_kind="ongoing",
            deadline_text="长期坚持",
        ),
    },
    "meetings_multi_sheet.xlsx": {
        ("常务会议", 2): dict(
            item_no="1",
            source="区政府第12次常务会议",
            source_kind="executive_meeting",
            source_date=D(2026, 11, 5),
            title="研究制定城区停车管理办法",
            lead="区交通运输局",
            assisting=["区市场监督管理局", "城关街道办事处"],
            leaders=["李明"],
            due_date=D(2026, 11, 19),
            deadline_kind="date",
            deadline_text="10个工作日内",
            warnings=["早于今天"],
        ),
        ("常务会议", 3): dict(
            item_no="2",
            source="区政府第12次常务会议",
            source_date=D(2026, 11, 5),
            title="部署冬季供暖保障工作",
            lead="区住房和城乡建设局",
            assisting=["区财政局", "河口镇人民政府"],
            leaders=["李明"],
            due_date=D(2026, 11, 30),
            deadline_text="11月30日前",
        ),
        ("常务会议", 4): dict(
            item_no="3",
            source="区政府第13次常务会议",
            source_date=D(2026, 11, 12),
            title="审议2027年财政预算草案编制方案",
            lead="区财政局",
            assisting=["城关街道办事处", "东城街道办事处"],
            leaders=["吴海涛"],
            due_date=D(2026, 12, 15),
            deadline_text="2026年12月15日前",
            progress="已形成初稿",
        ),
        ("领导批示", 3): dict(
            item_no="2026-001",
            source="孙志强区长批示",
            source_kind="leader_instruction",
            source_date=D(2026, 11, 23),
            title="请立即组织排查河口镇防汛设施隐患并整改",
            lead="河口镇人民政府",
            assisting=["区财政局"],
            leaders=["孙志强"],
            due_date=D(2026, 11, 24),
            deadline_kind="immediate",
            deadline_text="立即办理",
        ),
        ("领导批示", 4): dict(
            item_no="2026-002",
            source="王芳副区长批示",
            source_kind="leader_instruction",
            source_date=D(2026, 11, 20),
            title="做好冬春季传染病防控工作",
            lead="区卫生健康委员会",
            assisting=[],
            leaders=["王芳"],
            due_date=D(2026, 11, 27),
            deadline_text="5个工作日内",
        ),
    },
    "suggestions_gbk.csv": {
        ("suggestions_gbk", 2): dict(
            item_no="1",
            source="区人大代表建议",
            source_kind="npc_suggestion",
            source_date=D(2026, 11, 2),
            title="关于加强中小学课后服务的建议",
            lead="区教育局",
            assisting=["区财政局"],
            leaders=[],
            due_date=D(2026, 12, 31),
            deadline_text="2026年12月31日前",
        ),
        ("suggestions_gbk", 3): dict(
            item_no="2",
            source="区人大代表建议",
            title="关于改善东城街道 农贸市场环境的建议",
            lead="东城街道办事处",
            assisting=["区市场监督管理局"],
            due_date=D(2026, 12, 15),
            deadline_text="2026年12月15日前",
            progress="已现场调研",
        ),
        ("suggestions_gbk", 4): dict(
            item_no="3",
            source="区政协提案",
            source_kind="cppcc_proposal",
            source_date=D(2026, 11, 3),
            title="关于优化公交线路的建议",
            lead="区交通运输局",
            # 60 days end on Saturday 2027-01-02: the next working day (rules/time_limits.py),
            # on a calendar of weekends only until the office enters 2027
            assisting=[],
            due_date=D(2027, 1, 4),
            deadline_text="60日内",
            warnings=["完成时限为暂定结果：自2026-11-03起60个自然日；期满日2027-01-02为休息日，顺延至2027-01-04"],
        ),
    },
    "checklist_utf8.csv": {
        ("checklist_utf8", 4): dict(
            item_no="1",
            source="督办事项清单",
            source_date=D(2026, 11, 20),
            title="开展安全生产大检查",
            lead="区市场监督管理局",
            assisting=["区住房和城乡建设局", "区交通运输局"],
            leaders=["赵强"],
            due_date=D(2026, 11, 30),
            deadline_text="本月底前",
        ),
        ("checklist_utf8", 5): dict(
            item_no="2",
            source="督办事项清单",
            title="推进河道综合治理\n（第二阶段）",
            lead="区生态环境分局",
            assisting=["河口镇人民政府"],
            leaders=["赵强"],
            due_date=D(2027, 6, 30),
            deadline_text="2027年6月30日前",
        ),
    },
    "legacy.xls": {
        ("Sheet1", 2): dict(
            item_no="1",
            source="区政府党组会议",
            source_kind="party_group_meeting",
            source_date=D(2026, 10, 28),
            title="推进政务服务“一网通办”",
            lead="区政府办公室",
            assisting=["区发展和改革委员会"],
            leaders=["孙志强"],
            due_date=D(2026, 12, 10),
            deadline_kind="date",
            deadline_text="2026-12-10",
            progress="已上线87项服务",
        ),
        ("Sheet1", 3): dict(
            item_no="2",
            source="区政府党组会议",
            source_date=D(2026, 10, 28),
            title="开展消防安全隐患排查",
            lead="城关街道办事处",
            assisting=["东城街道办事处", "河口镇人民政府"],
            leaders=["赵强"],
            due_date=D(2026, 12, 31),
            deadline_text="2026年12月底前",
        ),
        ("Sheet1", 4): dict(
            item_no="3",
            source="区政府党组会议",
            title="落实秋冬季大气污染防治措施",
            lead="区生态环境分局",
            assisting=["区住房和城乡建设局"],
            leaders=["赵强"],
            due_date=D(2026, 10, 30),
            deadline_kind="recurring",
            recurrence="weekly:5",
            feedback_cycle="weekly",
            deadline_text="每周五前报送",
        ),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_ledger_rows_field_by_field(org, name):
    before = counts(org.session)
    report = ledger_import.import_ledger(org.session, org.office, FIXTURES / name, dry_run=True)
    assert report.error_count == 0, import_report.format_report(report, dry_run=True)
    rows = _rows(report)
    assert set(rows) == set(EXPECTED[name]), sorted(rows)
    for key, expected in EXPECTED[name].items():
        _check(rows[key], dict(expected))
    assert all(r["action"] == "create" for r in rows.values())
    assert counts(org.session) == before  # a dry run writes nothing


def test_fixture_sheets_sections_notes_and_skipped_sheets(org):
    report = ledger_import.import_ledger(org.session, org.office, FIXTURES / "key_work_two_row.xlsx").to_dict()
    sheet = report["sheets"][0]
    assert sheet["mapping"]["header_rows"] == [3, 4]
    assert sheet["ledger_date"] == "2026-11-20" and sheet["title"] == "2026年区政府重点工作任务分解督办台账"
    assert sheet["sections"] == [{"row": 5, "text": "一、扎实推进项目建设"}, {"row": 10, "text": "二、持续改善民生"}]
    assert [n["row"] for n in sheet["notes"]] == [14, 15]
    assert [(w["column"], w["row"]) for w in sheet["warnings"]] == [("J", 4)]  # 备注: not imported, said so
    by_column = {c["column"]: c for c in sheet["mapping"]["columns"]}
    assert by_column["E"]["header"] == "责任单位/牵头单位" and by_column["E"]["field"] == "lead"
    assert by_column["F"]["field"] == "assist" and by_column["D"]["field"] == "requirement"

    multi = ledger_import.import_ledger(org.session, org.office, FIXTURES / "meetings_multi_sheet.xlsx").to_dict()
    sheets = {s["name"]: s for s in multi["sheets"]}
    assert sheets["常务会议"]["detected"] and sheets["领导批示"]["detected"]
    assert not sheets["说明"]["detected"] and "表头" in sheets["说明"]["reason"]
    assert not sheets["参考"]["detected"] and "隐藏" in sheets["参考"]["reason"]
    assert not any(r["title"] == "隐藏表中的事项不应导入" for r in multi["rows"])

    only = ledger_import.import_ledger(
        org.session, org.office, FIXTURES / "meetings_multi_sheet.xlsx", sheet="领导批示"
    )
    assert {r.sheet for r in only.rows} == {"领导批示"}
    missing = ledger_import.import_ledger(
        org.session, org.office, FIXTURES / "meetings_multi_sheet.xlsx", sheet="没有这个表"
    )
    assert missing.error_count == 1 and "常务会议" in missing.errors[0].message


def test_fixture_ledgers_commit_what_the_report_said(org):
    session = org.session
    report = ledger_import.import_ledger(session, org.office, FIXTURES / "meetings_multi_sheet.xlsx", dry_run=False)
    session.commit()
    assert report.committed
    by_title = {t.title: t for t in session.exec(select(Task))}
    assert len(by_title) == 5
    for row in report.rows:
        task = by_title[row.title]
        assert (task.id, task.code) == (row.task_id, row.task_code)
        assert task.lead_department_id == row.lead.id
        assert sorted(tasks.assisting_ids(session, task.id)) == sorted(d.id for d in row.assisting)
        assert sorted(tasks.leader_ids(session, task.id)) == sorted(x.id for x in row.leaders)
        assert (task.due_date, task.deadline_text, task.recurrence) == (row.due_date, row.deadline_text, row.recurrence)
        assert task.original_due_date == task.due_date and task.status == "draft"
        assert task.created_by_id == org.office.user_id
    assert by_title["请立即组织排查河口镇防汛设施隐患并整改"].deadline_kind == "date"  # immediate is stored as a date
    sources = {s.title: s for s in session.exec(select(Source))}
    assert set(sources) == {"区政府第12次常务会议", "区政府第13次常务会议", "孙志强区长批示", "王芳副区长批示"}
    instruction = sources["孙志强区长批示"]
    assert instruction.kind == "leader_instruction" and instruction.leader_id == org.leader("孙志强")
    assert instruction.source_date == D(2026, 11, 23)
    creates = session.exec(select(AuditEvent).where(AuditEvent.action == "create")).all()
    assert len(creates) == 5 and {e.actor_id for e in creates} == {org.office.user_id}
    source_events = session.exec(select(AuditEvent).where(AuditEvent.action == "source_create")).all()
    assert len(source_events) == 4
    progress = session.exec(select(ProgressReport)).all()
    assert [(p.text, p.department_id, p.author_id) for p in progress] == [
        ("已形成初稿", org.dept("区财政局"), org.office.user_id)
    ]
    summary = session.exec(select(AuditEvent).where(AuditEvent.action == "ledger_import")).one()
    assert summary.after["created"] == 5 and summary.after["sources"] == 4


def test_categories_are_kept_in_the_report_and_the_import_record(org):
    report = ledger_import.import_ledger(org.session, org.office, FIXTURES / "key_work_two_row.xlsx", dry_run=False)
    org.session.commit()
    summary = org.session.exec(select(AuditEvent).where(AuditEvent.action == "ledger_import")).one()
    codes = {r.title: r.task_code for r in report.rows}
    assert summary.after["categories"] == {
        "一、扎实推进项目建设": [codes["推进城东片区道路建设"], codes["加快老旧小区改造"], codes["推动重点项目开工"]],
        "二、持续改善民生": [codes["办好民生实事"], codes["学校食堂食品安全专项整治"]],
    }


# --- errors: placed, reported, nothing written ------------------------------------------------


def test_row_errors_are_placed_by_sheet_row_and_column_and_nothing_is_written(org):
    before = counts(org.session)
    report = ledger_import.import_ledger(org.session, org.office, FIXTURES / "errors.xlsx", dry_run=False)
    org.session.commit()
    assert not report.committed
    assert counts(org.session) == before
    rows = _rows(report)
    expected = {
        2: ("E", "未找到单位“区不存在局”"),
        3: ("G", "未找到领导“张三丰”"),
        4: ("H", "无法识别的完成时限：“尽快”"),
        5: ("H", "完成时限含义不明确：“25日前”"),
        6: ("D", "未填写督办事项"),
    }
    for r, (column, message) in expected.items():
        errors = rows[("台账", r)]["errors"]
        assert len(errors) == 1, errors
        assert errors[0]["sheet"] == "台账" and errors[0]["row"] == r and errors[0]["column"] == column
        assert message in errors[0]["message"]
        assert rows[("台账", r)]["action"] == "error"
    # the unknown department is reported, never dropped and never created
    assert rows[("台账", 2)]["lead"] is None
    assert org.session.exec(select(Department).where(Department.name == "区不存在局")).first() is None
    # an empty source cell that is not merged takes the row above's, with a warning
    assert rows[("台账", 3)]["source"] == "区政府第14次常务会议" and rows[("台账", 3)]["source_date"] == "2026-11-16"
    assert any("沿用上一行" in w["message"] and w["column"] == "B" for w in rows[("台账", 3)]["warnings"])
    clean = rows[("台账", 7)]
    assert clean["errors"] == [] and clean["lead"] == "区财政局" and clean["assisting"] == ["区教育局"]
    assert {w["column"] for w in clean["warnings"]} == {"E", "F"}
    assert report.error_count == 5
    with pytest.raises(ValidationFailed, match="5 处错误"):
        ledger_commit.commit_ledger(org.session, org.office, report)


def test_a_failure_while_writing_leaves_nothing_behind(org, monkeypatch):
    """All rows or none: an error in the middle of the writes rolls everything back."""
    before = counts(org.session)
    real = tasks.assign
    calls = []

    def flaky(session, actor, task_id):
        calls.append(task_id)
        if len(calls) == 3:
            raise ValidationFailed("模拟的写入失败")
        return real(session, actor, task_id)

    monkeypatch.setattr(tasks, "assign", flaky)
    with pytest.raises(ValidationFailed, match="模拟"):
        ledger_import.import_ledger(
            org.session, org.office, FIXTURES / "suggestions_gbk.csv", dry_run=False, assign=True
        )
    org.session.rollback()
    assert len(calls) == 3
    assert counts(org.session) == before


def test_unknown_leader_and_department_never_created(org):
    before = counts(org.session)
    ledger_import.import_ledger(org.session, org.office, FIXTURES / "errors.xlsx", dry_run=False)
    org.session.commit()
    assert counts(org.session)["Leader"] == before["Leader"]
    assert org.session.exec(select(Leader).where(Leader.name == "张三丰")).first() is None


# --- duplicates, re-imports and progress -----------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(org):
    first = ledger_import.import_ledger(org.session, org.office, FIXTURES / "key_work_two_row.xlsx", dry_run=False)
    org.session.commit()
    assert first.counts()["create"] == 5
    before = counts(org.session)
    again = ledger_import.import_ledger(org.session, org.office, FIXTURES / "key_work_two_row.xlsx", dry_run=False)
    org.session.commit()
    assert again.counts()["unchanged"] == 5 and again.counts()["create"] == 0
    assert not again.committed
    assert counts(org.session) == before
    for row in again.rows:
        assert row.task_code and any("不重复导入" in w.message for w in row.warnings)
        assert not any("不一致" in w.message for w in row.warnings)


def test_an_updated_ledger_adds_progress_and_keeps_history(org):
    session = org.session
    v1 = ledger_import.import_ledger(session, org.office, FIXTURES / "progress_v1.xlsx", dry_run=False)
    session.commit()
    assert v1.counts()["create"] == 3
    task_id = {r.title: r.task_id for r in v1.rows}
    tasks.assign(session, org.office, task_id["推进城市更新试点"])
    session.commit()
    statuses = {t.id: t.status for t in session.exec(select(Task))}

    v2 = ledger_import.import_ledger(session, org.office, FIXTURES / "progress_v2.xlsx", dry_run=False)
    session.commit()
    actions = {r.title: r.action for r in v2.rows}
    assert actions == {
        "推进城市更新试点": "update",
        "优化营商环境专项行动": "unchanged",
        "建设智慧停车系统": "update",
        "开展背街小巷整治": "create",
    }
    history = {}
    for report in session.exec(select(ProgressReport).order_by(ProgressReport.id)):
        history.setdefault(report.task_id, []).append(report.text)
    assert history[task_id["推进城市更新试点"]] == ["已完成方案编制", "方案已报区政府审议"]
    assert history[task_id["优化营商环境专项行动"]] == ["已召开动员会"]
    assert history[task_id["建设智慧停车系统"]] == ["已完成招标", "一期已开工建设"]
    for t in session.exec(select(Task).where(Task.id.in_(list(statuses)))):
        assert t.status == statuses[t.id]  # imported progress never moves a task
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "import_progress")).all()
    assert len(events) == 3 + 1 + 2
    assert all(e.actor_id == org.office.user_id and e.entity == "progress_report" for e in events)

    before = counts(session)
    for name in ("progress_v2.xlsx", "progress_v1.xlsx"):  # an older ledger again: nothing new either
        again = ledger_import.import_ledger(session, org.office, FIXTURES / name, dry_run=False)
        session.commit()
        assert again.counts()["create"] == again.counts()["update"] == 0
    assert counts(session) == before


def test_a_row_repeated_in_the_file_is_imported_once(org, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"])
    ws.append([1, "区政府第20次常务会议", D(2026, 11, 18), "推进垃圾分类", "城关街道", "2026年12月31日"])
    ws.append([2, "区政府第20次常务会议", D(2026, 11, 18), "推进垃圾分类。", "城关街道", "2026年12月31日"])
    ws.append([3, "区政府第20次常务会议", D(2026, 11, 18), "推进 垃圾分类", "东城街道", "2026年12月31日"])
    wb.save(tmp_path / "dup.xlsx")
    report = ledger_import.import_ledger(org.session, org.office, tmp_path / "dup.xlsx", dry_run=False)
    org.session.commit()
    assert [r.action for r in report.rows] == ["create", "duplicate", "duplicate"]
    assert "与第2行" in report.rows[1].warnings[0].message
    assert org.session.scalar(select(Task.id).where(Task.title == "推进垃圾分类")) is not None
    assert len(org.session.exec(select(Task)).all()) == 1


def test_differences_from_a_registered_task_are_reported_not_applied(org, tmp_path):
    from openpyxl import Workbook

    def ledger_file(lead: str, deadline: str):
        wb = Workbook()
        ws = wb.active
        ws.append(["任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"])
        ws.append(["区政府第21次常务会议", D(2026, 11, 18), "整治违法建设", lead, deadline])
        path = tmp_path / f"{lead}.xlsx"
        wb.save(path)
        return path

    ledger_import.import_ledger(org.session, org.office, ledger_file("城关街道", "2026年12月31日"), dry_run=False)
    org.session.commit()
    report = ledger_import.import_ledger(
        org.session, org.office, ledger_file("东城街道", "2027年1月31日"), dry_run=False
    )
    org.session.commit()
    row = report.rows[0]
    assert row.action == "unchanged"
    message = next(w.message for w in row.warnings if "不一致" in w.message)
    assert "牵头单位（系统：城关街道办事处；台账：东城街道办事处）" in message and "完成时限" in message
    task = org.session.exec(select(Task)).one()
    assert task.lead_department_id == org.dept("城关街道办事处") and task.due_date == D(2026, 12, 31)


# --- imported progress, the service ---------------------------------------------------------------


def test_record_imported_progress_is_the_offices_and_idempotent(session):
    from tests import factories as f

    d = f.district(session)
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    first = ledger_commit.record_imported_progress(session, d.office, task.id, "已完成选址")
    session.commit()
    assert first.department_id == d.lead_id and first.author_id == d.office.user_id
    assert session.get(Task, task.id).status == "acknowledged"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "import_progress")).one()
    assert event.task_id == task.id and event.entity_id == first.id and event.after["text"] == "已完成选址"
    assert ledger_commit.record_imported_progress(session, d.office, task.id, " 已完成选址。") is None
    assert len(session.exec(select(ProgressReport).where(ProgressReport.task_id == task.id)).all()) == 1
    with pytest.raises(NotPermitted):
        ledger_commit.record_imported_progress(session, d.lead_clerk, task.id, "部门自己导入")
    with pytest.raises(ValidationFailed):
        ledger_commit.record_imported_progress(session, d.office, task.id, "  ")


def test_bulk_written_task_equals_one_from_create_draft(org):
    """The import writes tasks through tasks.create_drafts; one made on the form
    (tasks.create_draft) must be the same row with the same audit event."""
    session = org.session
    report = ledger_import.import_ledger(session, org.office, FIXTURES / "key_work_two_row.xlsx", dry_run=False)
    session.commit()
    row = next(r for r in report.rows if r.title == "推进城东片区道路建设")
    imported = session.get(Task, row.task_id)
    made = tasks.create_draft(
        session,
        org.office,
        tasks.TaskInput(
            title=row.title + "（对照）",
            requirement=row.requirement,
            source_id=row.source_id,
            item_no=row.item_no,
            lead_department_id=row.lead.id,
            assisting_department_ids=[d.id for d in row.assisting],
            leader_ids=[x.id for x in row.leaders],
            deadline_text=row.deadline_text,
            due_date=row.due_date,
            category=row.category,
        ),
    )
    session.commit()
    assert imported.category == made.category == "一、扎实推进项目建设"
    skip = {"id", "code", "title", "created_at", "updated_at"}
    for name in Task.model_fields:
        if name not in skip:
            assert getattr(imported, name) == getattr(made, name), name
    # one counter: the five imported tasks took 0001-0005, create_draft the next number
    assert (imported.code, made.code) == ("DB-2026-0001", "DB-2026-0006")
    a = session.exec(select(AuditEvent).where(AuditEvent.task_id == imported.id, AuditEvent.action == "create")).one()
    b = session.exec(select(AuditEvent).where(AuditEvent.task_id == made.id, AuditEvent.action == "create")).one()
    after_b = dict(b.after, title=row.title)
    assert a.after == after_b and a.before == b.before and a.entity == b.entity == "task"
    assert a.after["category"] == "一、扎实推进项目建设" and a.after["leader_ids"] == sorted(x.id for x in row.leaders)
    assert sorted(tasks.assisting_ids(session, imported.id)) == sorted(tasks.assisting_ids(session, made.id))


# --- dates: the source's, the ledger's, --base-date; never today --------------------------------


def _one_row_ledger(tmp_path, header: list, row: list, title: str | None = None):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    ws.append(row)
    path = tmp_path / "one.xlsx"
    wb.save(path)
    return path


def test_relative_deadlines_resolve_against_the_rows_source_date_first(org, tmp_path):
    path = _one_row_ledger(
        tmp_path,
        ["任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"],
        ["区政府第22次常务会议", D(2026, 11, 2), "事项", "区财政局", "10个工作日内"],
        title="督办台账（截至2026年11月20日）",
    )
    row = ledger_import.import_ledger(org.session, org.office, path, base_date=D(2026, 11, 23)).rows[0]
    assert row.source_date == D(2026, 11, 2) and row.due_date == D(2026, 11, 16)


def test_without_a_source_date_the_ledgers_own_date_is_used(org, tmp_path):
    path = _one_row_ledger(
        tmp_path,
        ["任务来源", "督办事项", "牵头单位", "完成时限"],
        ["区政府第23次常务会议", "事项", "区财政局", "12月15日前"],
        title="督办台账（截至2027年11月20日）",
    )
    row = ledger_import.import_ledger(org.session, org.office, path, base_date=D(2026, 1, 5)).rows[0]
    assert row.source_date == D(2027, 11, 20) and row.due_date == D(2027, 12, 15)


def test_base_date_is_the_last_resort_and_today_is_never_used(org, tmp_path):
    path = _one_row_ledger(
        tmp_path,
        ["任务来源", "督办事项", "牵头单位", "完成时限"],
        ["区政府第24次常务会议", "事项", "区财政局", "1月10日前"],
    )
    report = ledger_import.import_ledger(org.session, org.office, path)
    errors = report.rows[0].errors
    assert {e.column for e in errors} == {"A", "D"}
    assert report.rows[0].due_date is None  # not 2027-01-10 "from today"
    row = ledger_import.import_ledger(org.session, org.office, path, base_date=D(2025, 12, 1)).rows[0]
    assert row.errors == [] and row.due_date == D(2026, 1, 10) and row.source_date == D(2025, 12, 1)
    absolute = _one_row_ledger(tmp_path, ["督办事项", "牵头单位", "完成时限"], ["事项", "区财政局", "2026年12月31日"])
    plain = ledger_import.import_ledger(org.session, org.office, absolute).rows[0]
    assert plain.errors == [] and plain.due_date == D(2026, 12, 31) and plain.source == ""


def test_an_excel_date_serial_in_the_deadline_column_is_read_with_a_warning(org, tmp_path):
    path = _one_row_ledger(
        tmp_path,
        ["任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"],
        ["区政府第25次常务会议", D(2026, 11, 2), "事项", "区财政局", 46387],
    )
    row = ledger_import.import_ledger(org.session, org.office, path).rows[0]
    assert row.due_date == D(2026, 12, 31) and row.deadline_text == "2026-12-31"
    assert any("日期序号" in w.message for w in row.warnings)


def test_assign_sends_the_tasks_out_or_refuses_the_whole_file(org):
    report = ledger_import.import_ledger(
        org.session, org.office, FIXTURES / "suggestions_gbk.csv", dry_run=False, assign=True
    )
    org.session.commit()
    assert report.committed
    assert {t.status for t in org.session.exec(select(Task))} == {"assigned"}
    assert all(t.assigned_at is not None for t in org.session.exec(select(Task)))
    before = counts(org.session)
    late = ledger_import.import_ledger(
        org.session, org.office, FIXTURES / "meetings_multi_sheet.xlsx", dry_run=False, assign=True
    )
    org.session.commit()
    assert not late.committed and counts(org.session) == before
    row = _rows(late)[("常务会议", 2)]
    assert any("不能交办" in e["message"] for e in row["errors"])


def test_only_the_office_imports(org):
    clerk = Actor.of(
        organisation.create_user(
            org.session,
            org.office,
            "clerk9",
            "联络员",
            "Factory-pass-7",
            Role.CLERK,
            department_id=org.dept("区财政局"),
        )
    )
    report = ledger_import.plan_ledger(org.session, ledger_import.load_ledger(FIXTURES / "legacy.xls"))
    with pytest.raises(NotPermitted):
        ledger_commit.commit_ledger(org.session, clerk, report)
