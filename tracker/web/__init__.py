"""HTML pages. Thin views: parse, call one service, render."""

from __future__ import annotations

from flask import Flask

from tracker.web.errors import register_error_handlers
from tracker.web.home import bp as home_bp


def init_web(app: Flask) -> None:
    app.json.ensure_ascii = False
    register_error_handlers(app)
    app.register_blueprint(home_bp)
