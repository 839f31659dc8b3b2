"""The demo's plan: every source and task of the district drawn before anything is written.

The plan is drawn from ``random.Random(seed)``, so a run on the same "today" and calendar
always produces the same district. Each item records its story as dated steps
(create, assign, ack, report, ext_request…) that ``tracker.demo.tasks`` replays through
the services.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session

from tracker.demo.catalogue import PLACES, SCHEDULING_TEMPLATES, TEMPLATES, Template
from tracker.demo.organisation import DEPT_LEADER, EXEC, MAYOR, STREETS, TOWNS
from tracker.demo.wording import GENERIC_PROBLEMS
from tracker.models import DeadlineKind, FeedbackCycle, SourceKind, Urgency
from tracker.rules import overdue
from tracker.services.calendar import due_from_preset, load_calendar
from tracker.workflow import Status

HISTORY_DAYS = 91  # sources reach this many calendar days back from today

# Where each status tends to sit among the tasks sorted newest → oldest (0 → 1), and how
# far it wanders: drafts are the newest, closed tasks the oldest, work in progress anywhere.
STATUS_PLAN = {
    Status.DRAFT: (14, 0.01, 0.02),
    Status.PENDING_APPROVAL: (12, 0.03, 0.04),
    Status.ASSIGNED: (26, 0.10, 0.10),
    Status.ACKNOWLEDGED: (26, 0.20, 0.18),
    Status.IN_PROGRESS: (100, 0.50, 0.45),
    Status.PENDING_REVIEW: (20, 0.45, 0.40),
    Status.CLOSED: (84, 0.78, 0.22),
    Status.SUSPENDED: (8, 0.60, 0.30),
    Status.CANCELLED: (10, 0.50, 0.40),
}

# Scenario → (how many per 300 tasks, minimum working days between assignment and today).
SCENARIOS = {
    Status.DRAFT: {"plain": (11, 0), "rejected": (3, 0)},
    Status.PENDING_APPROVAL: {"pending": (12, 0)},
    Status.ASSIGNED: {"fresh": (18, 0), "stale": (5, 3), "reassigned": (3, 2)},
    Status.ACKNOWLEDGED: {"normal": (17, 0), "soon": (4, 0), "overdue": (5, 3)},
    Status.IN_PROGRESS: {
        "ontrack": (28, 0),
        "soon": (12, 0),
        "overdue": (20, 3),
        "ext_ok": (9, 2),
        "ext_overdue": (3, 6),
        "ext_refused": (6, 2),
        "ext_pending": (4, 1),
        "returned": (7, 3),
        "ongoing": (5, 1),
        "reopened": (2, 6),
        "resumed": (2, 4),
        "change": (2, 3),
    },
    Status.PENDING_REVIEW: {"normal": (12, 1), "late": (5, 3), "second": (3, 4)},
    Status.CLOSED: {"ontime": (46, 2), "late": (20, 4), "extended": (9, 5), "returned": (9, 5)},
    Status.SUSPENDED: {"suspended": (8, 2)},
    Status.CANCELLED: {"from_assigned": (4, 0), "from_progress": (4, 2), "from_pending": (2, 0)},
}


@dataclass
class SourcePlan:
    idx: int
    kind: SourceKind
    title: str
    reference: str
    day: date
    leader: str | None  # chair or issuer
    meta: dict  # what the texts need: issuer, level...
    intro: str
    items: list[Item] = field(default_factory=list)
    body: str = ""
    attendees: str = ""  # meetings: who attended
    document: str = ""  # instructions: the document the leader wrote on
    db_id: int | None = None


@dataclass
class Item:
    source: SourcePlan
    item_no: str
    title: str
    requirement: str
    lead: str
    assists: list[str]
    leaders: list[str]
    steps: tuple[str, ...]
    problems: tuple[str, ...]
    urgency: Urgency
    feedback: FeedbackCycle
    preset: tuple[str, str] | None = None  # time-limit preset code, the phrase a text gives
    status: Status = Status.DRAFT
    scenario: str = ""
    deadline_kind: DeadlineKind = DeadlineKind.DATE
    recurrence: str = ""
    deadline_text: str = ""
    preset_used: bool = False
    create_day: date | None = None
    assign_day: date | None = None
    due0: date | None = None  # as first assigned
    needs_approval: bool = False
    milestones: list[tuple[str, date]] = field(default_factory=list)
    missed: set[int] = field(default_factory=set)
    steps_plan: list[tuple[date, int, str, dict]] = field(default_factory=list)
    rank: int = 0
    remind_days: set = field(default_factory=set)
    # filled in while the plan runs
    task_id: int | None = None
    milestone_ids: list[int] = field(default_factory=list)
    request_id: int | None = None
    current_lead: str = ""

    def add(self, day: date, action: str, **kw) -> None:
        self.steps_plan.append((day, len(self.steps_plan), action, kw))

    def remind(self, day: date, action: str = "remind", **kw) -> None:
        """One reminder a day at most: the table allows one per task, department, rule and day."""
        if day not in self.remind_days:
            self.remind_days.add(day)
            self.add(day, action, **kw)


class PlannerBase:
    """Draws the whole district from one seeded generator; writes nothing.

    The calendar helpers, the drawing of items, their days, statuses and deadlines;
    ``SourcePlanning`` adds the sources and ``TaskStories`` each task's story."""

    def __init__(self, session: Session, today: date, seed: int, *, soon_workdays: int):
        # Reads the calendar, the due-soon horizon and the time-limit presets; writes nothing.
        self.session = session
        self.cal = cal = load_calendar(session)
        self.rng = random.Random(seed)
        self.today = today
        self.last = today if cal.is_workday(today) else cal.add_workdays(today, -1).value
        self.first_due = today if cal.is_workday(today) else cal.add_workdays(today, 1).value
        self.soon_until = overdue.Horizon.build(session, soon_workdays, today=today).soon_until
        start = today - timedelta(days=HISTORY_DAYS + 60)
        self.workdays = [
            start + timedelta(days=i)
            for i in range(HISTORY_DAYS + 60 + 500)
            if cal.is_workday(start + timedelta(days=i))
        ]
        w0 = today - timedelta(days=HISTORY_DAYS)
        self.past = [d for d in self.workdays if w0 <= d <= self.last]
        self.sources: list[SourcePlan] = []
        self.items: list[Item] = []
        self._pool: list[tuple[Template, dict]] = []
        self._sched_pool: list[tuple[Template, dict]] = []

    # -- calendar helpers -------------------------------------------------------

    def wd(self, day: date, n: int) -> date:
        return day if n == 0 else self.cal.add_workdays(day, n).value

    def wdb(self, a: date, b: date) -> int:
        return self.cal.workdays_between(a, b).value

    def cap(self, day: date) -> date:
        return min(day, self.last)

    def between(self, lo: date, hi: date) -> list[date]:
        i = bisect.bisect_left(self.workdays, lo)
        j = bisect.bisect_right(self.workdays, hi)
        return self.workdays[i:j]

    def rand_day(self, lo: date, hi: date) -> date:
        days = self.between(lo, hi)
        return self.rng.choice(days) if days else lo

    def spread(self, lo: date, hi: date, n: int) -> list[date]:
        days = self.between(lo, hi)
        if not days:
            return [lo] if n > 0 else []
        return sorted(self.rng.sample(days, min(n, len(days))))

    # -- what the tasks say -----------------------------------------------------

    def _pick_street(self) -> str:
        return self.rng.choice(STREETS + ["青山街道"] * 7)

    def _values(self, fixed: dict | None = None) -> dict:
        rng = self.rng
        v = {k: rng.choice(pool) for k, pool in PLACES.items()}
        v["street"] = self._pick_street()
        v["town"] = rng.choice(TOWNS)
        v["n"] = rng.choice([12, 15, 18, 20, 24, 30, 36, 45, 60])
        v["year"] = self.today.year
        v["next_year"] = self.today.year + 1
        v.update(fixed or {})
        return v

    @staticmethod
    def _expand(templates) -> list[tuple[Template, dict]]:
        """Every distinct title a template can give (one per place it names)."""
        out = []
        places = dict(PLACES, street=STREETS, town=TOWNS)
        for t in templates:
            keys = [k for k in places if "{" + k + "}" in t.title]
            if not keys:
                out.append((t, {}))
                continue
            key = keys[0]
            out.extend((t, {key: value}) for value in places[key])
        return out

    def _draw(self, pool_name: str, want=None) -> tuple[Template, dict]:
        pool = getattr(self, pool_name)
        if not pool:
            pool.extend(self._expand(SCHEDULING_TEMPLATES if pool_name == "_sched_pool" else TEMPLATES))
            self.rng.shuffle(pool)
        if want is not None:
            for i in range(len(pool) - 1, -1, -1):
                if want(pool[i][0]):
                    return pool.pop(i)
        return pool.pop()

    def _resolve(self, key: str, v: dict) -> str:
        if key == "@street":
            return v["street"]
        if key == "@town":
            return v["town"]
        return key

    def _urgency(self) -> Urgency:
        r = self.rng.random()
        return Urgency.EXTRA_URGENT if r < 0.08 else Urgency.URGENT if r < 0.3 else Urgency.NORMAL

    def _feedback(self) -> FeedbackCycle:
        return self.rng.choices([FeedbackCycle.WEEKLY, FeedbackCycle.MONTHLY, FeedbackCycle.ONCE], [3, 4, 3])[0]

    def _item(
        self,
        src: SourcePlan,
        t: Template,
        fixed: dict,
        *,
        extra_leaders=(),
        prefix="",
        urgency=None,
        feedback=None,
        lead=None,
        assists=None,
        preset=None,
    ) -> Item:
        rng = self.rng
        v = self._values(fixed)
        title = t.title.format(**v)
        requirement = prefix + t.requirement.format(**v)
        lead_key = lead or self._resolve(rng.choice(t.lead), v)
        pool = [a for a in dict.fromkeys(self._resolve(a, v) for a in t.assists) if a != lead_key]
        if assists is None:
            k = min(len(pool), rng.choices([0, 1, 2, 3], [2, 4, 3, 1.5])[0])
            assists = rng.sample(pool, k)
        leaders = [DEPT_LEADER[lead_key]]
        for extra in extra_leaders:
            if extra and extra not in leaders:
                leaders.append(extra)
        item = Item(
            source=src,
            item_no=str(len(src.items) + 1),
            title=title,
            requirement=requirement,
            lead=lead_key,
            assists=[a for a in assists if a != lead_key],
            leaders=leaders,
            steps=tuple(s.format(**v) for s in t.steps),
            problems=tuple(p.format(**v) for p in t.problems) or tuple(GENERIC_PROBLEMS[:3]),
            urgency=urgency or self._urgency(),
            feedback=feedback or self._feedback(),
            preset=preset,
        )
        src.items.append(item)
        self.items.append(item)
        return item

    def _simple(
        self,
        src: SourcePlan,
        title: str,
        lead: str,
        assists: list[str],
        *,
        preset=None,
        requirement: str = "",
        urgency=None,
        fixed=None,
    ) -> Item:
        """An item from a short (title, lead, assists) row: audits, suggestions, documents."""
        v = self._values(fixed)
        title = title.format(**v)
        assists = [self._resolve(a, v) for a in assists]
        t = Template(
            "专项",
            "",
            title,
            requirement or f"认真办理{title}相关工作，按时限报送办理结果。",
            (lead,),
            tuple(assists),
            ("制定办理方案，明确责任分工", "开展调查核实", "落实具体措施", "形成办理结果"),
            tuple(GENERIC_PROBLEMS[:4]),
        )
        return self._item(
            src,
            t,
            {},
            lead=lead,
            assists=assists,
            preset=preset,
            urgency=urgency,
            extra_leaders=[src.leader] if src.leader in (MAYOR, EXEC) else [],
        )

    # -- statuses and scenarios -------------------------------------------------

    def plan_days(self) -> None:
        rng = self.rng
        for it in self.items:
            kind = it.source.kind
            if kind in (SourceKind.LEADER_INSTRUCTION, SourceKind.PUBLIC_OPINION):
                delay = rng.choice([0, 0, 1])
            elif kind == SourceKind.SCHEDULING_MEETING:
                delay = 1
            else:
                delay = rng.randint(1, 3)
            it.create_day = self.cap(self.wd(it.source.day, delay))
            it.assign_day = it.create_day

    def assign_statuses(self) -> None:
        rng = self.rng
        total = len(self.items)
        counts = {s: round(q * total / 300) for s, (q, _m, _w) in STATUS_PLAN.items()}
        counts[Status.IN_PROGRESS] += total - sum(counts.values())
        keyed = []
        for status, count in counts.items():
            _q, mean, spread = STATUS_PLAN[status]
            keyed += [(min(1.0, max(0.0, mean + rng.uniform(-spread, spread))), status) for _ in range(count)]
        keyed.sort(key=lambda x: x[0])
        order = sorted(self.items, key=lambda it: (it.create_day, rng.random()), reverse=True)
        for it, (_key, status) in zip(order, keyed):
            it.status = status
        closed = [it for it in self.items if it.status == Status.CLOSED and not it.preset]
        for it in self.items:
            if it.preset and it.status != Status.CLOSED and self.natural_due(it) < self.today:
                swap = min(closed, key=lambda x: abs((x.create_day - it.create_day).days))
                closed.remove(swap)
                swap.status, it.status = it.status, Status.CLOSED
        for status, scenarios in SCENARIOS.items():
            group = [it for it in self.items if it.status == status]
            rng.shuffle(group)
            wanted = []
            for name, (q, min_age) in scenarios.items():
                wanted += [(min_age, name)] * round(q * len(group) / sum(q2 for q2, _ in scenarios.values()))
            first = next(iter(scenarios))
            while len(wanted) < len(group):
                wanted.append((scenarios[first][1], first))
            wanted.sort(key=lambda x: -x[0])
            free = list(group)
            for min_age, name in wanted[: len(group)]:
                pick = next((it for it in free if self.wdb(it.assign_day, self.last) >= min_age), free[0])
                pick.scenario = name
                free.remove(pick)

    # -- deadlines --------------------------------------------------------------

    def natural_due(self, it: Item) -> date:
        """The deadline the item's time-limit preset gives, as the task service sets it:
        counted from the source's date (the replay lets the service compute it)."""
        return due_from_preset(self.session, it.preset[0], it.source.day)[0].value

    def pick_due(self, it: Item, a: date, lo: date, hi: date) -> date:
        lo = max(lo, a)
        hi = max(hi, lo)
        if it.preset:
            natural = self.natural_due(it)
            if lo <= natural <= hi:
                it.preset_used = True
                return natural
        if self.rng.random() < 0.3:
            ends = []
            d = date(lo.year, lo.month, 1)
            while d <= hi:
                nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
                end = nxt - timedelta(days=1)
                if lo <= end <= hi:
                    ends.append(end)
                d = nxt
            if ends:
                return self.rng.choice(ends)
        return self.rand_day(lo, hi)

    def due_future(self, it: Item, a: date) -> date:
        lo = max(self.wd(self.today, 4), self.wd(a, 10))
        hi = max(self.wd(a, 60), self.wd(lo, 8))
        return self.pick_due(it, a, lo, hi)

    def due_soon(self, it: Item, a: date) -> date:
        return self.pick_due(it, a, self.first_due, self.soon_until)

    def due_past(self, it: Item, a: date, before: date) -> date | None:
        """A deadline after ``a`` and before ``before`` (None if there is no room)."""
        hi = self.wd(before, -1)
        lo = self.wd(a, 1)
        if lo > hi:
            return None
        lo = max(lo, min(self.wd(a, 5), hi), self.wd(hi, -25))
        return self.pick_due(it, a, lo, hi)
