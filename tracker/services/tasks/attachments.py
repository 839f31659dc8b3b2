"""Evidence files attached to progress reports and close requests.

Files live in ``<instance_path>/uploads`` under a random name, outside the web
root; the name the user gave is kept for display and download only. A file is
accepted only when its extension AND its first bytes agree on an allowed type
(an .exe renamed .pdf is refused). The row, its audit event and the report it
belongs to are saved in the caller's transaction; a file written to disk is
removed again if that transaction does not commit, so a refused file or a
failed commit leaves neither a row nor an orphan on disk.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.errors import NotFound, NotPermitted, ValidationFailed
from tracker.models import Attachment, Motion, ProgressReport, Task
from tracker.services import audit
from tracker.services.actors import Actor, parties
from tracker.services.tasks.lifecycle import get_task
from tracker.workflow import Party

MAX_SIZE = 20 * 1024 * 1024  # per file
MAX_FILES = 10  # per form submission
MAX_TOTAL = 100 * 1024 * 1024  # per request (Flask's MAX_CONTENT_LENGTH)
CHUNK = 64 * 1024

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
# extension -> (magic prefix, content type)
TYPES: dict[str, tuple[bytes, str]] = {
    "pdf": (b"%PDF", "application/pdf"),
    "png": (b"\x89PNG", "image/png"),
    "jpg": (b"\xff\xd8\xff", "image/jpeg"),
    "jpeg": (b"\xff\xd8\xff", "image/jpeg"),
    "doc": (OLE, "application/msword"),
    "xls": (OLE, "application/vnd.ms-excel"),
    "docx": (ZIP, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (ZIP, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
ALLOWED_LABEL = "PDF、Word（doc/docx）、Excel（xls/xlsx）、JPG、PNG"
PENDING_KEY = "tracker_pending_uploads"


class Upload(Protocol):
    """What we need of werkzeug's FileStorage (and what tests can fake)."""

    filename: str | None
    stream: BinaryIO


def upload_dir() -> Path:
    """``<instance_path>/uploads``; outside the static folder, so never served directly."""
    from flask import current_app

    return Path(current_app.instance_path) / "uploads"


def sanitise_name(name: str | None) -> str:
    """A display name: no path, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '<>:"|?*')
    name = name.strip().strip(".").strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def has_files(files) -> bool:
    return any(getattr(f, "filename", "") for f in files)


def _forget_on_commit(session: Session) -> list[Path]:
    """Paths written in this transaction; removed unless the transaction commits."""
    pending = session.info.get(PENDING_KEY)
    if pending is not None:
        return pending
    pending = session.info[PENDING_KEY] = []

    @sa.event.listens_for(session, "after_commit")
    def _committed(sess):
        if sess.in_nested_transaction():  # a savepoint released: the unit of work goes on
            return
        sess.info.get(PENDING_KEY, []).clear()

    @sa.event.listens_for(session, "after_transaction_end")
    def _ended(sess, transaction):
        if transaction.parent is not None:  # a savepoint, not the unit of work
            return
        discard_pending(sess)

    return pending


def discard_pending(session: Session) -> None:
    """Delete the files written since the last commit (rollback, refused file)."""
    pending = session.info.get(PENDING_KEY, [])
    while pending:
        path = pending.pop()
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"files": message})


def store(
    session: Session,
    actor: Actor,
    task_id: int,
    report_id: int | None,
    file_storage: Upload,
    *,
    close_request_id: int | None = None,
    directory: Path | None = None,
) -> Attachment:
    """Check and save one uploaded file for a task (and a report of it).

    Raises NotFound if the actor may not see the task or the report is not the
    task's, NotPermitted for another department's report (or task-level evidence
    from anyone but the lead and the office), ValidationFailed (with a Chinese message) for a refused type, a
    disguised file, an empty file or one over 20 MB.
    """
    # The identity map first: with a report or a close request, the action has just loaded (and
    # locked) this task in the same transaction, and a second SELECT cost a report ~0.4 ms.
    task = session.get(Task, task_id)
    who = parties(session, actor, task) if task is not None else set()
    if not who:
        raise NotFound(f"未找到编号为 {task_id} 的督办事项")
    if report_id is not None:
        report = session.get(ProgressReport, report_id)
        if report is None or report.task_id != task.id:
            raise NotFound("未找到该进展反馈")
        if report.department_id != actor.department_id:
            raise NotPermitted("只能为本单位的进展反馈上传附件")
    elif not who & {Party.LEAD, Party.OFFICE}:  # evidence for the whole task: the lead's or the office's
        raise NotPermitted("只有牵头单位可以上传办结佐证材料")

    name = sanitise_name(file_storage.filename)
    ext = extension(name)
    if ext not in TYPES:
        shown = name or "未命名文件"
        raise _refuse(f"不支持上传“{shown}”：附件只能是 {ALLOWED_LABEL} 文件")
    magic, content_type = TYPES[ext]

    directory = directory or upload_dir()
    stored_name = secrets.token_hex(20)
    path = directory / stored_name
    pending = _forget_on_commit(session)
    size = 0
    head = b""
    try:  # a full disk or a read-only folder is the operator's problem, told in Chinese, never a 500
        directory.mkdir(parents=True, exist_ok=True)
        # Exclusive create: a random name never overwrites anything.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        pending.append(path)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = file_storage.stream.read(CHUNK)
                if not chunk:
                    break
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                size += len(chunk)
                if size > MAX_SIZE:
                    break
                out.write(chunk)
    except OSError as exc:
        _drop(pending, path)
        raise _refuse(
            f"“{name}”无法保存：服务器附件目录不可写或磁盘已满（{exc.strerror or exc}），"
            "本次提交未保存，请联系系统管理员"
        ) from exc
    if size > MAX_SIZE:
        _drop(pending, path)
        raise _refuse(f"“{name}”超过 {MAX_SIZE // (1024 * 1024)} MB，请压缩或拆分后再上传")
    if size == 0:
        _drop(pending, path)
        raise _refuse(f"“{name}”是空文件，请重新选择")
    if not head.startswith(magic):
        _drop(pending, path)
        raise _refuse(f"“{name}”的文件内容与扩展名 .{ext} 不符，已拒绝上传（附件只能是 {ALLOWED_LABEL} 文件）")

    row = Attachment(
        task_id=task.id,
        report_id=report_id,
        original_name=name,
        stored_name=stored_name,
        content_type=content_type,
        size=size,
        uploaded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "attachment_upload",
        entity="attachment",
        entity_id=row.id,
        task_id=task.id,
        after={"name": name, "size": size, "report_id": report_id, "close_request_id": close_request_id},
        note=name,
    )
    return row


def _drop(pending: list[Path], path: Path) -> None:
    try:
        pending.remove(path)
    except ValueError:
        pass
    try:
        path.unlink()
    except OSError:  # gone already, or the folder itself is unusable
        pass


def store_all(
    session: Session,
    actor: Actor,
    task_id: int,
    report_id: int | None,
    files,
    *,
    close_request_id: int | None = None,
    directory: Path | None = None,
) -> list[Attachment]:
    """Store every chosen file (empty file inputs are skipped); the first refusal stops all."""
    chosen = [f for f in files if getattr(f, "filename", "")]
    if len(chosen) > MAX_FILES:
        raise _refuse(f"一次最多上传 {MAX_FILES} 个附件")
    return [
        store(session, actor, task_id, report_id, f, close_request_id=close_request_id, directory=directory)
        for f in chosen
    ]


def for_download(
    session: Session, actor: Actor, attachment_id: int, *, directory: Path | None = None
) -> tuple[Attachment, Path]:
    """The attachment and its file, if the actor may see it; NotFound otherwise.

    An assisting department sees only its own part of a task, so it may fetch
    only the files of its own department's reports, and a motion's answer letter
    (答复函), which the handling rules send to the co-handling units as well.
    """
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound("附件不存在")
    task = get_task(session, row.task_id)
    who = parties(session, actor, task)
    if not who:
        raise NotFound("附件不存在")
    if who == {Party.ASSIST}:
        report = session.get(ProgressReport, row.report_id) if row.report_id else None
        own = report is not None and report.department_id == actor.department_id
        if not own and not _is_answer_letter(session, row):
            raise NotFound("附件不存在")
    path = (directory or upload_dir()) / row.stored_name
    if not path.is_file():
        raise NotFound("附件文件已丢失，请联系管理员")
    return row, path


def _is_answer_letter(session: Session, row: Attachment) -> bool:
    return session.scalar(select(Motion.id).where(Motion.answer_attachment_id == row.id)) is not None


def for_reports(session: Session, report_ids: list[int]) -> dict[int, list[Attachment]]:
    out: dict[int, list[Attachment]] = {i: [] for i in report_ids}
    if not report_ids:
        return out
    for row in session.exec(select(Attachment).where(Attachment.report_id.in_(report_ids)).order_by(Attachment.id)):
        out[row.report_id].append(row)
    return out


def for_task(session: Session, task_id: int) -> list[Attachment]:
    return list(session.exec(select(Attachment).where(Attachment.task_id == task_id).order_by(Attachment.id)))
