"""HTML pages. Thin views: parse, call one service, render."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_login import current_user
from jinja2 import FileSystemBytecodeCache

from tracker.models import ROLE_LABELS, Role
from tracker.rules.overdue import light_label
from tracker.web import (
    account,
    admin,
    audit,
    auth,
    bulletins,
    department,
    home,
    imports,
    jobs,
    leader,
    motions,
    notifications,
    office,
    office_intake,  # noqa: F401  (its routes join the office blueprint)
    schedule,
    tasks,
)
from tracker.web.nav import fixed_url, id_url, nav_items
from tracker.web.widgets import due, select_options

# Every page blueprint, in the order the app factory registers them.
BLUEPRINTS = (
    auth.bp,
    account.bp,
    home.bp,
    office.bp,
    tasks.bp,
    department.bp,
    leader.bp,
    admin.bp,
    imports.bp,
    notifications.bp,
    schedule.bp,
    bulletins.bp,
    jobs.bp,
    motions.bp,
    audit.bp,
)


def init_web(app: Flask) -> None:
    """What the page templates share: compiled templates kept on disk, the navigation, the
    logged-in user (``me``). The blueprints are registered by the app factory."""
    _keep_compiled_templates(app)
    app.jinja_env.globals.update(
        nav_items=nav_items,
        fixed_url=fixed_url,
        id_url=id_url,
        select_options=select_options,
        due=due,
        role_label=lambda r: ROLE_LABELS[Role(r)],
        unread_badge=notifications.unread_badge,
        light_label=light_label,
    )

    @app.context_processor
    def _inject_user():
        if current_user.is_authenticated:
            return {"me": current_user.row}
        return {"me": None}


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
    the users arriving first after a restart do not wait for the compiling. Returns how many."""
    names = [name for name in app.jinja_env.list_templates() if name.endswith(".html")]
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)
