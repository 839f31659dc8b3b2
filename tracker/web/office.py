"""Pages: office (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")
