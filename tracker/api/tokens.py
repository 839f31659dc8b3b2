"""The caller's own API tokens: list, issue (the token is shown once), revoke.

Issuing needs a person logged in through the browser session: a leaked token
must not be able to mint itself successors. Listing and revoking work with
either, so an integration can retire its own token."""

from __future__ import annotations

from flask import g
from sqlmodel import select

from tracker.api import schemas as s
from tracker.api.blueprint import bp
from tracker.api.core import body, operation, reply
from tracker.api.present import local
from tracker.db import get_session
from tracker.errors import NotFound, NotPermitted
from tracker.http import idempotency
from tracker.http.login import current_actor, current_row
from tracker.models import ApiToken
from tracker.services import access

TAG = "访问令牌"


def _out(row: ApiToken) -> dict:
    return dict(
        id=row.id,
        name=row.name,
        created_at=local(row.created_at),
        last_used_at=local(row.last_used_at),
        revoked=row.revoked,
    )


@operation(bp, "GET", "/tokens", summary="我的访问令牌（不含令牌原文）", tag=TAG, response=s.TokenList)
def list_tokens():
    rows = get_session().exec(
        select(ApiToken)
        .where(ApiToken.user_id == current_row().id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return reply(s.TokenList(items=[s.TokenOut(**_out(r)) for r in rows]))


@operation(
    bp,
    "POST",
    "/tokens",
    summary="签发访问令牌（须以登录会话调用；令牌原文只返回这一次）",
    tag=TAG,
    body=s.TokenCreate,
    response=s.TokenIssued,
    status=201,
)
def issue_token():
    data = body(s.TokenCreate)
    if getattr(g, "token_auth", False):
        raise NotPermitted("签发新令牌须登录系统后操作，不能用访问令牌签发")
    session = get_session()
    user = current_row()
    token = access.issue_token(session, current_actor(), user, data.name)
    session.commit()
    idempotency.shown_once()
    # issue_token returns only the secret; find its row by the stored hash.
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == access._hash(token))).one()
    return reply(s.TokenIssued(**_out(row), token=token), 201)


@operation(
    bp,
    "DELETE",
    "/tokens/{token_id}",
    summary="吊销我的一个访问令牌",
    tag=TAG,
    status=204,
    path_params={"token_id": "令牌编号（id）"},
)
def revoke_token(token_id: int):
    session = get_session()
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != current_row().id:  # other people's tokens do not exist for you
        raise NotFound("未找到该令牌")
    if not row.revoked:
        access.revoke_token(session, current_actor(), token_id)
        session.commit()
    return reply(None, 204)
