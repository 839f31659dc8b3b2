"""Backup and restore for real: SQLite through the online backup API, PostgreSQL through
pg_dump -Fc / pg_restore; the restore goes into an EMPTY database (on PostgreSQL a scratch
database "<test db>_restore", created and dropped here) and must hold every task, report,
attachment file and audit event of the original."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.datastructures import FileStorage

from tests import factories as f
from tracker import create_app, ops
from tracker.config import Settings
from tracker.db import make_engine
from tracker.models import Attachment, AuditEvent, ProgressReport, Task
from tracker.services.tasks import attachments

PDF = b"%PDF-1.4\n% backup test\n%%EOF\n"


@pytest.fixture
def seeded(app, session):
    d = f.district(session)
    tasks = [
        f.task_in(session, d, status, title=f"备份事项{i}")
        for i, status in enumerate(("in_progress", "closed", "draft", "pending_review"))
    ]
    with app.app_context():
        att = attachments.store(
            session, d.lead_clerk, tasks[0].id, None, FileStorage(io.BytesIO(PDF), filename="批复.pdf")
        )
    session.commit()
    return {"tasks": tasks, "attachment": att}


def _snapshot(engine: sa.Engine) -> dict:
    with Session(engine) as s:
        return {
            "tasks": sorted((t.id, t.code, t.title, t.status) for t in s.exec(select(Task))),
            "reports": sorted((r.id, r.task_id, r.text) for r in s.exec(select(ProgressReport))),
            "attachments": sorted((a.id, a.stored_name, a.size) for a in s.exec(select(Attachment))),
            "audit": sorted((e.id, e.action, e.entity, e.entity_id) for e in s.exec(select(AuditEvent))),
        }


@pytest.fixture
def empty_target(db, tmp_path):
    """An empty database of the same kind as the test database."""
    if db.dialect.name == "sqlite":
        target = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
        yield target
        target.dispose()
        return
    name = f"{db.url.database}_restore"
    admin = sa.create_engine(db.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    target = make_engine(db.url.set(database=name).render_as_string(hide_password=False))
    yield target
    target.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_then_restore_into_an_empty_database(app, db, seeded, empty_target, tmp_path):
    archive = tmp_path / "backup" / "duban.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "事项 4 件" in result.output and "附件 1 个（文件 1 个）" in result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    db_member = "database.sqlite3" if db.dialect.name == "sqlite" else "database.dump"
    stored = seeded["attachment"].stored_name
    assert sorted(names) == sorted(["manifest.json", db_member, f"uploads/{stored}"])

    before = _snapshot(db)
    assert len(before["tasks"]) == 4 and before["reports"] and before["audit"]

    restored_instance = tmp_path / "restored-instance"
    settings = Settings(
        env="testing",
        database_url=empty_target.url.render_as_string(hide_password=False),
        instance_path=restored_instance,
        secret_key="x",
    )
    other = create_app(settings, engine=empty_target)
    result = other.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "事项 4 件" in result.output

    assert _snapshot(empty_target) == before
    restored_file = restored_instance / "uploads" / stored
    assert restored_file.read_bytes() == PDF
    # The restored installation passes its own check (schema at head, uploads writable).
    check = other.test_cli_runner().invoke(args=["check"])
    assert check.exit_code == 0, check.output

    # A second restore on top of the now non-empty database is refused, nothing touched.
    again = other.test_cli_runner().invoke(args=["restore", str(archive)])
    assert again.exit_code == 1 and "目标数据库不是空库" in again.output
    assert _snapshot(empty_target) == before


def test_backup_refuses_to_overwrite_and_leaves_no_partial_file(app, seeded, tmp_path):
    archive = tmp_path / "exists.tar.gz"
    archive.write_bytes(b"old")
    result = app.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 1 and "备份文件已存在" in result.output
    assert archive.read_bytes() == b"old"


def test_restore_refuses_a_foreign_archive(app, tmp_path, empty_target):
    bogus = tmp_path / "bogus.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        data = b"hello"
        info = tarfile.TarInfo("../../etc/evil")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ops.OpsError, match="备份文件无法读取|不是本系统的备份"):
        ops.restore(empty_target, tmp_path / "uploads", bogus)
    assert not (tmp_path.parent.parent / "etc" / "evil").exists()
    assert not Path("/etc/evil").exists()


def test_the_database_password_never_reaches_the_command_line():
    """pg_dump's argv is visible in ps to every local user: the password goes in PGPASSWORD."""
    from tracker.ops import _libpq_url, _pg_env

    engine = sa.create_engine("postgresql+psycopg://duban:s3cr%40t@127.0.0.1:5432/duban?sslmode=require")
    assert _libpq_url(engine) == "postgresql://duban@127.0.0.1:5432/duban?sslmode=require"
    assert _pg_env(engine)["PGPASSWORD"] == "s3cr@t"
    engine.dispose()
