"""Login throttling and API tokens: the rules, independent of Flask."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotFound
from tracker.models import ApiToken, LoginFailure, User
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.organisation.directory import DEMO_PASSWORDS

FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 30


def is_throttled(session: Session, username: str, ip: str) -> bool:
    since = clock.now() - FAILURE_WINDOW
    by_user = session.scalar(
        select(sa.func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.at >= since)
    )
    by_ip = session.scalar(
        select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.ip == ip, LoginFailure.at >= since)
    )
    return by_user >= MAX_FAILURES_PER_USER or by_ip >= MAX_FAILURES_PER_IP


def record_failure(session: Session, username: str, ip: str) -> None:
    session.add(LoginFailure(username=username[:60], ip=ip[:64]))
    session.flush()


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


def clear_failures(session: Session, username: str) -> None:
    """A successful login forgets the user's failures. Most users have none, and then nothing is
    written: a login is no write transaction, no commit to wait for, when a few hundred users log
    in at once as the working day starts."""
    if session.scalar(select(LoginFailure.id).where(LoginFailure.username == username).limit(1)) is None:
        return
    session.exec(sa.delete(LoginFailure).where(LoginFailure.username == username))


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
