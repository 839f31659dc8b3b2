"""The input guard (tracker/http/guard.py) and the rules it stands on (tracker/rules/text.py,
tracker/services/validation.py): each surface a control character can come through is refused
with a 400 naming the field, before login, CSRF and the views; what a title shows is what it
says; dates outside 1900-2100 and ids no row can have are 400 or 404, never a 500.

The reported cases first (PostgreSQL refused a NUL that SQLite stored, so these ran into the
database only on PostgreSQL); tests/test_http_fuzz.py walks every route with the same values.
"""

from __future__ import annotations

import io
import sys
import unicodedata

import pytest
from sqlmodel import select

from tests import factories as f
from tests.webutil import csrf_from, login, post
from tracker.models import Department, SavedView, Source, Task, User
from tracker.rules.text import control_char, header_control_char, one_line, strip_invisible
from tracker.services.actors import SYSTEM
from tracker.services.organisation import directory as organisation
from tracker.services.validation import parse_date, to_int

# --- the character rules ---------------------------------------------------------------------


def test_every_control_character_is_one_and_tab_newline_cr_only_in_text():
    controls = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]
    assert len(controls) == 65
    assert all(control_char(f"a{c}b") == c for c in controls)
    assert [c for c in controls if control_char(c, multiline=True) is None] == ["\t", "\n", "\r"]
    assert control_char("\ud800") == "\ud800"  # a lone surrogate no database stores
    assert control_char("区发改委 第12次 👨‍👩‍👧 \u3000") is None
    assert header_control_char("Mozilla/5.0\t(X11)") is None and header_control_char("a\x00") == "\x00"


def test_what_draws_nothing_is_the_whole_format_category():
    """The list in tracker/rules/text.py, held to this Python's Unicode database."""
    formats = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert [hex(ord(c)) for c in formats if strip_invisible(c)] == []
    assert strip_invisible("\u3164\u115f") == ""  # Hangul fillers: blank names
    assert strip_invisible("事项 exe 👍🏽") == "事项 exe 👍🏽"


def test_a_title_shows_what_it_says():
    assert one_line("事项\u202egpj.exe") == "事项gpj.exe"
    assert one_line(" 推进\u200b老旧小区\u200d改造\ufeff ") == "推进老旧小区改造"
    assert one_line("第一行\r\n  第二行\t结尾\u2028") == "第一行 第二行 结尾"


@pytest.mark.parametrize(
    "raw, expected",
    [("2026-11-23", "2026-11-23"), ("1900-01-01", "1900-01-01"), ("2100-12-31", "2100-12-31"), ("", None)],
)
def test_dates_from_1900_to_2100_are_read(raw, expected):
    day = parse_date(raw)
    assert (day.isoformat() if day else None) == expected


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01", "2026-13-01", "明天"])
def test_other_dates_are_a_400_naming_the_field(raw):
    from tracker.errors import BadInput

    with pytest.raises(BadInput) as err:
        parse_date(raw, label="完成时限", field="due_date")
    assert err.value.http_status == 400 and "完成时限" in err.value.message and "due_date" in err.value.fields


def test_signed_numbers_are_read_only_when_asked():
    assert to_int("-3") is None and to_int("-3", signed=True) == -3
    assert to_int("-") is None and to_int("--3", signed=True) is None and to_int("-1234567890", signed=True) is None


# --- the reported cases, through HTTP -------------------------------------------------------------


@pytest.fixture
def d(session):
    return f.district(session)


def _as(app, session, actor):
    client = app.test_client()
    assert login(client, session.get(User, actor.user_id).username).status_code == 302
    return client


def _refused(resp, label: str, field: str | None = None):
    assert resp.status_code == 400, resp.status_code
    body = resp.get_data(as_text=True)
    assert f"“{label}”含有不可见的控制字符" in body, body[:2000]
    if resp.is_json:
        assert resp.get_json()["error"] == "bad_input" and (field is None or field in resp.get_json()["fields"])
    else:
        assert 'class="alert alert-danger' in body  # the normal error page


def test_nul_in_the_login_form_is_refused_before_any_lookup(client, session, d):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    _refused(client.post("/login", data={"username": "admin\x00", "password": "x", "csrf_token": token}), "用户名")
    # even without a CSRF token: the guard runs first
    _refused(client.post("/login", data={"username": "a", "password": "\x00"}), "密码")


@pytest.mark.parametrize(
    "url, label",
    [
        ("/office/sources?q=%00", "搜索关键词"),
        ("/office/sources?kind=%00", "类型"),
        ("/office/sources?q=%C2%85", "搜索关键词"),  # C1: NEL
        ("/office/sources?q=a%09b", "搜索关键词"),  # a tab has no place in a query string
        ("/office/tasks?sort=%1b", "排序"),
        ("/office/tasks?%00=1", "参数名"),
        ("/tasks/%00", "网址"),
    ],
)
def test_control_characters_in_the_query_string_and_path(app, session, d, url, label):
    _refused(_as(app, session, d.office).get(url), label)


def test_control_characters_in_forms(app, session, d):
    office = _as(app, session, d.office)
    form = {"kind": "executive_meeting", "source_date": "2026-11-20", "title": "区政府第16次常务会议\x00"}
    _refused(post(office, "/office/sources", form), "标题", "title")
    _refused(post(office, "/office/tasks/new", {"title": "新事项\x00"}), "标题")
    _refused(
        post(office, "/office/views", {"name": "视图\x00", "query": "light=red"}, token_from="/office/tasks"), "名称"
    )
    assert session.exec(select(Source).where(Source.title.like("%16次%"))).first() is None
    assert session.exec(select(SavedView)).first() is None


def test_the_task_report_form_refuses_nul_and_keeps_newlines(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    clerk = _as(app, session, d.lead_clerk)
    url = f"/tasks/{task.id}/report"
    _refused(post(clerk, url, {"text": "进展\x00", "percent": "40"}, token_from=f"/tasks/{task.id}"), "内容")
    ok = post(clerk, url, {"text": "第一段\r\n第二段\t完", "percent": "40"}, token_from=f"/tasks/{task.id}")
    assert ok.status_code == 302
    from tracker.models import ProgressReport

    assert (
        session.exec(select(ProgressReport.text).order_by(ProgressReport.id.desc())).first() == "第一段\r\n第二段\t完"
    )


def test_upload_file_names_and_headers(app, session, d):
    task = f.task_in(session, d, "in_progress")
    session.commit()
    clerk = _as(app, session, d.lead_clerk)
    token = csrf_from(clerk.get(f"/tasks/{task.id}").get_data(as_text=True))
    resp = clerk.post(
        f"/tasks/{task.id}/report",
        data={"text": "附件", "csrf_token": token, "files": (io.BytesIO(b"%PDF-1.4\n"), "批复\x00.pdf")},
        content_type="multipart/form-data",
    )
    _refused(resp, "文件名", "files")
    _refused(clerk.get("/dept/", headers={"User-Agent": "curl\x01"}), "请求头 User-Agent")
    assert clerk.get("/healthz", headers={"User-Agent": "Mozilla/5.0\t(X11)"}).status_code == 200


def test_json_names_are_checked_too(app, session, d):
    from tracker.services import access

    token = access.issue_token(session, d.office, session.get(User, d.office.user_id), "guard")
    session.commit()
    resp = app.test_client().post(
        "/api/v1/tasks", json={"title\x00": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    _refused(resp, "参数名")
    # a body sent without a content type is read as JSON by the API: checked all the same
    resp = app.test_client().post(
        "/api/v1/tasks", data=b'{"title": "a\\u0000"}', headers={"Authorization": f"Bearer {token}"}
    )
    _refused(resp, "标题", "title")


# --- titles and names -----------------------------------------------------------------------------


def test_titles_lose_bidi_and_zero_width_characters_on_every_door(app, session, d):
    office = _as(app, session, d.office)
    resp = post(office, "/office/tasks/new", {"title": "推进\u200b老旧小区改造\u202egpj.exe", "lead_department_id": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert session.exec(select(Task.title)).one() == "推进老旧小区改造gpj.exe"
    src = f.source(session, title="x")  # a model row written directly: the services are the door
    session.delete(src)
    from tracker.services.tasks import sources

    created = sources.create_source(
        session,
        d.office,
        {"kind": "executive_meeting", "source_date": "2026-11-20", "title": "区政府\u2066常务会议\u2069"},
    )
    assert created.title == "区政府常务会议"
    dep = organisation.create_department(session, SYSTEM, "区\u200b卫健委")
    assert dep.name == "区卫健委"
    leader = organisation.create_leader(session, SYSTEM, "王\u200d五", "副区长\u202e")
    assert (leader.name, leader.title) == ("王五", "副区长")
    assert session.exec(select(Department).where(Department.name == "区卫健委")).one().id == dep.id


def test_a_requested_title_change_is_cleaned_too(session, d):
    from tracker.services.tasks import requests as task_requests

    task = f.task_in(session, d, "in_progress")
    req = task_requests.request_change(session, d.office, task.id, "名称有误", title="新名称\u202eTXT.exe")
    assert req.payload["title"] == "新名称TXT.exe"


# --- dates and ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("week", ["9999-12-31", "0001-01-01", "9999-W52", "0001-W01", "2026-W60", "下周"])
@pytest.mark.parametrize("page", ["/office/schedule/", "/office/schedule/print", "/office/schedule/export.xlsx"])
def test_schedule_weeks_outside_1900_2100_are_400(app, session, d, week, page):
    from urllib.parse import quote

    resp = _as(app, session, d.office).get(f"{page}?week={quote(week)}")
    assert resp.status_code == 400 and "周次或日期无效" in resp.get_data(as_text=True)


def test_schedule_weeks_inside_are_pages(app, session, d):
    office = _as(app, session, d.office)
    for week in ("2026-W48", "2026-11-23", "1900-01-01", "2100-12-31"):
        assert office.get(f"/office/schedule/?week={week}").status_code == 200
    assert _as(app, session, d.leader).get("/office/schedule/?date=9999-12-31").status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/office/tasks?due_from=9999-12-31",
        "/office/tasks?due_to=0001-01-01",
        "/office/tasks/export?closed_from=2026-02-30",
        "/dashboard/tasks?due_from=9999-12-31",
    ],
)
def test_list_dates_outside_1900_2100_are_400(app, session, d, url):
    who = d.leader if url.startswith("/dashboard") else d.office
    resp = _as(app, session, who).get(url)
    assert (
        resp.status_code == 400
        and "不是有效日期" in resp.get_data(as_text=True)
        or "1900" in resp.get_data(as_text=True)
    )


def test_a_form_date_outside_1900_2100_is_shown_beside_the_field(app, session, d):
    office = _as(app, session, d.office)
    resp = post(office, "/office/tasks/new", {"title": "新事项", "due_date": "9999-12-31"})
    assert resp.status_code in (400, 422)
    assert "完成时限应在1900年至2100年之间" in resp.get_data(as_text=True)
    assert session.exec(select(Task)).first() is None


@pytest.mark.parametrize(
    "url, status",
    [
        ("/tasks/99999999999999999999", 404),
        ("/tasks/2147483648", 404),
        ("/tasks/-1", 404),
        ("/office/tasks/99999999999/edit", 404),
        ("/office/tasks?department_id=99999999999999&page=-1", 200),
        ("/office/sources?page=99999999999999999999", 200),
        ("/motions/?department_id=99999999999999999999", 200),
    ],
)
def test_huge_and_negative_ids_are_404_or_ignored(app, session, d, url, status):
    assert _as(app, session, d.office).get(url).status_code == status


def test_a_huge_sort_order_is_refused_in_chinese(app, session, d):
    office = _as(app, session, d.office)
    resp = post(office, f"/admin/departments/{d.lead_id}", {"name": "区发展和改革委员会", "sort_order": "9" * 20})
    assert resp.status_code == 422 and "须为" in resp.get_data(as_text=True)


def test_a_search_longer_than_anyone_types_is_cut_not_refused(app, session, d):
    office = _as(app, session, d.office)
    assert office.get("/office/sources?q=" + "x" * 60_000).status_code == 200  # SQLite refuses a LIKE over 50 KB
