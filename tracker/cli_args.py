"""Reading command-line arguments, shared by ``tracker.cli`` and the ``tracker.cli_*`` groups.

The command groups stand on this module, not on ``tracker.cli``, which stands on them to register
them all."""

from __future__ import annotations

from datetime import date

import click


def parse_date(value: str, what: str) -> date:
    """An ISO date (YYYY-MM-DD); anything else is a usage error naming ``what`` in Chinese."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{what}不是有效日期（应为 YYYY-MM-DD）：{value}") from None
