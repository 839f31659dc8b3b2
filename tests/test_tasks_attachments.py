"""The attachment service: type checks by extension and content, size, names, and no orphans on disk."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from tests import factories as f
from tracker.errors import NotFound, NotPermitted, ValidationFailed
from tracker.models import Attachment, AuditEvent
from tracker.services.tasks import attachments
from tracker.services.tasks import lifecycle as tasks

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GOOD = {
    "a.pdf": b"%PDF-1.4 ...",
    "a.png": b"\x89PNG\r\n\x1a\n....",
    "a.jpg": b"\xff\xd8\xff\xe0..JFIF",
    "a.JPEG": b"\xff\xd8\xff\xdb....",
    "a.doc": OLE + b"....",
    "a.xls": OLE + b"....",
    "a.docx": b"PK\x03\x04....",
    "a.xlsx": b"PK\x03\x04....",
}
BAD_CONTENT = {
    "virus.pdf": b"MZ\x90\x00 this is a windows program",
    "a.png": b"%PDF-1.4 a pdf is not a png",
    "a.docx": OLE + b"an old doc renamed docx",
    "a.doc": b"PK\x03\x04 a zip renamed doc",
    "a.jpg": b"GIF89a",
}
BAD_EXTENSION = ["a.exe", "a.pdf.exe", "a.txt", "a.html", "a.svg", "pdf", "a.", ".pdf", "a.zip"]


@dataclass
class Upload:
    filename: str | None
    stream: BinaryIO


def up(name, data: bytes) -> Upload:
    return Upload(name, io.BytesIO(data))


@pytest.fixture
def d(session):
    return f.district(session)


@pytest.fixture
def task(session, d):
    t = f.task_in(session, d, "acknowledged")
    session.commit()
    return t


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "uploads"


def files_in(folder) -> list:
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", list(GOOD))
def test_allowed_types_are_accepted(session, d, task, folder, name):
    row = attachments.store(session, d.lead_clerk, task.id, None, up(name, GOOD[name]), directory=folder)
    session.commit()
    assert row.original_name == name and row.size == len(GOOD[name])
    assert (folder / row.stored_name).read_bytes() == GOOD[name]
    assert len(row.stored_name) == 40 and row.stored_name.isalnum()  # random, with no user-controlled part
    assert row.content_type == attachments.TYPES[name.rsplit(".", 1)[1].lower()][1]
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "attachment")).one()
    assert (event.task_id, event.entity_id, event.action, event.note) == (task.id, row.id, "attachment_upload", name)


@pytest.mark.parametrize("name", list(BAD_CONTENT))
def test_content_must_match_the_extension(session, d, task, folder, name):
    with pytest.raises(ValidationFailed) as exc:
        attachments.store(session, d.lead_clerk, task.id, None, up(name, BAD_CONTENT[name]), directory=folder)
    assert "文件内容与扩展名" in exc.value.message and exc.value.fields == {"files": exc.value.message}
    assert files_in(folder) == []


@pytest.mark.parametrize("name", BAD_EXTENSION)
def test_other_extensions_are_refused(session, d, task, folder, name):
    with pytest.raises(ValidationFailed) as exc:
        attachments.store(session, d.lead_clerk, task.id, None, up(name, b"%PDF-1.4"), directory=folder)
    assert "附件只能是" in exc.value.message
    assert files_in(folder) == []


def test_size_limits(session, d, task, folder, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_SIZE", 100)
    monkeypatch.setattr(attachments, "CHUNK", 16)
    ok = attachments.store(session, d.lead_clerk, task.id, None, up("ok.pdf", b"%PDF" + b"x" * 96), directory=folder)
    assert ok.size == 100
    with pytest.raises(ValidationFailed, match="超过"):
        attachments.store(session, d.lead_clerk, task.id, None, up("big.pdf", b"%PDF" + b"x" * 97), directory=folder)
    with pytest.raises(ValidationFailed, match="空文件"):
        attachments.store(session, d.lead_clerk, task.id, None, up("empty.pdf", b""), directory=folder)
    assert [p.name for p in files_in(folder)] == [ok.stored_name]


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\张三\\桌面\\汇报.docx", "汇报.docx"),
        ("报告\x00\r\n.pdf", "报告.pdf"),
        ('a<b>"c".pdf', "abc.pdf"),
        ("  ..会议纪要.pdf  ", "会议纪要.pdf"),
        ("长" * 300 + ".pdf", "长" * 251 + ".pdf"),
    ],
)
def test_names_are_sanitised_for_display(raw, shown):
    assert attachments.sanitise_name(raw) == shown


def test_rollback_removes_written_files_and_commit_keeps_them(engine, d, task, folder):
    with Session(engine, expire_on_commit=False) as s:
        attachments.store(s, d.lead_clerk, task.id, None, up("a.pdf", GOOD["a.pdf"]), directory=folder)
        attachments.store(s, d.lead_clerk, task.id, None, up("b.png", GOOD["a.png"]), directory=folder)
        assert len(files_in(folder)) == 2
        s.rollback()
    assert files_in(folder) == []

    with Session(engine, expire_on_commit=False) as s:
        kept = attachments.store(s, d.lead_clerk, task.id, None, up("a.pdf", GOOD["a.pdf"]), directory=folder)
        s.commit()
        # a later unit of work in the same session that fails leaves the committed file alone
        attachments.store(s, d.lead_clerk, task.id, None, up("c.pdf", GOOD["a.pdf"]), directory=folder)
    # closing without commit (a request that failed after writing) removes what it wrote
    assert [p.name for p in files_in(folder)] == [kept.stored_name]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1


def test_a_savepoint_inside_the_unit_of_work_does_not_forget_the_files(engine, d, task, folder):
    with Session(engine, expire_on_commit=False) as s:
        attachments.store(s, d.lead_clerk, task.id, None, up("a.pdf", GOOD["a.pdf"]), directory=folder)
        with s.begin_nested():  # e.g. a reminder or a counter in the same request
            pass
        s.rollback()
    assert files_in(folder) == []


def test_a_failing_commit_removes_the_files(engine, d, task, folder):
    with Session(engine, expire_on_commit=False) as s:
        row = attachments.store(s, d.lead_clerk, task.id, None, up("a.pdf", GOOD["a.pdf"]), directory=folder)
        row.task_id = 987654  # no such task: a foreign key violation at commit
        with pytest.raises(sa.exc.IntegrityError):
            s.commit()
    assert files_in(folder) == []


def test_store_checks_the_task_and_the_report(session, d, task, folder):
    other = f.task_in(session, d, "acknowledged")
    rep = tasks.report_progress(session, d.lead_clerk, other.id, {"text": "进展"})
    session.commit()
    with pytest.raises(NotFound):
        attachments.store(session, d.other_clerk, task.id, None, up("a.pdf", GOOD["a.pdf"]), directory=folder)
    with pytest.raises(NotFound):  # a report of another task
        attachments.store(session, d.lead_clerk, task.id, rep.id, up("a.pdf", GOOD["a.pdf"]), directory=folder)
    with pytest.raises(NotPermitted):  # another department's report of a task they share
        attachments.store(session, d.assist_clerk, other.id, rep.id, up("a.pdf", GOOD["a.pdf"]), directory=folder)
    for actor in (d.assist_clerk, d.leader):  # task-level evidence is the lead's (or the office's)
        with pytest.raises(NotPermitted):
            attachments.store(session, actor, task.id, None, up("a.pdf", GOOD["a.pdf"]), directory=folder)
    assert files_in(folder) == []


def test_store_all_skips_empty_inputs_and_caps_the_count(session, d, task, folder):
    rows = attachments.store_all(
        session, d.lead_clerk, task.id, None, [up("", b""), up("a.pdf", GOOD["a.pdf"]), up(None, b"")], directory=folder
    )
    assert [r.original_name for r in rows] == ["a.pdf"]
    many = [up(f"{i}.pdf", GOOD["a.pdf"]) for i in range(attachments.MAX_FILES + 1)]
    with pytest.raises(ValidationFailed, match="最多"):
        attachments.store_all(session, d.lead_clerk, task.id, None, many, directory=folder)


def test_download_permissions(session, d, task, folder):
    lead_report = tasks.report_progress(session, d.lead_clerk, task.id, {"text": "牵头进展"})
    assist_report = tasks.report_progress(session, d.assist_clerk, task.id, {"text": "协办进展"})
    lead_file = attachments.store(
        session, d.lead_clerk, task.id, lead_report.id, up("l.pdf", GOOD["a.pdf"]), directory=folder
    )
    assist_file = attachments.store(
        session, d.assist_clerk, task.id, assist_report.id, up("s.pdf", GOOD["a.pdf"]), directory=folder
    )
    evidence = attachments.store(session, d.lead_clerk, task.id, None, up("e.pdf", GOOD["a.pdf"]), directory=folder)
    session.commit()
    for actor in (d.office, d.lead_clerk, d.leader):
        for row in (lead_file, assist_file, evidence):
            got, path = attachments.for_download(session, actor, row.id, directory=folder)
            assert got.id == row.id and path.read_bytes() == GOOD["a.pdf"]
    # the assisting department sees only its own part of the task
    assert attachments.for_download(session, d.assist_clerk, assist_file.id, directory=folder)[0].id == assist_file.id
    for row in (lead_file, evidence):
        with pytest.raises(NotFound):
            attachments.for_download(session, d.assist_clerk, row.id, directory=folder)
    for actor in (d.other_clerk, d.other_leader, d.admin):
        with pytest.raises(NotFound):
            attachments.for_download(session, actor, lead_file.id, directory=folder)
    (folder / lead_file.stored_name).unlink()
    with pytest.raises(NotFound, match="丢失"):
        attachments.for_download(session, d.office, lead_file.id, directory=folder)


def test_uploads_live_outside_the_web_root(app):
    with app.app_context():
        folder = attachments.upload_dir()
    assert folder.parent == __import__("pathlib").Path(app.instance_path)
    assert app.static_folder not in str(folder)
