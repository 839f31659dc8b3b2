"""The board's callbacks: parse the inputs, call the board service, render.

Each runs inside the Flask request Dash makes (``_dash-update-component``), so
the actor is the logged-in user, never something the browser sent: the
browser's filter values are only ANDed with the actor's visibility in SQL. The
functions are plain module-level functions so tests can call them directly.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl, urlencode

import dash
from dash import ALL, MATCH, Input, Output, State, html
from flask import current_app

from dashboard import figures
from dashboard.layout import overdue_grid
from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError
from tracker.http.login import current_actor
from tracker.models import SOURCE_KIND_LABELS, URGENCY_LABELS, Department, Leader
from tracker.rules.overdue import Horizon
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.figures import board
from tracker.services.figures.board import BoardFilter, Figure, list_url

FILTER_CONTROLS = [
    ("f-due", "start_date", "due_from"),
    ("f-due", "end_date", "due_to"),
    ("f-source_kind", "value", "source_kind"),
    ("f-leader", "value", "leader_id"),
    ("f-department", "value", "department_id"),
    ("f-urgency", "value", "urgency"),
]
CARD_KEYS = ["open", "overdue", "due_soon", "closed_week", "rate"]


def _trigger():
    """The id of the input that fired, None on the initial call or outside a Dash request (tests)."""
    try:
        return dash.ctx.triggered_id
    except Exception:  # MissingCallbackContextException: called directly
        return None


def _db():
    # JIT is off for every connection (tracker.db._postgres_engine): a per-transaction
    # SET LOCAL here counted as a write, ended the request with ROLLBACK and so dropped the
    # connection's prepared statements on every board callback.
    return get_session()


def _horizon() -> Horizon:
    return Horizon.build(_db(), current_app.config["TRACKER"].due_soon_workdays)


def _filters(value) -> dict:
    """The filter store as the browser sent it: a dict of strings, or nothing (the browser is not trusted)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}


def _bf(filters) -> BoardFilter:
    return BoardFilter.from_args(_filters(filters))


# --- filters <-> URL -----------------------------------------------------------------


def sync_filters(search, *values):
    """The URL's query string and the filter controls mirror each other: on load (and
    on back/forward) the URL sets the controls; a control change rewrites the URL."""
    trigger = _trigger()
    if trigger in (None, "url"):
        bf = BoardFilter.from_args(dict(parse_qsl(search.lstrip("?") if isinstance(search, str) else "")))
        args = bf.to_args()
        return (dash.no_update, *[args.get(key) for _id, _prop, key in FILTER_CONTROLS], args)
    raw = {
        key: (str(v)[:10] if key in ("due_from", "due_to") and v else v)
        for (_id, _prop, key), v in zip(FILTER_CONTROLS, values)
        if isinstance(v, (str, int)) and not isinstance(v, bool)
    }
    args = BoardFilter.from_args({k: v for k, v in raw.items() if v not in (None, "")}).to_args()
    query = urlencode(args)
    return (f"?{query}" if query else "", *[dash.no_update] * len(FILTER_CONTROLS), args)


# --- headline cards ------------------------------------------------------------------


def _delta(now: float | int | None, before: float | int | None, *, unit: str = "", worse_if_up: bool = False):
    if now is None or before is None:
        return html.Span("较上周 —", className="delta-none")
    diff = round(now - before, 1)
    if diff == int(diff):
        diff = int(diff)
    css = "delta-flat" if diff == 0 else ("delta-bad" if (diff > 0) == worse_if_up else "delta-good")
    return html.Span(f"较上周 {'+' if diff > 0 else ''}{diff}{unit}", className=css)


def _link(actor, fig: Figure, text=None) -> html.A:
    return html.A(str(fig.value) if text is None else text, href=list_url(actor, fig.filter))


def update_cards(filters, _tick=None):
    """Headline numbers; each links to the list that has exactly that many rows."""
    session, actor = _db(), current_actor()
    c = board.cards(session, actor, _bf(filters), _horizon())
    last = c.last_week or {}
    values = [
        str(c.open.value),
        str(c.overdue.value),
        str(c.due_soon.value),
        str(c.closed_week.value),
        "—" if c.rate is None else f"{c.rate:.1f}%",
    ]
    hrefs = [list_url(actor, f.filter) for f in (c.open, c.overdue, c.due_soon, c.closed_week, c.on_time_week)]
    deltas = [
        _delta(c.open.value, last.get("open")),
        _delta(c.overdue.value, last.get("overdue"), worse_if_up=True),
        html.Span("按完成时限计", className="delta-none"),
        html.Span(
            [_delta(c.closed_week.value, c.closed_last_week.value), "（上周 ", _link(actor, c.closed_last_week), "）"]
        ),
        html.Span(
            [
                _delta(c.rate, c.rate_last_week, unit="个百分点"),
                html.Br(),
                "按期 ",
                _link(actor, c.on_time_week),
                " / 办结 ",
                _link(actor, c.closed_week_lead),
            ]
        ),
    ]
    asof = f"数据截至 {clock.now().astimezone(clock.CHINA):%Y-%m-%d %H:%M}（每5分钟自动刷新）"
    return (*values, *hrefs, *deltas, asof)


# --- charts --------------------------------------------------------------------------


def _bars(kind: str):
    def update(filters, _tick=None):
        session, actor, h, bf = _db(), current_actor(), _horizon(), _bf(filters)
        compute, title = BAR_CHARTS[kind]
        return figures.stacked_bars(actor, compute(session, actor, bf, h), title)

    update.__name__ = f"update_bars_{kind.replace('-', '_')}"
    return update


# one callback per chart: each is one grouped query, and the browser fetches them in parallel
BAR_CHARTS = {
    "department": (board.bars_by_department, "各牵头单位在办事项"),
    "leader": (board.bars_by_leader, "各责任领导在办事项"),
    "source-kind": (board.bars_by_source_kind, "按任务来源类别"),
    "meeting": (board.bars_by_meeting, "按会议（在办事项最多的15次）"),
}
update_bars = {kind: _bars(kind) for kind in BAR_CHARTS}


def update_trend(filters, _tick=None):
    session, actor, bf, today = _db(), current_actor(), _bf(filters), clock.today()
    departments = board.snapshot_departments(session, actor, bf)  # read once for both charts
    return (
        figures.trend(board.weekly_trend(session, actor, bf, today, departments=departments)),
        figures.heatmap(board.overdue_heatmap(session, actor, bf, today, departments=departments)),
    )


def _table(head: list[str], rows: list[list], empty: str):
    if not rows:
        return html.P(empty, className="text-muted small")
    return html.Table(
        className="table table-sm board-table",
        children=[
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]),
        ],
    )


def update_schedule(filters, _tick=None):
    """This week's due items and the agenda's blocked items."""
    session, actor, h = _db(), current_actor(), _horizon()
    s = board.schedule(session, actor, _bf(filters), h)
    due = [
        [html.A(r.Task.code, href=f"/tasks/{r.Task.id}"), r.Task.title, r.lead_name or "", f"{r.Task.due_date:%m-%d}"]
        for r in s.due_rows
    ]
    blocked = [
        [
            html.A(b["code"], href=f"/tasks/{b['task_id']}"),
            b["title"],
            b["lead"],
            b["category"] or "—",
            "已列入" if b["on_agenda"] else "",
        ]
        for b in s.blocked
    ]
    schedule = html.Div(
        [
            html.H3(["本周（", f"{s.week_start:%m-%d}", " 起）到期 ", _link(actor, s.due_this_week), " 项"]),
            _table(["编号", "事项", "牵头单位", "完成时限"], due, "本周没有到期事项"),
            html.H3("阻点事项（调度会议题）"),
            _table(["编号", "事项", "牵头单位", "类别", "议程"], blocked, "本周调度尚无阻点事项"),
        ]
    )
    return schedule


def update_ranking(_tick=None):
    """The latest weekly bulletin's ranking: a published notice, the same for everyone, no filters."""
    ranking = board.latest_ranking(_db())
    if ranking is None:
        rank_div = html.P("尚未生成周通报", className="text-muted small")
    else:
        rows = []
        for i, r in enumerate(ranking.rows, start=1):
            name = r.get("department") or r.get("department_name") or r.get("name") or ""
            rate = r.get("on_time_rate")
            rows.append(
                [
                    r.get("rank", i),
                    name,
                    r.get("score", ""),  # on_time_rate is a fraction (scoring.py)
                    f"{100 * rate:.1f}%" if isinstance(rate, (int, float)) else "—",
                    r.get("overdue", r.get("overdue_count", "")),
                ]
            )
        rank_div = html.Div(
            [
                html.H3(f"{ranking.period} 周通报"),
                _table(["名次", "单位", "得分", "按期办结率", "逾期"], rows, "通报中没有排名"),
            ]
        )
    return rank_div


# --- the overdue grid ----------------------------------------------------------------


def grid_version(filters) -> str:
    return hashlib.sha1(json.dumps(_filters(filters), sort_keys=True).encode(), usedforsecurity=False).hexdigest()[:12]


def filter_summary(filters) -> str:
    """The filters in words, printed above the cards (the projector shows what was filtered)."""
    bf, session, parts = _bf(filters), _db(), []
    if bf.due_from or bf.due_to:
        parts.append(f"完成时限 {bf.due_from or '…'} 至 {bf.due_to or '…'}")
    if bf.source_kind:
        parts.append(f"来源：{SOURCE_KIND_LABELS.get(bf.source_kind, bf.source_kind)}")
    if bf.leader_id is not None:
        leader = session.get(Leader, bf.leader_id)
        parts.append(f"责任领导：{leader.name if leader else bf.leader_id}")
    if bf.department_id is not None:
        dep = session.get(Department, bf.department_id)
        parts.append(f"牵头单位：{dep.name if dep else bf.department_id}")
    if bf.urgency:
        parts.append(f"紧急程度：{URGENCY_LABELS.get(bf.urgency, bf.urgency)}")
    return "筛选：" + "；".join(parts) if parts else "全部事项（未筛选）"


def replace_grid(filters, shown=None):
    """A new grid for each filter state (the infinite model then asks for its first block).

    Loading a bookmarked filter sets the filter store twice with the same value (the URL
    sets the controls, and the controls write the URL back). Drawing a second grid with the
    same id over the first now and then lost its first block (the board's browser test saw
    an empty grid under load), so the grid on the page is kept when it already shows this
    filter state."""
    query = urlencode(_filters(filters))
    version = grid_version(filters)
    same = isinstance(shown, list) and any(isinstance(i, dict) and i.get("v") == version for i in shown)
    return (
        dash.no_update if same else overdue_grid(version),
        "/dashboard/export.xlsx" + (f"?{query}" if query else ""),
        filter_summary(filters),
    )


def _row(value, default):
    """A row index from the browser: a small non-negative int, else the default."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10_000_000 else default


def grid_rows(request, filters):
    """One block of overdue rows for the infinite grid: sorted, filtered and paged in SQL."""
    if not isinstance(request, dict):
        raise dash.exceptions.PreventUpdate
    sort = ""
    for item in request.get("sortModel") or []:
        if isinstance(item, dict):
            sort = ("-" if item.get("sort") == "desc" else "") + str(item.get("colId"))
        break
    model = request.get("filterModel")
    title = (model.get("title") if isinstance(model, dict) else None) or {}
    text = str(title.get("filter") or "").replace("\x00", "")[:100] if isinstance(title, dict) else ""
    start, end = _row(request.get("startRow"), 0), _row(request.get("endRow"), None)
    end = end if end is not None and end > start else start + 50
    page = board.overdue_rows(
        _db(),
        current_actor(),
        _bf(filters),
        _horizon(),
        start=start,
        end=end,
        sort=sort or "-overdue_workdays",
        text=text,
    )
    return {"rowData": page.rows, "rowCount": page.total}


GRAPHS = ["g-department", "g-leader", "g-source-kind", "g-meeting"]


def navigate(dept, leader, kind, meeting, cells):
    """A bar opens the list it counts; a grid row's code or title opens the task."""
    trigger = _trigger()
    if isinstance(trigger, dict):
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict) and cell.get("colId") in ("code", "title"):
                row_id = str(cell.get("rowId", ""))
                if row_id.isascii() and row_id.isdigit() and len(row_id) <= 9:
                    return f"/tasks/{row_id}"
        raise dash.exceptions.PreventUpdate
    clicks = dict(zip(GRAPHS, (dept, leader, kind, meeting)))
    click = clicks.get(trigger)
    points = click.get("points") if isinstance(click, dict) else None
    url = points[0].get("customdata") if isinstance(points, list) and points and isinstance(points[0], dict) else None
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
        return url
    raise dash.exceptions.PreventUpdate


def remind_selected(n_clicks, selected_lists):
    """催办 the lead department of every selected task; one unit of work for the click."""
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    lists = selected_lists if isinstance(selected_lists, list) else []
    selected = [row for rows in lists if isinstance(rows, list) for row in rows]
    if not selected:
        return html.Span("请先勾选要催办的事项", className="text-warning")
    session, actor = _db(), current_actor()
    done, refused = [], []
    for row in selected[:200]:
        task_id = row.get("id") if isinstance(row, dict) else None
        if not isinstance(task_id, int) or isinstance(task_id, bool) or not 0 < task_id < 2**31:
            continue  # not an id any row can have
        try:
            with session.begin_nested():
                task_chasing.remind(session, actor, task_id, "督办看板催办")
            done.append(row.get("code", str(task_id)))
        except DomainError as exc:
            refused.append(f"{row.get('code', task_id)}：{exc.message}")
    session.commit()
    parts = []
    if done:
        parts.append(html.Span(f"已催办 {len(done)} 项：" + "、".join(done), className="text-success"))
    if refused:
        parts.append(html.Span("；未催办：" + "；".join(refused), className="text-danger"))
    return parts


def register(app: dash.Dash) -> None:
    filter_outputs = [Output(i, p) for i, p, _k in FILTER_CONTROLS]
    app.callback(
        Output("url", "search"),
        *filter_outputs,
        Output("filters", "data"),
        Input("url", "search"),
        *[Input(i, p) for i, p, _k in FILTER_CONTROLS],
    )(sync_filters)
    tick = [Input("filters", "data"), Input("tick", "n_intervals")]
    app.callback(
        *[Output(f"card-{k}-value", "children") for k in CARD_KEYS],
        *[Output(f"card-{k}-value", "href") for k in CARD_KEYS],
        *[Output(f"card-{k}-delta", "children") for k in CARD_KEYS],
        Output("asof", "children"),
        *tick,
    )(update_cards)
    for kind, update in update_bars.items():
        app.callback(Output(f"g-{kind}", "figure"), *tick)(update)
    app.callback(Output("g-trend", "figure"), Output("g-heatmap", "figure"), *tick)(update_trend)
    app.callback(Output("schedule", "children"), *tick)(update_schedule)
    app.callback(Output("ranking", "children"), Input("tick", "n_intervals"))(update_ranking)
    app.callback(
        Output("grid-wrap", "children"),
        Output("export", "href"),
        Output("filter-summary", "children"),
        Input("filters", "data"),
        State({"type": "overdue-grid", "v": ALL}, "id"),
    )(replace_grid)
    app.callback(
        Output({"type": "overdue-grid", "v": MATCH}, "getRowsResponse"),
        Input({"type": "overdue-grid", "v": MATCH}, "getRowsRequest"),
        State("filters", "data"),
    )(grid_rows)
    app.callback(
        Output("nav", "href"),
        Input("g-department", "clickData"),
        Input("g-leader", "clickData"),
        Input("g-source-kind", "clickData"),
        Input("g-meeting", "clickData"),
        Input({"type": "overdue-grid", "v": ALL}, "cellClicked"),
        prevent_initial_call=True,
    )(navigate)
    app.callback(
        Output("remind-result", "children"),
        Input("remind", "n_clicks"),
        State({"type": "overdue-grid", "v": ALL}, "selectedRows"),
        prevent_initial_call=True,
    )(remind_selected)
