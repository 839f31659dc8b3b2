"""The app for the webimport fault scenario: ``wsgi:app`` with the importer's stale bound
shortened (``BENCH_IMPORT_STALE_SECONDS``), so that a job whose worker was killed is given
up in seconds instead of five minutes. Bench only; production keeps ``imports.STALE_AFTER``."""

import os
from datetime import timedelta

from tracker.services.ledger import jobs as imports
from wsgi import app  # noqa: F401 - what gunicorn serves

imports.STALE_AFTER = timedelta(seconds=float(os.environ["BENCH_IMPORT_STALE_SECONDS"]))
