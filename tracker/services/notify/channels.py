"""Delivery transports: e-mail over SMTP and group-robot webhooks (企业微信 / 钉钉).

Only the wire formats and the sending live here; which message goes where is
decided in ``notify.py`` and ``digest.py``, the retry schedule in ``notify/queue.py``.
Every failure is raised as ``DeliveryFailed`` with a short Chinese reason that the
office sees on the deliveries page, so nothing here decides whether to retry.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from tracker.config import Settings

# 企业微信 refuses markdown content over 4096 bytes, 钉钉 over 20000: cut on a character boundary.
CONTENT_LIMITS = {"wecom": 4000, "dingtalk": 19000, "generic": 60000}
FLAVOURS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "generic": "通用 JSON"}


class DeliveryFailed(Exception):
    """A send did not go through; ``reason`` is shown to the office."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:2000]


def smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def build_email(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    # TRACKER_SMTP_FROM may carry a display name: "督查督办平台 <duban@district.local>"
    msg["Message-ID"] = make_msgid(domain=parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost")
    msg.set_content(body, charset="utf-8")
    return msg


def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    if not smtp_configured(settings):
        raise DeliveryFailed("未配置 SMTP 服务器（TRACKER_SMTP_HOST）")
    msg = build_email(settings, to, subject, body)
    try:
        if settings.smtp_tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        with smtp:
            if settings.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"收件人被拒绝：{to}（{_smtp_reason(exc)}）") from exc
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(f"SMTP 发送失败：{_smtp_reason(exc)}") from exc
    except OSError as exc:  # refused connection, timeout, TLS failure
        raise DeliveryFailed(f"无法连接 SMTP 服务器 {settings.smtp_host}:{settings.smtp_port}：{exc}") from exc
    if refused:
        raise DeliveryFailed(f"收件人被拒绝：{', '.join(refused)}")


def _smtp_reason(exc: Exception) -> str:
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip() if code else str(exc)


def _cut(text: str, limit_bytes: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit_bytes:
        return text
    return raw[: limit_bytes - 20].decode("utf-8", "ignore") + "\n\n……（内容过长，已截断）"


def webhook_payload(flavour: str, title: str, markdown: str) -> dict:
    """The JSON each robot accepts: 企业微信 {"msgtype":"markdown","markdown":{"content"}},
    钉钉 {"msgtype":"markdown","markdown":{"title","text"}}; anything else a plain object."""
    text = _cut(markdown, CONTENT_LIMITS.get(flavour, CONTENT_LIMITS["generic"]))
    if flavour == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    if flavour == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title[:60], "text": text}}
    return {"title": title, "text": text}


def post_webhook(url: str, payload: dict, timeout: int) -> None:
    """POST the JSON; a robot answering ``errcode`` ≠ 0 (bad key, rate limit) counts as failed."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryFailed(f"Webhook 地址无效：{url}")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http/https checked above)  # nosec B310
            raw = resp.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"Webhook 返回 HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"无法连接 Webhook：{getattr(exc, 'reason', exc)}") from exc
    try:
        answer = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode", 0) not in (0, "0"):
        raise DeliveryFailed(f"机器人返回错误 errcode={answer.get('errcode')}：{answer.get('errmsg', '')}")
