from datetime import date

import pytest

from tracker import clock, create_app
from tracker.config import ConfigError, load_settings


def test_defaults_use_sqlite_in_instance_folder(tmp_path):
    s = load_settings({"TRACKER_INSTANCE_PATH": str(tmp_path)})
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'tracker.db'}"


def test_today_override_reaches_the_clock(tmp_path):
    app = create_app({"TRACKER_INSTANCE_PATH": str(tmp_path), "TRACKER_TODAY": "2026-10-10"})
    try:
        assert clock.today() == date(2026, 10, 10)
        assert app.config["TRACKER"].today == date(2026, 10, 10)
    finally:
        clock.set_today(date(2026, 11, 23))


@pytest.mark.parametrize(
    "env, message",
    [
        ({"TRACKER_TODAY": "明天"}, "TRACKER_TODAY 不是有效日期"),
        ({"TRACKER_ENV": "production"}, "必须设置 TRACKER_SECRET_KEY"),
        ({"TRACKER_DUE_SOON_WORKDAYS": "三"}, "不是整数"),
    ],
)
def test_bad_settings_are_refused_in_chinese(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_home_and_healthz(client, session):
    from tests import factories as f
    from tests.webutil import login
    from tracker.models import Role

    f.user(session, Role.SUPERVISOR, username="office", password="office-pass-1")
    session.commit()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    login(client, "office", "office-pass-1")
    page = client.get("/")
    assert page.status_code == 200 and "在办事项" in page.get_data(as_text=True)
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["message"] == "页面或数据不存在"
