"""JSON API under /api/v1 for other systems (an OA, a 政务钉钉/企业微信 bot).

Same services and permission checks as the pages. Callers authenticate with a
bearer token (``Authorization: Bearer <token>``) or with the browser session
(``tracker.api.blueprint`` says how such writes are checked against CSRF).
"""

from __future__ import annotations

# The routes register themselves on ``bp`` (and in the OpenAPI registry) on import.
from tracker.api import docs, reference, tasks, tokens  # noqa: F401
from tracker.api.blueprint import bp

__all__ = ["bp"]
