"""Numbers from query strings and forms: unreadable ones are ignored, never a 500."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login
from tracker.errors import ValidationFailed
from tracker.http.params import page_number, to_int
from tracker.models import Leader, User
from tracker.services.actors import SYSTEM
from tracker.services.organisation import directory as organisation


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("12", 12),
        (" 7 ", 7),
        ("0", 0),
        ("", None),
        (None, None),
        ("²", None),
        ("１２", None),
        ("-3", None),
        ("1e3", None),
        ("9" * 10, None),
        ("12abc", None),
    ],
)
def test_to_int_reads_ascii_digits_only(raw, expected):
    assert to_int(raw) == expected


@pytest.mark.parametrize("raw, expected", [("3", 3), ("0", 1), ("²", 1), ("9999999", 1), (None, 1)])
def test_page_number_falls_back_to_the_first_page(raw, expected):
    assert page_number(raw) == expected


def _username(session, actor) -> str:
    return session.exec(select(User.username).where(User.id == actor.user_id)).one()


@pytest.mark.parametrize(
    "who, url",
    [
        ("office", "/office/tasks?page=²"),
        ("lead_clerk", "/dept/tasks?page=²"),
        ("lead_clerk", "/notifications/?page=²"),
        ("leader", "/dashboard/tasks?page=²"),
    ],
)
def test_a_superscript_page_number_shows_the_first_page(client, session, who, url):
    d = f.district(session)
    login(client, _username(session, getattr(d, who)))
    assert client.get(url).status_code == 200


def test_a_leader_name_longer_than_its_column_is_refused_in_chinese(session):
    with pytest.raises(ValidationFailed) as err:
        organisation.create_leader(session, SYSTEM, "吴" * 41, "副区长")
    assert "40" in err.value.message
    assert session.exec(select(Leader)).all() == []
