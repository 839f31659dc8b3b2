"""The deployment as an operator runs it: init-db, check and gunicorn with docs/deploy's config
(real processes, 127.0.0.1, bounded time); /healthz; the JSON request log; proxy headers."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import factories as f
from tests.webutil import login
from tracker.http import requestlog
from tracker.models import Role

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_with_the_shipped_config_serves_healthz(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "TRACKER_INSTANCE_PATH": str(tmp_path / "instance"),
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'duban.db'}",
        "TRACKER_ENV": "production",
        "TRACKER_SECRET_KEY": "k" * 40,
        "TRACKER_BASE_URL": "https://duban.example.invalid",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
    }
    env.pop("TRACKER_TODAY", None)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    init = subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    check = subprocess.run([*flask, "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "[通过] 数据库结构：最新版本" in check.stdout

    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "docs/deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60  # a loaded CI machine imports Dash slowly
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:  # nosec B310
                    assert resp.status == 200
                    body = json.loads(resp.read())
                    headers = resp.headers
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.3)
        assert body == {"status": "ok"}
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Request-ID"]
    finally:
        proc.terminate()
        out, _err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert any(line["path"] == "/healthz" and line["status"] == 200 for line in lines), out


def test_healthz_is_503_when_the_database_is_gone(tmp_path):
    from tracker import create_app
    from tracker.config import Settings

    app = create_app(
        Settings(
            env="testing",
            database_url="postgresql+psycopg://nobody@127.0.0.1:1/nothing",
            instance_path=tmp_path / "i",
            secret_key="x",
            log_format="off",
        )
    )
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json() == {"status": "error", "database": "unreachable"}


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(requestlog.JsonFormatter())
    requestlog.logger.addHandler(handler)
    yield stream
    requestlog.logger.removeHandler(handler)


def test_a_request_logs_one_json_line(app, session, client, captured):
    f.user(session, Role.SUPERVISOR, username="office")
    session.commit()
    login(client, "office")
    captured.truncate(0)
    captured.seek(0)
    resp = client.get("/office/tasks?q=1", headers={"X-Request-ID": "abc12345-from-nginx"})
    assert resp.status_code == 200
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["request_id"] == "abc12345-from-nginx" == resp.headers["X-Request-ID"]
    assert (line["user"], line["method"], line["path"], line["status"]) == ("office", "GET", "/office/tasks", 200)
    assert isinstance(line["duration_ms"], float) and isinstance(line["cpu_ms"], float)
    assert 0 < line["cpu_ms"] <= line["duration_ms"] + 1 and line["level"] == "info" and line["ts"].endswith("+00:00")
    assert line["pid"] == os.getpid()  # which gunicorn worker, when several write to one log


def test_a_forged_request_id_is_replaced(client, captured):
    resp = client.get("/healthz", headers={"X-Request-ID": 'bad id" , "user": "admin'})
    rid = resp.headers["X-Request-ID"]
    assert len(rid) == 32 and " " not in rid
    assert json.loads(captured.getvalue().splitlines()[-1])["request_id"] == rid


def test_behind_nginx_the_client_address_is_the_forwarded_one(db, tmp_path):
    """Without ProxyFix every login failure would count against 127.0.0.1 and lock out everyone."""
    from flask import request

    from tracker import create_app
    from tracker.config import Settings

    app = create_app(
        Settings(
            env="testing",
            database_url=str(db.url),
            instance_path=tmp_path / "i",
            secret_key="x",
            trusted_proxies=1,
            log_format="off",
        ),
        engine=db,
    )

    @app.get("/_addr_probe")
    def _probe():
        return f"{request.remote_addr} {request.scheme}"

    from tracker.http import login as guard

    guard.PUBLIC_ENDPOINTS.add("_probe")
    try:
        resp = app.test_client().get(
            "/_addr_probe", headers={"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"}
        )
    finally:
        guard.PUBLIC_ENDPOINTS.discard("_probe")
    assert resp.get_data(as_text=True) == "10.1.2.3 https"


def test_the_shipped_config_tunes_the_garbage_collector_after_the_app_is_built():
    import gc
    import runpy

    conf = runpy.run_path(str(ROOT / "docs" / "deploy" / "gunicorn.conf.py"))
    before = gc.get_threshold()
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_threshold() == (50_000, 20, 100)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_compiled_templates_are_kept_in_the_instance_folder_and_loaded_before_requests(tmp_path):
    """A worker loads every template in post_worker_init; compiled once, they come from the
    instance folder's cache afterwards (docs/deploy/gunicorn.conf.py, tracker/web/__init__.py)."""
    from tracker import create_app
    from tracker.config import Settings
    from tracker.web import warm_templates

    def app():
        return create_app(
            Settings(
                env="testing",
                database_url=f"sqlite:///{tmp_path / 'd.db'}",
                instance_path=tmp_path / "instance",
                secret_key="x",
                log_format="off",
            )
        )

    first = app()
    folder = tmp_path / "instance" / "cache" / "jinja"
    assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700
    assert warm_templates(first) >= 50
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(written) >= 50 and not any(name.endswith(".tmp") for name in written)
    second = app()
    assert warm_templates(second) == warm_templates(first)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written  # read, not compiled again
    assert "tasks/show.html" in {t.name for t in second.jinja_env.cache.values()}


def test_a_worker_sets_dash_up_before_its_first_request(tmp_path):
    """``warm_up`` (gunicorn's post_worker_init) leaves Dash nothing to do at the first request."""
    from tracker import create_app
    from tracker.config import Settings
    from tracker.web import warm_up

    app = create_app(
        Settings(
            env="testing",
            database_url=f"sqlite:///{tmp_path / 'd.db'}",
            instance_path=tmp_path / "instance",
            secret_key="x",
            log_format="off",
        )
    )
    board = app.extensions["dash"]
    assert not board._got_first_request["setup_server"]
    warm_up(app)
    assert board._got_first_request["setup_server"]
    assert "tasks/show.html" in {t.name for t in app.jinja_env.cache.values()}


def test_an_unwritable_instance_folder_leaves_templates_compiled_in_memory(tmp_path, monkeypatch):
    from pathlib import Path

    from tracker import create_app
    from tracker.config import Settings

    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if "cache" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    app = create_app(
        Settings(
            env="testing",
            database_url="sqlite://",
            instance_path=tmp_path / "instance",
            secret_key="x",
            log_format="off",
        )
    )
    assert app.jinja_env.bytecode_cache is None
    monkeypatch.undo()
    with app.test_request_context():
        assert "督查督办平台" in app.jinja_env.get_template("base.html").render()


def test_an_unhandled_error_is_one_json_line_with_its_traceback(db, session, tmp_path, capsys):
    """Flask's own handler wrote tracebacks as plain text to stderr; with the access log on stdout
    in JSON they are lines of the same stream and format, with the worker's pid (the load test
    reads them to say why a page failed)."""
    from tracker import create_app
    from tracker.config import Settings

    app = create_app(
        Settings(
            env="testing", database_url=str(db.url), instance_path=tmp_path / "i", secret_key="x", log_format="json"
        ),
        engine=db,
    )

    @app.get("/boom-for-test")
    def _boom():
        raise KeyError("no such column")

    f.user(session, Role.SUPERVISOR, username="office")
    session.commit()
    client = app.test_client()
    login(client, "office")
    assert client.get("/boom-for-test").status_code == 500
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    error = next(line for line in lines if line["level"] == "error" and line["msg"] == "unhandled error")
    assert "KeyError: 'no such column'" in error["exc"] and error["pid"] == os.getpid()
    assert error["logger"] == "tracker" and "Traceback" not in err
