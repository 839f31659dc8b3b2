"""Operations: the start-up check, backup and restore.

Kept apart from the business services: these functions touch the database
file, the dump tools and the upload folder, never the rules of the loop.
A backup is one ``.tar.gz`` holding ``manifest.json`` (format, database
kind, Alembic revision, row counts), the database (``database.sqlite3`` from
SQLite's online backup API, or ``database.dump`` from ``pg_dump -Fc``) and
every uploaded file under ``uploads/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess  # pg_dump/pg_restore with fixed argument lists, no shell  # nosec B404
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from tracker import clock, migrate
from tracker.config import DEV_SECRET, Settings
from tracker.models import CalendarYear, NotificationChannel

BACKUP_FORMAT = 1
# Tables whose row counts go into the manifest and are compared after a restore.
COUNTED = ("task", "progressreport", "attachment", "auditevent", "app_user", "department", "source")


class OpsError(RuntimeError):
    """An operation cannot go on; the message is for the operator, in Chinese."""


# --- the check ---------------------------------------------------------------------------


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def run_check(settings: Settings, engine: sa.Engine, upload_dir: Path) -> CheckReport:
    """Everything an operator must fix before (or after) starting the service.

    Errors stop the service from working (database, migrations, uploads, SMTP);
    warnings are things the office can fix while running: a year the holiday
    package does not cover is counted Monday–Friday and marked provisional until
    the office enters its holidays (系统管理 → 节假日), so it is a warning.
    """
    rep = CheckReport()
    if settings.env == "production":
        if settings.secret_key == DEV_SECRET or len(settings.secret_key) < 32:
            rep.errors.append("配置：生产环境的 TRACKER_SECRET_KEY 过短或为默认值（至少 32 个字符的随机串）")
        if settings.demo:
            rep.warnings.append("配置：生产环境开启了演示模式 TRACKER_DEMO，演示账号的密码不再强制修改")
        if not settings.base_url.startswith("https://"):
            rep.warnings.append(
                f"配置：TRACKER_BASE_URL 不是 https 地址（{settings.base_url}），邮件中的链接将以明文传输"
            )
    rep.passed.append(f"配置：环境 {settings.env}")

    reachable = False
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        reachable = True
        rep.passed.append(f"数据库：可以连接（{engine.dialect.name}）")
    except Exception as exc:  # any driver error: report it, never a traceback
        rep.errors.append(f"数据库：无法连接 {engine.url.render_as_string(hide_password=True)}（{_first_line(exc)}）")

    if reachable:
        current, head = migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            rep.errors.append(
                f"数据库结构：未升级到最新版本（当前 {current or '空库'}，最新 {head}），请运行 flask --app wsgi init-db"
            )
        else:
            rep.passed.append(f"数据库结构：最新版本 {head}")
            _check_calendar(engine, rep)

    _check_writable(upload_dir, rep)
    _check_smtp(settings, rep)
    if reachable and not rep.errors:
        _check_webhooks(engine, rep)
    return rep


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _check_calendar(engine: sa.Engine, rep: CheckReport) -> None:

    year = clock.today().year
    with engine.connect() as conn:
        known = set(conn.execute(sa.select(CalendarYear.year)).scalars())
    for y in (year, year + 1):
        if y in known:
            rep.passed.append(f"节假日：{y} 年已录入")
        else:
            rep.warnings.append(
                f"节假日：{y} 年的放假安排尚未录入，该年按周一至周五计算工作日并标注“暂定”；"
                "国务院通知发布后请在 系统管理 → 节假日 中录入并确认"
            )


def _check_writable(upload_dir: Path, rep: CheckReport) -> None:
    try:
        upload_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=upload_dir, prefix=".check-") as fh:
            fh.write(b"ok")
            fh.flush()
        rep.passed.append(f"附件目录：可写 {upload_dir}")
    except OSError as exc:
        rep.errors.append(f"附件目录：{upload_dir} 不可写（{exc.strerror or exc}），请检查权限与磁盘空间")
        return
    free = shutil.disk_usage(upload_dir).free
    if free < 1024**3:
        rep.warnings.append(f"附件目录：所在磁盘仅剩 {free // (1024 * 1024)} MB 可用空间")


def _check_smtp(settings: Settings, rep: CheckReport) -> None:
    if not settings.smtp_host:
        rep.passed.append("邮件：未配置 TRACKER_SMTP_HOST，不发送邮件")
        return
    if "@" not in settings.smtp_from:
        rep.errors.append(f"邮件：发件人地址 TRACKER_SMTP_FROM 无效（{settings.smtp_from}）")
    if bool(settings.smtp_user) != bool(settings.smtp_password):
        rep.errors.append("邮件：TRACKER_SMTP_USER 与 TRACKER_SMTP_PASSWORD 须同时设置")
    try:
        with socket.create_connection((settings.smtp_host, settings.smtp_port), timeout=min(settings.smtp_timeout, 5)):
            pass
        rep.passed.append(f"邮件：可以连接 {settings.smtp_host}:{settings.smtp_port}")
    except OSError as exc:
        rep.errors.append(
            f"邮件：无法连接 SMTP 服务器 {settings.smtp_host}:{settings.smtp_port}（{exc.strerror or exc}）"
        )


def _check_webhooks(engine: sa.Engine, rep: CheckReport) -> None:

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(NotificationChannel.name, NotificationChannel.url).where(NotificationChannel.active.is_(True))
        ).all()
    bad = [name for name, url in rows if not url.startswith(("http://", "https://"))]
    if bad:
        rep.errors.append("群机器人：以下机器人的地址不是 http(s) 地址：" + "、".join(bad))
    else:
        rep.passed.append(f"群机器人：{len(rows)} 个启用，地址格式正确")


# --- backup and restore -----------------------------------------------------------------


def _libpq_url(engine: sa.Engine) -> str:
    """pg_dump takes a libpq URI: the SQLAlchemy URL without the driver name, and without the
    password, which goes in PGPASSWORD (a command line is visible to every user in ``ps``)."""
    u = engine.url
    return sa.engine.URL.create(
        "postgresql", username=u.username, host=u.host, port=u.port, database=u.database, query=u.query
    ).render_as_string(hide_password=False)


def _pg_env(engine: sa.Engine) -> dict[str, str]:
    env = dict(os.environ)  # the child needs PATH, locale…; not a setting of the app
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    return env


def _sqlite_path(engine: sa.Engine) -> Path:
    db = engine.url.database
    if not db or db == ":memory:":
        raise OpsError("内存数据库无法备份")
    return Path(db)


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in COUNTED}


def backup(engine: sa.Engine, upload_dir: Path, out: Path) -> dict:
    """Write a consistent backup of the database and every upload to ``out`` (.tar.gz).

    Written to a temporary file next to ``out`` and renamed at the end, so a
    failed backup (full disk, dump error) never leaves a truncated archive
    under the expected name.
    """
    out = Path(out)
    if out.exists():
        raise OpsError(f"备份文件已存在：{out}（不会覆盖）")
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": BACKUP_FORMAT,
        "dialect": engine.dialect.name,
        "revision": migrate.current_revision(engine),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "counts": row_counts(engine),
    }
    files = sorted(p for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.is_dir() else []
    manifest["files"] = len(files)
    with tempfile.TemporaryDirectory(prefix="tracker-backup-") as tmp:
        tmp_dir = Path(tmp)
        if engine.dialect.name == "sqlite":
            db_name = "database.sqlite3"
            src = sqlite3.connect(_sqlite_path(engine))
            dst = sqlite3.connect(tmp_dir / db_name)
            try:
                src.backup(dst)  # the online backup API: consistent while the app keeps writing
            finally:
                dst.close()
                src.close()
        elif engine.dialect.name == "postgresql":
            db_name = "database.dump"
            _run(
                [
                    "pg_dump",
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    "-f",
                    str(tmp_dir / db_name),
                    "-d",
                    _libpq_url(engine),
                ],
                "pg_dump",
                _pg_env(engine),
            )
        else:
            raise OpsError(f"不支持备份 {engine.dialect.name} 数据库")
        manifest["database"] = db_name
        (tmp_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        partial = out.with_name(out.name + ".partial")
        try:
            with tarfile.open(partial, "w:gz") as tar:
                tar.add(tmp_dir / "manifest.json", "manifest.json")
                tar.add(tmp_dir / db_name, db_name)
                for path in files:
                    tar.add(path, "uploads/" + path.relative_to(upload_dir).as_posix())
            os.replace(partial, out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise OpsError(f"写入备份文件失败：{exc.strerror or exc}（{out}）") from exc
    return manifest


def _run(args: list[str], tool: str, env: dict[str, str]) -> None:
    if shutil.which(args[0]) is None:
        raise OpsError(f"找不到 {tool}：请安装与服务器版本一致的 PostgreSQL 客户端工具")
    proc = subprocess.run(args, capture_output=True, text=True, env=env)  # fixed argv, no shell  # nosec B603
    if proc.returncode != 0:
        raise OpsError(f"{tool} 失败：{proc.stderr.strip()[:500]}")


def _is_empty(engine: sa.Engine) -> bool:
    return not sa.inspect(engine).get_table_names()


def restore(engine: sa.Engine, upload_dir: Path, archive: Path) -> dict:
    """Restore a backup into an EMPTY database and upload folder; refuse anything else.

    Returns the manifest with ``restored_counts`` added; raises OpsError when the
    archive is not a backup of this kind of database, the target is not empty or
    the counts after restoring differ from the manifest.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise OpsError(f"找不到备份文件：{archive}")
    with tempfile.TemporaryDirectory(prefix="tracker-restore-") as tmp:
        tmp_dir = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp_dir, filter="data")  # no absolute paths, no "..", no devices
        except (tarfile.TarError, OSError) as exc:
            raise OpsError(f"备份文件无法读取：{archive}（{exc}）") from exc
        manifest_path = tmp_dir / "manifest.json"
        if not manifest_path.is_file():
            raise OpsError("备份文件中没有 manifest.json，不是本系统的备份")
        manifest = json.loads(manifest_path.read_text("utf-8"))
        if manifest.get("format") != BACKUP_FORMAT:
            raise OpsError(f"备份格式版本 {manifest.get('format')} 不受支持")
        if manifest.get("dialect") != engine.dialect.name:
            raise OpsError(f"这是 {manifest.get('dialect')} 数据库的备份，不能恢复到 {engine.dialect.name} 数据库")
        if not _is_empty(engine):
            raise OpsError("目标数据库不是空库：恢复只能写入新建的空数据库，以免覆盖现有数据")
        if upload_dir.is_dir() and any(upload_dir.iterdir()):
            raise OpsError(f"附件目录不是空目录：{upload_dir}")
        db_file = tmp_dir / manifest["database"]
        if engine.dialect.name == "sqlite":
            engine.dispose()
            src = sqlite3.connect(db_file)
            dst = sqlite3.connect(_sqlite_path(engine))
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        else:
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "-d",
                    _libpq_url(engine),
                    str(db_file),
                ],
                "pg_restore",
                _pg_env(engine),
            )
        uploads = tmp_dir / "uploads"
        if uploads.is_dir():
            upload_dir.mkdir(parents=True, exist_ok=True)
            for path in uploads.rglob("*"):
                if path.is_file():
                    target = upload_dir / path.relative_to(uploads)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
    engine.dispose()
    manifest["restored_counts"] = row_counts(engine)
    if manifest["restored_counts"] != manifest["counts"]:
        raise OpsError(f"恢复后的记录数与备份不一致：备份 {manifest['counts']}，恢复后 {manifest['restored_counts']}")
    return manifest
