"""The OpenAPI 3.1 document, built from the route registry and the pydantic
models, and Swagger UI to browse it (vendored: no CDN; the init script is a
static file because the CSP forbids inline scripts).

Both need a login (a session or a token), like everything but the login page:
the document lists no data, but nothing outside the district needs it.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from flask import g, render_template, url_for
from flask_wtf.csrf import generate_csrf
from pydantic.json_schema import models_json_schema

from tracker.api import schemas as s
from tracker.api.blueprint import bp
from tracker.api.core import MAX_ID, OPERATIONS, Operation, operation

SWAGGER_UI = "vendor/swagger-ui-5.35.0"
REF = "#/components/schemas/{model}"

ERROR_DESCRIPTIONS = {
    400: "请求有误：参数、请求体或请求头含有不可见的控制字符，或日期不在 1900—2100 年之间（bad_input，"
    "fields 指出字段）；请求体不是有效的 JSON（malformed_json）；或以登录会话调用修改操作时缺少有效的 "
    "X-CSRFToken 请求头（csrf_failed）",
    401: "未登录，或访问令牌无效、已吊销（unauthorized）",
    403: "无权执行（forbidden），或须先修改初始密码（password_change_required）",
    404: "不存在，或调用者无权查看（not_found / http_404）",
    409: "事项当前状态不允许该操作（illegal_transition），已由他人先行审核（already_decided，message 说明由谁、"
    "何时处理），或与现有数据冲突（conflict）；同一 Idempotency-Key 的首次请求尚在处理（submission_in_progress）",
    415: "请求体不是 JSON（unsupported_media_type）",
    422: "请求参数未通过校验（invalid），fields 给出每个字段的说明；不支持的操作为 unknown_action；"
    "同一 Idempotency-Key 已用于内容不同的请求（submission_reused）",
}

DESCRIPTION = """\
督办系统对外接口，供 OA、政务钉钉/企业微信机器人等系统调用。与页面使用同一套业务规则和权限：
调用者只能看到、操作自己有权处理的事项，无权查看的事项一律返回 404。

**认证**：在请求头中附带 `Authorization: Bearer <令牌>`。令牌由用户登录系统后通过
`POST /api/v1/tokens` 签发（只显示一次），可随时吊销。浏览器中已登录的会话也可调用；
此时 POST、PATCH、DELETE 须在 `X-CSRFToken` 请求头中附带 CSRF 令牌（见 `GET /api/v1/me`）。

**重复提交**：POST 请求可在 `Idempotency-Key` 请求头中附带调用方自定的键（1–200 个可见 ASCII 字符，
按用户区分）。同一个键再次提交时不再执行，原样返回第一次的结果（状态码和 JSON 相同，另带
`Idempotent-Replayed: true`）；网络超时后重试可放心带上同一个键。同一个键用于内容不同的请求返回 422。

**错误**：所有错误都是 `{"error": 代码, "message": 中文说明, "fields": {字段: 说明}}`。

**时间**：日期为 `YYYY-MM-DD`（北京时间的日历日）；时间戳为带时区的 ISO 8601（+08:00）。
本文档本身也需要认证。
"""


TAG_ORDER = ["督办事项", "任务来源", "单位和领导", "访问令牌", "文档"]


def _tag_rank(tag: str) -> int:
    return TAG_ORDER.index(tag) if tag in TAG_ORDER else len(TAG_ORDER)


def _body_models() -> list:
    return [op.body for op in OPERATIONS if op.body is not None]


def _response_models() -> list:
    return [op.response for op in OPERATIONS if op.response is not None] + [s.ErrorBody]


def _query_models() -> list:
    return [op.query for op in OPERATIONS if op.query is not None]


def _parameters(op: Operation, schemas: dict) -> list[dict]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": desc,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name, desc in op.path_params.items()
    ]
    if op.method == "post":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "调用方自定的键：同一个键再次提交时不再执行，原样返回第一次的结果",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
            }
        )
    if op.query is not None:
        props = schemas[op.query.__name__]["properties"]
        for name, info in op.query.model_fields.items():
            schema = copy.deepcopy(props[name])
            desc = schema.pop("description", "") or info.description or ""
            schema.pop("title", None)
            # A query string cannot say null: an optional parameter is simply left out.
            branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
            if len(branches) == 1 and len(schema["anyOf"]) == 2:
                del schema["anyOf"]
                schema.update(branches[0])
            if schema.get("default", 0) is None:
                del schema["default"]
            param = {"name": info.alias or name, "in": "query", "required": False, "schema": schema}
            if desc:
                param["description"] = desc
            if schema.get("type") == "array":
                param.update(style="form", explode=True)
            params.append(param)
    return params


def _responses(op: Operation, refs: dict) -> dict:
    out: dict = {}
    if op.response is not None:
        out[str(op.status)] = {
            "description": "成功",
            "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
        }
    else:
        out[str(op.status)] = {"description": "成功（无响应体）"}
    for code in op.errors:
        out[str(code)] = {"$ref": f"#/components/responses/Error{code}"}
    return out


@lru_cache(maxsize=1)
def _document() -> dict:
    pairs = [(m, "validation") for m in _body_models() + _query_models()] + [
        (m, "serialization") for m in _response_models()
    ]
    pairs = list(dict.fromkeys(pairs))
    refs, defs = models_json_schema(pairs, ref_template=REF)
    schemas = defs.get("$defs", {})
    paths: dict = {}
    for op in sorted(OPERATIONS, key=lambda o: _tag_rank(o.tag)):
        entry = {
            "operationId": op.endpoint.split(".", 1)[1],
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _parameters(op, schemas),
            "responses": _responses(op, refs),
        }
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if not entry["parameters"]:
            del entry["parameters"]
        paths.setdefault(op.path, {})[op.method] = entry
    error_ref = refs[(s.ErrorBody, "serialization")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "督办系统 API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/api/v1", "description": "本系统"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "tags": [{"name": t} for t in sorted(dict.fromkeys(op.tag for op in OPERATIONS), key=_tag_rank)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                f"Error{code}": {"description": desc, "content": {"application/json": {"schema": error_ref}}}
                for code, desc in ERROR_DESCRIPTIONS.items()
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "登录后通过 POST /api/v1/tokens 签发的访问令牌",
                },
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "浏览器登录会话；修改操作须另带 X-CSRFToken 请求头",
                },
            },
        },
    }


def document() -> dict:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())


class OpenAPIDocument(s.Out):
    """An OpenAPI 3.1 document."""

    model_config = {"extra": "allow"}

    openapi: str
    info: dict
    paths: dict


@operation(bp, "GET", "/openapi.json", summary="本接口的 OpenAPI 3.1 文档", tag="文档", response=OpenAPIDocument)
def openapi_json():
    from flask import jsonify

    return jsonify(document())


@bp.get("/docs")
def swagger_ui():
    """Swagger UI for people; 'Try it out' uses the browser session, CSRF header included."""
    # No CSRF token (and so no session cookie) for token callers: Flask-Login's strong
    # session protection would then treat their next request as a hijacked session.
    csrf_token = "" if getattr(g, "token_auth", False) else generate_csrf()
    return render_template(
        "api/docs.html",
        spec_url=url_for("api.openapi_json"),
        csrf_token=csrf_token,
        css=url_for("static", filename=f"{SWAGGER_UI}/swagger-ui.css"),
        bundle=url_for("static", filename=f"{SWAGGER_UI}/swagger-ui-bundle.js"),
        init=url_for("api.static", filename="swagger-init.js"),
    )
