"""The plumbing every endpoint shares: one registry that both routes the request
and describes it in the OpenAPI document, strict parsing of bodies and query
strings into pydantic models, and Chinese field errors in the one error shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from flask import current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from tracker.errors import BadInput, DomainError, ValidationFailed
from tracker.services.validation import DATE_RANGE_TEXT, ID_MAX, is_date_range_error

M = TypeVar("M", bound=BaseModel)

MAX_ID = ID_MAX  # ids are 32-bit integer columns; larger numbers cannot name a row
ID_CONVERTER = f"int(min=1, max={MAX_ID})"


class MalformedBody(DomainError):
    code = "malformed_json"
    http_status = 400


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    http_status = 415


# --- the registry ----------------------------------------------------------------


@dataclass
class Operation:
    """One endpoint as routed and as documented (openapi.py reads these)."""

    method: str
    path: str  # OpenAPI style, relative to /api/v1: /tasks/{task_id}
    endpoint: str
    summary: str
    tag: str
    description: str = ""
    body: Any = None  # a pydantic model (or RootModel) for the JSON request body
    query: type[BaseModel] | None = None
    response: Any = None  # a pydantic model, or None for an empty response
    status: int = 200
    errors: tuple[int, ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description


OPERATIONS: list[Operation] = []

# Errors any authenticated endpoint can answer, whatever it does; 400: the request guard refuses
# control characters anywhere in a request (tracker/http/guard.py).
COMMON_ERRORS = (400, 401, 403)
WRITE_ERRORS = (400, 415, 422)


def operation(
    bp,
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    description: str = "",
    body: Any = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    path_params: dict[str, str] | None = None,
):
    """Route ``view`` on ``bp`` and record it for the OpenAPI document.

    Path parameters are ids: routing refuses anything but 1..2**31-1 with a 404,
    so a huge number never reaches the database (SQLite cannot bind it)."""
    rule = re.sub(r"\{(\w+)\}", lambda m: f"<{ID_CONVERTER}:{m.group(1)}>", path)

    def decorate(view: Callable):
        bp.add_url_rule(rule, view.__name__, view, methods=[method])
        codes = set(COMMON_ERRORS) | set(errors)
        if body is not None:
            codes |= set(WRITE_ERRORS)
        if method != "GET":
            codes.add(400)  # CSRF for session callers
        if method == "POST":
            codes.add(409)  # an Idempotency-Key whose first request is still being answered
        if query is not None:
            codes.add(422)
        if "{" in path:
            codes.add(404)
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=path,
                endpoint=f"{bp.name}.{view.__name__}",
                summary=summary,
                tag=tag,
                description=description,
                body=body,
                query=query,
                response=response,
                status=status,
                errors=tuple(sorted(codes)),
                path_params=path_params or {},
            )
        )
        return view

    return decorate


def reply(model: BaseModel | None, status: int = 200):
    """A JSON response (non-ASCII kept as is, as the app's JSON provider is set up)."""
    if model is None:
        return current_app.response_class(status=status)
    return jsonify(model.model_dump(mode="json")), status


# --- input -----------------------------------------------------------------------

FIELD_LABELS = {
    "action": "操作",
    "title": "事项名称",
    "requirement": "工作要求",
    "urgency": "紧急程度",
    "deadline_kind": "时限类型",
    "due_date": "完成时限",
    "feedback_cycle": "反馈周期",
    "percent": "完成进度",
    "text": "进展情况",
    "reason": "理由",
    "note": "意见",
    "summary": "办结情况说明",
    "new_due_date": "新的完成时限",
    "request_id": "申请编号",
    "approve": "审核结论",
    "name": "名称",
    "kind": "类型",
    "source_date": "日期",
    "page": "页码",
    "per_page": "每页条数",
    "sort": "排序",
    "status": "状态",
    "light": "红黄绿灯",
    "overdue": "逾期筛选",
    "due_soon": "临期筛选",
    "department_id": "单位",
    "lead_department_id": "牵头单位",
    "assisting_department_ids": "协办单位",
    "leader_ids": "责任领导",
    "leader_id": "领导",
    "source_id": "任务来源",
    "source_kind": "来源类型",
    "parent_id": "上级事项",
    "due_from": "完成时限起",
    "due_to": "完成时限止",
    "q": "检索词",
    "milestones": "时间节点",
    "milestones_done": "完成的时间节点",
    "message": "催办内容",
    "level": "督办层级",
    "suggested_department_id": "建议承办单位",
    "new_lead_department_id": "新的牵头单位",
    "include_inactive": "包括停用单位",
    "reference": "文号或期数",
    "body": "正文",
}


def _message(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "必须填写"
    if kind == "string_too_short":
        return "不能为空"
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字"
    if kind == "too_long":
        return f"不能超过 {ctx.get('max_length')} 项"
    if kind in ("string_type",):
        return "应为字符串"
    if kind.startswith("int_"):
        return "应为整数"
    if kind.startswith("bool_"):
        return "应为 true 或 false"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "应为有效日期（YYYY-MM-DD）"
    if kind == "value_error" and str(ctx.get("error", "")) == DATE_RANGE_TEXT:
        return DATE_RANGE_TEXT
    if kind == "greater_than_equal":
        return f"不能小于 {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"不能大于 {ctx.get('le')}"
    if kind in ("enum", "literal_error"):
        return f"取值无效（可选：{str(ctx.get('expected', '')).replace(' or ', ', ')}）"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "应为数组"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "应为 JSON 对象"
    if kind == "extra_forbidden":
        return "不支持该字段"
    if kind == "union_tag_invalid":
        return f"不支持“{ctx.get('tag', '')}”（可选：{ctx.get('expected_tags', '')}）"
    if kind == "union_tag_not_found":
        return "必须填写"
    return "填写有误"


def field_errors(exc: ValidationError, *, strip_tag: bool = False) -> dict[str, str]:
    """Pydantic errors as {"a.b.0": "中文说明"}; the first message per field wins."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = list(err["loc"])
        if strip_tag and loc and err["type"] not in ("union_tag_invalid", "union_tag_not_found"):
            loc = loc[1:]  # the discriminated union puts the action name first
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["action"]
        name = ".".join(str(p) for p in loc) or "_"
        label = FIELD_LABELS.get(str(loc[0]), str(loc[0])) if loc else "请求体"
        out.setdefault(name, f"{label}{_message(err)}")
    return out


def validation_failed(fields: dict[str, str], *, code: str | None = None) -> ValidationFailed:
    first = next(iter(fields.values()), "输入有误")
    return ValidationFailed(f"请求参数有误：{first}", fields=fields, code=code)


def json_body() -> dict:
    """The request body as a JSON object: 415 for another media type, 400 when it
    is not JSON at all, 422 when it is JSON but not an object. No body reads as {}."""
    raw = request.get_data(cache=True)
    mimetype = request.mimetype or ""
    sent = raw.strip() or request.content_length  # an upload was read as a form before any view
    if sent and mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("请求体应为 JSON（Content-Type: application/json）")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedBody("请求体不是有效的 JSON") from exc
    if not isinstance(data, dict):
        raise validation_failed({"_": "请求体应为 JSON 对象"})
    return data


def parse(model: type[M], data: Any, *, strip_tag: bool = False, code: str | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = field_errors(exc, strip_tag=strip_tag)
        if any(is_date_range_error(e) for e in exc.errors()):  # no office date at all: 400
            raise BadInput(f"请求参数有误：{next(iter(fields.values()))}", fields=fields) from exc
        unknown_action = any(e["type"] in ("union_tag_invalid", "union_tag_not_found") for e in exc.errors())
        raise validation_failed(fields, code=code or ("unknown_action" if unknown_action else None)) from exc


def body(model: type[M], **kw) -> M:
    return parse(model, json_body(), **kw)


def query(model: type[M]) -> M:
    """Query parameters by the model's fields; list fields take repeated parameters."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in request.args:
            continue
        origin = getattr(info.annotation, "__origin__", None)
        data[name] = request.args.getlist(key) if origin is list else request.args.get(key)
    return parse(model, data)
