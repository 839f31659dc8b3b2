"""Remembered column mappings of ledgers (LedgerMapping): a layout the office
corrected once is read the same way the next time, by every web server and the CLI.

A mapping is keyed by the header signature (``importers.mapping.signature``):
the same header texts in the same columns. Only the choices are kept
(column index -> field, or None for "ignore this column"), with the headers
they were made for so that a person can read the table.
"""

from __future__ import annotations

from sqlmodel import Session, select

from importers.mapping import DEPARTMENT_FIELDS, LEDGER_FIELDS, MOTION_FIELDS, ColumnMapping
from tracker import clock
from tracker.models import LedgerMapping
from tracker.services import audit
from tracker.services.actors import Actor

FIELDS_BY_KIND = {"ledger": LEDGER_FIELDS, "departments": DEPARTMENT_FIELDS, "motions": MOTION_FIELDS}


class MappingTable:
    """``importers.mapping.MappingStore`` over the LedgerMapping table."""

    def __init__(self, session: Session, kind: str = "ledger"):
        self.session = session
        self.kind = kind

    def _row(self, sig: str) -> LedgerMapping | None:
        return self.session.exec(select(LedgerMapping).where(LedgerMapping.signature == sig)).first()

    def get(self, sig: str) -> dict[int, str | None] | None:
        row = self._row(sig)
        if row is None or row.kind != self.kind or not isinstance(row.fields, dict):
            return None
        fields = FIELDS_BY_KIND.get(self.kind, {})
        return {int(k): (v if v in fields else None) for k, v in row.fields.items() if str(k).isdigit()}

    def remember(self, mapping: ColumnMapping, actor: Actor) -> LedgerMapping:
        """Keep the mapping's choices (insert or replace); one audit event."""
        row = self._row(mapping.signature)
        before = {"fields": row.fields, "kind": row.kind} if row is not None else {}
        if row is None:
            row = LedgerMapping(signature=mapping.signature, kind=self.kind)
        row.kind = self.kind
        row.headers = [c.header for c in mapping.columns]
        row.fields = {str(c.index): c.field for c in mapping.columns}
        row.updated_by_id = actor.user_id
        row.updated_at = clock.now()
        self.session.add(row)
        self.session.flush()
        audit.record(
            self.session,
            actor,
            "remember_mapping",
            entity="ledger_mapping",
            entity_id=row.id,
            before=before,
            after={"fields": row.fields, "kind": row.kind},
            note="、".join(h for h in row.headers if h)[:500],
        )
        return row
