"""The escalation ladder as one table: rungs, thresholds, names, recipients."""

from hypothesis import given
from hypothesis import strategies as st

from tracker.rules import ladder


def test_three_rungs_clerk_head_leader():
    assert [(r.level, r.name) for r in ladder.RUNGS] == [(1, "承办单位联络员"), (2, "单位主要负责人"), (3, "责任领导")]
    assert ladder.level_choices() == {1: "督办至承办单位联络员", 2: "督办至单位主要负责人", 3: "督办至责任领导"}
    assert ladder.level_name(9) == "9"


@given(
    clerks=st.lists(st.integers(1, 99), max_size=3, unique=True),
    heads=st.lists(st.integers(100, 199), max_size=2, unique=True),
    leaders=st.lists(st.integers(200, 299), max_size=2, unique=True),
    in_charge=st.lists(st.integers(300, 399), max_size=2, unique=True),
)
def test_each_rung_reaches_someone_when_anyone_is_on_file(clerks, heads, leaders, in_charge):
    """A notice reaches its rung and every rung below; an empty rung is skipped: no clerk,
    the head reads level 1; no responsible leader, the leader in charge reads level 3."""
    who = {
        lvl: ladder.recipients(lvl, clerks=clerks, heads=heads, leaders=leaders, in_charge=in_charge)
        for lvl in ladder.LEVELS
    }
    assert who[1] == (clerks or heads)
    assert set(who[2]) == set(heads) | set(clerks)
    assert set(who[3]) == set(leaders or in_charge) | set(heads) | set(clerks)
    assert set(who[1]) <= set(who[2]) <= set(who[3])  # climbing never drops anyone
    if clerks or heads:
        assert all(who[lvl] for lvl in ladder.LEVELS)


def test_recipients_by_escalation_reads_each_task_and_department():
    out = ladder.recipients_by_escalation(
        [
            {"id": 7, "level": 2, "task_id": 1, "department_id": 5},
            {"id": 8, "level": 3, "task_id": 2, "department_id": 5},
        ],
        staff={5: {"clerks": [11], "heads": []}},
        leaders={},
        in_charge={5: [31]},
    )
    assert out == {7: [11], 8: [31, 11]}
