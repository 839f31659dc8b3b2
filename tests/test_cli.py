import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from tracker.models import Role, User

ROOT = Path(__file__).resolve().parent.parent


def test_workdays_add_over_national_day(app):
    result = app.test_cli_runner().invoke(args=["workdays", "add", "2026-09-30", "5"])
    assert result.exit_code == 0 and result.stdout.strip() == "2026-10-13"
    assert "警告" not in result.stderr


def test_workdays_add_into_uncovered_year_warns(app):
    result = app.test_cli_runner().invoke(args=["workdays", "add", "2026-12-28", "5"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "2027-01-04"
    assert "2027 年的节假日安排尚未录入" in result.stderr and "临时" in result.stderr


def test_workdays_between(app):
    result = app.test_cli_runner().invoke(args=["workdays", "between", "2026-09-30", "2026-10-13"])
    assert result.exit_code == 0 and result.stdout.strip() == "5"


def test_bad_date_is_a_clear_error(app):
    result = app.test_cli_runner().invoke(args=["workdays", "add", "2026-13-01", "5"])
    assert result.exit_code != 0 and "不是有效日期" in result.output


def test_create_user_binds_department_by_alias(app, session):
    from tests import factories as f

    f.department(session, "区发展和改革委员会", aliases=["区发改委"])
    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-user", "fgw", "--role", "clerk", "--department", "区发改委", "--password", "secret-pass-1"]
    )
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.username == "fgw")).one()
    assert user.role == Role.CLERK and user.department_id is not None
    again = runner.invoke(
        args=["create-user", "x", "--role", "clerk", "--department", "不存在的局", "--password", "secret-pass-1"]
    )
    assert again.exit_code == 1 and "未找到单位" in again.output


def test_create_user_reads_names_like_every_import(app, session):
    """--department and --leader go through the one resolver: 县/区 spellings of a short
    name, and a leader written with the title (tracker.rules.names)."""
    from tests import factories as f

    dept = f.department(session, "区交通运输局", aliases=["交通局"])
    boss = f.leader(session, "吴海涛", title="常务副区长")
    session.commit()
    runner = app.test_cli_runner()
    clerk = runner.invoke(
        args=["create-user", "jtj", "--role", "clerk", "--department", "县交通局", "--password", "secret-pass-1"]
    )
    assert clerk.exit_code == 0, clerk.output
    lead = runner.invoke(
        args=["create-user", "wht", "--role", "leader", "--leader", "常务副区长吴海涛", "--password", "secret-pass-1"]
    )
    assert lead.exit_code == 0, lead.output
    users = {u.username: u for u in session.exec(select(User).where(User.username.in_(["jtj", "wht"])))}
    assert users["jtj"].department_id == dept.id and users["wht"].leader_id == boss.id
    nobody = runner.invoke(
        args=["create-user", "x", "--role", "leader", "--leader", "不存在", "--password", "secret-pass-1"]
    )
    assert nobody.exit_code == 1 and "未找到领导" in nobody.output


def test_check_migrations_reports_up_to_date(app):
    result = app.test_cli_runner().invoke(args=["check-migrations"])
    assert result.exit_code == 0 and "最新版本" in result.output


@pytest.mark.skipif(sys.platform != "linux", reason="runs the real flask executable")
def test_real_command_line_on_a_fresh_sqlite_instance(tmp_path):
    """The command exactly as the issue states it, in a fresh process and database."""
    env = {"TRACKER_INSTANCE_PATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    init = subprocess.run(flask + ["init-db"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    run = subprocess.run(
        flask + ["workdays", "add", "2026-12-28", "5"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip().startswith("2027-")
    assert "临时" in run.stderr
