"""One place that turns errors into responses: JSON for API callers, HTML for people."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from tracker import db
from tracker.errors import DomainError

HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "您无权访问该页面",
    404: "页面或数据不存在",
    405: "不支持该请求方式",
    413: "上传的文件过大",
    429: "操作过于频繁，请稍后再试",
    500: "系统内部错误，请稍后再试或联系管理员",
    503: "数据库暂时无法连接，请稍后再试",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        return jsonify({"error": code, "message": message, "fields": fields or {}}), status
    try:
        return render_template("error.html", status=status, message=message, fields=fields or {}), status
    except (OperationalError, InterfaceError):  # the page's header needs the database, which is gone
        return database_unavailable_page(), 503


def database_unavailable_page():
    """A 503 page that asks nothing of the database (base.html would look up the logged-in user)."""
    g._login_user = current_app.login_manager.anonymous_user()
    resp = make_response(render_template("db_unavailable.html", message=HTTP_MESSAGES[503]), 503)
    resp.headers["Retry-After"] = "5"
    return resp


_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk I/O error")


def _busy_or_gone(exc: Exception) -> bool:
    """Whether the database is locked or cannot be reached, rather than our statement being wrong.

    PostgreSQL's driver raises OperationalError only for the server and the connection (shutting
    down, restarting, refusing, out of connections; a bad statement is a ProgrammingError), so it is
    always "unavailable", even when the server is back by the time we look. SQLite also calls a bad
    statement an OperationalError: there a fresh connection decides what the message does not."""
    if isinstance(exc, InterfaceError) or getattr(exc, "connection_invalidated", False):
        return True
    if type(getattr(exc, "orig", None)).__module__.startswith("psycopg"):
        return True
    if any(text in str(exc) for text in _SQLITE_UNAVAILABLE):
        return True
    try:
        with db.engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to connect means unavailable
        return True
    return False


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.http_status, exc.code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        return error_response(status, f"http_{status}", HTTP_MESSAGES.get(status, exc.name))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(exc):
        # The database restarting or unreachable: a clean, retryable 503 instead of a traceback. The
        # pool replaces dead connections on checkout (tracker/db.py), so the app recovers by itself.
        # SQLite also calls a bad statement ("no such table") an OperationalError: that is our bug, a 500.
        if not _busy_or_gone(exc):
            return _unexpected(exc)
        app.logger.warning("database unavailable: %s", str(exc).splitlines()[0][:200])
        if not wants_json():
            return database_unavailable_page()
        resp = make_response(error_response(503, "database_unavailable", HTTP_MESSAGES[503]))
        resp.headers["Retry-After"] = "5"
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "server_error", HTTP_MESSAGES[500])
