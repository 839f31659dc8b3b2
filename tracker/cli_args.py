"""Reading command-line arguments, shared by ``tracker.cli`` and the ``tracker.cli_*`` groups.

The command groups stand on this module, not on ``tracker.cli``, which stands on them to register
them all."""

from __future__ import annotations

from datetime import date

import click

from tracker.errors import ValidationFailed
from tracker.services import validation


def parse_date(value: str, what: str) -> date:
    """An ISO date (YYYY-MM-DD) from 1900 to 2100 (``services.validation.parse_date``); anything
    else is a usage error naming ``what`` in Chinese."""
    try:
        day = validation.parse_date(value, label=what, error=ValidationFailed)
    except ValidationFailed as exc:
        raise click.BadParameter(exc.message) from None
    if day is None:
        raise click.BadParameter(f"请填写{what}（YYYY-MM-DD）")
    return day
