"""HTML pages. Thin views: parse, call one service, render."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from jinja2 import FileSystemBytecodeCache

from tracker.models import ROLE_LABELS, Role
from tracker.web.auth import init_auth
from tracker.web.errors import register_error_handlers
from tracker.web.home import bp as home_bp
from tracker.web.nav import fixed_url, id_url, nav_items
from tracker.web.security import init_security
from tracker.web.widgets import select_options
from tracker.rules.overdue import light_label


def init_web(app: Flask) -> None:
    app.json.ensure_ascii = False
    _keep_compiled_templates(app)
    register_error_handlers(app)
    from tracker.web.requestlog import init_request_log  # H8: JSON request log on stdout

    init_request_log(app)
    init_security(app)
    init_auth(app)
    app.register_blueprint(home_bp)
    from tracker.api import bp as api_bp
    from tracker.web import admin, department, leader, office, tasks

    for module in (office, tasks, department, leader, admin):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_bp)
    from tracker.web import imports as imports_web  # H1: the ledger web importer

    app.register_blueprint(imports_web.bp)
    from tracker.web.notifications import init_notifications  # H2: inbox, deliveries, group robots

    init_notifications(app)
    from tracker.web import schedule as schedule_web  # H4: weekly schedule, agenda, cascade

    app.register_blueprint(schedule_web.bp)
    from tracker.web import bulletins as bulletins_web  # H5: bulletins (通报) and scoring weights

    app.register_blueprint(bulletins_web.bp)
    from tracker.web import jobs as jobs_web  # H3: job runs and reminder rules

    app.register_blueprint(jobs_web.bp)
    from tracker.web import motions as motions_web  # H7: 人大建议/政协提案

    app.register_blueprint(motions_web.bp)
    app.jinja_env.globals.update(nav_items=nav_items, fixed_url=fixed_url, id_url=id_url, select_options=select_options,
                                 role_label=lambda r: ROLE_LABELS[Role(r)], light_label=light_label)


def _keep_compiled_templates(app: Flask) -> None:
    """Keep Jinja's compiled templates in the instance folder, shared by the workers and restarts.

    Compiling the 57 templates took a worker 0.54 s of CPU, paid by its first pages after every
    start and every recycling (gunicorn max_requests); loading them compiled takes 16 ms. Jinja
    writes each file atomically and recompiles when a template's source changes. The folder is the
    service user's own (mode 0700): a file in it is code the app runs."""
    folder = Path(app.instance_path) / "cache" / "jinja"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:  # a read-only instance folder: compile in memory, as before
        logging.getLogger(__name__).warning("no template cache in %s: %s", folder, exc)
        return
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(folder))


def warm_up(app: Flask) -> None:
    """Do before the worker takes requests what its first requests would otherwise pay for:
    the templates, and Dash's own set-up (its layout built and validated, its script tags; 0.4 s
    of CPU at the first request of each worker, py-spy), which falls in the seconds after a
    start when every user comes back at once."""
    warm_templates(app)
    board = app.extensions.get("dash")
    setup = getattr(board, "_setup_server", None)  # Dash's first-request hook (a private name)
    if setup is not None:
        with app.test_request_context("/dashboard/"):
            setup()


def warm_templates(app: Flask) -> int:
    """Load every page template before the worker takes requests (gunicorn ``post_worker_init``):
    the users arriving first after a restart no longer wait for the compiling. Returns how many."""
    names = [name for name in app.jinja_env.list_templates() if name.endswith(".html")]
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)
