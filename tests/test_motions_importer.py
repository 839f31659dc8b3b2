"""建议/提案 交办清单 through the web importer's jobs (``imports`` kind "motions"):
preview writes nothing, confirm writes every row or none with its audit events, a
second confirm imports nothing, a list uploaded as a 督办台账 is recognised, and
"导入后直接交办" unchecked leaves the tasks as drafts.

The jobs' background work runs here in the test's thread (``run_job`` with the
token ``start_plan``/``start_commit`` returned): the same code the thread runs.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from importers import read_workbook
from tests.fixtures.helpers import FIXTURES, SAMPLES, counts, load_district
from tests.fixtures.make_motion_fixtures import PROPOSALS, SUGGESTIONS
from tracker import clock
from tracker.errors import ValidationFailed
from tracker.models import AuditEvent, ImportJob, LedgerMapping, Motion, MotionStep, Task
from tracker.services.ledger import jobs as svc
from tracker.services.motions import handling as motions
from tracker.services.motions import importer as motion_import
from tracker.services.motions import limits as motion_limits

SESSION = "区十七届人大三次会议"


@pytest.fixture
def org(session):
    return load_district(session)


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "imports"


def _job(session, org, folder, path: Path, kind: str = "motions", **preset) -> ImportJob:
    with open(path, "rb") as stream:
        job = svc.create_job(session, org.office, kind, stream, path.name, folder, preset=preset or None)
    session.commit()
    return job


def _plan(session, db, org, folder, job: ImportJob, **options) -> ImportJob:
    opts = svc.Options(assign=options.pop("assign", True), **options)
    token = svc.start_plan(session, org.office, job, opts, folder)
    session.commit()
    svc.run_job(db, job.id, token, folder)
    session.expire_all()
    return session.get(ImportJob, job.id)


def _confirm(session, db, org, folder, job: ImportJob) -> ImportJob:
    token = svc.start_commit(session, org.office, job)
    session.commit()
    svc.run_job(db, job.id, token, folder)
    session.expire_all()
    return session.get(ImportJob, job.id)


def _count(session, model) -> int:
    return session.scalar(select(sa.func.count()).select_from(model))


def _edited(tmp_path, cells: dict[str, object], name: str = "list.xlsx") -> Path:
    wb = openpyxl.load_workbook(SUGGESTIONS)
    for ref, value in cells.items():
        wb.active[ref] = value
    path = tmp_path / name
    wb.save(path)
    return path


def test_preview_writes_nothing_and_confirm_registers_and_assigns_every_row(session, db, org, folder):
    job = _job(session, org, folder, SUGGESTIONS)
    assert job.kind == "motions" and job.status == "uploaded"
    sheet = svc.scan_of(job)["sheets"][0]
    assert sheet["motion_kind"] == "suggestion" and sheet["session_name"] == SESSION
    before = counts(session)

    job = _plan(session, db, org, folder, job)
    report = job.report
    assert job.status == "planned" and report["stage"] == "plan" and report["ok"], report["errors"]
    assert report["counts"] == {
        "rows": 32,
        "create": 32,
        "update": 0,
        "unchanged": 0,
        "duplicate": 0,
        "error": 0,
        "errors": 0,
        "warnings": 0,
    }
    default_due = motion_limits.limit_due(session, clock.today(), motion_limits.load_limits(session)["answer"])
    assert report["default_due"] == default_due.isoformat() and report["default_limit"] == "交办之日起3个月"
    first = report["rows"][0]
    assert (first["sheet"], first["row"], first["action"]) == ("交办清单", 4, "create")
    assert first["label"] == "建议第1号" and first["session"] == SESSION and first["proposer"] == "王建国"
    assert first["lead"] == "区住房和城乡建设局" and first["assisting"] == ["城关街道办事处", "区财政局"]
    assert first["is_key"] and first["due_date"] is None and first["leader"] == "吴海涛"
    assert counts(session) == before and _count(session, Motion) == 0  # a dry run writes nothing

    job = _confirm(session, db, org, folder, job)
    assert job.status == "done", job.error
    assert job.report["stage"] == "result" and job.report["committed"]
    assert job.report["sessions"] == [{"kind": "suggestion", "session": SESSION}]
    made = session.exec(select(Motion).order_by(Motion.number)).all()
    assert [m.number for m in made] == list(range(1, 33)) and {m.session_name for m in made} == {SESSION}
    assert {r["motion_id"] for r in job.report["rows"]} == {m.id for m in made}
    assert all(session.get(Task, m.task_id).status == "assigned" for m in made)
    assert session.get(Task, made[0].task_id).due_date == default_due
    office_id = org.office.user_id
    for action in ("motion_register", "create", "assign"):
        events = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
        assert len(events) == 32 and {e.actor_id for e in events} == {office_id}, action
    summary = session.exec(select(AuditEvent).where(AuditEvent.action == "motions_import")).one()
    assert summary.after["created"] == 32 and summary.after["assigned"] is True and summary.actor_id == office_id
    assert not (folder / job.stored_name).exists()  # the upload is removed when done


@pytest.mark.parametrize(
    "cells, where, column, words",
    [
        ({"I10": "区不存在局"}, 10, "I", ("主办单位“区不存在局”不在单位名录中",)),
        ({"A9": 5}, 9, "A", ("建议第5号在清单中重复",)),
        ({"K6": "尽快办理"}, 6, "K", ("办理时限“尽快办理”不是日期",)),
    ],
)
def test_one_bad_row_writes_nothing_and_names_its_row_and_column(
    session, db, org, folder, tmp_path, cells, where, column, words
):
    path = _edited(tmp_path, cells)
    before = counts(session)
    job = _plan(session, db, org, folder, _job(session, org, folder, path))
    assert job.status == "planned" and not job.report["ok"]
    assert job.report["counts"]["errors"] == 1 and job.report["counts"]["create"] == 31
    bad = [r for r in job.report["rows"] if r["errors"]]
    assert [(r["row"], r["action"]) for r in bad] == [(where, "error")]
    assert bad[0]["errors"][0]["column"] == column
    assert all(w in bad[0]["errors"][0]["message"] for w in words)
    assert "不能导入" in svc.why_not(job.report)
    with pytest.raises(ValidationFailed):
        svc.start_commit(session, org.office, job)
    session.rollback()
    # the CLI's path says the same, by row and column, and writes nothing either
    with pytest.raises(ValidationFailed) as refused:
        motion_import.import_list(session, org.office, path)
    session.rollback()
    assert f"第{where}行（{column}列）" in refused.value.message and words[0] in refused.value.message
    assert counts(session) == before and _count(session, Motion) == 0


def test_a_list_registered_already_is_refused_whole(session, db, org, folder):
    motion_import.import_list(session, org.office, SUGGESTIONS)
    session.commit()
    job = _plan(session, db, org, folder, _job(session, org, folder, SUGGESTIONS))
    assert job.report["counts"]["create"] == 0 and job.report["counts"]["errors"] == 32
    row = job.report["rows"][0]
    assert row["errors"][0]["column"] == "A" and "建议第1号已经登记" in row["errors"][0]["message"]
    assert _count(session, Motion) == 32


def test_a_double_confirm_imports_once(session, db, org, folder):
    job = _plan(session, db, org, folder, _job(session, org, folder, SUGGESTIONS))
    with Session(db, expire_on_commit=False) as one, Session(db, expire_on_commit=False) as two:
        first = svc.start_commit(one, org.office, svc.get_job(one, org.office, job.id))
        other_tab = svc.get_job(two, org.office, job.id)  # read while still "planned"
        one.commit()
        with pytest.raises(Exception, match="不会重复导入|正在导入"):
            svc.start_commit(two, org.office, other_tab)
        two.rollback()
    svc.run_job(db, job.id, first, folder)
    session.expire_all()
    job = session.get(ImportJob, job.id)
    assert job.status == "done"
    with pytest.raises(Exception, match="不会重复导入"):
        svc.start_commit(session, org.office, job)
    session.rollback()
    assert _count(session, Motion) == 32 and _count(session, Task) == 32
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "motions_import")).all()) == 1


def test_assign_later_leaves_the_tasks_as_drafts(session, db, org, folder):
    job = _plan(session, db, org, folder, _job(session, org, folder, SUGGESTIONS), assign=False)
    assert job.report["ok"]
    job = _confirm(session, db, org, folder, job)
    assert job.status == "done", job.error
    assert _count(session, Motion) == 32
    assert set(session.exec(select(Task.status))) == {"draft"}
    assert _count(session, MotionStep) == 0  # no step deadlines until the office assigns
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "assign")).first() is None
    summary = session.exec(select(AuditEvent).where(AuditEvent.action == "motions_import")).one()
    assert summary.after["assigned"] is False


def test_the_proposal_list_needs_its_session_named(session, db, org, folder):
    job = _job(session, org, folder, PROPOSALS)
    assert svc.scan_of(job)["sheets"][0]["session_name"] == ""  # no title row
    job = _plan(session, db, org, folder, job)
    assert not job.report["ok"] and job.report["kind"] == "proposal"
    assert [e["message"] for e in job.report["errors"]] == [
        "工作表“提案”：未能从清单标题识别届次，请填写届次（如“区十七届人大三次会议”“区政协十届三次会议”）"
    ]
    assert all(not r["errors"] for r in job.report["rows"])  # said once, not on every row
    job = _plan(session, db, org, folder, job, session_name="区政协十届三次会议")
    assert job.report["ok"] and job.report["rows"][0]["label"] == "提案第1号"
    assert job.report["rows"][0]["session"] == "区政协十届三次会议"
    assert _confirm(session, db, org, folder, job).status == "done"
    assert set(session.exec(select(Motion.kind))) == {"proposal"} and _count(session, Motion) == 31


def test_a_kind_chosen_overrides_what_the_list_says(session, db, org, folder):
    job = _plan(
        session,
        db,
        org,
        folder,
        _job(session, org, folder, SUGGESTIONS),
        motion_kind="proposal",
        session_name="区政协十届三次会议",
    )
    assert job.report["ok"] and job.report["rows"][0]["label"] == "提案第1号"


def test_a_corrected_column_is_used_and_remembered(session, db, org, folder, tmp_path):
    """A column the synonyms miss (交办意见) is named by the user; the next list with
    the same headers is read that way by the job and by the CLI's ``read_list``."""
    path = _edited(tmp_path, {"M3": "交办意见", "M4": "请于年底前面商"})
    job = _job(session, org, folder, path)
    columns = svc.scan_of(job)["sheets"][0]["mapping"]["columns"]
    assert [c["field"] for c in columns][12] is None and columns[2]["field"] == "body"
    overrides = {"交办清单": {2: None, 12: "body"}}
    job = _plan(session, db, org, folder, job, overrides=overrides)
    assert job.report["ok"]
    remembered = session.exec(select(LedgerMapping)).one()
    assert remembered.kind == "motions" and remembered.fields["12"] == "body" and remembered.fields["2"] is None
    _confirm(session, db, org, folder, job)
    first = session.exec(select(Motion).where(Motion.number == 1)).one()
    assert first.body == "请于年底前面商"

    again = _edited(tmp_path, {"M3": "交办意见", "M4": "另一份"}, "again.xlsx")
    store = svc.MappingTable(session, "motions")
    report, inputs = motion_import.read_list(session, again, store=store)
    assert report.sheets[0]["mapping"]["remembered"] and inputs[0].body == "另一份"


# --- a 建议/提案 list uploaded as a 督办台账 ----------------------------------------------------------

LEDGERS = sorted(
    p
    for p in [*FIXTURES.iterdir(), *SAMPLES.iterdir()]
    if p.suffix in (".xlsx", ".xls", ".csv") and not p.name.startswith(("motions_", "encrypted"))
)


@pytest.mark.parametrize("path", [SUGGESTIONS, PROPOSALS], ids=lambda p: p.name)
def test_a_motion_list_uploaded_as_a_ledger_becomes_a_motions_job(session, db, org, folder, path):
    assert motion_import.looks_like_list(read_workbook(path))
    job = _job(session, org, folder, path, kind="ledger")
    assert job.kind == "motions" and job.options["rerouted"] == "ledger"
    job = _plan(session, db, org, folder, job, session_name="区政协十届三次会议" if path == PROPOSALS else "")
    assert job.options["rerouted"] == "ledger" and job.report["ok"]
    assert _confirm(session, db, org, folder, job).status == "done"
    assert _count(session, Motion) == _count(session, Task) > 30  # motions, not plain tasks


@pytest.mark.parametrize("path", LEDGERS, ids=lambda p: p.name)
def test_no_ledger_or_department_list_is_taken_for_a_motion_list(path):
    assert not motion_import.looks_like_list(read_workbook(path))


def test_a_ledger_that_lists_suggestions_stays_a_ledger(session, org, folder, tmp_path):
    """编号, 建议题目, 责任单位, 任务来源: a ledger about suggestions, without 领衔代表/提案人."""
    assert (FIXTURES / "suggestions_gbk.csv") in LEDGERS and len(LEDGERS) >= 10
    job = _job(session, org, folder, FIXTURES / "suggestions_gbk.csv", kind="ledger")
    assert job.kind == "ledger" and "rerouted" not in job.options
    # the motion list's headers without 领衔代表 are a ledger too
    wb = openpyxl.Workbook()
    wb.active.append(["建议编号", "建议题目", "主办单位", "办理时限"])
    wb.active.append([1, "关于增设公交站点的建议", "区交通局", "2026年12月31日"])
    wb.save(tmp_path / "no-proposer.xlsx")
    assert not motion_import.looks_like_list(read_workbook(tmp_path / "no-proposer.xlsx"))


def test_the_cli_reads_the_remembered_mapping_and_names_row_and_column(app, session, db, org, folder, tmp_path):
    runner = app.test_cli_runner()
    bad = _edited(tmp_path, {"I10": "区不存在局"}, "bad.xlsx")
    out = runner.invoke(args=["motions", "import", str(bad), "--dry-run"])
    assert out.exit_code == 1 and "第10行（I列）：主办单位“区不存在局”不在单位名录中" in out.output
    assert runner.invoke(args=["motions", "import", str(SUGGESTIONS), "--dry-run"]).exit_code == 0
    # the office told the web importer to ignore column D (领衔代表): the CLI reads the list so too
    job = _plan(session, db, org, folder, _job(session, org, folder, SUGGESTIONS), overrides={"交办清单": {3: None}})
    assert not job.report["ok"] and "领衔代表为空" in job.report["rows"][0]["errors"][0]["message"]
    assert job.report["rows"][0]["errors"][0]["column"] is None  # the column is no longer read
    out = runner.invoke(args=["motions", "import", str(SUGGESTIONS), "--dry-run"])
    assert out.exit_code == 1 and "领衔代表为空" in out.output
    assert _count(session, Motion) == 0


def test_a_failure_half_way_through_the_commit_leaves_nothing(session, db, org, folder, monkeypatch):
    """The 20th motion's 交办 fails after 19 were registered and assigned: the job
    fails and not one motion, task, step or audit row of the batch survives."""
    job = _plan(session, db, org, folder, _job(session, org, folder, SUGGESTIONS))
    before = counts(session)
    real, calls = motions.assign_motion, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 20:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(motions, "assign_motion", failing)
    job = _confirm(session, db, org, folder, job)
    assert len(calls) == 20 and job.status == "failed" and "未导入任何内容" in job.error
    assert counts(session) == before
    assert _count(session, Motion) == 0 and _count(session, MotionStep) == 0
