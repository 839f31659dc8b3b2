"""One typed settings object, read once from TRACKER_* environment variables.

Nothing else in the code base reads ``os.environ``: tests and the CLI pass a
``Settings`` (or a mapping of overrides) to ``create_app``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Mapping

DEV_SECRET = "dev-only-insecure-secret"


class ConfigError(ValueError):
    """A setting has a value the app cannot run with."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | testing | production
    database_url: str = ""  # empty: SQLite file in the instance folder
    secret_key: str = DEV_SECRET
    today: date | None = None  # freezes "today" for demos and tests
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    due_soon_workdays: int = 3  # yellow light window
    reassign_window_workdays: int = 2  # a department may ask for 改派 within this many days
    demo: bool = False
    # Notifications: links in digests are absolute; e-mail goes out only when smtp_host is set.
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "duban@localhost"
    smtp_tls: str = "none"  # none | starttls | ssl
    smtp_timeout: int = 10  # seconds, also for webhook posts
    webhook_timeout: int = 10
    log_format: str = "json"  # one line per request on stdout: json | text | off
    trusted_proxies: int = 0  # reverse proxies in front (nginx: 1); their X-Forwarded-For/-Proto are believed
    # A login session ends after this long without a request, and this long after it began.
    session_idle_minutes: int = 120
    session_lifetime_hours: int = 12
    # Words of this district (its name, in characters and pinyin) that a password may not lean on.
    district_words: tuple[str, ...] = ()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'tracker.db'}"

    def validate(self) -> "Settings":
        if self.env not in {"development", "testing", "production"}:
            raise ConfigError(f"TRACKER_ENV 取值无效：{self.env}")
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ConfigError("生产环境必须设置 TRACKER_SECRET_KEY，不能使用默认密钥")
        if self.due_soon_workdays < 0 or self.reassign_window_workdays < 0:
            raise ConfigError("工作日天数配置不能为负数")
        if self.smtp_tls not in {"none", "starttls", "ssl"}:
            raise ConfigError(f"TRACKER_SMTP_TLS 取值无效：{self.smtp_tls}（应为 none、starttls 或 ssl）")
        if self.log_format not in {"json", "text", "off"}:
            raise ConfigError(f"TRACKER_LOG_FORMAT 取值无效：{self.log_format}（应为 json、text 或 off）")
        if self.session_idle_minutes < 1 or self.session_lifetime_hours < 1:
            raise ConfigError(
                "会话空闲超时和最长有效期必须为正数（TRACKER_SESSION_IDLE_MINUTES、TRACKER_SESSION_LIFETIME_HOURS）"
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"TRACKER_BASE_URL 应以 http:// 或 https:// 开头：{self.base_url}")
        return self

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes).validate()


def _parse_date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} 不是有效日期（应为 YYYY-MM-DD）：{raw}") from exc


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} 不是整数：{raw}") from exc


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment (or the given mapping)."""
    env = os.environ if environ is None else environ
    kwargs: dict = {}
    if "TRACKER_ENV" in env:
        kwargs["env"] = env["TRACKER_ENV"]
    if env.get("TRACKER_DATABASE_URL"):
        kwargs["database_url"] = env["TRACKER_DATABASE_URL"]
    if env.get("TRACKER_SECRET_KEY"):
        kwargs["secret_key"] = env["TRACKER_SECRET_KEY"]
    if env.get("TRACKER_TODAY"):
        kwargs["today"] = _parse_date("TRACKER_TODAY", env["TRACKER_TODAY"])
    if env.get("TRACKER_INSTANCE_PATH"):
        kwargs["instance_path"] = Path(env["TRACKER_INSTANCE_PATH"])
    if env.get("TRACKER_DUE_SOON_WORKDAYS"):
        kwargs["due_soon_workdays"] = _parse_int("TRACKER_DUE_SOON_WORKDAYS", env["TRACKER_DUE_SOON_WORKDAYS"])
    if env.get("TRACKER_REASSIGN_WINDOW_WORKDAYS"):
        kwargs["reassign_window_workdays"] = _parse_int(
            "TRACKER_REASSIGN_WINDOW_WORKDAYS", env["TRACKER_REASSIGN_WINDOW_WORKDAYS"]
        )
    for name, attr in (
        ("TRACKER_BASE_URL", "base_url"),
        ("TRACKER_SMTP_HOST", "smtp_host"),
        ("TRACKER_SMTP_USER", "smtp_user"),
        ("TRACKER_SMTP_PASSWORD", "smtp_password"),
        ("TRACKER_SMTP_FROM", "smtp_from"),
        ("TRACKER_SMTP_TLS", "smtp_tls"),
    ):
        if env.get(name):
            kwargs[attr] = env[name].rstrip("/") if attr == "base_url" else env[name]
    for name, attr in (
        ("TRACKER_SMTP_PORT", "smtp_port"),
        ("TRACKER_SMTP_TIMEOUT", "smtp_timeout"),
        ("TRACKER_WEBHOOK_TIMEOUT", "webhook_timeout"),
        ("TRACKER_SESSION_IDLE_MINUTES", "session_idle_minutes"),
        ("TRACKER_SESSION_LIFETIME_HOURS", "session_lifetime_hours"),
    ):
        if env.get(name):
            kwargs[attr] = _parse_int(name, env[name])
    if env.get("TRACKER_TRUSTED_PROXIES"):
        kwargs["trusted_proxies"] = _parse_int("TRACKER_TRUSTED_PROXIES", env["TRACKER_TRUSTED_PROXIES"])
    if env.get("TRACKER_DISTRICT_WORDS"):
        kwargs["district_words"] = tuple(w.strip() for w in env["TRACKER_DISTRICT_WORDS"].split(",") if w.strip())
    if env.get("TRACKER_LOG_FORMAT"):
        kwargs["log_format"] = env["TRACKER_LOG_FORMAT"].lower()
    if env.get("TRACKER_DEMO"):
        kwargs["demo"] = env["TRACKER_DEMO"].lower() in {"1", "true", "yes"}
    return Settings(**kwargs).validate()
