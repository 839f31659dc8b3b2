"""Login throttling: progressive delay per account, per address and per trusted browser.

Each password check is claimed first, by one conditional ``UPDATE … RETURNING`` on the counter's
row: the database decides, so of 15 parallel wrong tries for one account exactly ``FREE_TRIES``
are checked and the rest are refused without a password check, on every web worker. After the
free tries each further try waits longer since the previous one (``DELAYS``); a quiet
``QUIET_RESET`` starts the count again. Nothing is ever locked for good, and no count refuses a
correct password for a reason its owner did not cause:

- an address is counted only for the tries actually checked, so hammering account A from an
  office's address stops at A's limit and leaves the address, and B's correct password from it,
  alone; the address's own limit is for spraying many accounts;
- a browser in which the account has logged in before (a signed "trusted browser" cookie,
  ``tracker/http/devices.py``) is counted on its own, past the account's and the address's
  counts, so an attacker hammering ``admin`` does not keep the administrator out of their own
  browser (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotFound
from tracker.models import LoginThrottle, User
from tracker.services import audit
from tracker.services.actors import Actor

ACCOUNT, ADDRESS, DEVICE = "account", "address", "device"
FREE_TRIES = {ACCOUNT: 5, ADDRESS: 30, DEVICE: 5}
# The wait before the first try past the free ones, the second, ...; the last repeats.
DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
)
QUIET_RESET = timedelta(hours=1)
KIND_LABELS = {ACCOUNT: "账号", ADDRESS: "来源地址", DEVICE: "已信任的浏览器"}


@dataclass(frozen=True)
class Refusal:
    kind: str
    wait: timedelta

    @property
    def message(self) -> str:
        seconds = max(1, int(self.wait.total_seconds() + 0.999))
        when = f"{seconds} 秒" if seconds < 90 else f"{(seconds + 59) // 60} 分钟"
        return f"登录尝试过于频繁，请稍后再试（约 {when}后）"


def delay_after(failures: int, kind: str) -> timedelta:
    """How long after the last try the next one may be checked, ``failures`` tries counted."""
    past = failures - FREE_TRIES[kind]
    if past < 0:
        return timedelta(0)
    return DELAYS[min(past, len(DELAYS) - 1)]


def _may_try(kind: str, now: datetime) -> sa.ColumnElement[bool]:
    """The claim's condition: ``delay_after`` in SQL, with the instants computed here (one
    statement text per kind on both engines, no interval arithmetic in SQL)."""
    t, free = LoginThrottle, FREE_TRIES[kind]
    ways = [t.failures < free, t.last_at <= now - QUIET_RESET]
    for i, delay in enumerate(DELAYS):
        count = t.failures >= free + i if i == len(DELAYS) - 1 else t.failures == free + i
        ways.append(sa.and_(count, t.last_at <= now - delay))
    return sa.or_(*ways)


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(LoginThrottle)


def claim_one(session: Session, kind: str, subject: str) -> Refusal | None:
    """Count one try against (``kind``, ``subject``), or refuse it without counting it.

    Two statements: make sure the row exists (a concurrent insert waits for ours, then does
    nothing), then the conditional UPDATE, which PostgreSQL re-evaluates on the row a concurrent
    claim just committed, and SQLite runs one writer at a time."""
    now, subject = clock.now(), subject[:160]
    session.execute(
        _insert(session).values(kind=kind, subject=subject, failures=0, last_at=now).on_conflict_do_nothing()
    )
    t = LoginThrottle
    claimed = session.execute(
        sa.update(t)
        .where(t.kind == kind, t.subject == subject, _may_try(kind, now))
        .values(failures=sa.case((t.last_at <= now - QUIET_RESET, 1), else_=t.failures + 1), last_at=now)
        .returning(t.failures)
    ).first()
    if claimed is not None:
        return None
    row = session.get(LoginThrottle, (kind, subject), populate_existing=True)
    return Refusal(kind, max(row.last_at + delay_after(row.failures, kind) - now, timedelta(seconds=1)))


def give_back(session: Session, kind: str, subject: str) -> None:
    """Undo one claim (a try that was not a failure: a correct password, or refused elsewhere)."""
    t = LoginThrottle
    session.execute(
        sa.update(t).where(t.kind == kind, t.subject == subject[:160], t.failures > 0).values(failures=t.failures - 1)
    )


def forget(session: Session, kind: str, subject: str) -> None:
    t = LoginThrottle
    session.execute(sa.delete(t).where(t.kind == kind, t.subject == subject[:160]))


def prune(session: Session) -> None:
    """Drop counts that have been quiet long enough to start again anyway."""
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.last_at <= clock.now() - QUIET_RESET))


@dataclass(frozen=True)
class Throttled:
    kind: str
    subject: str
    failures: int
    last_at: datetime
    until: datetime
    user_id: int | None
    display_name: str


def throttled(session: Session) -> list[Throttled]:
    """Accounts and addresses whose next try must wait now, the longest wait first (trusted
    browsers are their owners' business and are not listed)."""
    now = clock.now()
    rows = session.exec(
        select(LoginThrottle, User.id, User.display_name)
        .outerjoin(User, sa.and_(LoginThrottle.kind == ACCOUNT, User.username == LoginThrottle.subject))
        .where(LoginThrottle.kind.in_((ACCOUNT, ADDRESS)), LoginThrottle.last_at > now - QUIET_RESET)
    )
    out = []
    for row, user_id, name in rows:
        if row.failures < FREE_TRIES[row.kind]:
            continue
        until = row.last_at + delay_after(row.failures, row.kind)
        if until > now:
            out.append(Throttled(row.kind, row.subject, row.failures, row.last_at, until, user_id, name or ""))
    return sorted(out, key=lambda x: (x.kind != ACCOUNT, -x.until.timestamp(), x.subject))


def unlock(session: Session, actor: Actor, kind: str, subject: str) -> None:
    """The office or an administrator lets an account (or address) try again at once; audited as
    ``account_unlocked``. Raises NotFound when nothing is counted for it."""
    row = session.get(LoginThrottle, (kind, subject[:160])) if kind in (ACCOUNT, ADDRESS) else None
    if row is None:
        raise NotFound("该账号当前没有登录限制")
    user_id = None
    if kind == ACCOUNT:
        user_id = session.exec(select(User.id).where(User.username == subject)).first()
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "account_unlocked",
        entity="user",
        entity_id=user_id,
        before={"failures": row.failures},
        after={"failures": 0, kind: subject},
    )
