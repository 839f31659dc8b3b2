"""A repeated submission answers as the first did and changes nothing (``services/submissions``).

Pages: every form that creates something carries a one-time token (the Jinja global
``submission_token()``, a hidden field). The API: a caller may send an ``Idempotency-Key`` header
with any POST. Before the view runs, the key is claimed in the request's transaction; once the
view has committed, its answer (status, redirect, flashed messages, body) is stored. A repeat of
the key gets that answer again: the same redirect and message, the same JSON, with
``Idempotent-Replayed: true``. Without a token or key a request is handled as before.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets

import sqlalchemy as sa
from flask import Flask, Response, current_app, flash, g, make_response, request
from flask import session as user_session
from flask_login import current_user
from markupsafe import Markup
from sqlmodel import Session

from tracker.db import engine, get_session
from tracker.http.errors import error_response
from tracker.services import submissions

FIELD = "submission_token"
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what submission_token() writes
_KEY = re.compile(r"[\x21-\x7e]{1,%d}" % submissions.KEY_MAX)  # visible ASCII, as the HTTP draft asks
_BODY_KEPT = 1024 * 1024  # a larger answer is stored without its body (its status and redirect only)
_NOT_HASHED = {FIELD, "csrf_token"}


def submission_token() -> Markup:
    """The hidden field of a form's one-time token: a new one each time a form is drawn."""
    token = secrets.token_urlsafe(16)  # [A-Za-z0-9_-] only: nothing in it to escape
    return Markup(f'<input type="hidden" name="{FIELD}" value="{token}">')  # constant name, url-safe token  # nosec B704


def shown_once() -> None:
    """The answer holds a secret shown this once (an API token): it is not stored, and a repeat is
    told that the request was handled and its result cannot be shown again."""
    g.submission_shown_once = True


def _form_fingerprint() -> str:
    """The method, path and what the form sent (files by content): the same whatever the browser's
    multipart boundary or field order, different as soon as one value is."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    for name in sorted(k for k in request.form.keys() if k not in _NOT_HASHED):
        for value in request.form.getlist(name):
            digest.update(json.dumps([name, value], ensure_ascii=False).encode())
    for name in sorted(request.files.keys()):
        for upload in request.files.getlist(name):
            content = hashlib.sha256()
            while chunk := upload.stream.read(1 << 16):
                content.update(chunk)
            upload.stream.seek(0)
            digest.update(json.dumps([name, upload.filename, content.hexdigest()], ensure_ascii=False).encode())
    return digest.hexdigest()


def _json_fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:  # the same JSON sent again with its keys in another order is the same request
        raw = json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False).encode()
    except ValueError:
        pass
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + raw).hexdigest()


def _replay(found: submissions.Answer) -> Response:
    waiting = [tuple(f) for f in user_session.get("_flashes", [])]
    for category, message in found.flashes:
        if (category, message) not in waiting:  # the first answer's message, not yet shown: once is enough
            flash(message, category)
    resp = Response(found.body, status=found.status)
    if found.content_type:
        resp.headers["Content-Type"] = found.content_type
    if found.location:
        resp.headers["Location"] = found.location
    resp.headers[REPLAYED] = "true"
    return resp


def _claim(key: str, fingerprint: str):
    db_session = get_session()
    outcome = submissions.claim(db_session, current_user.id, key, fingerprint)
    if isinstance(outcome, submissions.Answer):
        return _replay(outcome)
    g.submission = outcome.id
    g.submission_flashes = len(user_session.get("_flashes", []))

    @sa.event.listens_for(db_session, "after_commit", once=True)
    def _saved(_s):  # the view's change, and the key with it, is committed: its answer is the first
        g.submission_saved = True

    return None


def _claim_form():
    """Before a page's POST (after the CSRF check and the login guard)."""
    if request.method != "POST" or request.blueprint == "api" or not current_user.is_authenticated:
        return None
    token = request.form.get(FIELD)
    if not token:
        return None
    if not _TOKEN.fullmatch(token):
        return error_response(400, "bad_submission_token", "表单的提交令牌无效，请刷新页面后重新提交")
    return _claim(token, _form_fingerprint())


def claim_header():
    """Before an API POST: the blueprint registers this after its own CSRF check."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not current_user.is_authenticated:
        return None
    if not _KEY.fullmatch(key):
        return error_response(
            400, "bad_idempotency_key", f"请求头 {HEADER} 应为 1–{submissions.KEY_MAX} 个可见 ASCII 字符"
        )
    return _claim(key, _json_fingerprint())


def _store_answer(resp: Response) -> Response:
    submission_id = g.pop("submission", None)
    if submission_id is None or not g.pop("submission_saved", False):
        return resp  # no key, or nothing was saved: the key went with the rollback
    if resp.status_code >= 500:
        return resp  # saved, then failed: not an answer to give again (a repeat is told to look later)
    if g.pop("submission_shown_once", False):
        said = make_response(
            error_response(409, "shown_once", "该请求已经处理；其结果（如令牌原文）只显示一次，不能再次显示")
        )
        _store(submission_id, submissions.Answer(409, "", said.headers["Content-Type"], said.get_data(as_text=True)))
        return resp
    body = ""
    textual = (resp.mimetype or "").startswith("text/") or resp.is_json
    if textual and not resp.direct_passthrough and not resp.is_streamed:
        data = resp.get_data()
        if len(data) <= _BODY_KEPT:
            body = data.decode("utf-8", errors="replace")
    flashed = [tuple(f) for f in user_session.get("_flashes", [])[g.pop("submission_flashes", 0) :]]
    found = submissions.Answer(
        status=resp.status_code,
        location=resp.headers.get("Location", ""),
        content_type=resp.headers.get("Content-Type", ""),
        body=body,
        flashes=flashed,
    )
    _store(submission_id, found)
    return resp


def _store(submission_id: int, found: submissions.Answer) -> None:
    """In a session of its own: whatever the view left in the request's is not this one's to commit."""
    try:
        with Session(engine(), expire_on_commit=False) as own:
            submissions.answer(own, submission_id, found)
    except sa.exc.SQLAlchemyError:  # the change is saved; a repeat is told it is being handled
        current_app.logger.warning("storing the answer of submission %s failed", submission_id, exc_info=True)


def init_idempotency(app: Flask) -> None:
    """Install after the login guard: a key belongs to the user who sent it."""
    app.jinja_env.globals["submission_token"] = submission_token
    app.before_request(_claim_form)
    app.after_request(_store_answer)
