"""Exactly one of N concurrent decisions wins: real HTTP, real gunicorn, eight at once.

Each decision (延期, 办结审核, 变更, 改派, 领导审核) and each status step is fired eight ways at the
same moment (a barrier lines the eight threads up), by eight users each with a session of their
own, for ``ROUNDS`` rounds on tasks the services set up for it. Per round: exactly one answer is
a success, the seven others are 409 naming who got there first and when; the request's status
and the task agree; the winner's change wrote one audit event and the losers none. Several rounds
are in flight at once (``LANES``: rounds on different tasks do not meet).

gunicorn runs the shipped config (docs/deploy) with several processes and threads against this
test's database. Every user logs in once for the whole file (the login page may slow down repeated
logins from one address). On PostgreSQL: 50 rounds each. On SQLite, where one writer at a time
is what makes a decision safe (``tracker.db.begin_write``), fewer rounds of the same checks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests
import sqlalchemy as sa
from sqlmodel import Session, select

from tests import factories as f
from tests.conftest import TODAY
from tests.webutil import csrf_from, login
from tracker.db import is_postgres
from tracker.models import AuditEvent, ChangeRequest, CloseRequest, ExtensionRequest, Role, Task

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

WAYS = 8  # requests fired at once on one task
LANES = 3  # rounds in flight at once, each with its own eight users per role
SUCCESS = (200, 201, 302)


# --- a requests.Session that tests/webutil.py can drive like Flask's test client ----------------


class _Answer:
    def __init__(self, resp: requests.Response):
        self.status_code = resp.status_code
        self.headers = resp.headers
        self.text = resp.text
        self._resp = resp

    def get_data(self, as_text: bool = False):
        return self.text if as_text else self._resp.content

    def get_json(self):
        return self._resp.json()


class Browser:
    """One user's own HTTP session against the server (cookies kept), redirects not followed."""

    def __init__(self, base: str, username: str, name: str):
        self.base, self.username, self.name = base, username, name
        self.http = requests.Session()
        # A new connection per request: gunicorn closes a keep-alive connection idle for 5 s
        # (keepalive in the shipped config), and a lane that waited longer at the barrier would
        # send its request down a connection the server is closing that moment (reset by peer).
        self.http.headers["Connection"] = "close"
        self.csrf = ""

    def get(self, path: str, **kw) -> _Answer:
        return _Answer(self.http.get(self.base + path, allow_redirects=False, timeout=120, **kw))

    def post(self, path: str, data=None, **kw) -> _Answer:
        return _Answer(self.http.post(self.base + path, data=data, allow_redirects=False, timeout=120, **kw))

    def log_in(self) -> None:
        resp = login(self, self.username)  # the test password, whatever tests/webutil.py says it is
        assert resp.status_code == 302, (self.username, resp.status_code, resp.text[:500])
        home = self.http.get(self.base + "/", timeout=120)  # a page with the session's CSRF token
        assert home.status_code == 200, home.text[:500]
        self.csrf = csrf_from(home.text)

    def form(self, path: str, data: dict) -> _Answer:
        return self.post(path, {**data, "csrf_token": self.csrf})

    def api(self, path: str, body: dict) -> _Answer:
        return self.post(path, json=body, headers={"X-CSRFToken": self.csrf, "Accept": "application/json"})


# --- the server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with the shipped config, on a free port, against ``url``."""

    def __init__(self, url: str, tmp: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TRACKER_DATABASE_URL": url,
            "TRACKER_ENV": "testing",
            "TRACKER_SECRET_KEY": "race-secret-" + "k" * 32,
            "TRACKER_INSTANCE_PATH": str(tmp / "instance"),
            "TRACKER_TODAY": TODAY.isoformat(),
            "TRACKER_LOG_FORMAT": "off",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "3",
            "GUNICORN_THREADS": "4",
            "GUNICORN_LOGLEVEL": "warning",
        }
        self.log = (tmp / "gunicorn.log").open("w+b")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "docs/deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or its workers still loading
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not answer /healthz:\n" + self.output())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-5000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()


# --- what is fired, and what must hold afterwards -------------------------------------------------


@dataclass
class Round:
    task_id: int
    request_id: int | None = None
    answers: list = field(default_factory=lambda: [None] * WAYS)


@dataclass
class Race:
    """One endpoint fired WAYS ways per round.

    ``make``: a task (and request) for one round; ``shot(browser, round, i)``: the i-th of the
    eight requests (even i approve, odd i refuse where a decision has two sides); ``holds(session,
    round, winner)``: the task and request agree with what the winner did; ``actions``: the audit
    actions one of which the winner writes."""

    name: str
    role: str
    make: Callable
    shot: Callable
    holds: Callable
    actions: frozenset
    api: bool = False


def _refuse(i: int) -> bool:
    return i % 2 == 1


def _decide(what: str, approve: dict):
    def shot(b: Browser, r: Round, i: int) -> _Answer:
        data = {"decision": "refuse", "note": "理由不充分"} if _refuse(i) else {"decision": "approve", **approve}
        return b.form(f"/tasks/{r.task_id}/{what}/{r.request_id}/decide", data)

    return shot


def _step(path: str, data: dict | None = None):
    return lambda b, r, i: b.form(f"/tasks/{r.task_id}/{path}", data or {})


def _api(body: Callable[[Round, int], dict]):
    return lambda b, r, i: b.api(f"/api/v1/tasks/{r.task_id}/transitions", body(r, i))


def _with_request(status: str, kind: str, model):
    def make(s: Session, d: f.District) -> Round:
        task = f.task_in(s, d, status, pending=(kind,))
        req = s.exec(select(model).where(model.task_id == task.id)).one()
        return Round(task.id, req.id)

    return make


def _task(status: str):
    return lambda s, d: Round(f.task_in(s, d, status).id)


def _races(d: f.District) -> list[Race]:
    def extension_holds(s, r, winner):
        req, task = s.get(ExtensionRequest, r.request_id), s.get(Task, r.task_id)
        if _refuse(winner):
            assert req.status == "rejected" and task.due_date == req.old_due_date
        else:
            assert req.status == "approved" and task.due_date == req.new_due_date

    def reassign_holds(s, r, winner):
        req, task = s.get(ChangeRequest, r.request_id), s.get(Task, r.task_id)
        if _refuse(winner):
            assert req.status == "rejected" and task.lead_department_id == d.lead_id
        else:
            assert req.status == "approved" and task.lead_department_id == d.other_id and task.status == "assigned"

    def change_holds(s, r, winner):
        req, task = s.get(ChangeRequest, r.request_id), s.get(Task, r.task_id)
        if _refuse(winner):
            assert req.status == "rejected" and task.requirement == "按会议要求完成项目前期手续"
        else:
            assert req.status == "approved" and task.requirement == req.payload["requirement"]

    def review_holds(s, r, winner):
        task = s.get(Task, r.task_id)
        (req,) = s.exec(select(CloseRequest).where(CloseRequest.task_id == r.task_id)).all()
        if _refuse(winner):
            assert req.status == "rejected" and task.status == "in_progress" and task.closed_on is None
        else:
            assert req.status == "approved" and task.status == "closed" and task.closed_on == TODAY

    def status_is(status: str, **more):
        def holds(s, r, winner):
            task = s.get(Task, r.task_id)
            assert task.status == status, (task.id, task.status)
            for name, value in more.items():
                assert getattr(task, name) == value, (name, getattr(task, name))

        return holds

    def leader_holds(s, r, winner):
        status_is("draft" if _refuse(winner) else "assigned")(s, r, winner)

    def close_request_holds(s, r, winner):
        status_is("pending_review")(s, r, winner)
        reqs = s.exec(select(CloseRequest).where(CloseRequest.task_id == r.task_id)).all()
        assert [q.status for q in reqs] == ["pending"]

    def api_decide_extension(r, i):
        return {
            "action": "decide_extension",
            "request_id": r.request_id,
            "approve": not _refuse(i),
            "note": "理由不充分",
        }

    return [
        Race(
            "延期审核（页面）",
            "office",
            _with_request("acknowledged", "extension", ExtensionRequest),
            _decide("extension", {}),
            extension_holds,
            frozenset({"approve_extension", "refuse_extension"}),
        ),
        Race(
            "延期审核（接口）",
            "office",
            _with_request("acknowledged", "extension", ExtensionRequest),
            _api(api_decide_extension),
            extension_holds,
            frozenset({"approve_extension", "refuse_extension"}),
            api=True,
        ),
        Race(
            "改派审核",
            "office",
            _with_request("assigned", "reassign", ChangeRequest),
            _decide("reassign", {"new_lead_department_id": str(d.other_id)}),
            reassign_holds,
            frozenset({"approve_reassign", "refuse_reassign"}),
        ),
        Race(
            "变更审核",
            "office",
            _with_request("acknowledged", "change", ChangeRequest),
            _decide("change", {}),
            change_holds,
            frozenset({"approve_change", "refuse_change"}),
        ),
        Race(
            "办结审核（通过或退回）",
            "office",
            _task("pending_review"),
            lambda b, r, i: b.form(
                f"/tasks/{r.task_id}/review",
                {"decision": "return", "note": "佐证材料不全"} if _refuse(i) else {"decision": "approve"},
            ),
            review_holds,
            frozenset({"approve_close", "return"}),
        ),
        Race(
            "领导审核（同意或退回）",
            "leader",
            _task("pending_approval"),
            lambda b, r, i: (
                b.form(f"/tasks/{r.task_id}/reject", {"reason": "请补充依据"})
                if _refuse(i)
                else b.form(f"/tasks/{r.task_id}/approve", {})
            ),
            leader_holds,
            frozenset({"leader_approve", "leader_reject"}),
        ),
        Race(
            "交办（接口）",
            "office",
            _task("draft"),
            _api(lambda r, i: {"action": "assign"}),
            status_is("assigned"),
            frozenset({"assign"}),
            api=True,
        ),
        Race(
            "提交领导审核（接口）",
            "office",
            _task("draft"),
            _api(lambda r, i: {"action": "submit_for_approval"}),
            status_is("pending_approval"),
            frozenset({"submit_for_approval"}),
            api=True,
        ),
        Race(
            "签收",
            "clerk",
            _task("assigned"),
            _step("acknowledge"),
            status_is("acknowledged"),
            frozenset({"acknowledge"}),
        ),
        Race(
            "申请办结",
            "clerk",
            _task("in_progress"),
            _step("close", {"summary": "已全部完成"}),
            close_request_holds,
            frozenset({"request_close"}),
        ),
        Race(
            "暂缓",
            "office",
            _task("in_progress"),
            _step("suspend", {"reason": "等待上级政策"}),
            status_is("suspended", status_before_suspend="in_progress"),
            frozenset({"suspend"}),
        ),
        Race(
            "恢复",
            "office",
            _task("suspended"),
            _step("resume"),
            status_is("in_progress", status_before_suspend=""),
            frozenset({"resume"}),
        ),
        Race(
            "撤销",
            "office",
            _task("in_progress"),
            _step("cancel", {"reason": "事项已由上级统筹"}),
            status_is("cancelled"),
            frozenset({"cancel"}),
        ),
        Race(
            "重新打开",
            "office",
            _task("closed"),
            _step("reopen", {"reason": "复查不合格"}),
            status_is("in_progress", closed_on=None),
            frozenset({"reopen"}),
        ),
    ]


# --- firing ------------------------------------------------------------------------------------------


def _lane(race: Race, browsers: list[Browser], rounds: list[Round], failures: list) -> None:
    """Fire ``rounds`` one after another, each with all ``browsers`` at the same moment."""
    barrier = threading.Barrier(WAYS)

    def player(i: int) -> None:
        b = browsers[i]
        try:
            for r in rounds:
                barrier.wait(timeout=300)
                answer = race.shot(b, r, i)
                r.answers[i] = answer
                if answer.status_code == 302:  # a person's browser follows it and reads the message
                    page = b.get(answer.headers["Location"])
                    answer.followed = page.status_code, page.text
        except Exception as exc:  # noqa: BLE001 - reported by the test, with the lane stopped
            failures.append((race.name, i, repr(exc)))
            barrier.abort()

    threads = [threading.Thread(target=player, args=(i,)) for i in range(WAYS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _message(answer: _Answer, api: bool) -> str:
    return answer.get_json()["message"] if api else answer.text


def _check_round(session: Session, race: Race, r: Round, browsers: list[Browser], mark: int) -> None:
    statuses = [a.status_code for a in r.answers]
    winners = [i for i, code in enumerate(statuses) if code in SUCCESS]
    assert len(winners) == 1, (race.name, r.task_id, statuses)
    (winner,) = winners
    assert all(code == 409 for i, code in enumerate(statuses) if i != winner), (race.name, r.task_id, statuses)
    who = browsers[winner].name
    for i, answer in enumerate(r.answers):
        if i == winner:
            continue
        said = _message(answer, race.api)
        assert f"已由 {who} 于 " in said, (race.name, r.task_id, who, said[:3000])
        if race.api:
            assert answer.get_json()["error"] in ("already_decided", "illegal_transition")
    if not race.api:  # the winner's page: the flash after the redirect
        status, page = r.answers[winner].followed
        assert status == 200 and 'class="alert alert-success"' in page, (race.name, status, page[:2000])
    race.holds(session, r, winner)
    events = session.exec(select(AuditEvent).where(AuditEvent.task_id == r.task_id, AuditEvent.id > mark)).all()
    assert [e.action for e in events] in ([a] for a in race.actions), (race.name, r.task_id, events)
    assert events[0].actor_name == who


def _rounds_for(engine: sa.Engine) -> int:
    return 50 if is_postgres(engine) else 10


def test_exactly_one_of_eight_concurrent_decisions_wins(db, tmp_path, subtests):
    rounds_each = _rounds_for(db)
    with Session(db, expire_on_commit=False) as s:
        d = f.district(s)
        users: dict[str, list[list[tuple[str, str]]]] = {}
        for role, kind, extra in (
            ("office", Role.SUPERVISOR, {}),
            ("clerk", Role.CLERK, {"department_id": d.lead_id}),
            ("leader", Role.LEADER, {"leader_id": d.leader_id}),
        ):
            users[role] = [
                [(u.username, u.display_name) for u in (f.user(s, kind, **extra) for _ in range(WAYS))]
                for _ in range(LANES)
            ]
        s.commit()

    server = Server(db.url.render_as_string(hide_password=False), tmp_path)
    try:
        server.wait_ready()
        browsers = {
            role: [[Browser(server.base, u, n) for u, n in lane] for lane in lanes] for role, lanes in users.items()
        }
        everyone = [b for lanes in browsers.values() for lane in lanes for b in lane]
        with ThreadPoolExecutor(WAYS) as pool:  # each user logs in once, for every race below
            list(pool.map(Browser.log_in, everyone))

        for race in _races(d):
            with subtests.test(race=race.name):
                started = time.monotonic()
                with Session(db, expire_on_commit=False) as s:
                    rounds = [race.make(s, d) for _ in range(rounds_each)]
                    s.commit()
                    mark = s.exec(select(sa.func.max(AuditEvent.id))).one()
                made = time.monotonic()
                failures: list = []
                lanes = [
                    threading.Thread(target=_lane, args=(race, browsers[race.role][k], rounds[k::LANES], failures))
                    for k in range(LANES)
                ]
                for t in lanes:
                    t.start()
                for t in lanes:
                    t.join()
                assert not failures, failures
                with Session(db) as s:
                    for k, r in enumerate(rounds):
                        _check_round(s, race, r, browsers[race.role][k % LANES], mark)
                print(
                    f"{race.name}: {rounds_each} rounds x {WAYS}: set up {made - started:.1f} s, fired {time.monotonic() - made:.1f} s"
                )
    finally:
        server.stop()
