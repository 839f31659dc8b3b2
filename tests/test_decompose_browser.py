"""The split page in Chromium, as the office uses it: paste minutes, read a Word file and a scan,
correct a field the reading could not fill, and save every item as a draft. Screenshots at 1366 px
and on a phone (390 px) of each step, in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date

import docx
import pytest
from sqlmodel import select

from tests import factories as f
from tests.browser import expect, shot
from tests.test_intake_documents import draw_text, png
from tracker.demo.organisation import build_org
from tracker.models import Department, Role, Source, SourceKind, Task
from tracker.workflow import Status

pytestmark = pytest.mark.browser

PASTED = """区政府第31次常务会议纪要
2026年11月20日，区长周国平主持召开区政府第31次常务会议。现将会议议定事项纪要如下：
一、关于老旧小区改造。由区住建局牵头，区财政局、各街道办事处配合，12月底前拿出改造方案，报吴海涛常务副区长审定。
二、关于冬季安全生产。区应急局要会同区城管局、各街道办事处开展隐患排查，5个工作日内报送排查情况。
三、关于政务数据共享。区大数据中心负责，各街道办事处积极配合，春节前完成。
出席：周国平、吴海涛、高志远
列席：区政府办、区发改委"""

WORD = [
    "区政府第32次常务会议纪要",
    "会议要求，区交通局牵头，区财政局配合，加快城东大道建设，2027年6月底前通车。",
    "会议明确，由区卫健委负责，区医保局配合，做好冬春季疫情防控工作，长期坚持。",
]

PASSWORD = "Liu-lin jie 7 dao!"  # any password the policy accepts

SCAN = [
    "区政府第33次常务会议纪要",
    "一、关于河道清淤。区水利局牵头，",
    "区农业局配合，12月25日前完成。",
    "二、关于冬季供暖保障。抓紧排查供热管网，",
    "12月15日前完成。",
]


def _source(session) -> Source:
    src = Source(
        kind=SourceKind.EXECUTIVE_MEETING,
        title="区政府第31次常务会议",
        reference="第31次",
        source_date=date(2026, 11, 20),
        body="",
    )
    session.add(src)
    session.commit()
    return src


def _both_widths(page, name: str) -> None:
    shot(page, f"{name}-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page overflows"
    shot(page, f"{name}-390")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_office_splits_pasted_word_and_scanned_minutes_and_saves_drafts(
    live_server, browser_context, session, tmp_path
):
    build_org(session)
    f.user(session, Role.SUPERVISOR, username="office18", password=PASSWORD)
    session.commit()
    src = _source(session)
    url = live_server.url
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(url + "/login")
    page.fill("#username", "office18")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    page.goto(f"{url}/office/sources/{src.id}/decompose")

    # 1. Pasted minutes: three items, the preamble and the 出席/列席 lines are none of them.
    page.fill("#text", PASTED)
    page.click("button[name=action][value=split]")
    rows = page.locator("#drafts tbody tr")
    expect(rows).to_have_count(3)
    assert page.input_value('[name="rows-0-lead"]') == "区住建局"
    assert page.input_value('[name="rows-1-lead"]') == "区应急局"
    assert "区城管局" in page.input_value('[name="rows-1-assisting"]')
    assert page.input_value('[name="rows-0-leaders"]') == "吴海涛"
    expect(page.locator('tr[data-row="0"] [data-source-of="lead"] mark')).to_have_text("区住建局")
    # every name once, the unknown unit marked where it stands and never dropped
    mentions = page.locator("#mentions")
    expect(mentions.locator('[data-kind="group"]', has_text="各街道办事处")).to_have_count(1)
    expect(mentions.locator('[data-kind="unknown"]')).to_have_text("区大数据中心（第三项）")
    expect(page.locator('#marked-text mark[data-kind="unknown"]')).to_have_text("区大数据中心")
    expect(page.locator('#marked-text mark[data-kind="department"]', has_text="区住建局")).to_have_count(1)
    expect(page.locator('tr[data-row="2"] [data-error="lead"]')).to_contain_text("区大数据中心")
    _both_widths(page, "decompose-01-pasted")

    # 2. A Word file: an unnumbered 纪要 whose items begin with 会议要求 / 会议明确.
    path = tmp_path / "第32次常务会议纪要.docx"
    document = docx.Document()
    for line in WORD:
        document.add_paragraph(line)
    document.save(path)
    page.set_input_files("#file", str(path))
    page.click("button[name=action][value=read]")
    expect(rows).to_have_count(2)
    assert page.input_value('[name="rows-0-lead"]') == "区交通局"
    assert page.input_value('[name="rows-1-lead"]') == "区卫健委"
    assert page.input_value('[name="rows-0-due_date"]') == "2027-06-30"
    expect(page.locator("#text")).to_have_value("\n".join(WORD))  # the text as read, to correct
    _both_widths(page, "decompose-02-word")

    # 3. A scan: read by OCR, the text shown to check; item two names no lead.
    scan = tmp_path / "扫描件.png"
    scan.write_bytes(png(draw_text(SCAN)))
    page.set_input_files("#file", str(scan))
    page.click("button[name=action][value=read]")
    expect(page.get_by_text("图片内容由文字识别读取，请核对")).to_be_visible(timeout=120_000)
    expect(rows).to_have_count(2)
    assert page.input_value('[name="rows-0-lead"]') == "区水利局"
    assert page.input_value('[name="rows-1-lead"]') == ""
    assert "区政府第33次常务会议纪要" in page.input_value("#text")
    _both_widths(page, "decompose-03-scan")

    # 4. Correct the missing lead, check again, save both as drafts.
    page.fill('[name="rows-1-lead"]', "区城管局")
    page.click("button[name=action][value=check]")
    expect(page.locator("td.unresolved")).to_have_count(0)
    expect(page.locator('tr[data-row="1"] .text-success')).to_contain_text("区城市管理执法局")
    page.click("button[name=action][value=draft]")
    page.wait_for_url(f"{url}/office/sources/{src.id}")
    expect(page.locator(".alert-success")).to_contain_text("已登记为草稿 2 项")
    _both_widths(page, "decompose-04-saved")

    session.expire_all()
    tasks = session.exec(select(Task).where(Task.source_id == src.id).order_by(Task.id)).all()
    assert [t.status for t in tasks] == [Status.DRAFT, Status.DRAFT]
    leads = [session.get(Department, t.lead_department_id).name for t in tasks]
    assert leads == ["区水利和湖泊局", "区城市管理执法局"]
    assert [t.due_date for t in tasks] == [date(2026, 12, 25), date(2026, 12, 15)]
