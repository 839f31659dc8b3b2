"""督办 — supervision and follow-up for district and county governments."""

from __future__ import annotations

from typing import Mapping

import sqlalchemy as sa
from flask import Flask

from tracker import clock
from tracker.config import Settings, load_settings
from tracker.services.accounts import passwords


def create_app(settings: Settings | Mapping[str, str] | None = None, *, engine: sa.Engine | None = None) -> Flask:
    """Build the app.

    ``settings`` may be a Settings, a mapping of TRACKER_* values, or None (the
    environment). ``engine`` lets tests share one engine across many apps.
    """
    if settings is None or not isinstance(settings, Settings):
        settings = load_settings(settings)
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TRACKER=settings,
        TESTING=settings.env == "testing",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        JSON_AS_ASCII=False,
    )
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    clock.set_today(settings.today)
    passwords.set_district_words(settings.district_words)

    # The layers are imported here rather than at the top: importing any tracker module runs this
    # package first, and what needs only the models (migrations, scripts, the importers) should not
    # load the pages, the API and Dash with them.
    from sqlmodel import SQLModel

    from dashboard import init_dashboard
    from tracker import api, db, http, web
    from tracker.cli import register_cli
    from tracker.shared_sql import prime_tables

    app.extensions["tracker_engine"] = engine or db.make_engine(settings.resolved_database_url)
    app.teardown_appcontext(db.close_session)
    http.init_http(app)
    web.init_web(app)
    for blueprint in web.BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(api.bp)
    init_dashboard(app)
    register_cli(app)
    prime_tables(SQLModel.metadata)  # before any request thread shares them (tracker/shared_sql.py)
    return app
