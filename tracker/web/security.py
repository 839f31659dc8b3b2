"""CSRF on every form and security headers on every response."""

from __future__ import annotations

from flask import Flask, g
from flask_wtf.csrf import CSRFError, CSRFProtect

from tracker.web.errors import error_response

csrf = CSRFProtect()

# Dash needs inline styles and its own script bundles; no inline scripts anywhere else.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def init_security(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # tied to the session instead
    csrf.init_app(app)

    @app.errorhandler(CSRFError)
    def _csrf_failed(exc):
        return error_response(400, "csrf_failed", "页面已过期或请求来源无法验证，请刷新页面后重试")

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if getattr(g, "token_auth", False):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
