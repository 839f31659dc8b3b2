"""The load mix, driven by ``bench/load/run.py`` (read its docstring; not meant to run alone).

Four kinds of users, each logged in once with its own account (weights 200:50:10:20):
clerks read their inbox and task pages, reporters POST a progress report with a
small PDF through the real form (CSRF token from the task page), office users
filter the task list and export it to Excel, leaders open the Dash board and post
its callbacks to ``/dashboard/_dash-update-component`` as the browser does.

Every request's time and outcome go to ``BENCH_OUT`` (JSON lines) when the test
stops; every accepted report's marker too, so run.py can check that each accepted
write is in the database exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from urllib.parse import urlsplit

from locust import FastHttpUser, between, events, task

with open(os.environ["BENCH_USERS"], encoding="utf-8") as fh:
    DATA = json.load(fh)
WAIT = float(os.environ.get("BENCH_WAIT", "1.0"))
REPORT_WAIT = float(os.environ.get("BENCH_REPORT_WAIT", "10.0"))
MAX_REPORTS = int(os.environ.get("BENCH_MAX_REPORTS", "20"))
PASSWORD = DATA["password"]
ACCOUNTS = {kind: itertools.cycle(DATA[kind]) for kind in ("clerk", "reporter", "office", "leader")}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"0" * 2000
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

RECORDS: list[tuple] = []  # (name, ms, ok, status, t)
ACCEPTED: list[str] = []
ERRORS: dict[str, int] = {}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, **_kw):
    status = getattr(response, "status_code", 0) or 0
    RECORDS.append((name, response_time, exception is None, status, time.time()))
    if exception is not None:
        body = ""
        try:
            body = (response.text or "")[:200] if response is not None else ""
        except Exception:  # noqa: BLE001 - a broken body is itself the error
            pass
        body = re.sub(r"\s+", " ", body)[:120]
        key = f"{name} {status} {str(exception)[:80]} {body}"
        ERRORS[key] = ERRORS.get(key, 0) + 1


@events.quitting.add_listener
def _dump(environment, **_kw):
    with open(os.environ["BENCH_OUT"], "w", encoding="utf-8") as fh:
        json.dump({"records": RECORDS, "accepted": ACCEPTED, "errors": ERRORS}, fh, ensure_ascii=False)


class BenchUser(FastHttpUser):
    abstract = True
    wait_time = between(WAIT * 0.5, WAIT * 1.5)
    kind = ""

    def on_start(self):
        self.account = next(ACCOUNTS[self.kind])
        self.login()

    def login(self):
        page = self.client.get("/login", name="login page").text
        token = CSRF.search(page).group(1)
        with self.client.post(
            "/login",
            name="login",
            allow_redirects=False,
            catch_response=True,
            data={"username": self.account["u"], "password": PASSWORD, "csrf_token": token},
        ) as resp:
            if resp.status_code != 302:
                resp.failure(f"login refused: {resp.status_code}")
            self.logged_in = resp.status_code == 302

    def on_task(self):
        if not self.logged_in:  # the database was down at start: log in again before anything else
            self.login()
        return self.logged_in

    def get(self, path: str, name: str):
        with self.client.get(path, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
            return resp


class Clerk(BenchUser):
    weight = 200
    kind = "clerk"

    @task(2)
    def inbox(self):
        if not self.on_task():
            return
        self.get("/dept/", "clerk: /dept/ (inbox)")

    @task(1)
    def my_tasks(self):
        if not self.on_task():
            return
        self.get("/dept/tasks", "clerk: /dept/tasks")

    @task(3)
    def task_page(self):
        if not self.on_task():
            return
        if self.account["tasks"]:
            self.get(f"/tasks/{random.choice(self.account['tasks'])}", "clerk: /tasks/<id>")


class Reporter(BenchUser):
    """Opens one of its lead tasks, writes a progress report and attaches a PDF.

    Writing it takes a person minutes; ``BENCH_REPORT_WAIT`` (10 s on average, run.py
    ``--report-wait``) is far quicker than that and still gives 50 reporters ~18,000 reports
    an hour. ``--report-wait 1`` is the stress pace: every reporter sends one a second."""

    weight = 50
    kind = "reporter"
    wait_time = between(REPORT_WAIT * 0.5, REPORT_WAIT * 1.5)
    sent = 0

    @task
    def report(self):
        if not self.on_task():
            return
        if self.sent >= MAX_REPORTS:  # bounded in count as well as time
            return
        task_id = random.choice(self.account["tasks"])
        page = self.get(f"/tasks/{task_id}", "reporter: /tasks/<id>")
        match = CSRF.search(page.text or "")
        if not match:
            return
        self.sent += 1
        marker = f"BENCH-{uuid.uuid4().hex}"
        with self.client.post(
            f"/tasks/{task_id}/report",
            name="reporter: POST report + PDF",
            allow_redirects=False,
            catch_response=True,
            data={
                "csrf_token": match.group(1),
                "text": f"{marker} 本周完成项目现场踏勘，推进顺利。",
                "percent": str(random.randint(10, 90)),
                "problems": "",
                "next_steps": "继续推进",
            },
            files={"files": ("进展材料.pdf", PDF, "application/pdf")},
        ) as resp:
            # Exactly the task page: a redirect to /login?next=/tasks/… (a session lost) is no acceptance.
            if resp.status_code == 302 and urlsplit(resp.headers.get("Location", "")).path == f"/tasks/{task_id}":
                ACCEPTED.append(marker)
            else:
                resp.failure(f"report not accepted: {resp.status_code}")


class Office(BenchUser):
    weight = 10
    kind = "office"

    @task(4)
    def filtered(self):
        if not self.on_task():
            return
        args = random.choice(
            [
                "status=in_progress",
                "overdue=1",
                "due_soon=1",
                "urgency=urgent",
                f"lead_department_id={random.choice(DATA['departments'])}",
                "status=acknowledged&sort=due",
                "q=项目",
            ]
        )
        self.get(f"/office/tasks?{args}", "office: /office/tasks?filter")

    @task(1)
    def export(self):
        if not self.on_task():
            return
        with self.client.get("/office/tasks/export?overdue=1", name="office: export xlsx", catch_response=True) as resp:
            if resp.status_code != 200 or not resp.content.startswith(b"PK"):
                resp.failure(f"export failed: {resp.status_code}")


class Leader(BenchUser):
    weight = 20
    kind = "leader"

    @task(1)
    def board(self):
        if not self.on_task():
            return
        self.get("/dashboard/", "leader: /dashboard/ page")

    @task(4)
    def callback(self):
        if not self.on_task():
            return
        name = random.choice(list(DATA["dash"]))
        with self.client.post(
            "/dashboard/_dash-update-component",
            name=f"leader: dash {name}",
            data=json.dumps(DATA["dash"][name]),
            catch_response=True,
            headers={"Content-Type": "application/json"},
        ) as resp:
            if resp.status_code not in (200, 204):
                resp.failure(f"status {resp.status_code}")
