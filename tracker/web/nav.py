"""The navigation bar: which sections each role sees. Entries whose blueprint is
not registered are left out, so a feature appears when its pages exist."""

from __future__ import annotations

from flask import current_app, request, url_for

from tracker.models import Role

NAV = [
    # (endpoint, label, roles)
    ("home.index", "工作台", {Role.SUPERVISOR, Role.CLERK, Role.LEADER, Role.ADMIN}),
    ("office.tasks", "督办事项", {Role.SUPERVISOR}),
    ("office.sources", "任务来源", {Role.SUPERVISOR}),
    ("office.review_queue", "审核", {Role.SUPERVISOR}),
    ("imports.index", "导入", {Role.SUPERVISOR, Role.ADMIN}),
    ("schedule.week", "每周调度", {Role.SUPERVISOR, Role.LEADER}),
    ("motions.index", "建议提案", {Role.SUPERVISOR, Role.CLERK}),
    ("bulletins.index", "通报", {Role.SUPERVISOR, Role.LEADER, Role.CLERK}),
    ("department.inbox", "待办", {Role.CLERK}),
    ("department.tasks", "本单位事项", {Role.CLERK}),
    ("leader.portfolio", "分管事项", {Role.LEADER}),
    ("dashboard", "督办看板", {Role.SUPERVISOR, Role.LEADER, Role.CLERK}),
    ("admin.index", "系统管理", {Role.SUPERVISOR, Role.ADMIN}),
]


def nav_items(role: str) -> list[dict]:
    items = []
    for endpoint, label, roles in NAV:
        if role not in roles:
            continue
        if endpoint == "dashboard":
            if "dash" not in current_app.extensions:
                continue
            href = current_app.extensions["dash"].config.url_base_pathname
        elif endpoint in current_app.view_functions:
            href = url_for(endpoint)
        else:
            continue
        items.append({"href": href, "label": label, "active": request.path == href
                      or (href != "/" and request.path.startswith(href))})
    return items
