"""Stored XSS through the Dash board, in Chromium: hostile text in every user-written field the
board shows (task titles, department names, leader names and titles, source titles, the weekly
schedule's category, the bulletin's ranking) must stay text. Dash builds the DOM in React and
Plotly draws labels as SVG text, both from JSON, so this is checked where it matters: in a real
browser, with the payloads' side effects watched (a dialog, a window flag) and the text read back.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.browser import shot
from tests.test_dashboard import district  # noqa: F401  (the seeded district fixture)
from tracker import clock
from tracker.models import Department, Leader, ScheduleItem, Source, Task, User

pytestmark = pytest.mark.browser

TODAY = date(2026, 11, 23)
# Each payload tries a script element, an event handler and a javascript: link; the handlers call
# _x(), which the page defines to set a flag, and alert(), which would open a dialog. (Not x():
# inside an <img> handler that name is the image's own x coordinate, and nothing would be flagged.)
TITLE = '<script>_x("题")</script><img src=x onerror="_x(\'题\');alert(1)"><a href="javascript:_x(\'题\')">逾期甲</a>'
DEPT = '<img src=x onerror=_x("单位")><script>alert(2)</script><a href="javascript:_x()">发改委</a>'
LEADER = "<img src=x onerror=_x()>吴海涛"  # 40 characters at most
LEADER_TITLE = "<script>alert(3)</script>副区长"
SOURCE = '<svg onload=_x("来源")></svg><a href="javascript:alert(4)">批示件</a><script>_x()</script>'
CATEGORY = "<svg onload=_x()>"  # 20 characters at most


def _poison(session, d) -> None:
    """Hostile names everywhere, then the week's schedule (a blocked item) and a bulletin."""
    from tracker.services.figures import bulletins
    from tracker.services.scheduling import weekly as schedule

    session.get(Task, d.tasks["a"].id).title = TITLE
    session.get(Task, d.tasks["d"].id).title = TITLE + "（本周到期）"
    session.get(Department, d.lead_id).name = DEPT
    leader = session.get(Leader, d.leader_id)
    leader.name, leader.title = LEADER, LEADER_TITLE
    session.get(Source, d.instr_id).title = SOURCE
    session.commit()
    with clock.frozen(TODAY):
        week = schedule.generate_week(session, TODAY)
        session.add(
            ScheduleItem(
                schedule_id=week.id,
                task_id=d.tasks["a"].id,
                section="blocked",
                category=CATEGORY,
                detail=TITLE,
                proposal=TITLE,
            )
        )
        bulletins.generate_bulletin(session, "week")
    session.commit()


def _open(browser, server, username: str, path: str):
    # bypass_csp: the CSP would block an inline handler anyway; here the escaping alone is tested
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1200}, bypass_csp=True)
    context.set_default_timeout(15_000)
    # Defined before any page script: a payload that runs leaves its mark here.
    context.add_init_script("window.__xss = []; window._x = (w) => window.__xss.push(String(w));")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dlg: (dialogs.append(dlg.message), dlg.dismiss()))
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/login?next=" + path.replace("?", "%3F").replace("&", "%26"))
    page.fill("#username", username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server.url) + "/dashboard/.*"))
    return context, page, dialogs, problems


def _wait_cell(page, column: str, text: str) -> None:
    page.wait_for_function(
        """([c, t]) => [...document.querySelectorAll(
        `.ag-center-cols-container .ag-row [col-id=${c}]`)].some(e => e.textContent.includes(t))""",
        arg=[column, text],
    )


def _settle(page) -> None:
    """Give a payload every chance to run before looking for its marks: the board's callbacks have
    all answered (no request for half a second, no component loading) and every image has loaded
    or failed (an ``onerror`` handler runs on the failure)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("""() => !document.querySelector('[data-dash-is-loading="true"]')
        && [...document.images].every(i => i.complete)""")


def _javascript_links(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('a[href], [*|href]')]
        .map(a => a.getAttribute('href') || a.getAttribute('xlink:href') || '')
        .filter(h => /^\\s*javascript:/i.test(h))""")


def _text_nodes_with(page, needle: str) -> int:
    """Elements the payload's own tags would have become (none may exist)."""
    return page.evaluate(
        """(n) => [...document.querySelectorAll('script, img, svg[onload]')]
        .filter(e => (e.outerHTML || '').includes(n)).length""",
        needle,
    )


def test_hostile_text_stays_text_on_the_board(live_server, browser_context, session, district):  # noqa: F811
    _poison(session, district)
    browser = browser_context.browser
    username = session.get(User, district.leader.user_id).username
    ctx, page, dialogs, problems = _open(
        browser, live_server, username, f"/dashboard/?leader_id={district.leader_id}&department_id={district.lead_id}"
    )
    try:
        _wait_cell(page, "title", "逾期甲")
        page.wait_for_selector("#g-department .ytick text")
        page.wait_for_selector("#ranking table")
        page.wait_for_selector("#schedule table")
        _settle(page)
        shot(page, "dashboard-xss-leader")

        # nothing ran
        assert dialogs == []
        assert page.evaluate("window.__xss") == []
        assert _javascript_links(page) == []
        for marker in ('_x("题")', '_x("单位")', "alert(2)", "alert(3)", '_x("来源")'):
            assert _text_nodes_with(page, marker) == 0, marker

        # and every field reads back literally
        row = page.locator(".ag-center-cols-container .ag-row").first
        assert row.locator("[col-id=title]").inner_text() == TITLE
        assert row.locator("[col-id=lead]").inner_text() == DEPT
        assert LEADER in row.locator("[col-id=leaders]").inner_text()
        schedule = page.inner_text("#schedule")
        assert TITLE + "（本周到期）" in schedule and CATEGORY in schedule and DEPT in schedule
        assert DEPT in page.inner_text("#ranking")
        summary = page.inner_text("#filter-summary")
        assert f"责任领导：{LEADER}" in summary and f"牵头单位：{DEPT}" in summary
        assert DEPT in page.inner_text("#f-department") and LEADER in page.inner_text("#f-leader")
        # Plotly's labels are SVG text whose pseudo-HTML would take <a …> as a link: the names go in
        # escaped (dashboard/figures.py plain()), so the whole name shows and no link is made.
        for graph, name in (("g-department", DEPT), ("g-leader", LEADER)):
            # the charts redraw as late callbacks land: wait until the whole name is a label
            page.wait_for_function(
                "([g, t]) => [...document.querySelectorAll(`#${g} .ytick text`)].some(e => e.textContent.includes(t))",
                arg=[graph, name],
                timeout=15000,
            )
        assert page.locator("#g-department a, #g-leader a").count() == 0

        # the watchers work: the same payload put in as HTML does run
        with page.expect_event("dialog"):  # the image fails to load, its handler flags and alerts
            page.evaluate("(h) => document.body.insertAdjacentHTML('beforeend', h)", TITLE)
        assert "题" in page.evaluate("window.__xss") and dialogs == ["1"]
        dialogs.clear()

        # the grid's row with the source column, unfiltered, as the office sees it
        page.goto(live_server.url + "/dashboard/")
        # The infinite grid fills its rows after they appear and may redraw them as late callbacks land,
        # so wait for a cell reading the whole hostile title literally (reading the cells once could
        # catch the grid between two drawings).
        _wait_cell(page, "source", SOURCE)
        assert dialogs == [] and page.evaluate("window.__xss") == [] and _javascript_links(page) == []
        assert _text_nodes_with(page, '_x("来源")') == 0
    finally:
        ctx.close()


def test_dash_pages_send_the_csp_with_hashes_only(client, session, district):  # noqa: F811
    """The board's CSP: Dash's own inline scripts by hash, no 'unsafe-inline' or 'unsafe-eval'
    for scripts; the rest as on every page."""
    from tests.webutil import login

    login(client, session.get(User, district.leader.user_id).username, "Factory-pass-7")
    for path in ("/dashboard/", "/dashboard/_dash-layout", "/dashboard/_dash-dependencies"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["Content-Security-Policy"]
        script = re.search(r"script-src ([^;]+)", csp).group(1).split()
        assert script[0] == "'self'" and all(s.startswith("'sha256-") for s in script[1:]), csp
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'self'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # (Dash's IE warning sits in a conditional comment: never run, so not hashed)
    page = re.sub(r"<!--.*?-->", "", client.get("/dashboard/").get_data(as_text=True), flags=re.S)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
    assert len(inline) == 1, "Dash renders one start-up script inline (var renderer = new DashRenderer())"
    # every inline script the page carries is allowed by one of the hashes, and nothing else is
    import base64
    import hashlib

    csp = client.get("/dashboard/").headers["Content-Security-Policy"]
    bodies = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", page, re.S)
    for body in bodies:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
