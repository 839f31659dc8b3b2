"""One structured log line per request on stdout (JSON by default), with a request id.

Journald, Docker or a log shipper reads stdout; nothing is written to files here.
TRACKER_LOG_FORMAT picks ``json`` (one object per line), ``text`` or ``off``.
The request id comes from nginx's ``X-Request-ID`` when it looks sane, so the
proxy's log and ours share it; it is echoed back in the response.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, request
from flask.logging import default_handler
from flask_login import current_user

logger = logging.getLogger("tracker.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        f = getattr(record, "fields", None)
        if f is None:  # not a request line: a warning or an error of the app
            line = f"{record.levelname} {record.name} {record.getMessage()}"
        else:
            line = (
                f"{record.levelname} {f.get('request_id', '-')} {f.get('user', '-')} {f.get('method', '')} "
                f"{f.get('path', '')} {f.get('status', '')} {f.get('duration_ms', '')}ms {record.getMessage()}"
            )
        return line + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


class _StdoutHandler(logging.StreamHandler):
    """Looks sys.stdout up at each write (test runners and gunicorn swap it)."""

    def emit(self, record):
        self.stream = sys.stdout
        super().emit(record)


def configure(fmt: str) -> None:
    """The access log, and the app's own warnings and errors (the ``tracker`` logger, Flask's
    ``app.logger``: an unhandled error with its traceback), as lines of one format on stdout."""
    app_logger = logging.getLogger("tracker")
    for target in (logger, app_logger):
        for h in [h for h in target.handlers if isinstance(h, _StdoutHandler) or h is default_handler]:
            target.removeHandler(h)
    if fmt == "off":
        logger.disabled = True
        app_logger.addHandler(default_handler)  # errors still reach stderr
        return
    logger.disabled = False
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    app_logger.addHandler(handler)


def init_request_log(app: Flask) -> None:
    settings = app.config["TRACKER"]
    configure(settings.log_format)
    if settings.trusted_proxies > 0:
        # Behind nginx every caller would be 127.0.0.1: the login throttle per IP would lock out
        # everyone at once, and the log would name no client. Believe exactly that many proxies.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)

    @app.before_request
    def _start():
        g.request_started = time.perf_counter()
        g.request_cpu = time.thread_time()  # a request runs on one thread (gunicorn gthread)
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _log(resp):
        started = g.get("request_started")
        rid = g.get("request_id") or uuid.uuid4().hex
        resp.headers.setdefault("X-Request-ID", rid)
        if started is None or request.path.startswith("/static/"):
            return resp
        try:
            user = current_user.row.username if current_user.is_authenticated else None
        except Exception:  # a failed transaction must not cost the log line
            user = None
        level = logging.ERROR if resp.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "request",
            extra={
                "fields": {
                    "request_id": rid,
                    "user": user,
                    "method": request.method,
                    "path": request.path,
                    "status": resp.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "cpu_ms": round((time.thread_time() - g.request_cpu) * 1000, 1),
                    "ip": request.remote_addr,
                }
            },
        )
        return resp
