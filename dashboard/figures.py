"""Plotly figures from the board service's results: no queries here, no pandas.

Figures are plain dicts in Plotly's JSON schema: ``plotly.graph_objects``
validates every property on assignment, which cost more than all of a
callback's SQL at 100,000 tasks (bench/bench_dashboard.py). Each bar segment
carries the URL of the list it counts in ``customdata`` so a click opens
exactly those tasks.
"""

from __future__ import annotations

from tracker.rules.overdue import LIGHT_LABELS
from tracker.rules.periods import week_tick
from tracker.services.actors import Actor
from tracker.services.figures.board import Bar, HeatMap, TrendWeek, list_url

COLOURS = {"red": "#dc3545", "yellow": "#ffc107", "green": "#198754"}
FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"

GRAPH_CONFIG = {
    "displaylogo": False,
    "locale": "zh-CN",
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def plain(text: str) -> str:
    """A name as Plotly label text: Plotly reads ``<a href>``, ``<b>``, ``<span style>``… in labels as
    markup, so a department called ``<a href="…">`` would be a link on the chart; its entities
    (``&lt;``) show as the characters again."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _layout(title: str, height: int, **extra) -> dict:
    return {
        "title": {"text": plain(title), "x": 0, "font": {"size": 15}},
        "height": height,
        "font": {"family": FONT, "size": 12},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.12, "x": 0},
        "hovermode": "closest",
        **extra,
    }


def empty(title: str, message: str = "暂无数据") -> dict:
    return {
        "data": [],
        "layout": _layout(
            title,
            220,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": message,
                    "showarrow": False,
                    "font": {"size": 14, "color": "#6c757d"},
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                }
            ],
        ),
    }


def stacked_bars(actor: Actor, bars: list[Bar], title: str) -> dict:
    """Horizontal red/yellow/green stacks, the most overdue group on top."""
    if not bars:
        return empty(title)
    labels = [plain(b.label) for b in bars][::-1]
    data = []
    for light in ("red", "yellow", "green"):
        figures = [b.counts[light] for b in bars][::-1]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": LIGHT_LABELS[light],
                "y": labels,
                "x": [f.value for f in figures],
                "marker": {"color": COLOURS[light]},
                "customdata": [list_url(actor, f.filter) for f in figures],
                "hovertemplate": "%{y}<br>" + LIGHT_LABELS[light] + "：%{x} 项<br>点击查看清单<extra></extra>",
                "text": [f.value or "" for f in figures],
                "textposition": "inside",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            title,
            max(240, 60 + 24 * len(bars)),
            barmode="stack",
            xaxis={"title": {"text": "事项数"}, "gridcolor": "#eee"},
            yaxis={"automargin": True},
        ),
    }


def trend(weeks: list[TrendWeek], title: str = "近26周趋势（按评分快照）") -> dict:
    if not any(w.open is not None for w in weeks):
        return empty(title, "暂无评分快照")
    x = [week_tick(w.week_start) for w in weeks]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "在办",
            "x": x,
            "y": [w.open for w in weeks],
            "line": {"color": "#0d6efd"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "逾期",
            "x": x,
            "y": [w.overdue for w in weeks],
            "line": {"color": COLOURS["red"]},
        },
        {
            "type": "bar",
            "name": "本周办结",
            "x": x,
            "y": [w.closed for w in weeks],
            "marker": {"color": COLOURS["green"]},
            "opacity": 0.6,
        },
    ]
    return {
        "data": data,
        "layout": _layout(
            title,
            400,
            # categories: Plotly reads "11-23" or "11/23" as a date in 2011 or 2023
            xaxis={"type": "category", "tickangle": -45, "automargin": True},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
            yaxis={"title": {"text": "事项数"}, "gridcolor": "#eee", "rangemode": "tozero"},
        ),
    }


def heatmap(hm: HeatMap, title: str = "各单位逾期事项·天（工作日）") -> dict:
    if not hm.departments:
        return empty(title, "暂无评分快照")
    data = [
        {
            "type": "heatmap",
            "z": hm.values[::-1],
            "x": [week_tick(d) for d in hm.week_starts],
            "y": [plain(name) for _i, name in hm.departments][::-1],
            "colorscale": "Reds",
            "hovertemplate": "%{y}<br>%{x} 当周：%{z} 事项·天<extra></extra>",
            "colorbar": {"title": {"text": "事项·天"}},
        }
    ]
    return {
        "data": data,
        "layout": _layout(
            title,
            max(260, 80 + 22 * len(hm.departments)),
            xaxis={"type": "category", "tickangle": -45, "automargin": True},
            yaxis={"automargin": True},
        ),
    }
