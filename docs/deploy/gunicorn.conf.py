"""gunicorn settings for the 督办 web app (read by duban-web.service: gunicorn -c this file wsgi:app).

Overridable through the environment (set them in /etc/duban/duban.env):
GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # nginx in front; never 0.0.0.0 without it

# A few processes with threads each: one more process than cores (2 cores -> 3 x 4), the layout the
# load test measures. At 280 users on 2 cores: 3 x 4 208 requests/s (p95 516 ms), 4 x 3 207 (664),
# 4 x 2 211 (550), 2 x 6 171 (936) (bench/load/README.md); a page is mostly Python, so more
# processes than that only queue on the cores.
workers = int(os.environ.get("GUNICORN_WORKERS", min(multiprocessing.cpu_count() + 1, 8)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# A ledger export of a few thousand rows takes seconds; an import runs in a background thread.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then (openpyxl and Dash keep memory), but rarely: a new worker costs
# ~1.3 s of CPU (imports, app, Dash) before its first page, which at the read-mix target
# (200 requests/s) and 2000 requests per worker was ~6% of both cores. In-process, 6,000
# requests of the read mix (exports and board callbacks included) left the RSS flat at ~140 MB
# (bench/load/README.md, "Per-request CPU, in-process").
max_requests = 10000
max_requests_jitter = 1000

# Never open the database before forking (PITFALLS: SQLite locks, shared PostgreSQL sockets).
preload_app = False

# The app writes one JSON line per request to stdout (tracker/http/requestlog.py);
# gunicorn's own access log would duplicate it. Errors go to stderr -> journald.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# nginx on the same host: believe its X-Forwarded-Proto (the app's ProxyFix handles X-Forwarded-For,
# see TRACKER_TRUSTED_PROXIES).
forwarded_allow_ips = "127.0.0.1"

# Uploads (20 MB per file, 10 files) are buffered by nginx first; these stop header abuse.
limit_request_line = 8190
limit_request_fields = 100


def post_worker_init(worker):
    """Load the page templates, set Dash up and tune the garbage collector once the worker has built
    the app.

    Loading every template here (compiled, from the instance folder's cache: 16 ms) spares the
    first users after a start or a recycling the 0.5 s of compiling; Dash's set-up another 0.4 s
    (tracker/web/__init__.py ``warm_up``).
    The app, Dash and the imported modules are ~half a million long-lived objects that every full
    collection walked again; ``freeze`` sets them aside. A page allocates thousands of objects
    (ORM rows, template output), so the default threshold (700) ran a collection every few
    requests. Measured in-process over the clerk pages: collections 553 -> 126, their CPU
    304 -> 72 ms per 600 requests (bench/load/README.md)."""
    if worker is not None:  # compiled templates first (from the instance folder's cache once written)
        from tracker.web import warm_up

        warm_up(worker.wsgi)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if worker is not None:  # the load test waits for every worker's line before it starts
        worker.log.info("worker %s ready", worker.pid)
