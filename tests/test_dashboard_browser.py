"""The board in Chromium: a leader and a department each see only their rows,
click through to a task, and the page runs under the CSP without violations.
Screenshots (desktop, phone, print) go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.browser import shot
from tests.test_dashboard import district  # noqa: F401  (the seeded district fixture)
from tracker.models import User

pytestmark = pytest.mark.browser


def _open(browser, server, username: str, path: str = "/dashboard/", **context_kw):
    context = browser.new_context(
        locale="zh-CN", viewport=context_kw.pop("viewport", {"width": 1400, "height": 1000}), **context_kw
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/login?next=" + path.replace("?", "%3F").replace("&", "%26"))
    page.fill("#username", username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server.url) + "/dashboard/.*"))
    return context, page, problems


GRID_TITLES = ".ag-center-cols-container .ag-row [col-id=title]"


def _expect_grid_titles(page, titles: list[str]) -> None:
    """The grid shows exactly these titles, in any order. Its infinite model fills the rows after
    they appear, so wait for the set rather than read the first rows drawn."""
    want = sorted(titles)
    try:
        page.wait_for_function(
            """([selector, want]) => JSON.stringify(
            [...document.querySelectorAll(selector)].map(e => e.innerText).sort()) === JSON.stringify(want)""",
            arg=[GRID_TITLES, want],
            timeout=30_000,  # the infinite model's first block, on a busy CI machine
        )
    finally:  # on a timeout, say what the grid showed instead
        assert sorted(page.locator(GRID_TITLES).all_inner_texts()) == want


def _wait_card(page, key: str, value: str):
    page.wait_for_function(
        "([id, v]) => document.getElementById(id) && document.getElementById(id).textContent === v",
        arg=[f"card-{key}-value", value],
    )


def test_leader_and_department_boards(live_server, browser_context, session, district):  # noqa: F811
    browser = browser_context.browser
    username = lambda actor: session.get(User, actor.user_id).username  # noqa: E731
    contexts = []
    try:
        # --- the leader: the portfolio's overdue rows, then a click through to the task ---
        ctx, page, problems = _open(browser, live_server, username(district.leader))
        contexts.append(ctx)
        _wait_card(page, "overdue", "2")
        _expect_grid_titles(page, ["逾期乙", "逾期甲"])
        assert "逾期丙" not in page.content()
        page.wait_for_selector("#g-department .bars")
        shot(page, "dashboard-01-leader")
        page.locator(".ag-row [col-id=title]", has_text="逾期甲").click()
        page.wait_for_url(f"**/tasks/{district.tasks['a'].id}")
        assert "逾期甲" in page.inner_text("h1")
        shot(page, "dashboard-02-leader-task")
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

        # --- the department (教育局): its own row only; the card opens a list with as many rows ---
        ctx, page, problems = _open(browser, live_server, username(district.other_clerk))
        contexts.append(ctx)
        _wait_card(page, "overdue", "1")
        _expect_grid_titles(page, ["逾期丙（教育局）"])
        shot(page, "dashboard-03-department")
        page.click("#card-overdue-value")
        page.wait_for_url("**/dept/tasks?overdue=1")
        assert page.locator("tbody tr").count() == 1
        assert "共 1 项" in page.content()
        shot(page, "dashboard-04-department-list")
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

        # --- the office: the filter state lives in the URL (a bookmark of "urgent, overdue") ---
        ctx, page, problems = _open(browser, live_server, username(district.office), "/dashboard/?urgency=urgent")
        contexts.append(ctx)
        _wait_card(page, "overdue", "1")
        _expect_grid_titles(page, ["逾期甲"])
        assert "急件" in page.inner_text("#f-urgency")
        assert "紧急程度：急件" in page.inner_text("#filter-summary")
        shot(page, "dashboard-05-office-filtered")
        page.emulate_media(media="print")
        shot(page, "dashboard-06-print")
        page.emulate_media(media="screen")
        # a bar opens the list it counts: 区发改委's red segment (1 urgent overdue task)
        page.wait_for_selector("#g-department .trace.bars .point path")
        page.locator("#g-department .trace.bars .point path").first.click(force=True)
        page.wait_for_url("**/office/tasks?*")
        assert "light=red" in page.url and "urgency=urgent" in page.url
        assert "共 1 项" in page.content() and page.locator("tbody tr").count() == 1
        shot(page, "dashboard-06b-bar-list")
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

        # --- a phone ---
        ctx, page, _problems = _open(
            browser, live_server, username(district.office), viewport={"width": 390, "height": 844}, is_mobile=True
        )
        contexts.append(ctx)
        _wait_card(page, "overdue", "3")
        shot(page, "dashboard-07-phone")
    finally:
        for c in contexts:
            c.close()
