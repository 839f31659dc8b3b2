"""Where messages go, as the office and the administrator set it: the group robots
(``NotificationChannel`` rows, with a test message to check one) and each user's e-mail address.
"""

from __future__ import annotations

from sqlmodel import Session

from tracker.config import Settings
from tracker.errors import NotFound, NotPermitted, ValidationFailed
from tracker.models import Department, NotificationChannel, Role, User
from tracker.rules.text import one_line
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.notify.channels import FLAVOURS, DeliveryFailed, post_webhook, webhook_payload
from tracker.services.notify.messages import resolve_settings


def _admin(actor: Actor) -> None:
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise NotPermitted("仅督查室或系统管理员可以维护群机器人")


def _channel_fields(session: Session, name: str, flavour: str, url: str, department_id: int | None) -> dict:
    name, url = one_line(name or ""), (url or "").strip()
    fields: dict[str, str] = {}
    if not name:
        fields["name"] = "名称不能为空"
    elif len(name) > 60:
        fields["name"] = "名称不能超过 60 个字"
    if flavour not in FLAVOURS:
        fields["flavour"] = "请选择机器人类型（企业微信或钉钉）"
    if not url.startswith(("http://", "https://")):
        fields["url"] = "Webhook 地址应以 http:// 或 https:// 开头"
    elif len(url) > 500 or any(c.isspace() for c in url):
        fields["url"] = "Webhook 地址过长或含空格"
    if department_id is not None and session.get(Department, department_id) is None:
        fields["department_id"] = "单位不存在"
    if fields:
        raise ValidationFailed("群机器人信息有误：" + "；".join(fields.values()), fields=fields)
    return {"name": name, "flavour": flavour, "url": url, "department_id": department_id}


def create_channel(
    session: Session, actor: Actor, *, name: str, flavour: str, url: str, department_id: int | None
) -> NotificationChannel:
    _admin(actor)
    data = _channel_fields(session, name, flavour, url, department_id)
    ch = NotificationChannel(kind="webhook", **data)
    session.add(ch)
    session.flush()
    audit.record(session, actor, "create_channel", entity="notificationchannel", entity_id=ch.id, after=data)
    return ch


def update_channel(
    session: Session, actor: Actor, channel_id: int, *, name: str, flavour: str, url: str, department_id: int | None
) -> NotificationChannel:
    _admin(actor)
    ch = get_channel(session, channel_id)
    data = _channel_fields(session, name, flavour, url, department_id)
    before = {k: getattr(ch, k) for k in data}
    for k, v in data.items():
        setattr(ch, k, v)
    session.add(ch)
    audit.record(
        session, actor, "update_channel", entity="notificationchannel", entity_id=ch.id, before=before, after=data
    )
    session.flush()
    return ch


def set_channel_active(session: Session, actor: Actor, channel_id: int, active: bool) -> NotificationChannel:
    _admin(actor)
    ch = get_channel(session, channel_id)
    if ch.active != active:
        audit.record(
            session,
            actor,
            "enable_channel" if active else "disable_channel",
            entity="notificationchannel",
            entity_id=ch.id,
            before={"active": ch.active},
            after={"active": active},
        )
        ch.active = active
        session.add(ch)
        session.flush()
    return ch


def send_test_message(session: Session, actor: Actor, channel_id: int, *, settings: Settings | None = None) -> None:
    """Post a test message to a robot at once, so whoever enters the URL sees that it works.

    Raises ValidationFailed with the robot's answer (bad key, keyword missing, unreachable)."""
    _admin(actor)
    settings = resolve_settings(settings)
    ch = get_channel(session, channel_id)
    title = "督查督办平台测试消息"
    text = f"### {title}\n群机器人“{ch.name}”已接入，每个工作日将在此推送督办每日提醒。"
    try:
        post_webhook(ch.url, webhook_payload(ch.flavour, title, text), settings.webhook_timeout)
    except DeliveryFailed as exc:
        raise ValidationFailed(f"测试消息发送失败：{exc.reason}", fields={"url": exc.reason}) from exc
    audit.record(session, actor, "test_channel", entity="notificationchannel", entity_id=ch.id)


def get_channel(session: Session, channel_id: int) -> NotificationChannel:
    ch = session.get(NotificationChannel, channel_id)
    if ch is None:
        raise NotFound("群机器人不存在")
    return ch


def set_user_email(session: Session, actor: Actor, user_id: int, email: str) -> User:
    """The administrator sets (or clears) the address a user's digests are e-mailed to."""
    if actor.role != Role.ADMIN:
        raise NotPermitted("仅系统管理员可以修改用户邮箱")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    email = (email or "").strip()
    if email:
        local, at, domain = email.partition("@")
        if (
            not at
            or not local
            or "." not in domain.strip(".")
            or any(c.isspace() or c in '<>,;"' for c in email)
            or len(email) > 120
        ):
            raise ValidationFailed(f"电子邮箱格式不正确：{email}", fields={"email": "电子邮箱格式不正确"})
    if email != user.email:
        audit.record(
            session,
            actor,
            "set_email",
            entity="user",
            entity_id=user.id,
            before={"email": user.email},
            after={"email": email},
        )
        user.email = email
        session.add(user)
        session.flush()
    return user
