"""Who gets what from /dashboard/ (PITFALLS "Dash inside Flask").

The permission matrix skips /dashboard (its routes belong to Dash), so this
module requests every route Dash registers there — the page, _dash-layout,
_dash-dependencies, _dash-update-component with a real callback payload, the
component suites, assets — anonymously, and checks that nothing comes back but
a redirect to the login page (or a 401 for a JSON caller). Logged in, a
department's callback payload that asks for another department's rows gets
only its own; the administrator gets nothing; the CSP allows only Dash's own
inline script by hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from tests.test_dashboard import district  # noqa: F401  (the seeded district fixture)
from tests.webutil import login
from tracker.models import User

GRID_OUTPUT = '{"type":"overdue-grid","v":["MATCH"]}.getRowsResponse'
CARDS_KEYS = ["open", "overdue", "due_soon", "closed_week", "rate"]


def _grid_payload(filters: dict) -> dict:
    grid_id = {"type": "overdue-grid", "v": "x"}
    return {
        "output": GRID_OUTPUT,
        "outputs": {"id": grid_id, "property": "getRowsResponse"},
        "inputs": [
            {
                "id": grid_id,
                "property": "getRowsRequest",
                "value": {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}},
            }
        ],
        "changedPropIds": [json.dumps(grid_id, separators=(",", ":"), sort_keys=True) + ".getRowsRequest"],
        "state": [{"id": "filters", "property": "data", "value": filters}],
    }


def _cards_payload(filters: dict) -> dict:
    outputs = (
        [{"id": f"card-{k}-value", "property": "children"} for k in CARDS_KEYS]
        + [{"id": f"card-{k}-value", "property": "href"} for k in CARDS_KEYS]
        + [{"id": f"card-{k}-delta", "property": "children"} for k in CARDS_KEYS]
        + [{"id": "asof", "property": "children"}]
    )
    return {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",
        "outputs": outputs,
        "inputs": [
            {"id": "filters", "property": "data", "value": filters},
            {"id": "tick", "property": "n_intervals", "value": None},
        ],
        "changedPropIds": ["filters.data"],
        "state": [],
    }


def _post(client, payload, **headers):
    return client.post(
        "/dashboard/_dash-update-component", data=json.dumps(payload), content_type="application/json", headers=headers
    )


def _concrete(rule: str) -> str:
    return (
        rule.replace("<string:package_name>", "dash")
        .replace("<path:fingerprinted_path>", "dash-renderer/build/dash_renderer.min.js")
        .replace("<path:filename>", "board.css")
        .replace("<path:path>", "anything")
    )


def _dashboard_rules(app) -> list:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/dashboard")]
    assert {
        "/dashboard/",
        "/dashboard/_dash-layout",
        "/dashboard/_dash-dependencies",
        "/dashboard/_dash-update-component",
        "/dashboard/tasks",
        "/dashboard/export.xlsx",
    } <= {r.rule for r in rules}
    return rules


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_anonymous_gets_nothing_from_any_dashboard_route(app, client, session, district, accept):  # noqa: F811
    secret = "逾期甲"
    for rule in _dashboard_rules(app):
        url = _concrete(rule.rule)
        if "POST" in rule.methods:
            resp = client.post(
                url, data=json.dumps(_grid_payload({})), content_type="application/json", headers={"Accept": accept}
            )
        else:
            resp = client.get(url, headers={"Accept": accept})
        body = resp.get_data(as_text=True)
        if accept == "application/json":
            assert resp.status_code == 401, (url, resp.status_code)
        else:
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], (url, resp.status_code)
        assert secret not in body and "rowData" not in body and "DashRenderer" not in body, url
        assert "function(" not in body and '"callbacks"' not in body and "f-department" not in body, url


def test_logged_in_pages_and_component_suites(app, session, district):  # noqa: F811
    client = app.test_client()
    login(client, session.get(User, district.office.user_id).username)
    index = client.get("/dashboard/")
    assert index.status_code == 200
    html = index.get_data(as_text=True)
    suites = re.findall(r'src="(/dashboard/_dash-component-suites/[^"]+)"', html)
    assert suites and all(client.get(s).status_code == 200 for s in suites[:3])
    anonymous = app.test_client()
    resp = anonymous.get(suites[0])
    assert resp.status_code == 302 and b"function" not in resp.data  # even the code needs a login
    for path in ("/dashboard/_dash-layout", "/dashboard/_dash-dependencies", "/dashboard/assets/board.css"):
        assert client.get(path).status_code == 200, path


def test_filter_choices_are_scoped_to_the_user(app, session, district):  # noqa: F811
    for who, deps in (
        ("office", {"区发展和改革委员会", "区财政局", "区教育局"}),
        ("lead_clerk", {"区发展和改革委员会"}),
        ("other_leader", {"区教育局"}),
    ):
        client = app.test_client()
        login(client, session.get(User, getattr(district, who).user_id).username)
        layout = json.dumps(client.get("/dashboard/_dash-layout").get_json(), ensure_ascii=False)
        shown = {name for name in ("区发展和改革委员会", "区财政局", "区教育局") if name in layout}
        assert shown == deps, who
        button = _find(client.get("/dashboard/_dash-layout").get_json(), "remind")
        assert button["props"]["hidden"] is (who == "lead_clerk"), who  # 催办 is the office's and leaders'


def _find(node, ident):
    """The component with this id in a layout's JSON."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == ident:
            return node
        children = node.get("props", {}).get("children")
        return _find(children, ident) if children is not None else None
    if isinstance(node, list):
        for child in node:
            found = _find(child, ident)
            if found is not None:
                return found
    return None


def test_department_payload_for_another_department_gets_only_its_own(app, session, district):  # noqa: F811
    client = app.test_client()
    login(client, session.get(User, district.other_clerk.user_id).username)
    own = _post(client, _grid_payload({})).get_json()["response"]
    rows = next(iter(own.values()))["getRowsResponse"]
    assert [r["title"] for r in rows["rowData"]] == ["逾期丙（教育局）"] and rows["rowCount"] == 1
    other = _post(client, _grid_payload({"department_id": str(district.lead_id)})).get_json()["response"]
    assert next(iter(other.values()))["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    cards = _post(client, _cards_payload({"department_id": str(district.lead_id)})).get_json()["response"]
    assert [cards[f"card-{k}-value"]["children"] for k in CARDS_KEYS[:4]] == ["0", "0", "0", "0"]
    cards = _post(client, _cards_payload({})).get_json()["response"]
    assert [cards[f"card-{k}-value"]["children"] for k in CARDS_KEYS[:4]] == ["2", "1", "1", "1"]


def test_admin_has_no_board(app, session, district):  # noqa: F811
    client = app.test_client()
    login(client, session.get(User, district.admin.user_id).username)
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/_dash-layout").status_code == 403
    resp = _post(client, _grid_payload({}))
    assert resp.status_code == 403 and b"rowData" not in resp.data


def test_callback_endpoint_takes_same_origin_json_only(app, session, district):  # noqa: F811
    client = app.test_client()
    login(client, session.get(User, district.office.user_id).username)
    assert _post(client, _grid_payload({})).status_code == 200
    assert _post(client, _grid_payload({}), Origin="http://localhost").status_code == 200
    assert _post(client, _grid_payload({}), **{"Sec-Fetch-Site": "cross-site"}).status_code == 400
    assert _post(client, _grid_payload({}), Origin="http://evil.invalid").status_code == 400
    form = client.post("/dashboard/_dash-update-component", data={"payload": json.dumps(_grid_payload({}))})
    assert form.status_code == 400 and b"rowData" not in form.data


def test_csp_allows_only_dash_inline_script_by_hash(app, session, district):  # noqa: F811
    client = app.test_client()
    login(client, session.get(User, district.office.user_id).username)
    resp = client.get("/dashboard/")
    csp = resp.headers["Content-Security-Policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src")).split()
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    page = re.sub(r"<!--.*?-->", "", resp.get_data(as_text=True), flags=re.S)  # IE-only blocks never run
    inline = [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        if "src=" not in attrs and "application/json" not in attrs
    ]
    assert inline == ["var renderer = new DashRenderer();"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    # the rest of the site keeps the strict policy
    assert "sha256-" not in client.get("/").headers["Content-Security-Policy"]


def test_leader_board_list_shows_only_the_portfolio(app, session, district):  # noqa: F811
    client = app.test_client()
    login(client, session.get(User, district.other_leader.user_id).username)
    body = client.get("/dashboard/tasks?overdue=1").get_data(as_text=True)
    assert "逾期丙（教育局）" in body and "逾期甲" not in body
    assert re.search(r'id="list-total">1<', body)
    body = client.get(f"/dashboard/tasks?overdue=1&lead_department_id={district.lead_id}").get_data(as_text=True)
    assert re.search(r'id="list-total">0<', body)


def test_navigation_offers_the_board_to_its_roles(app, session, district):  # noqa: F811
    for who, shown in (("office", True), ("lead_clerk", True), ("leader", True), ("admin", False)):
        client = app.test_client()
        login(client, session.get(User, getattr(district, who).user_id).username)
        html = client.get("/password").get_data(as_text=True)
        assert ('href="/dashboard/">督办看板</a>' in html) is shown, who
