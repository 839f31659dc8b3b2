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
    ("audit.index", "审计日志", {Role.SUPERVISOR, Role.ADMIN}),
]


def fixed_url(endpoint: str, **values) -> str:
    """``url_for`` for links that are the same on every page of a deployment (static files, the
    navigation, the account menu), built once per script root: url_for costs ~25 µs, and the
    frame of every page needed fourteen of them."""
    cache = current_app.extensions.setdefault("tracker_fixed_urls", {})
    key = (request.environ.get("SCRIPT_NAME", ""), endpoint, *values.items())
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for(endpoint, **values)
    return url


ID_PLACEHOLDER = 987654321  # stands for a row's id in a URL built once


def around_id(url: str) -> tuple[str, str]:
    """The text before and after ``ID_PLACEHOLDER`` in ``url``: a list writes
    ``before + id + after`` per row instead of calling url_for (~25 µs each)."""
    before, after = url.split(str(ID_PLACEHOLDER))
    return before, after


def id_url(endpoint: str, key: str = "task_id") -> tuple[str, str]:
    """``around_id`` of ``url_for(endpoint, key=...)``, built once per deployment (``fixed_url``)."""
    cache = current_app.extensions.setdefault("tracker_id_urls", {})
    cache_key = (request.environ.get("SCRIPT_NAME", ""), endpoint, key)
    parts = cache.get(cache_key)
    if parts is None:
        parts = cache[cache_key] = around_id(url_for(endpoint, **{key: ID_PLACEHOLDER}))
    return parts


def _entries(role: str) -> list[tuple[str, str]]:
    """(href, label) of the sections ``role`` sees, cached like ``fixed_url``."""
    cache = current_app.extensions.setdefault("tracker_nav", {})
    key = (request.environ.get("SCRIPT_NAME", ""), role)
    entries = cache.get(key)
    if entries is None:
        entries = []
        for endpoint, label, roles in NAV:
            if role not in roles:
                continue
            if endpoint == "dashboard":
                if "dash" not in current_app.extensions:
                    continue
                entries.append((current_app.extensions["dash"].config.url_base_pathname, label))
            elif endpoint in current_app.view_functions:
                entries.append((url_for(endpoint), label))
        cache[key] = entries
    return entries


def nav_items(role: str) -> list[dict]:
    path = request.path
    return [
        {"href": href, "label": label, "active": path == href or (href != "/" and path.startswith(href))}
        for href, label in _entries(role)
    ]
