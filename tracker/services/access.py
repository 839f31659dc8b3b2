"""API tokens, and the published demo password flagged at login: the rules, independent of Flask.

Login throttling and sessions live in ``tracker/services/accounts/``."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotFound
from tracker.models import ApiToken, User
from tracker.services import audit
from tracker.services.accounts.passwords import DEMO_PASSWORDS
from tracker.services.actors import Actor


def require_change_of_demo_password(session: Session, user: User, password: str, *, demo_mode: bool) -> bool:
    """Outside demo mode, a login with the published demo password must change it before anything else."""

    if demo_mode or password not in DEMO_PASSWORDS or user.must_change_password:
        return False
    user.must_change_password = True
    session.add(user)
    session.flush()
    audit.record(
        session,
        Actor.of(user),
        "demo_password_flagged",
        entity="user",
        entity_id=user.id,
        after={"must_change_password": True},
    )
    return True


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, actor: Actor, user: User, name: str) -> str:
    """Create a token and return it once; only its hash is stored."""
    token = "dbt_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:60] or "API", token_hash=_hash(token))
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "api_token_issue",
        entity="api_token",
        entity_id=row.id,
        after={"user_id": user.id, "name": row.name},
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _hash(token), ApiToken.revoked.is_(False))).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = clock.now()
    return user


def revoke_token(session: Session, actor: Actor, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("未找到该令牌")
    row.revoked = True
    audit.record(session, actor, "api_token_revoke", entity="api_token", entity_id=row.id, after={"revoked": True})
