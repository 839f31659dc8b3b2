"""Plotly figures from the board service's results: no queries here, no pandas.

Each bar segment carries the URL of the list it counts in ``customdata`` so a
click opens exactly those tasks.
"""

from __future__ import annotations

import plotly.graph_objects as go

from tracker.services.board import Bar, HeatMap, TrendWeek, list_url
from tracker.services.actors import Actor

COLOURS = {"red": "#dc3545", "yellow": "#ffc107", "green": "#198754"}
LIGHT_NAMES = {"red": "逾期", "yellow": "临期", "green": "正常"}
FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"

GRAPH_CONFIG = {
    "displaylogo": False,
    "locale": "zh-CN",
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}}, height=height, font={"family": FONT, "size": 12},
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "y": -0.12, "x": 0}, hovermode="closest",
    )
    return fig


def empty(title: str, message: str = "暂无数据") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 14, "color": "#6c757d"},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, 220)


def stacked_bars(actor: Actor, bars: list[Bar], title: str) -> go.Figure:
    """Horizontal red/yellow/green stacks, the most overdue group on top."""
    if not bars:
        return empty(title)
    labels = [b.label for b in bars][::-1]
    fig = go.Figure()
    for light in ("red", "yellow", "green"):
        figures = [b.counts[light] for b in bars][::-1]
        fig.add_bar(
            y=labels, x=[f.value for f in figures], name=LIGHT_NAMES[light], orientation="h",
            marker_color=COLOURS[light], customdata=[list_url(actor, f.filter) for f in figures],
            hovertemplate="%{y}<br>" + LIGHT_NAMES[light] + "：%{x} 项<br>点击查看清单<extra></extra>",
            text=[f.value or "" for f in figures], textposition="inside",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="事项数", gridcolor="#eee")
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, max(240, 60 + 24 * len(bars)))


def trend(weeks: list[TrendWeek], title: str = "近26周趋势（按评分快照）") -> go.Figure:
    if not any(w.open is not None for w in weeks):
        return empty(title, "暂无评分快照")
    x = [f"{w.week_start:%m-%d}" for w in weeks]
    fig = go.Figure()
    fig.add_scatter(x=x, y=[w.open for w in weeks], name="在办", mode="lines+markers", line_color="#0d6efd")
    fig.add_scatter(x=x, y=[w.overdue for w in weeks], name="逾期", mode="lines+markers", line_color=COLOURS["red"])
    fig.add_bar(x=x, y=[w.closed for w in weeks], name="本周办结", marker_color=COLOURS["green"], opacity=0.6)
    fig.update_xaxes(title_text="周（起始日）")
    fig.update_yaxes(title_text="事项数", gridcolor="#eee", rangemode="tozero")
    return _layout(fig, title, 320)


def heatmap(hm: HeatMap, title: str = "各单位逾期事项·天（工作日）") -> go.Figure:
    if not hm.departments:
        return empty(title, "暂无评分快照")
    fig = go.Figure(go.Heatmap(
        z=hm.values[::-1], x=[f"{d:%m-%d}" for d in hm.week_starts], y=[name for _i, name in hm.departments][::-1],
        colorscale="Reds", hovertemplate="%{y}<br>%{x} 当周：%{z} 事项·天<extra></extra>",
        colorbar={"title": {"text": "事项·天"}},
    ))
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, max(260, 80 + 22 * len(hm.departments)))
