"""The web importer's jobs (ImportJob): upload, recognise, dry run, commit.

A job walks ``uploaded -> planning -> planned -> committing -> done`` (or
``failed``). The file lives in ``<instance>/imports`` under a random name,
checked by the same limits as the CLI (``importers.safety``), and is deleted
when the job is done, fails on its content, or is older than a day.

The dry run and the commit run in a background thread (``run_job``) with its
own sessions from the app's engine: progress goes into the job row in short
transactions of their own, so any web worker can answer the progress bar. The
commit re-reads and re-plans the file and writes every row or none, and marks
the job done in that same transaction: an import and its "done" are saved
together or not at all. Starting the commit is one conditional UPDATE
(``planned -> committing``), so a second click cannot import twice; a job whose
thread died is seen as stale after ``STALE_AFTER`` and may be started again.

Kinds: "ledger" (tasks), "departments" (单位名录) and "motions" (建议提案交办清单:
``motions.importer`` reads and checks the list, ``motions.register`` writes
it, assigned at once or left as drafts). A motion list uploaded as a ledger is
opened as a motions job, so that it never becomes plain tasks.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from importers import Limits, WorkbookError, read_workbook
from importers.cells import as_text
from importers.mapping import (
    DEPARTMENT_FIELDS,
    FIELD_LABELS_BY_KIND,
    LEDGER_FIELDS,
    MOTION_FIELDS,
    Column,
    ColumnMapping,
)
from tracker import clock
from tracker.errors import Conflict, DomainError, NotFound, NotPermitted, ValidationFailed
from tracker.models import ImportJob, Role, User
from tracker.services.actors import Actor
from tracker.services.ledger import commit as ledger_commit
from tracker.services.ledger import department_list
from tracker.services.ledger import importer as ledger_import
from tracker.services.ledger.mappings import MappingTable
from tracker.services.ledger.report import ImportReport, Issue, scan_sheets
from tracker.services.motions import handling as motions
from tracker.services.motions import importer as motion_import
from tracker.services.validation import parse_date

log = logging.getLogger(__name__)

LIMITS = Limits()  # the CLI's limits; tests make them smaller
STALE_AFTER = timedelta(minutes=5)  # a running job not heard from for this long has died
KEEP_FOR = timedelta(days=1)
ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
KINDS = {"ledger": "督办台账", "motions": "建议提案交办清单", "departments": "单位名录"}
FIELDS = {"ledger": LEDGER_FIELDS, "departments": DEPARTMENT_FIELDS, "motions": MOTION_FIELDS}
REQUIRED = {"ledger": frozenset({"title"}), "departments": frozenset({"name"}), "motions": motion_import.REQUIRED}
MOTION_KINDS = motions.KIND_LABELS
RUNNING = ("planning", "committing")
STATUS_LABELS = {
    "uploaded": "待确认列",
    "planning": "预检中",
    "planned": "已预检",
    "committing": "导入中",
    "done": "已导入",
    "failed": "未完成",
}
SAMPLE_ROWS = 3


def folder_of(instance_path: str | Path) -> Path:
    """Uploads of the importer: inside the instance folder, never served."""
    return Path(instance_path) / "imports"


def may_import(actor: Actor, kind: str) -> bool:
    """The office imports ledgers, motion lists and department lists; the administrator
    department lists."""
    if kind in ("ledger", "motions"):
        return actor.is_office
    return actor.is_office or actor.role == Role.ADMIN


def _check_kind(actor: Actor, kind: str) -> None:
    if kind not in KINDS:
        raise ValidationFailed("请选择导入的内容（督办台账、建议提案交办清单或单位名录）", fields={"kind": "请选择"})
    if not may_import(actor, kind):
        raise NotPermitted(f"您无权导入{KINDS[kind]}")


# --- the upload ----------------------------------------------------------------------------


def save_upload(stream: IO[bytes], filename: str, folder: Path, limits: Limits | None = None) -> tuple[str, int]:
    """Copy the upload under a random name, refusing what the CLI would refuse by its
    name or size before anything parses it. Returns (stored name, size)."""
    limits = limits or LIMITS
    name = Path(filename or "").name
    if not name:
        raise ValidationFailed("请选择要导入的文件", fields={"file": "请选择文件"})
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ValidationFailed(
            f"“{name}”不是 Excel 或 CSV 文件：只能导入 .xlsx、.xls 或 .csv 文件", fields={"file": "文件类型不支持"}
        )
    folder.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(16) + ".upload"
    path = folder / stored
    size = 0
    try:
        with open(path, "xb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > limits.max_file_bytes:
                    raise WorkbookError(
                        f"文件过大（超过 {limits.human_size(limits.max_file_bytes)}），"
                        "单次导入不能超过该大小，请拆分后再导入"
                    )
                out.write(chunk)
        if size == 0:
            raise WorkbookError("文件为空")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return stored, size


def _samples(sheet, header_rows: list[int], width: int) -> list[list[str]]:
    """The first data rows under the header, as text, to help the user name the columns."""
    out = []
    for raw in sheet.rows[header_rows[-1] :]:
        texts = [as_text(raw[c]) if c < len(raw) else "" for c in range(width)]
        if sum(1 for t in texts if t) > 1 or (width == 1 and any(texts)):  # not a section row
            out.append([t if len(t) <= 40 else t[:39] + "…" for t in texts])
        if len(out) >= SAMPLE_ROWS:
            break
    return out


def scan_workbook(session: Session, workbook, kind: str) -> dict:
    """Step 1 (识别): each sheet's header rows and guessed (or remembered) column mapping.
    A motion list's sheets also carry the 类别 and 届次 its title and headers suggest
    (the defaults of step 1's options)."""
    store = MappingTable(session, kind)
    if kind == "motions":
        scans = motion_import.scan_sheets(workbook, store=store)
    else:
        scans, _issues = scan_sheets(workbook, fields=FIELDS[kind], required=REQUIRED[kind], store=store)
    by_name = {s.name: s for s in workbook.sheets}
    sheets = []
    for sc in scans:
        entry: dict[str, Any] = {"name": sc.sheet, "detected": sc.table is not None, "reason": sc.reason or None}
        if sc.table is not None:
            t = sc.table
            mapping = t.mapping.to_dict()
            entry.update(
                title=t.title or None,
                rows=len(t.rows),
                mapping=mapping,
                ledger_date=t.ledger_date.isoformat() if t.ledger_date else None,
                samples=_samples(by_name[sc.sheet], mapping["header_rows"], len(mapping["columns"])),
            )
            if kind == "motions":
                entry.update(motion_kind=motion_import.guess_kind(t), session_name=motion_import.guess_session(t))
        sheets.append(entry)
    if not any(s["detected"] for s in sheets):
        what = KINDS[kind]
        reasons = "；".join(f"{s['name']}：{s['reason']}" for s in sheets) or "文件中没有工作表"
        raise ValidationFailed(f"未在文件中找到{what}表格（{reasons}）", fields={"file": "未找到表格"})
    return {"stage": "scan", "kind": workbook.kind, "sheets": sheets}


def create_job(
    session: Session,
    actor: Actor,
    kind: str,
    stream: IO[bytes],
    filename: str,
    folder: Path,
    *,
    preset: dict | None = None,
) -> ImportJob:
    """Store the upload, recognise its tables, and open a job; the caller commits.

    A file that cannot be read raises ``ValidationFailed`` with the reason, and
    nothing is kept (neither the file nor a job). A 建议/提案 交办清单 uploaded as a
    督办台账 becomes a motions job (``motions.importer.looks_like_list``), never plain
    tasks; ``options["rerouted"]`` says so on the job page. ``preset``: step 1's
    options filled in beforehand (the 建议提案 page's 类别 and 届次).
    """
    _check_kind(actor, kind)
    stored, size = save_upload(stream, filename, folder)
    rerouted = ""
    try:
        workbook = read_workbook(folder / stored, filename=Path(filename).name, limits=LIMITS)
        if kind == "ledger" and motion_import.looks_like_list(workbook):
            kind, rerouted = "motions", "ledger"
            _check_kind(actor, kind)
        found = scan_workbook(session, workbook, kind)
    except BaseException:
        (folder / stored).unlink(missing_ok=True)
        raise
    options = {**(preset or {}), "scan": found}
    if rerouted:
        options["rerouted"] = rerouted
    job = ImportJob(
        user_id=actor.user_id,
        kind=kind,
        filename=Path(filename).name[:255],
        stored_name=stored,
        size=size,
        status="uploaded",
        options=options,
        report=found,
    )
    session.add(job)
    session.flush()
    return job


def scan_of(job: ImportJob) -> dict:
    """Step 1's recognised tables: kept in the options once the dry run's report replaces them."""
    return (job.options or {}).get("scan") or {}


def get_job(session: Session, actor: Actor, job_id: int, *, light: bool = False) -> ImportJob:
    """The actor's own job; anybody else's does not exist for them. ``light`` leaves the
    report (megabytes for a large ledger) unread, for the progress bar's polling."""
    stmt = select(ImportJob).where(ImportJob.id == job_id)
    if light:
        stmt = stmt.options(defer(ImportJob.report))
    job = session.exec(stmt).first()
    if job is None or job.user_id != actor.user_id or not may_import(actor, job.kind):
        raise NotFound("未找到该导入任务")
    return job


def recent_jobs(session: Session, actor: Actor, limit: int = 20) -> list[ImportJob]:
    return list(
        session.exec(
            select(ImportJob).where(ImportJob.user_id == actor.user_id).order_by(ImportJob.id.desc()).limit(limit)
        )
    )


# --- options ---------------------------------------------------------------------------------


@dataclass
class Options:
    sheet: str = ""
    base_date: date | None = None
    assign: bool = False
    overrides: dict[str, dict[int, str | None]] | None = None
    remember: bool = True
    motion_kind: str = ""  # motions: suggestion | proposal, empty: as the list says
    session_name: str = ""  # motions: 届次, empty: from the list's title row

    def to_json(self) -> dict:
        return {
            "sheet": self.sheet,
            "base_date": self.base_date.isoformat() if self.base_date else "",
            "assign": self.assign,
            "remember": self.remember,
            "motion_kind": self.motion_kind,
            "session_name": self.session_name,
            "overrides": {s: {str(i): f for i, f in m.items()} for s, m in (self.overrides or {}).items()},
        }

    @classmethod
    def from_json(cls, data: dict | None) -> "Options":
        data = data or {}
        base = data.get("base_date") or ""
        return cls(
            sheet=data.get("sheet") or "",
            base_date=date.fromisoformat(base) if base else None,
            assign=bool(data.get("assign")),
            remember=bool(data.get("remember", True)),
            motion_kind=data.get("motion_kind") or "",
            session_name=data.get("session_name") or "",
            overrides={s: {int(i): f for i, f in m.items()} for s, m in (data.get("overrides") or {}).items()} or None,
        )


def read_options(job: ImportJob, form) -> Options:
    """Step 1's form: sheet, 基准日期 (ledgers), 类别 and 届次 (motion lists), 导入后直接交办,
    and one drop-down per column (``map-<sheet number>-<column index>``: a field, or
    empty to ignore the column)."""
    sheets = [s for s in scan_of(job).get("sheets", []) if s.get("detected")]
    names = [s["name"] for s in sheets]
    sheet = form.get("sheet", "") or ""
    if sheet and sheet not in names:
        raise ValidationFailed(f"文件中没有工作表“{sheet}”", fields={"sheet": "请选择工作表"})
    base = parse_date(form.get("base_date"), label="基准日期", field="base_date", error=ValidationFailed)
    motion_kind = (form.get("motion_kind") or "").strip() if job.kind == "motions" else ""
    if motion_kind and motion_kind not in MOTION_KINDS:
        raise ValidationFailed(f"类别“{motion_kind}”应为建议或提案", fields={"motion_kind": "请选择建议或提案"})
    session_name = " ".join((form.get("session_name") or "").split()) if job.kind == "motions" else ""
    if len(session_name) > 60:
        raise ValidationFailed("届次过长（不超过60个字）", fields={"session_name": "届次过长"})
    fields = FIELDS[job.kind]
    labels = FIELD_LABELS_BY_KIND[job.kind]
    overrides: dict[str, dict[int, str | None]] = {}
    for number, s in enumerate(sheets):
        chosen: dict[int, str | None] = {}
        letters = {}
        for col in s["mapping"]["columns"]:
            key = f"map-{number}-{col['index']}"
            if key not in form:
                continue
            value = form.get(key) or None
            if value is not None and value not in fields:
                raise ValidationFailed(
                    f"工作表“{s['name']}”列{col['column']}：未知的字段“{value}”", fields={key: "未知的字段"}
                )
            if value is not None and value in letters:
                raise ValidationFailed(
                    f"工作表“{s['name']}”中列{letters[value]}和列{col['column']}都选择了"
                    f"“{labels.get(value, value)}”，每项内容只能对应一列",
                    fields={key: "与其他列重复"},
                )
            if value is not None:
                letters[value] = col["column"]
            chosen[col["index"]] = value
        if chosen:
            overrides[s["name"]] = chosen
    return Options(
        sheet=sheet,
        base_date=base,
        assign=job.kind in ("ledger", "motions") and bool(form.get("assign")),
        overrides=overrides or None,
        remember=bool(form.get("remember")),
        motion_kind=motion_kind,
        session_name=session_name,
    )


def _corrected(job: ImportJob, options: Options) -> list[ColumnMapping]:
    """The sheets whose columns the user changed from what was recognised."""
    out = []
    for s in scan_of(job).get("sheets", []):
        chosen = (options.overrides or {}).get(s["name"]) if s.get("detected") else None
        if not chosen:
            continue
        m = s["mapping"]
        if all(chosen.get(c["index"], c["field"]) == c["field"] for c in m["columns"]):
            continue
        columns = [
            Column(c["index"], c["header"], chosen.get(c["index"], c["field"]), guessed=False) for c in m["columns"]
        ]
        out.append(ColumnMapping(columns, m["header_rows"], m["signature"], remembered=True))
    return out


# --- starting and watching the background work --------------------------------------------------


def _path(job: ImportJob, folder: Path) -> Path:
    return folder / job.stored_name


def start_plan(session: Session, actor: Actor, job: ImportJob, options: Options, folder: Path) -> str:
    """Step 2 (预检): save the options, remember a corrected mapping, and mark the job
    for the background dry run. Returns the run's token for ``run_job``; the caller
    commits, then starts the thread."""
    _check_kind(actor, job.kind)
    if job.status in RUNNING:
        raise Conflict("该文件正在处理中，请稍候")
    if job.status == "done":
        raise Conflict("该文件已导入完成，不能再次预检")
    if not _path(job, folder).exists():
        raise ValidationFailed("上传的文件已不在服务器上（已完成、出错或超过一天），请重新上传")
    if options.remember:
        table = MappingTable(session, job.kind)
        for mapping in _corrected(job, options):
            table.remember(mapping, actor)
    token = secrets.token_hex(8)
    kept = {k: v for k, v in (job.options or {}).items() if k == "rerouted"}
    job.options = {**options.to_json(), **kept, "scan": scan_of(job), "run": token}
    job.status, job.done, job.total, job.error = "planning", 0, 0, ""
    job.updated_at = clock.now()
    session.add(job)
    session.flush()
    return token


def start_commit(session: Session, actor: Actor, job: ImportJob) -> str:
    """Step 3 (确认导入): ``planned -> committing`` in one conditional UPDATE, so that a
    second click (or a second tab) finds the job taken and imports nothing."""
    _check_kind(actor, job.kind)
    report = job.report or {}
    if job.status == "done":
        raise Conflict("该文件已导入，不会重复导入")
    if job.status != "planned" or report.get("stage") != "plan":
        raise Conflict("请先完成预检，再确认导入" if job.status != "committing" else "正在导入，请稍候")
    if not report.get("ok"):
        raise ValidationFailed(why_not(report) or "预检未通过，不能导入")
    token = secrets.token_hex(8)
    taken = session.execute(
        sa.update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == "planned")
        .values(status="committing", done=0, updated_at=clock.now(), options={**(job.options or {}), "run": token})
    ).rowcount
    if taken != 1:
        raise Conflict("该文件已在导入或已导入，不会重复导入")
    session.refresh(job)
    return token


def why_not(report: dict) -> str:
    """Why a dry-run report cannot be imported (empty when it can)."""
    counts = report.get("counts") or {}
    if counts.get("errors"):
        return f"有 {counts['errors']} 处错误，不能导入：请按提示修改文件后重新上传，或调整列的对应关系后重新预检"
    if not counts.get("rows"):
        return "文件中没有可导入的行"
    if not counts.get("create") and not counts.get("update"):
        return "没有新的内容：所有行都已导入过，无需再次导入"
    return ""


def check_stale(session: Session, job: ImportJob) -> bool:
    """A running job not heard from for ``STALE_AFTER`` has lost its thread (a worker
    was killed or restarted): it is marked failed and may be started again. The
    caller commits."""
    if job.status not in RUNNING or clock.now() - job.updated_at < STALE_AFTER:
        return False
    was = job.status
    job.status = "failed"
    job.error = (
        "后台导入中断，未导入任何内容" if was == "committing" else "后台预检中断"
    ) + "（服务可能已重启）。可以重新预检。"
    job.options = {**(job.options or {}), "run": None, "interrupted": True}
    job.updated_at = clock.now()
    session.add(job)
    session.flush()
    return True


def progress(job: ImportJob) -> dict:
    """What the progress bar polls."""
    percent = 100 if job.status in ("planned", "done") else (int(job.done * 100 / job.total) if job.total else 0)
    return {
        "id": job.id,
        "status": job.status,
        "label": STATUS_LABELS.get(job.status, job.status),
        "done": job.done,
        "total": job.total,
        "percent": max(0, min(100, percent)),
        "running": job.status in RUNNING,
        "error": job.error or None,
    }


def _restartable(job: ImportJob) -> bool:
    return job.status == "failed" and bool((job.options or {}).get("interrupted"))


def cleanup(session: Session, folder: Path) -> int:
    """Delete the files no job needs any more (done, failed on their content, or older
    than a day) and close the jobs left unfinished for a day. Returns the number of
    files removed; the caller commits."""
    cutoff = clock.now() - KEEP_FOR
    keep: set[str] = set()
    for job in session.exec(
        select(ImportJob).where(ImportJob.status.in_(("uploaded", "planning", "planned", "committing", "failed")))
    ):
        if job.status in RUNNING:
            keep.add(job.stored_name)
        elif job.status in ("uploaded", "planned") or _restartable(job):
            if job.created_at < cutoff:
                job.status, job.error = "failed", "上传已超过一天未导入，文件已删除，请重新上传"
                job.options = {**(job.options or {}), "interrupted": False}
                session.add(job)
            else:
                keep.add(job.stored_name)
    session.flush()
    known = set(session.scalars(select(ImportJob.stored_name)))
    removed = 0
    if folder.exists():
        for path in folder.glob("*.upload"):
            if path.name in keep:
                continue
            # a file no job names yet may be an upload being received right now
            if path.name not in known and path.stat().st_mtime > cutoff.timestamp():
                continue
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def can_restart(job: ImportJob, folder: Path) -> bool:
    """May step 1 be submitted again: the file is still here and nothing is running."""
    return job.status in ("uploaded", "planned", "failed") and _path(job, folder).exists()


# --- the background work -------------------------------------------------------------------------


def launch(engine: sa.Engine, job_id: int, token: str, folder: Path) -> threading.Thread:
    """Start ``run_job`` in a daemon thread (the request has committed the job first)."""
    thread = threading.Thread(
        target=run_job, args=(engine, job_id, token, folder), name=f"import-job-{job_id}", daemon=True
    )
    thread.start()
    return thread


def _set(engine: sa.Engine, job_id: int, token: str, **values) -> bool:
    """One short transaction on the job row, only while this run still owns it."""
    with Session(engine, expire_on_commit=False) as s:
        job = s.get(ImportJob, job_id, with_for_update=True)
        if job is None or (job.options or {}).get("run") != token or job.status not in RUNNING:
            return False
        for name, value in values.items():
            setattr(job, name, value)
        job.updated_at = clock.now()
        s.add(job)
        s.commit()
        return True


def run_job(engine: sa.Engine, job_id: int, token: str, folder: Path) -> None:
    """The dry run or the commit of one job, whichever it was started for."""
    with Session(engine, expire_on_commit=False) as s:
        job = s.get(ImportJob, job_id)
        if job is None or (job.options or {}).get("run") != token:
            return
        status, kind, filename, stored = job.status, job.kind, job.filename, job.stored_name
        user = s.get(User, job.user_id)
        if user is None or not user.active:
            _set(engine, job_id, token, status="failed", error="上传该文件的账号已停用，未导入任何内容")
            return
        options = Options.from_json(job.options)
        actor = Actor.of(user)
    path = folder / stored
    last = [0]

    def report_progress(done: int, total: int) -> None:
        if done - last[0] >= max(1, total // 50) or done == total:  # at most ~50 short writes a run
            last[0] = done
            _set(engine, job_id, token, done=done, total=total)

    try:
        if status == "planning":
            _plan(engine, job_id, token, actor, kind, path, filename, options, report_progress)
        elif status == "committing":
            _commit(engine, job_id, token, actor, kind, path, filename, options, report_progress)
    except Exception as exc:  # the job says what went wrong; the thread must not die silently
        message = exc.message if isinstance(exc, DomainError) else "处理时发生内部错误，未导入任何内容"
        if not isinstance(exc, DomainError):
            log.exception("import job %s failed", job_id)
        if _set(engine, job_id, token, status="failed", error=message):
            path.unlink(missing_ok=True)


def _read_and_plan(
    session: Session, actor: Actor, kind: str, path: Path, filename: str, options: Options, progress
) -> ImportReport | motion_import.MotionImport:
    try:
        workbook = read_workbook(path, filename=filename, limits=LIMITS)
    except WorkbookError as exc:
        if kind == "motions":
            return motion_import.MotionImport(filename, file_errors=[exc.message])
        report = ImportReport(filename, what="departments" if kind == "departments" else "ledger")
        report.errors.append(Issue(exc.message))
        return report
    store = MappingTable(session, kind)
    if kind == "motions":
        report, _inputs = motion_import.read_list(
            session,
            workbook,
            kind=options.motion_kind,
            session_name=options.session_name,
            sheet=options.sheet or None,
            store=store,
            overrides=options.overrides,
        )
        progress(len(report.rows), len(report.rows))
        return report
    if kind == "departments":
        report = department_list.plan_departments(
            session, workbook, sheet=options.sheet or None, store=store, overrides=options.overrides
        )
        progress(len(report.rows), len(report.rows))
        return report
    return ledger_import.plan_ledger(
        session,
        workbook,
        base_date=options.base_date,
        sheet=options.sheet or None,
        assign=options.assign,
        store=store,
        overrides=options.overrides,
        progress=progress,
    )


def report_json(report: ImportReport | motion_import.MotionImport, stage: str) -> dict:
    out = report.to_dict()
    out["stage"] = stage
    return out


def _plan(engine, job_id, token, actor, kind, path, filename, options, progress) -> None:
    with Session(engine, expire_on_commit=False) as s:
        report = _read_and_plan(s, actor, kind, path, filename, options, progress)
        s.rollback()  # a dry run writes nothing
    n = len(report.rows)
    _set(engine, job_id, token, status="planned", report=report_json(report, "plan"), done=n, total=n)


def _commit(engine, job_id, token, actor, kind, path, filename, options, progress) -> None:
    """Re-plan the file and write it in one transaction that also marks the job done."""
    with Session(engine, expire_on_commit=False) as s:
        report = _read_and_plan(s, actor, kind, path, filename, options, progress)
        if not report.ok or report.error_count:
            s.rollback()
            # Something changed since the dry run (a department retired, say): show the new report.
            _set(
                engine,
                job_id,
                token,
                status="planned",
                report=report_json(report, "plan"),
                error="预检后数据发生了变化，导入已取消，未写入任何内容：请查看新的预检结果",
            )
            return
        if kind == "departments":
            department_list.commit_departments(s, actor, report)
        elif kind == "motions":
            motion_import.commit_list(s, actor, report, assign=options.assign)
        else:
            ledger_commit.commit_ledger(s, actor, report, assign=options.assign)
        job = s.get(ImportJob, job_id, with_for_update=True)
        if job is None or (job.options or {}).get("run") != token or job.status != "committing":
            s.rollback()  # the job was given up (stale) or restarted meanwhile: write nothing
            return
        n = len(report.rows)
        job.status, job.done, job.total, job.error = "done", n, n, ""
        job.report = report_json(report, "result")
        job.updated_at = clock.now()
        s.add(job)
        s.commit()
    path.unlink(missing_ok=True)
