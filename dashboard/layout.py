"""The board's layout: a function, so every page load gets fresh filter choices.

Dash also calls it once outside any logged-in request (to validate the layout on
the first request the app serves, which may be the login page): then it returns
the same skeleton with empty choices.
"""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html
from flask import has_request_context
from flask_login import current_user

from dashboard.figures import GRAPH_CONFIG
from tracker.db import get_session
from tracker.http.login import current_actor
from tracker.services.figures import board

REFRESH_MS = 5 * 60 * 1000  # auto-refresh every five minutes

CARDS = [
    ("open", "在办事项", "card-open"),
    ("overdue", "逾期事项", "card-red"),
    ("due_soon", "3个工作日内到期", "card-yellow"),
    ("closed_week", "本周办结", "card-green"),
    ("rate", "本周按期办结率（牵头）", "card-rate"),
]

GRID_COLUMNS = [
    {"field": "code", "headerName": "编号", "sortable": True, "width": 130, "cellClass": "link-cell"},
    {
        "field": "title",
        "headerName": "督办事项",
        "flex": 2,
        "minWidth": 220,
        "cellClass": "link-cell",
        "filter": "agTextColumnFilter",
        "filterParams": {"filterOptions": ["contains"], "maxNumConditions": 1, "buttons": ["reset"]},
    },
    {
        "field": "overdue_workdays",
        "headerName": "逾期工作日",
        "sortable": True,
        "width": 120,
        "type": "numericColumn",
        "cellClass": "text-danger fw-bold",
    },
    {"field": "due_date", "headerName": "完成时限", "sortable": True, "width": 120},
    {"field": "lead", "headerName": "牵头单位", "flex": 1, "minWidth": 140},
    {"field": "leaders", "headerName": "责任领导", "width": 120},
    {"field": "source", "headerName": "任务来源", "flex": 1, "minWidth": 160},
    {"field": "urgency", "headerName": "紧急程度", "width": 100},
    {"field": "last_report", "headerName": "最近反馈", "width": 120},
]


def _choices() -> dict[str, list[dict]]:
    empty = {"departments": [], "leaders": [], "source_kinds": [], "urgencies": []}
    if not has_request_context() or not current_user.is_authenticated:
        return empty
    raw = board.choices(get_session(), current_actor())
    return {key: [{"label": label, "value": str(value)} for value, label in rows] for key, rows in raw.items()}


def overdue_grid(version: str) -> dag.AgGrid:
    """A fresh grid per filter state (the id carries it), so the infinite model refetches."""
    return dag.AgGrid(
        id={"type": "overdue-grid", "v": version},
        columnDefs=GRID_COLUMNS,
        defaultColDef={"resizable": True, "sortable": False, "suppressHeaderMenuButton": True},
        rowModelType="infinite",
        getRowId="params.data.row_id",
        dashGridOptions={
            "rowSelection": {"mode": "multiRow", "headerCheckbox": False},
            "cacheBlockSize": 50,
            "maxBlocksInCache": 20,
            "infiniteInitialRowCount": 1,
            "localeText": {
                "noRowsToShow": "没有逾期事项",
                "loadingOoo": "加载中…",
                "contains": "包含",
                "resetFilter": "清除",
                "filterOoo": "筛选…",
            },
        },
        style={"height": "420px"},
        className="ag-theme-quartz",
    )


def _card(key: str, label: str, css: str):
    return html.Div(
        className=f"board-card {css}",
        id=f"card-{key}",
        children=[
            html.Div(label, className="card-label"),
            html.A("—", id=f"card-{key}-value", className="card-value", href="#"),
            html.Div("", id=f"card-{key}-delta", className="card-delta"),
        ],
    )


def _graph(graph_id: str, filename: str):
    config = {**GRAPH_CONFIG, "toImageButtonOptions": {**GRAPH_CONFIG["toImageButtonOptions"], "filename": filename}}
    return dcc.Loading(dcc.Graph(id=graph_id, config=config, className="board-graph"), type="dot")


def _can_remind() -> bool:
    """催办 is the office's and the leaders' (workflow: Action.REMIND); clerks get no button."""
    return has_request_context() and current_user.is_authenticated and current_user.row.role in ("supervisor", "leader")


def layout():
    ch = _choices()
    dropdown = lambda i, ph, opts: dcc.Dropdown(
        id=i,
        options=opts,
        placeholder=ph,
        clearable=True,  # noqa: E731
        className="board-filter",
    )
    return html.Div(
        className="board",
        children=[
            dcc.Location(id="url", refresh=False),
            dcc.Location(id="nav", refresh=True),
            dcc.Interval(id="tick", interval=REFRESH_MS),
            dcc.Store(id="filters"),
            html.Header(
                className="board-header",
                children=[
                    html.A("← 返回工作台", href="/", className="board-back d-print-none"),
                    html.H1("督办看板", className="board-title"),
                    html.Span("", id="asof", className="board-asof"),
                ],
            ),
            html.Section(
                className="board-filters d-print-none",
                children=[
                    dcc.DatePickerRange(
                        id="f-due",
                        start_date_placeholder_text="完成时限起",
                        end_date_placeholder_text="止",
                        display_format="YYYY-MM-DD",
                        clearable=True,
                        className="board-filter",
                    ),
                    dropdown("f-source_kind", "任务来源类别", ch["source_kinds"]),
                    dropdown("f-leader", "责任领导", ch["leaders"]),
                    dropdown("f-department", "牵头单位", ch["departments"]),
                    dropdown("f-urgency", "紧急程度", ch["urgencies"]),
                ],
            ),
            html.Div(id="filter-summary", className="board-filter-summary"),
            html.Section(className="board-cards", children=[_card(k, label, css) for k, label, css in CARDS]),
            html.Section(
                className="board-panel",
                children=[
                    html.Div(
                        className="board-panel-head",
                        children=[
                            html.H2("逾期事项清单"),
                            html.Div(
                                className="board-actions d-print-none",
                                children=[
                                    html.Button(
                                        "催办所选事项的牵头单位",
                                        id="remind",
                                        className="btn btn-sm btn-outline-danger",
                                        hidden=not _can_remind(),
                                    ),
                                    html.A(
                                        "导出 Excel 台账",
                                        id="export",
                                        href="/dashboard/export.xlsx",
                                        className="btn btn-sm btn-outline-secondary",
                                    ),
                                ],
                            ),
                        ],
                    ),
                    html.Div(id="remind-result", className="board-message", role="status"),
                    html.Div(id="grid-wrap", children=overdue_grid("init")),
                ],
            ),
            html.Section(
                className="board-grid2",
                children=[
                    _graph("g-department", "各单位事项"),
                    _graph("g-leader", "各责任领导事项"),
                    _graph("g-source-kind", "各来源类别事项"),
                    _graph("g-meeting", "各会议事项"),
                ],
            ),
            html.Section(
                className="board-grid2",
                children=[
                    _graph("g-trend", "近26周趋势"),
                    _graph("g-heatmap", "逾期热力图"),
                ],
            ),
            html.Section(
                className="board-grid2",
                children=[
                    html.Div(className="board-panel", children=[html.H2("本周调度"), html.Div(id="schedule")]),
                    html.Div(className="board-panel", children=[html.H2("通报排名"), html.Div(id="ranking")]),
                ],
            ),
        ],
    )
