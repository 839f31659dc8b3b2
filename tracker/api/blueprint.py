"""The API's blueprint and the CSRF rule for callers that come with the browser session.

Flask-WTF's automatic CSRF check reads form fields, which a JSON client does not
send, so the blueprint is exempt from it and instead asks session-authenticated
writes for an ``X-CSRFToken`` header; token callers carry no cookie a third-party
page could ride on, so they need none. The route modules register on ``bp``.
"""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_wtf.csrf import ValidationError, validate_csrf

from tracker.http import idempotency
from tracker.http.errors import error_response
from tracker.http.security import csrf

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)
csrf.exempt(bp)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
def _csrf_for_session_writes():
    # The app-wide login guard has run by now, so g.token_auth tells how the caller came in.
    if request.method in SAFE_METHODS or getattr(g, "token_auth", False):
        return None
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    try:
        validate_csrf(token)
    except ValidationError:
        return error_response(
            400, "csrf_failed", "使用登录会话调用接口时，修改操作须在请求头 X-CSRFToken 中附带有效的 CSRF 令牌"
        )
    return None


# After the CSRF check above: an ``Idempotency-Key`` sent again answers as the first time.
bp.before_request(idempotency.claim_header)
