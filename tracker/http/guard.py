"""The input guard: every request's text is looked at once, here, before any view reads it.

PostgreSQL refuses NUL in text, so a ``%00`` that SQLite stores turned into a 500 on the
production engine only; other controls hide in what is shown. So, for every request, before
the login guard, CSRF and the views (``init_guard`` is installed first):

- the path, query-string names and values, form and JSON names, uploaded file names: no
  control character at all (they are single-line by nature);
- form and JSON values: none but tab, newline and carriage return (a field may be a textarea;
  single-line fields fold those into a space where they are validated, ``validation.Line``);
- headers: none but tab (RFC 9110 allows no others; values arrive Latin-1 decoded, so bytes
  0x80-0x9F of a UTF-8 header are not C1 controls and are not looked at).

A refusal is a 400 with a Chinese message naming the field, in the error page or the API's JSON
error shape (``tracker.http.errors``). What a control character is lives in
``tracker.rules.text`` and the refusal in ``tracker.services.validation``; this module decides
only where they apply.

Ids in paths: ``<int:…>`` matches at most a 32-bit id here (``BoundedInt``), so a huge number is
a 404 and never reaches a 32-bit column (the API's converters already carried that bound).
"""

from __future__ import annotations

import json
import re

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from tracker.rules.text import header_control_char
from tracker.services.validation import ID_MAX, control_refused, refuse_control

# The names people see for the fields they fill in; anything else is named as sent.
FIELD_LABELS = {
    "title": "标题",
    "name": "名称",
    "q": "搜索关键词",
    "text": "内容",
    "kind": "类型",
    "username": "用户名",
    "password": "密码",
    "new_password": "新密码",
    "display_name": "姓名",
    "requirement": "工作要求",
    "note": "说明",
    "reason": "理由",
    "summary": "办结情况",
    "message": "催办内容",
    "problems": "存在问题",
    "next_steps": "下一步打算",
    "reference": "文号或期数",
    "body": "正文",
    "attendees": "参会人员",
    "document": "批示所在文件",
    "item_no": "序号",
    "deadline_text": "时限原文",
    "category": "类别",
    "alias": "简称",
    "query": "筛选条件",
    "email": "电子邮箱",
    "url": "地址",
    "proposal": "建议",
    "decision": "决定",
    "week": "周次",
    "date": "日期",
    "day": "日期",
    "due_date": "完成时限",
    "new_due_date": "新的完成时限",
    "source_date": "日期",
    "meeting_date": "会议日期",
    "due_from": "完成时限（起）",
    "due_to": "完成时限（止）",
    "session": "届次",
    "session_name": "届次",
    "sheet": "工作表",
    "file": "文件",
    "files": "文件",
    "next": "跳转地址",
    "sort": "排序",
    "status": "状态",
    "page": "页码",
    "percent": "完成进度",
    "milestone_title": "节点名称",
    "milestone_due": "节点时限",
    "base_date": "基准日期",
    "promise_date": "承诺办结日期",
    "met_on": "面商日期",
    "received_on": "收到日期",
}


def label_of(name: str) -> str:
    """The Chinese name of a field: ``milestones.0.title`` and ``rows-3-title`` by their last word."""
    words = [w for w in re.split(r"[.\-]", name) if w and not w.isdigit()]
    last = words[-1] if words else name
    return FIELD_LABELS.get(last, last[:40])


def _check_pairs(pairs, *, multiline_values: bool) -> None:
    for name, values in pairs:
        refuse_control(name, "参数名", "_")
        for value in values:
            if isinstance(value, str):
                refuse_control(value, label_of(name), name, multiline=multiline_values)


def _check_json(data) -> None:
    """Every name and string in a JSON document, walked without recursion (a document can be
    nested deeper than the stack)."""
    stack = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            refuse_control(value, label_of(path) if path else "请求体", path or "_", multiline=True)
        elif isinstance(value, dict):
            for key, item in value.items():
                refuse_control(key, "参数名", path or "_")
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))


def check_request() -> None:
    """BadInput (400) for the first control character anywhere in the request."""
    refuse_control(request.path, "网址", "_path")
    for name, value in request.headers.items():
        if header_control_char(value) is not None:
            raise control_refused(f"请求头 {name}", f"header:{name}")
    _check_pairs(request.args.lists(), multiline_values=False)
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if request.mimetype != "multipart/form-data":
            request.get_data(cache=True)  # kept for a view that reads the body itself (the API: 415)
        _check_pairs(request.form.lists(), multiline_values=True)
        for name, upload in request.files.items(multi=True):
            refuse_control(name, "参数名", "_")
            refuse_control(upload.filename or "", "文件名", name)
    elif request.is_json or not request.mimetype:  # the API reads a body sent with no type as JSON
        raw = request.get_data(cache=True)
        try:
            data = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError):
            return  # not JSON at all: the view answers that in its own words
        _check_json(data)


class BoundedInt(IntegerConverter):
    """``<int:…>`` as a non-negative 32-bit id: a longer number does not match the rule (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=ID_MAX, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_guard(app: Flask) -> None:
    """Install the guard ahead of every other ``before_request`` hook but the request log's, and
    bound ``<int:…>`` before any blueprint adds a rule."""
    app.url_map.converters["int"] = BoundedInt

    @app.before_request
    def _guard_input():
        check_request()
