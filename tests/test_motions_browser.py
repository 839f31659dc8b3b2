"""人大建议/政协提案 in Chromium: the office, the lead unit and the co-handling unit each do their part.

The office uploads the 建议 list (title row, merged cells) on the 建议提案 page, sees the
importer's preview (预检, nothing written), confirms, and finds the batch assigned on the list;
the lead unit (区市场监管局) records its 面商 and is refused an answer before the
co-handling unit (城关街道) has sent its opinion; the co-handling unit sends it; the
lead answers with its 答复函; the office approves the answer, records 不满意, and the
item re-opens for its second handling; the figures page shows it. Screenshots of
every step land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.browser import expect, shot
from tests.fixtures.helpers import load_district
from tests.fixtures.make_motion_fixtures import SUGGESTIONS
from tracker.models import AuditEvent, Motion, MotionStep, Role, Task
from tracker.services.actors import SYSTEM
from tracker.services.organisation import directory as organisation

pytestmark = pytest.mark.browser

PASSWORD = "Factory-pass-7"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _login(browser, server, username: str, name: str):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)  # wait_for_load_state() may see the login page
    return context, page


def _open_item(page, server, label: str):
    page.goto(server.url + "/motions/")
    page.get_by_role("link", name=label, exact=True).click()
    page.wait_for_url("**/motions/*")


def test_three_roles_in_chromium(live_server, browser_context, session, tmp_path):
    org = load_district(session)  # office user "duchashi"
    organisation.create_user(
        session, SYSTEM, "scjg", "市场监管局联络员", PASSWORD, Role.CLERK, department_id=org.dept("区市场监督管理局")
    )
    organisation.create_user(
        session, SYSTEM, "cgjd", "城关街道联络员", PASSWORD, Role.CLERK, department_id=org.dept("城关街道办事处")
    )
    session.commit()
    pdf = tmp_path / "答复函.pdf"
    pdf.write_bytes(PDF)
    browser = browser_context.browser
    url = live_server.url
    contexts = []
    try:
        # --- the office imports and assigns the 建议 list in one batch
        ctx, office = _login(browser, live_server, "duchashi", "motions-office")
        contexts.append(ctx)
        office.goto(url + "/motions/")
        office.set_input_files("#motion-import input[name=file]", str(SUGGESTIONS))
        office.click("#motion-import button[type=submit]")
        office.wait_for_url("**/imports/*")
        assert "导入建议提案交办清单" in office.locator("h1").inner_text()
        assert office.locator("#assign").is_checked()  # 导入后直接交办
        shot(office, "motions-00-office-columns")
        office.click("#plan-button")  # ② 预检: nothing is written
        office.wait_for_selector("#confirm-button", timeout=60_000)
        assert office.locator("#counts [data-count=create]").inner_text() == "32"
        assert office.locator("#report-rows tbody tr").count() == 32
        assert "建议第16号" in office.locator("#report-rows").inner_text()
        assert session.exec(select(Motion)).first() is None
        shot(office, "motions-00-office-preview")
        office.click("#confirm-button")  # ③ 确认导入
        office.wait_for_selector("#result-summary", timeout=60_000)
        assert "已导入：登记 32 件建议提案" in office.locator("#result-summary").inner_text()
        office.click("[data-motions-link]")
        office.wait_for_url("**/motions/?*")
        assert office.locator("#motions tbody tr").count() == 32
        shot(office, "motions-01-office-imported")
        office.select_option("#motion-filters select[name=category]", "市场")
        office.click("#motion-filters button[type=submit]")
        office.wait_for_url("**/motions/?*category=*")  # wait_for_load_state() may see the old page
        assert office.locator("#motions tbody tr").count() == 2
        shot(office, "motions-02-office-filtered")
        item = session.exec(select(Motion).where(Motion.number == 16)).one()

        # --- the lead unit: 面商, then an answer refused while the co-handling opinion is missing
        ctx, lead = _login(browser, live_server, "scjg", "motions-lead")
        contexts.append(ctx)
        lead.goto(url + "/motions/")
        assert lead.locator("#motions tbody tr").count() == 4  # its own: lead of 2, co-handling of 2
        _open_item(lead, live_server, "建议第16号")
        assert lead.locator("#form-opinion").count() == 0
        lead.select_option("#form-consult select[name=form]", "当面")
        lead.fill("#form-consult textarea[name=text]", "到农贸市场实地查看，与周静代表当面沟通")
        lead.click("#form-consult button[type=submit]")
        expect(lead.locator(".alert-success")).to_contain_text("面商沟通情况已记录")
        lead.select_option("#form-answer select[name=category]", "A")
        lead.fill("#form-answer textarea[name=summary]", "已制定农贸市场管理办法并实施")
        lead.set_input_files("#form-answer input[name=file]", str(pdf))
        lead.click("#form-answer button[type=submit]")
        expect(lead.locator(".alert-danger")).to_contain_text("城关街道办事处")
        shot(lead, "motions-03-lead-answer-refused")

        # --- the co-handling unit sends its opinion to the lead
        ctx, assist = _login(browser, live_server, "cgjd", "motions-assist")
        contexts.append(ctx)
        _open_item(assist, live_server, "建议第16号")
        assert assist.locator("#form-answer").count() == 0 and assist.locator("#form-consult").count() == 0
        assist.fill("#form-opinion textarea[name=text]", "城关街道将配合做好市场周边秩序整治")
        shot(assist, "motions-04-assist-opinion")
        assist.click("#form-opinion button[type=submit]")
        expect(assist.locator(".alert-success")).to_contain_text("协办意见已报送主办单位")

        # --- the lead answers with its 答复函
        lead.reload()
        lead.select_option("#form-answer select[name=category]", "A")
        lead.fill("#form-answer textarea[name=summary]", "已制定农贸市场管理办法并实施")
        lead.set_input_files("#form-answer input[name=file]", str(pdf))
        lead.click("#form-answer button[type=submit]")
        expect(lead.locator(".alert-success")).to_contain_text("答复已提交督查室审核")
        shot(lead, "motions-05-lead-answered")

        # --- the office approves the answer, records 不满意: the second handling starts
        office.goto(url + f"/motions/{item.id}")
        office.click("#form-review button[value=approve_answer]")
        expect(office.locator(".alert-success")).to_contain_text("审核通过")
        office.select_option("#form-feedback select[name=result]", "不满意")
        office.fill("#form-feedback input[name=note]", "希望明确整治时间表")
        office.click("#form-feedback button[type=submit]")
        expect(office.locator(".alert-success")).to_contain_text("已转入第二轮办理")
        assert "第二轮办理" in office.locator("#motion-stage").inner_text()
        shot(office, "motions-06-office-reopened")
        office.goto(url + "/motions/figures")
        row = office.locator("#figures tr[data-department='区市场监督管理局'] td")
        assert [row.nth(i).inner_text() for i in (1, 2, 3, 4, 8, 9)] == [
            "2",
            "1",
            "1",
            "0",
            "0.0%",
            "1",
        ]  # A: the answer is being redone
        shot(office, "motions-07-office-figures")
        with office.expect_download() as dl:
            office.goto(url + "/motions/")
            office.click("text=导出公开办理结果")
        assert dl.value.suggested_filename.endswith(".xlsx")
    finally:
        for ctx in contexts:
            ctx.close()

    session.expire_all()
    item = session.get(Motion, item.id)
    task = session.get(Task, item.task_id)
    assert item.round == 2 and item.stage == "handling" and task.status == "in_progress"
    assert item.first_answered_on is not None and item.satisfaction == "不满意"
    assert session.exec(select(MotionStep).where(MotionStep.motion_id == item.id, MotionStep.round == 2)).all()
    actions = set(session.exec(select(AuditEvent.action).where(AuditEvent.task_id == task.id)))
    assert {
        "assign",
        "acknowledge",
        "report_part",
        "request_close",
        "approve_close",
        "reopen",
        "motion_feedback",
    } <= actions


def test_office_assigns_two_registered_motions_from_the_list(live_server, browser_context, session):
    """Registered without assignment (导入后不直接交办): the office filters 待交办, ticks two and
    assigns them; the lead unit then sees exactly those two, the third stays with the office."""
    from tracker.services.motions import handling as motions

    org = load_district(session)
    organisation.create_user(
        session, SYSTEM, "zjj", "住建局联络员", PASSWORD, Role.CLERK, department_id=org.dept("区住房和城乡建设局")
    )

    def item(number, lead):
        return motions.MotionInput(
            kind="suggestion",
            number=number,
            session_name="区十七届人大三次会议",
            title=f"关于第{number}号事项的建议",
            proposer="王建国",
            lead_department_id=org.dept(lead),
        )

    made = motions.register(
        session,
        org.office,
        [item(1, "区住房和城乡建设局"), item(2, "区住房和城乡建设局"), item(3, "区交通运输局")],
        assign=False,
    )
    session.commit()
    browser = browser_context.browser
    url = live_server.url
    contexts = []
    try:
        ctx, lead = _login(browser, live_server, "zjj", "assign-lead")
        contexts.append(ctx)
        lead.goto(url + "/motions/")
        assert "没有符合条件的建议提案" in lead.locator("#motions").inner_text()  # drafts are the office's

        ctx, office = _login(browser, live_server, "duchashi", "assign-office")
        contexts.append(ctx)
        office.goto(url + "/motions/")
        office.select_option("#motion-filters select[name=stage]", "unassigned")
        office.click("#motion-filters button[type=submit]")
        office.wait_for_url("**/motions/?*stage=unassigned*")
        assert office.locator("#motions tbody tr").count() == 3
        assert office.locator("#assign-selected").is_disabled()
        for m in made[:2]:
            office.check(f"#motions tr[data-motion='{m.id}'] input[name=motion_ids]")
        assert office.locator("#assign-selected").inner_text() == "交办选中的2件"
        shot(office, "motions-assign-01-ticked")
        office.click("#assign-selected")
        expect(office.locator(".alert-success")).to_contain_text("已交办2件：建议第1号、建议第2号")
        assert "stage=unassigned" in office.url
        assert office.locator("#motions tbody tr").count() == 1  # only the third still waits
        assert office.locator(f"#motions tr[data-motion='{made[2].id}']").count() == 1
        shot(office, "motions-assign-02-assigned")

        lead.goto(url + "/motions/")
        assert lead.locator("#motions tbody tr").count() == 2
        assert "办理中" in lead.locator("#motions tbody").inner_text()
    finally:
        for ctx in contexts:
            ctx.close()

    session.expire_all()
    statuses = [session.get(Task, session.get(Motion, m.id).task_id).status for m in made]
    assert statuses == ["assigned", "assigned", "draft"]
    assert session.exec(select(MotionStep).where(MotionStep.motion_id == made[0].id)).all()
    assigned = session.exec(select(AuditEvent.task_id).where(AuditEvent.action == "assign")).all()
    assert sorted(assigned) == sorted(session.get(Motion, m.id).task_id for m in made[:2])
