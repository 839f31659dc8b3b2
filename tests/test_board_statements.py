"""The board's statements are built once per actor, board filter and day (services/board.py:
``_cards_select``, ``_by_light_select``, ``_grid_statements``); the numbers and rows must
still be this request's: new tasks counted, each grid search answered with its own text."""

from __future__ import annotations

from datetime import date

from tests import factories as f
from tests.test_list_rows import TODAY, d, varied  # noqa: F401 - fixtures
from tracker.rules.overdue import Horizon
from tracker.services.figures import board
from tracker.services.figures.board import BoardFilter


def test_cached_statements_answer_with_fresh_data_and_this_calls_values(session, d, varied):  # noqa: F811
    with f.on(TODAY):
        h = Horizon.build(session, 3)
        bf = BoardFilter()
        before = board.cards(session, d.office, bf, h)
        bars = {b.key: b.total for b in board.bars_by_department(session, d.office, bf, h)}
        grid = board.overdue_rows(session, d.office, bf, h, text="逾期")
        assert {r["title"] for r in grid.rows} == {"逾期项目"} and grid.total == 1
        assert {r["title"] for r in board.overdue_rows(session, d.office, bf, h, text="配合").rows} == {"配合事项"}
        assert board.overdue_rows(session, d.office, bf, h, text="没有这个").total == 0
        with f.on(date(2026, 11, 2)):
            f.task_in(session, d, "assigned", title="新增逾期", due_date=date(2026, 11, 5))
        session.commit()
        after = board.cards(session, d.office, bf, h)
        assert (after.open.value, after.overdue.value) == (before.open.value + 1, before.overdue.value + 1)
        bars_after = {b.key: b.total for b in board.bars_by_department(session, d.office, bf, h)}
        assert sum(bars_after.values()) == sum(bars.values()) + 1
        assert {r["title"] for r in board.overdue_rows(session, d.office, bf, h, text="逾期").rows} == {
            "逾期项目",
            "新增逾期",
        }
        # another actor, another department filter: their own numbers
        mine = board.cards(session, d.other_clerk, bf, h)
        assert mine.open.value == 1
        only_other = board.cards(session, d.office, BoardFilter(department_id=d.other_id), h)
        assert only_other.open.value == 1 and only_other.overdue.value == 1
