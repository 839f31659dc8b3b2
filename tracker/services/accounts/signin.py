"""A login attempt, in two units of work: claim the try, then check the password.

The claim (``throttle``) is committed before the password is checked so that every other web
worker counts it while the (deliberately slow) hash runs; the check then opens the session and
writes the audit trail: ``login`` for a success, ``login_failed`` with the name tried and the
address for a failure (no actor when no such account exists).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from tracker.models import Role, User
from tracker.services import access, audit
from tracker.services.accounts import sessions, throttle
from tracker.services.accounts.throttle import ACCOUNT, ADDRESS, DEVICE, Refusal
from tracker.services.actors import Actor
from tracker.services.organisation import directory

UNKNOWN = Actor(None, "", Role.CLERK)  # who tried a name that is no account


@dataclass(frozen=True)
class Attempt:
    """One try: the name as typed, the address, and the trusted browser's id when this browser
    has logged in to that account before (None otherwise)."""

    username: str
    ip: str
    device: str | None = None

    def _scopes(self) -> list[tuple[str, str]]:
        if self.device:
            return [(DEVICE, f"{self.device}:{self.username}")]
        return [(ACCOUNT, self.username), (ADDRESS, self.ip)]


def claim(session: Session, attempt: Attempt) -> Refusal | None:
    """Count the try on each of its scopes, in order; a refusal on one gives back the claims
    already made (a try that is never checked counts for nobody). The caller commits."""
    done: list[tuple[str, str]] = []
    for kind, subject in attempt._scopes():
        refusal = throttle.claim_one(session, kind, subject)
        if refusal is not None:
            for k, s in done:
                throttle.give_back(session, k, s)
            return refusal
        done.append((kind, subject))
    return None


@dataclass(frozen=True)
class Success:
    user: User
    token: str  # the new session's, for the cookie


def check(session: Session, attempt: Attempt, password: str, *, user_agent: str, demo_mode: bool) -> Success | None:
    """Check the password of a claimed try. A success forgets the account's count (or the trusted
    browser's), gives the address its try back, opens a session; the caller commits either way."""
    user = directory.authenticate(session, attempt.username, password)
    if user is None:
        _failed(session, attempt)
        return None
    if attempt.device:
        throttle.forget(session, DEVICE, f"{attempt.device}:{attempt.username}")
    else:
        throttle.forget(session, ACCOUNT, attempt.username)
        throttle.give_back(session, ADDRESS, attempt.ip)
    throttle.prune(session)
    access.require_change_of_demo_password(session, user, password, demo_mode=demo_mode)
    token = sessions.start(session, user, ip=attempt.ip, user_agent=user_agent)
    return Success(user, token)


def _failed(session: Session, attempt: Attempt) -> None:
    user = session.exec(select(User).where(User.username == attempt.username)).first()
    audit.record(
        session,
        Actor.of(user) if user is not None else UNKNOWN,
        "login_failed",
        entity="user",
        entity_id=user.id if user is not None else None,
        after={"username": attempt.username[:60], "ip": attempt.ip},
        note="账号已停用" if user is not None and not user.active else "",
    )
