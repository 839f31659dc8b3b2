"""Helpers for driving the pages with Flask's test client, CSRF tokens included."""

from __future__ import annotations

import re
from contextlib import contextmanager

import sqlalchemy as sa

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str = "Factory-pass-7"):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def post(client, url: str, data: dict | None = None, *, token_from: str | None = None, **kw):
    """POST a form the way a browser does: with the CSRF token of the page it came from."""
    page = client.get(token_from or url)
    body = dict(data or {})
    body.setdefault("csrf_token", csrf_from(page.get_data(as_text=True)))
    return client.post(url, data=body, **kw)


@contextmanager
def statements_on(engine: sa.Engine, what=None):
    """The SQL statements run on ``engine`` inside the block, whitespace folded and lower-cased;
    or ``what(dbapi_cursor, statement)`` of each, as the statement is about to run (after the
    engine's own listeners, tracker/db.py's BEGIN included)."""
    seen: list = []

    def listen(_conn, cursor, statement, *_a):
        seen.append(what(cursor, statement) if what else " ".join(statement.split()).lower())

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
