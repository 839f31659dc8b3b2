"""A full disk or an unusable upload folder: a clear Chinese error and no half-written report."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, post
from tracker.models import Attachment, AuditEvent, ProgressReport, User

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def scene(app, session):
    d = f.district(session)
    task = f.task_in(session, d, "acknowledged")
    session.commit()
    client = app.test_client()
    login(client, session.get(User, d.lead_clerk.user_id).username)
    return client, task


def _counts(session) -> tuple[int, int, int]:
    session.expire_all()
    return tuple(
        session.scalar(select(sa.func.count()).select_from(m)) for m in (ProgressReport, Attachment, AuditEvent)
    )


def _report(client, task):
    return post(
        client,
        f"/tasks/{task.id}/report",
        {"text": "已完成可研批复", "percent": "50", "files": (io.BytesIO(PDF), "批复.pdf")},
        token_from=f"/tasks/{task.id}",
        content_type="multipart/form-data",
    )


def test_read_only_upload_folder(app, session, scene):
    client, task = scene
    uploads = Path(app.instance_path) / "uploads"
    uploads.parent.mkdir(parents=True, exist_ok=True)
    uploads.write_text("a file where the folder should be")  # root ignores chmod: this fails for everyone
    before = _counts(session)
    resp = _report(client, task)
    html = resp.get_data(as_text=True)
    assert resp.status_code in (400, 422) and "无法保存：服务器附件目录不可写或磁盘已满" in html
    assert _counts(session) == before


def test_full_disk(app, session, scene, monkeypatch):
    client, task = scene
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, fd):
            self.fd = fd

        def writable(self):
            return True

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self):
            os.close(self.fd)
            super().close()

    monkeypatch.setattr(
        os, "fdopen", lambda fd, *a, **kw: FullDisk(fd) if a and "w" in a[0] else real_fdopen(fd, *a, **kw)
    )
    before = _counts(session)
    resp = _report(client, task)
    assert resp.status_code in (400, 422)
    assert "磁盘已满" in resp.get_data(as_text=True) and os.strerror(errno.ENOSPC) in resp.get_data(as_text=True)
    assert _counts(session) == before
    uploads = Path(app.instance_path) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []  # no half-written file left behind
