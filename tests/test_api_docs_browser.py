"""The browsable API docs in a real browser: Swagger UI renders under the strict
CSP (vendored files, a static init script) and "Try it out" works with the
session, the CSRF header included."""

import pytest
from sqlmodel import select

from tests import factories as f
from tests.browser import shot
from tracker.models import ApiToken, Role

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_and_tries_a_write(live_server, browser_context, session):
    f.user(session, Role.SUPERVISOR, username="office", password="office-pass-1")
    session.commit()
    page = browser_context.new_page()
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(live_server.url + "/login?next=/api/v1/docs")
    page.fill("#username", "office")
    page.fill("#password", "office-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".info .title").inner_text().startswith("督办系统 API")
    assert page.locator(".opblock").count() >= 18

    # Issue a token through the UI: a POST with the browser session, so it needs the CSRF header.
    block = page.locator("#operations-访问令牌-issue_token")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.locator("textarea.body-param__text").fill('{"name": "在文档页签发"}')
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "201"
    shot(page, "api-docs")
    assert session.exec(select(ApiToken).where(ApiToken.name == "在文档页签发")).one()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
