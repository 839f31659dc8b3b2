"""`flask --app wsgi check`: exit 0 when the installation can run, 1 and a Chinese list otherwise."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from tracker import create_app, ops
from tracker.config import Settings
from tracker.db import make_engine
from tracker.models import CalendarYear


def _settings(app, **kw) -> Settings:
    return app.config["TRACKER"].with_overrides(**kw)


def test_cli_passes_with_a_warning_for_next_year(app):
    """Today is 2026-11-23: the holiday package stops at 2026, so 2027 is a warning, not a failure."""
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "[通过] 数据库：可以连接" in result.output
    assert "[通过] 数据库结构：最新版本" in result.output
    assert "[通过] 节假日：2026 年已录入" in result.output
    assert "[警告] 节假日：2027 年的放假安排尚未录入" in result.output
    assert "检查完成：可以运行（1 条警告）" in result.output


def test_entering_next_year_clears_the_warning(app, session, restore_calendar):
    session.add(CalendarYear(year=2027, origin="office"))
    session.commit()
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0 and "[警告]" not in result.output, result.output
    assert "[通过] 节假日：2027 年已录入" in result.output


def test_unreachable_database(app, tmp_path):
    settings = Settings(
        env="testing",
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/nothing",
        instance_path=tmp_path / "x",
        secret_key="x",
    )
    broken = create_app(settings)
    result = broken.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "[错误] 数据库：无法连接 postgresql+psycopg://nobody@127.0.0.1:1/nothing" in result.output
    assert "检查未通过：1 个错误" in result.output


def test_migrations_behind(app, tmp_path):
    """A database nobody ran init-db on (or one a release behind)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('0000older')"))
    rep = ops.run_check(app.config["TRACKER"], engine, tmp_path / "uploads")
    assert not rep.ok
    assert len(rep.errors) == 1 and "未升级到最新版本（当前 0000older" in rep.errors[0]
    assert "init-db" in rep.errors[0]


def test_upload_folder_not_writable(app, db, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    rep = ops.run_check(app.config["TRACKER"], db, blocker / "uploads")
    assert not rep.ok and len(rep.errors) == 1
    assert rep.errors[0].startswith(f"附件目录：{blocker / 'uploads'} 不可写")


def test_smtp_unreachable_and_badly_configured(app, db, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = _settings(app, smtp_host="127.0.0.1", smtp_port=port, smtp_from="nobody", smtp_user="u")
    rep = ops.run_check(settings, db, tmp_path / "uploads")
    assert sorted(e.split("：")[0] for e in rep.errors) == ["邮件"] * 3
    text = "\n".join(rep.errors)
    assert "发件人地址 TRACKER_SMTP_FROM 无效（nobody）" in text
    assert "须同时设置" in text
    assert f"无法连接 SMTP 服务器 127.0.0.1:{port}" in text


def test_smtp_reachable(app, db, tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        settings = _settings(app, smtp_host="127.0.0.1", smtp_port=server.getsockname()[1])
        rep = ops.run_check(settings, db, tmp_path / "uploads")
    assert rep.ok, rep.errors
    assert any(p.startswith("邮件：可以连接 127.0.0.1") for p in rep.passed)


def test_bad_webhook_address(app, db, tmp_path):
    from tracker.models import NotificationChannel

    with Session(db) as s:
        s.add(NotificationChannel(name="坏机器人", flavour="wecom", url="ftp://127.0.0.1/hook"))
        s.commit()
    rep = ops.run_check(app.config["TRACKER"], db, tmp_path / "uploads")
    assert rep.errors == ["群机器人：以下机器人的地址不是 http(s) 地址：坏机器人"]


@pytest.mark.parametrize("secret", ["short-secret"])
def test_production_secret_and_https(app, db, tmp_path, secret):
    settings = _settings(app, env="production", secret_key=secret)
    rep = ops.run_check(settings, db, tmp_path / "uploads")
    assert any("TRACKER_SECRET_KEY 过短" in e for e in rep.errors)
    assert any("不是 https 地址" in w for w in rep.warnings)
