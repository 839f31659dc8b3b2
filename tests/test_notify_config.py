"""The notification settings (TRACKER_BASE_URL, TRACKER_SMTP_*, timeouts), read once in config.py."""

import pytest

from tracker.config import ConfigError, load_settings


def test_notification_settings_are_read_from_the_environment():
    s = load_settings(
        {
            "TRACKER_BASE_URL": "https://duban.example-district.local/",
            "TRACKER_SMTP_HOST": "127.0.0.1",
            "TRACKER_SMTP_PORT": "587",
            "TRACKER_SMTP_USER": "duban",
            "TRACKER_SMTP_PASSWORD": "s3cret",
            "TRACKER_SMTP_FROM": "duban@district.local",
            "TRACKER_SMTP_TLS": "starttls",
            "TRACKER_SMTP_TIMEOUT": "5",
            "TRACKER_WEBHOOK_TIMEOUT": "3",
        }
    )
    assert s.base_url == "https://duban.example-district.local"  # no trailing slash: links append paths
    assert (s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password) == ("127.0.0.1", 587, "duban", "s3cret")
    assert (s.smtp_from, s.smtp_tls, s.smtp_timeout, s.webhook_timeout) == ("duban@district.local", "starttls", 5, 3)


def test_defaults_send_no_email():
    s = load_settings({})
    assert s.smtp_host == "" and s.smtp_tls == "none" and s.base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"TRACKER_SMTP_TLS": "tls"}, "TRACKER_SMTP_TLS 取值无效：tls"),
        ({"TRACKER_SMTP_PORT": "二十五"}, "TRACKER_SMTP_PORT 不是整数"),
        ({"TRACKER_BASE_URL": "duban.local"}, "TRACKER_BASE_URL 应以 http:// 或 https:// 开头"),
    ],
)
def test_bad_notification_settings_are_refused_in_chinese(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)
