"""The task page reads its open requests with the task row (services/taskpage.py ``task_select``,
``open_requests``); the answers must be those of one query per kind."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, statements_on
from tracker.models import ChangeRequest, CloseRequest, ExtensionRequest, RequestStatus, User
from tracker.rules.overdue import Horizon
from tracker.services.tasks import page as taskpage
from tracker.services.tasks import requests as task_requests


@pytest.fixture
def d(session):
    return f.district(session)


def newest(session, model, task_id, status):
    return session.exec(
        select(model).where(model.task_id == task_id, model.status == status).order_by(model.id.desc())
    ).first()


def one_query_each(session, task_id):
    """The newest request of each kind, as the columns the page shows of it (None: none)."""
    found = (
        newest(session, ExtensionRequest, task_id, RequestStatus.PENDING),
        newest(session, ChangeRequest, task_id, RequestStatus.PENDING),
        newest(session, CloseRequest, task_id, RequestStatus.PENDING),
        newest(session, CloseRequest, task_id, RequestStatus.REJECTED),
    )
    shown = (taskpage.PendingExtension, taskpage.PendingChange, taskpage.PendingClose, taskpage.ReturnedClose)
    return tuple(
        None if r is None else part._make(getattr(r, n) for n in part._fields) for r, part in zip(found, shown)
    )


def _open_requests(session, task_id):
    """What the page reads: the task row's open requests (None for no such task)."""
    row = taskpage.task_row(session, Horizon.build(session, 3), task_id)
    return None if row is None else taskpage.open_requests(row)


def test_open_requests_match_one_query_per_kind(session, d):
    busy = f.task_in(session, d, "in_progress", pending=("extension", "change"))
    for note in ("缺少佐证材料", "再补充"):  # two returns, then a third request still pending
        task_requests.request_close(session, d.lead_clerk, busy.id, "已全部完成")
        task_requests.review_close(session, d.office, busy.id, approve=False, note=note)
    task_requests.request_close(session, d.lead_clerk, busy.id, "已补充完成")
    quiet = f.task_in(session, d, "in_progress")
    returned = f.task_in(session, d, "in_progress")
    task_requests.request_close(session, d.lead_clerk, returned.id, "已全部完成")
    task_requests.review_close(session, d.office, returned.id, approve=False, note="退回")
    session.commit()

    got = _open_requests(session, busy.id)
    assert got == one_query_each(session, busy.id)
    assert all(r is not None for r in got)
    assert got[3].decision_note == "再补充"  # the newest of the two returns
    assert _open_requests(session, quiet.id) == (None, None, None, None) == one_query_each(session, quiet.id)
    got = _open_requests(session, returned.id)
    assert got == one_query_each(session, returned.id) and got[:3] == (None, None, None)
    assert _open_requests(session, 10**6) is None  # no such task: no row at all


def test_task_page_shows_the_requests_and_reads_them_once(app, session, d):
    task = f.task_in(session, d, "in_progress", pending=("extension",))
    session.commit()
    client = app.test_client()
    assert login(client, session.get(User, d.office.user_id).username).status_code == 302
    client.get(f"/tasks/{task.id}")
    with statements_on(app.extensions["tracker_engine"]) as seen:
        html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "资金未到位" in html  # the pending extension's reason, for the office to decide
    assert sum(1 for s in seen if "left outer join extensionrequest" in s) == 1
    # the history still reads the requests it names, by id; no statement looks for pending ones
    assert all("extensionrequest.id in" in s for s in seen if s.startswith("select extensionrequest."))
    assert not any(s.startswith("select closerequest") or s.startswith("select changerequest") for s in seen)
    assert not any(s.startswith("select source.") for s in seen)  # came with the task row
