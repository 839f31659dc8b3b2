"""The export's deadline-phrase answers are kept across exports per calendar
(services/ledger_export.py ``_PhraseCheck``): an edited calendar must give fresh answers."""

from __future__ import annotations

from datetime import date

from tests import factories as f
from tracker.services import calendar as cal_svc
from tracker.services.ledger.export import _PhraseCheck


def test_a_calendar_edit_is_not_answered_from_the_kept_phrases(session, restore_calendar):
    d = f.district(session)
    base = date(2026, 11, 2)  # a Monday
    with f.on(base):
        before = _PhraseCheck(session)("5个工作日内", base)
        assert before == date(2026, 11, 9)
        assert _PhraseCheck(session)("5个工作日内", base) == before  # kept, same answer
        cal_svc.set_holiday(session, d.office, date(2026, 11, 4), is_workday=False, name="临时调休")
        session.commit()
        assert _PhraseCheck(session)("5个工作日内", base) == date(2026, 11, 10)
        assert _PhraseCheck(session)("看情况再说", base) is None
