"""The HTTP plumbing every front stands on: the HTML pages (``tracker.web``), the JSON API
(``tracker.api``) and the board (``dashboard``).

Who the caller is and the login guard (``login``), the trusted-browser cookie of login
throttling (``devices``), one error shape for JSON and HTML (``errors``), the input guard
(``guard``), CSRF and the security headers (``security``), the request log (``requestlog``),
reading numbers and dates from requests (``params``) and one change per submission
(``idempotency``). Nothing here imports a front; the fronts import this.
"""

from __future__ import annotations

from flask import Flask

from tracker.http.errors import register_error_handlers
from tracker.http.guard import init_guard
from tracker.http.idempotency import init_idempotency
from tracker.http.login import init_login
from tracker.http.requestlog import init_request_log
from tracker.http.security import init_security


def init_http(app: Flask) -> None:
    """Install the plumbing on ``app``, before any blueprint: the request log's hooks and the login
    guard run ahead of every blueprint's own ``before_request``."""
    app.json.ensure_ascii = False
    register_error_handlers(app)
    init_request_log(app)
    init_guard(app)  # before CSRF, the login guard and every view: nothing reads unchecked input
    init_security(app)
    init_login(app)
    init_idempotency(app)  # after the login guard: a submission's key belongs to its user
