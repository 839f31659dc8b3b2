"""Every page each role can reach, in Chromium, at 1366×768 and on a phone (390×844): no page wider
than the screen, no console error or warning, no HTTP status of 500 or more. The pages are found
as a user finds them: from the home page, following the links the pages show (one page per kind
of address: /tasks/12 and /tasks/40 are the same page). Screenshots of each in
test-artifacts/screenshots/pages/."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlmodel import select
from werkzeug.security import generate_password_hash

from tests.browser import ARTIFACTS, CHROMIUM_ARGS  # noqa: F401  (the browser fixtures come with it)
from tracker.demo.seed import seed_demo
from tracker.models import User
from tracker.services.organisation.directory import PASSWORD_METHOD

pytestmark = pytest.mark.browser

PASSWORD = "Liu-lin jie 7 dao!"
ROLES = {"office": "duchashi", "department": "fgw", "leader": "wuhaitao", "admin": "admin"}
SIZES = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}
QUIET = ("error", "warning")  # console messages a page must not log
PER_ROLE = 40  # kinds of page per role at most
# Links that leave the page for a file or end the session, not pages to look at.
SKIP = re.compile(r"/logout|/export|/download|/attachments/|\.xlsx|\.docx|\.pdf|/print|/static/|/api/|/healthz")


def _kind(path: str) -> str:
    return re.sub(r"/\d+", "/{id}", path)


def _seed(session) -> None:
    seed_demo(session)
    for user in session.exec(select(User).where(User.username.in_(list(ROLES.values())))):
        user.password_hash = generate_password_hash(PASSWORD, method=PASSWORD_METHOD)
        user.must_change_password = False
        session.add(user)
    session.commit()


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_fits_the_screen_and_is_quiet(live_server, browser_context, session, role):
    _seed(session)
    base = live_server.url
    shots = ARTIFACTS / "pages"
    shots.mkdir(parents=True, exist_ok=True)
    browser = browser_context.browser
    report: list[str] = []
    seen: dict[str, str] = {}
    for size, viewport in SIZES.items():
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        context.set_default_timeout(30_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m, out=problems: out.append(f"{m.type}: {m.text}") if m.type in QUIET else None)
        page.on("pageerror", lambda e, out=problems: out.append(f"pageerror: {e}"))
        page.on("response", lambda r, out=problems: out.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None)
        page.goto(base + "/login")
        page.fill("#username", ROLES[role])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)  # each role lands on its own home
        queue = [page.url] if size == "1366" else list(seen.values())
        while queue:
            url = queue.pop(0)
            asked = _kind(urlsplit(url).path)
            if size == "1366":
                seen.setdefault(asked, url)  # a link that redirects is not followed again
            problems.clear()
            page.goto(url)
            page.wait_for_load_state("networkidle")
            path = urlsplit(page.url).path
            kind = _kind(path)
            name = f"{role}-{size}-{kind.strip('/').replace('/', '_').replace('{id}', 'N') or 'home'}"
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 1:
                report.append(f"{size} {path}: {wide} px wider than the screen")
            report += [f"{size} {path}: {p}" for p in problems]
            if size != "1366":
                continue
            seen.setdefault(kind, url)
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                parts = urlsplit(href)
                if parts.netloc != urlsplit(base).netloc or SKIP.search(parts.path) or not parts.path:
                    continue
                target = _kind(parts.path)
                if (
                    target not in seen
                    and len(seen) + len(queue) < PER_ROLE
                    and all(_kind(urlsplit(q).path) != target for q in queue)
                ):
                    queue.append(f"{base}{parts.path}{'?' + parts.query if parts.query else ''}")
        context.close()
    assert len(seen) >= 4, seen
    assert not report, "\n".join(report)
