"""One place that turns errors into responses: JSON for API callers, HTML for people."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

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
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        return jsonify({"error": code, "message": message, "fields": fields or {}}), status
    return render_template("error.html", status=status, message=message, fields=fields or {}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.http_status, exc.code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        return error_response(status, f"http_{status}", HTTP_MESSAGES.get(status, exc.name))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "server_error", HTTP_MESSAGES[500])
