"""Pages: leader (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("leader", __name__, url_prefix="/leader")
