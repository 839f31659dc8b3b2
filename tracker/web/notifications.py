"""Notification pages: every user's inbox (消息), the office's delivery log, the group-robot
admin pages and the administrator's e-mail field. Thin views over ``services/notify.py`` (the
inbox), ``notify/queue.py`` (the log) and ``notify/settings.py`` (robots and addresses)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError
from tracker.http.login import current_actor
from tracker.http.params import page_number, to_int
from tracker.models import Department, NotificationChannel, Role
from tracker.services.notify import messages as notify
from tracker.services.notify import queue as delivery_queue
from tracker.services.notify import settings as notify_settings
from tracker.services.notify.channels import FLAVOURS
from tracker.web.access import roles_required

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 20


def _page_arg() -> int:
    return page_number(request.args.get("page"))


def _fmt_dt(value) -> str:
    return value.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.context_processor
def _labels():
    return {
        "KIND_LABELS": notify.KIND_LABELS,
        "STATUS_LABELS": notify.STATUS_LABELS,
        "CHANNEL_LABELS": notify.CHANNEL_LABELS,
        "FLAVOURS": FLAVOURS,
        "fmt_dt": _fmt_dt,
    }


# --- the inbox ---------------------------------------------------------------------------


@bp.get("/")
def inbox():
    session = get_session()
    page = _page_arg()
    rows, total = notify.inbox(session, current_actor().user_id, page=page, per_page=PER_PAGE)
    return render_template(
        "notifications/inbox.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PER_PAGE))
    )


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id: int):
    session = get_session()
    try:
        notify.mark_read(session, current_actor(), notification_id)
    except DomainError as exc:
        abort(exc.http_status)
    session.commit()
    return redirect(url_for(".inbox", page=request.form.get("page") or None))


@bp.post("/read-all")
def mark_all_read():
    session = get_session()
    n = notify.mark_read(session, current_actor())
    session.commit()
    flash(f"已将 {n} 条消息标为已读", "success")
    return redirect(url_for(".inbox"))


# --- the office's delivery log ------------------------------------------------------------


@bp.get("/deliveries")
@roles_required(Role.SUPERVISOR)
def deliveries():
    session = get_session()
    channels = {str(c.id): c.name for c in session.exec(select(NotificationChannel)).all()}
    return render_template(
        "notifications/deliveries.html",
        rows=delivery_queue.deliveries(session),
        counts=delivery_queue.delivery_counts(session),
        channels=channels,
    )


@bp.post("/deliveries/<int:delivery_id>/retry")
@roles_required(Role.SUPERVISOR)
def retry(delivery_id: int):
    session = get_session()
    try:
        delivery_queue.retry_delivery(session, current_actor(), delivery_id)
    except DomainError as exc:
        session.rollback()
        if exc.http_status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for(".deliveries"))
    session.commit()
    flash("已重新排队，将在下一轮发送", "success")
    return redirect(url_for(".deliveries"))


# --- group robots (企业微信 / 钉钉) -----------------------------------------------------------


def _departments():
    return (
        get_session()
        .exec(select(Department).where(Department.active).order_by(Department.sort_order, Department.id))
        .all()
    )


def _dep_id(raw) -> int | None:
    return to_int(raw)


@bp.get("/channels")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def channels():
    session = get_session()
    rows = session.exec(
        select(NotificationChannel).order_by(NotificationChannel.active.desc(), NotificationChannel.id)
    ).all()
    names = {d.id: d.name for d in session.exec(select(Department)).all()}
    return render_template("notifications/channels.html", rows=rows, names=names)


def _channel_form(channel: NotificationChannel | None):
    session = get_session()
    form, errors = request.form, {}
    if request.method == "GET":
        form = (
            {
                "name": channel.name,
                "flavour": channel.flavour,
                "url": channel.url,
                "department_id": channel.department_id or "",
            }
            if channel
            else {"flavour": "wecom"}
        )
    else:
        data = dict(
            name=form.get("name", ""),
            flavour=form.get("flavour", ""),
            url=form.get("url", ""),
            department_id=_dep_id(form.get("department_id")),
        )
        try:
            if channel is None:
                channel = notify_settings.create_channel(session, current_actor(), **data)
            else:
                notify_settings.update_channel(session, current_actor(), channel.id, **data)
        except DomainError as exc:
            session.rollback()
            errors = exc.fields or {"name": exc.message}
        else:
            session.commit()
            flash(f"已保存群机器人“{channel.name}”", "success")
            return redirect(url_for(".channels"))
    return render_template(
        "notifications/channel_form.html", channel=channel, form=form, errors=errors, departments=_departments()
    ), (422 if errors else 200)


@bp.route("/channels/new", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def channel_new():
    return _channel_form(None)


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def channel_edit(channel_id: int):
    session = get_session()
    ch = session.get(NotificationChannel, channel_id)
    if ch is None:
        abort(404)
    return _channel_form(ch)


@bp.post("/channels/<int:channel_id>/active")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def channel_active(channel_id: int):
    session = get_session()
    active = request.form.get("active") == "1"
    try:
        ch = notify_settings.set_channel_active(session, current_actor(), channel_id, active)
    except DomainError as exc:
        abort(exc.http_status)
    session.commit()
    flash(f"群机器人“{ch.name}”已{'启用' if active else '停用'}", "success")
    return redirect(url_for(".channels"))


@bp.post("/channels/<int:channel_id>/test")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def channel_test(channel_id: int):
    session = get_session()
    try:
        notify_settings.send_test_message(session, current_actor(), channel_id)
    except DomainError as exc:
        session.rollback()
        if exc.http_status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for(".channels"))
    session.commit()
    flash("测试消息已发送，请在群里查看", "success")
    return redirect(url_for(".channels"))


# --- the user's e-mail address (on the administrator's user form) ----------------------------


@bp.post("/users/<int:user_id>/email")
@roles_required(Role.ADMIN)
def user_email(user_id: int):
    session = get_session()
    try:
        user = notify_settings.set_user_email(session, current_actor(), user_id, request.form.get("email", ""))
    except DomainError as exc:
        session.rollback()
        if exc.http_status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("admin.user_edit", user_id=user_id)), 302
    session.commit()
    flash(f"已保存“{user.username}”的电子邮箱" if user.email else f"已清除“{user.username}”的电子邮箱", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


# --- registration ----------------------------------------------------------------------------


def unread_badge() -> int:
    """The navigation badge: one COUNT on an indexed column, 0 for anonymous visitors."""
    if not current_user.is_authenticated:
        return 0
    if getattr(current_user, "unread", None) is not None:
        return current_user.unread  # read with the user at the start of the request
    try:
        return notify.unread_count(get_session(), current_user.row.id)
    except sa.exc.SQLAlchemyError:  # the error page of a failed transaction must still render
        return 0
