"""The demo's task stories: for each planned status and scenario, the dated steps that
lead a task there (assigned, acknowledged, reported on, extended, returned, reminded,
escalated, closed…), with deadlines chosen so that the story fits before today."""

from __future__ import annotations

from datetime import date, timedelta

from tracker.demo.organisation import DEPT_LEADER, EXEC
from tracker.demo.plan import Item
from tracker.demo.wording import cn_date
from tracker.models import DeadlineKind, FeedbackCycle


class TaskStories:
    """Mixed into the planner: each item's story, by status and scenario."""

    def plan_stories(self) -> None:
        for it in self.items:
            getattr(self, f"_story_{it.status.value}")(it)
            self._finish(it)

    def _finish(self, it: Item) -> None:
        if it.deadline_kind == DeadlineKind.ONGOING:
            it.deadline_text = "长期坚持"
        elif it.deadline_kind == DeadlineKind.RECURRING:
            it.deadline_text = "每月25日前报送进展"
        elif it.preset_used:
            it.deadline_text = it.preset[1]
        else:
            d = it.due0
            nxt = d + timedelta(days=1)
            it.deadline_text = f"{d.year}年{d.month}月底前" if nxt.day == 1 else f"{cn_date(d)}前"
        if not it.preset_used:
            it.preset = None
        days = [s[0] for s in it.steps_plan]
        assert days and min(days) >= it.create_day and max(days) <= self.last, (it.title, it.scenario)

    def _milestones(self, it: Item, a: date, due: date | None, *, open_: bool) -> None:
        if due is None or self.wdb(a, due) < 15 or self.rng.random() > 0.35:
            return
        k = self.rng.choice([2, 3])
        span = self.wdb(a, due)
        for j in range(1, k + 1):
            day = self.wd(a, span * j // (k + 1))
            step = it.steps[min(len(it.steps) - 1, (len(it.steps) * j) // (k + 1))]
            it.milestones.append((step, day))
            if open_ and day < self.today and self.rng.random() < 0.45:
                it.missed.add(j - 1)

    def _out(self, it: Item, due: date | None, *, approval: bool | None = None) -> date:
        """Create and send out; returns the assignment day."""
        it.due0 = due
        c = it.create_day
        if approval is None:
            approval = (
                EXEC in it.leaders
                and self.rng.random() < 0.35
                and c < self.last
                and (due is None or due >= self.wd(c, 1))
            )
        it.needs_approval = approval
        it.add(c, "create")
        if approval:
            it.assign_day = self.cap(self.wd(c, 1))
            it.add(c, "submit")
            it.add(it.assign_day, "approve")
        else:
            it.add(c, "assign")
        return it.assign_day

    def _ack(self, it: Item, a: date, latest: date | None = None) -> date:
        k = self.cap(self.wd(a, self.rng.choice([0, 1, 1, 1, 2])))
        if latest is not None:
            k = max(a, min(k, latest))
        it.add(k, "ack")
        return k

    def _pct(self, it: Item, a: date, due: date | None, day: date) -> int:
        if due is None:
            return 0
        f = self.wdb(a, day) / max(1, self.wdb(a, due))
        return int(min(90, max(10, 100 * f + self.rng.uniform(-12, 8))) // 5 * 5)

    def _work(
        self,
        it: Item,
        lo: date,
        hi: date,
        n: int,
        pct_to: int | None,
        *,
        final=False,
        problems=0.25,
        assists=True,
        done: set | None = None,
    ) -> None:
        """Lead reports on ``n`` days in [lo, hi] rising to ``pct_to``; assisting parts too."""
        rng = self.rng
        lo = min(lo, hi)
        days = self.spread(lo, hi, n)
        if final and days and days[-1] != hi:
            days[-1] = hi
            days = sorted(set(days))
        done = done if done is not None else set()
        for j, day in enumerate(days):
            last = j == len(days) - 1
            pct = None
            if pct_to is not None:
                pct = 100 if (final and last) else max(5, int(pct_to * (j + 1) / len(days)) // 5 * 5)
            marks = []
            for m, (_title, mday) in enumerate(it.milestones):
                if m in done or (m in it.missed and not (final and last)):
                    continue
                if (final and last) or mday <= self.wd(day, 3):
                    marks.append(m)
                    done.add(m)
            has_problem = not (final and last) and rng.random() < problems
            it.add(day, "report", pct=pct, final=final and last, problem=has_problem, marks=marks)
        if assists:
            for dep in it.assists:
                if rng.random() < 0.55:
                    for day in self.spread(lo, hi, rng.choice([1, 1, 1, 2])):
                        it.add(day, "part", dep=dep)

    def _pressure(self, it: Item, due: date, until: date) -> None:
        """What the office (and the leader) do once a deadline has passed."""
        rng = self.rng
        for n, action in ((1, "remind"), (3, "remind"), (5, "escalate"), (8, "leader_remind"), (12, "escalate3")):
            day = self.wd(due, n)
            if day > until or day > self.last:
                break
            if action == "leader_remind" and not self._leader_party(it):
                continue
            if action.startswith("escalate") and rng.random() > 0.75:
                continue
            if action in ("remind", "leader_remind"):
                it.remind(day, action, due=due, overdue=True)
            else:
                it.add(day, "escalate", due=due, level=3 if action == "escalate3" else 2)

    def _leader_party(self, it: Item) -> bool:
        return EXEC in it.leaders or DEPT_LEADER[it.lead] == EXEC

    def _reports_n(self, it: Item, lo: date, hi: date) -> int:
        per = {FeedbackCycle.WEEKLY: 5, FeedbackCycle.MONTHLY: 18, FeedbackCycle.ONCE: 25}[it.feedback]
        return max(1, min(3, 1 + self.wdb(lo, hi) // per))

    # statuses

    def _story_draft(self, it: Item) -> None:
        c = it.create_day
        it.due0 = self.due_future(it, c)
        self._milestones(it, c, it.due0, open_=False)
        it.add(c, "create")
        if it.scenario == "rejected":
            if EXEC not in it.leaders:
                it.leaders.append(EXEC)
            it.needs_approval = True
            it.add(c, "submit")
            it.add(self.cap(self.wd(c, 1)), "reject")

    def _story_pending_approval(self, it: Item) -> None:
        c = it.create_day
        if self.rng.random() < 0.7 and EXEC not in it.leaders:
            it.leaders.append(EXEC)
        it.needs_approval = True
        it.due0 = self.due_future(it, c)
        it.add(c, "create")
        it.add(c, "submit")

    def _story_assigned(self, it: Item) -> None:
        rng = self.rng
        age = self.wdb(it.create_day, self.last)
        if it.scenario == "reassigned" and age >= 2:
            a = self._out(it, None, approval=False)
            it.due0 = self.due_future(it, a)
            options = [d for d in it.assists] or [
                d for d, boss in DEPT_LEADER.items() if boss == DEPT_LEADER[it.lead] and d != it.lead
            ]
            new = rng.choice(options)
            it.add(self.wd(a, 1), "reassign_request", new=new)
            it.add(self.cap(self.wd(a, 2)), "reassign_decide", new=new)
            return
        stale = it.scenario == "stale" or age >= 3
        due = None
        if stale and age >= 4 and (it.scenario == "stale" or rng.random() < 0.5):
            due = self.due_past(it, it.create_day, self.today)
        if due is None:
            due = self.due_soon(it, it.create_day) if rng.random() < 0.2 else self.due_future(it, it.create_day)
        a = self._out(it, due)
        self._milestones(it, a, due, open_=True)
        if stale:
            for n in (3, 6):
                day = self.wd(a, n)
                if day <= self.last and (due >= self.today or day <= due):
                    it.remind(day, due=due, unacknowledged=True, days=n)
            if due < self.today:
                self._pressure(it, due, self.last)
        for dep in it.assists:
            if rng.random() < 0.3:
                it.add(self.rand_day(a, self.last), "part", dep=dep)

    def _story_acknowledged(self, it: Item) -> None:
        rng = self.rng
        due = None
        if it.scenario == "overdue":
            due = self.due_past(it, it.create_day, self.today)
        elif it.scenario == "soon":
            due = self.due_soon(it, it.create_day)
        if due is None:
            due = self.due_future(it, it.create_day)
        a = self._out(it, due)
        self._milestones(it, a, due, open_=True)
        k = self._ack(it, a, latest=due)
        for dep in it.assists:
            if rng.random() < 0.5:
                it.add(self.rand_day(k, self.last), "part", dep=dep)
        if due < self.today:
            self._pressure(it, due, self.last)
        elif self.wdb(k, self.last) > 10:
            it.remind(self.rand_day(self.wd(k, 8), self.last), due=due, no_report=True)
        if due <= self.soon_until and rng.random() < 0.6:
            it.remind(self.last, due=due, soon=True)

    def _story_in_progress(self, it: Item) -> None:
        rng, last, today = self.rng, self.last, self.today
        sc = it.scenario
        c = it.create_day
        age = self.wdb(c, last)
        if sc == "ongoing":
            if rng.random() < 0.5:
                it.deadline_kind, it.feedback = DeadlineKind.ONGOING, FeedbackCycle.MONTHLY
            else:
                it.deadline_kind, it.recurrence = DeadlineKind.RECURRING, "monthly:25"
                it.feedback = FeedbackCycle.MONTHLY
            a = self._out(it, None)
            k = self._ack(it, a)
            self._work(
                it,
                self.wd(k, 1) if k < last else k,
                last,
                max(1, min(4, 1 + self.wdb(k, last) // 15)),
                None,
                problems=0.15,
            )
            return
        if sc == "overdue" and age >= 3:
            due = self.due_past(it, c, today)
            a = self._out(it, due, approval=False)
            self._milestones(it, a, due, open_=True)
            k = self._ack(it, a, latest=due)
            self._work(it, k, due, self._reports_n(it, k, due), rng.choice([30, 40, 50]), problems=0.3)
            self._work(
                it,
                self.wd(due, 1),
                last,
                rng.choice([1, 1, 2]),
                rng.choice([60, 70, 80, 85]),
                problems=0.85,
                assists=False,
            )
            self._pressure(it, due, last)
            return
        if sc == "ext_ok" and age >= 2:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a)
            e = self.rand_day(k, self.wd(last, -1)) if k < last else k
            due0 = self.pick_due(it, a, max(e, self.wd(a, 3)), self.wd(e, 5))
            due1 = self.wd(max(due0, today), rng.randint(8, 30))
            it.due0 = due0
            self._milestones(it, a, due0, open_=True)
            self._work(it, k, e, self._reports_n(it, k, e), self._pct(it, a, due0, e) // 2 + 10)
            it.add(e, "ext_request", new_due=due1)
            dd = self.cap(self.wd(e, 1))
            it.add(dd, "ext_decide", approve=True, new_due=due1)
            if dd < last:
                self._work(it, self.wd(dd, 1), last, rng.choice([1, 2]), self._pct(it, a, due1, last), assists=False)
            return
        if sc == "ext_overdue" and age >= 6:
            a = self._out(it, None, approval=False)
            span = self.wdb(a, last)
            due1 = self.wd(last, -rng.randint(1, min(10, span - 4)))
            due0 = self.wd(due1, -rng.randint(1, max(1, min(10, self.wdb(a, due1) - 2))))
            it.due0 = due0
            k = self._ack(it, a, latest=due0)
            e = self.rand_day(k, due0)
            it.add(e, "ext_request", new_due=due1)
            dd = self.wd(e, 1)
            it.add(dd, "ext_decide", approve=True, new_due=due1)
            self._work(it, k, last, self._reports_n(it, k, last) + 1, rng.choice([60, 70, 80]), problems=0.6)
            self._pressure(it, due1, last)
            return
        if sc == "ext_refused" and age >= 2:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a)
            e = self.rand_day(k, self.wd(last, -1)) if k < last else k
            due0 = self.pick_due(it, a, max(e, self.wd(a, 2)), self.wd(e, 5))
            it.due0 = due0
            self._milestones(it, a, due0, open_=True)
            self._work(it, k, e, self._reports_n(it, k, e), 40)
            it.add(e, "ext_request", new_due=self.wd(due0, rng.randint(10, 20)))
            it.add(self.cap(self.wd(e, 1)), "ext_decide", approve=False)
            if due0 < today:
                self._work(it, self.wd(due0, 1), last, 1, rng.choice([60, 70, 80]), problems=0.8, assists=False)
                self._pressure(it, due0, last)
            return
        if sc == "ext_pending" and age >= 1:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a)
            e = self.rand_day(max(k, self.wd(last, -3)), last)
            due0 = self.pick_due(it, a, max(e, self.first_due), self.wd(today, 6))
            it.due0 = due0
            self._work(it, k, e, self._reports_n(it, k, e), rng.choice([50, 60, 70]), problems=0.6)
            it.add(e, "ext_request", new_due=self.wd(due0, rng.randint(10, 20)))
            return
        if sc == "returned" and age >= 3:
            past_due = rng.random() < 0.3 and age >= 6
            a0 = it.create_day
            due = self.due_past(it, a0, today) if past_due else None
            due = due or self.due_future(it, a0)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            r1 = self.rand_day(self.wd(k, 1), self.wd(last, -1))
            self._work(it, k, r1, self._reports_n(it, k, r1), 100, final=True)
            it.add(r1, "close_request")
            ret = self.cap(self.wd(r1, rng.choice([1, 1, 2])))
            it.add(ret, "return")
            self._work(it, ret, last, rng.choice([1, 2]), 90, assists=False, problems=0.3)
            if due < today:
                self._pressure(it, due, last)
            return
        if sc == "reopened" and age >= 6:
            due = self.due_future(it, it.create_day) if rng.random() < 0.4 else None
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            v = self.rand_day(self.wd(k, 2), self.wd(last, -3))
            if due is None:
                it.due0 = due = self.pick_due(it, a, v, self.wd(v, 5))
            r = self.wd(v, -1)
            self._work(it, k, r, self._reports_n(it, k, r), 100, final=True)
            it.add(r, "close_request")
            it.add(v, "approve_close")
            o = self.rand_day(self.wd(v, 1), self.wd(last, -1))
            it.add(o, "reopen")
            self._work(it, self.wd(o, 1), last, 1, 80, assists=False, problems=0.5)
            if due < today:
                self._pressure(it, max(due, o), last)
            return
        if sc == "resumed" and age >= 4:
            due = self.due_future(it, it.create_day)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            s = self.rand_day(self.wd(k, 1), self.wd(last, -2))
            self._work(it, k, s, 1, 20)
            it.add(s, "suspend")
            rs = self.rand_day(self.wd(s, 1), self.wd(last, -1))
            it.add(rs, "resume")
            self._work(it, self.wd(rs, 1), last, 1, 40, assists=False)
            return
        if sc == "change" and age >= 3:
            due = self.due_future(it, it.create_day)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a)
            c1 = self.rand_day(self.wd(k, 1), self.wd(last, -1))
            self._work(it, k, c1, 1, 20)
            it.add(c1, "change_request")
            it.add(self.cap(self.wd(c1, 1)), "change_decide", approve=rng.random() < 0.6)
            self._work(it, self.cap(self.wd(c1, 1)), last, 1, self._pct(it, a, due, last), assists=False)
            return
        # on track, or due within three working days (and the fallback for the rest)
        soon = sc == "soon" or (sc not in ("ontrack",) and rng.random() < 0.2)
        due = self.due_soon(it, it.create_day) if soon else self.due_future(it, it.create_day)
        a = self._out(it, due)
        self._milestones(it, a, due, open_=True)
        k = self._ack(it, a)
        lo = self.wd(k, 1) if k < last else k
        pct = rng.choice([60, 70, 80, 90]) if soon else self._pct(it, a, due, last)
        self._work(it, lo, last, self._reports_n(it, lo, last), pct, problems=0.2)
        if soon and rng.random() < 0.6:
            it.remind(last, due=due, soon=True)

    def _story_pending_review(self, it: Item) -> None:
        last, today = self.last, self.today
        sc = it.scenario
        age = self.wdb(it.create_day, last)
        if sc == "late" and age >= 3:
            r = self.rand_day(self.wd(it.create_day, 2), last)
            due = self.due_past(it, it.create_day, r)
            if due is not None:
                a = self._out(it, due, approval=False)
                k = self._ack(it, a, latest=due)
                self._work(it, k, r, self._reports_n(it, k, r) + 1, 100, final=True, problems=0.4)
                self._pressure(it, due, self.wd(r, -1))
                it.add(r, "close_request")
                return
        if sc == "second" and age >= 4:
            due = self.due_future(it, it.create_day)
            a = self._out(it, due, approval=False)
            k = self._ack(it, a, latest=self.wd(last, -4))
            r1 = self.rand_day(self.wd(k, 1), self.wd(last, -2))
            self._work(it, k, r1, self._reports_n(it, k, r1), 100, final=True)
            it.add(r1, "close_request")
            ret = self.wd(r1, 1)
            it.add(ret, "return")
            r2 = self.rand_day(ret, last)
            self._work(it, ret, r2, 1, 100, final=True, assists=False)
            it.add(r2, "close_request", again=True)
            return
        a = self._out(it, None)
        k = self._ack(it, a)
        r = self.rand_day(max(k, self.wd(last, -4)), last)
        it.due0 = due = self.pick_due(it, a, max(r, self.wd(a, 3)), self.wd(today, 20))
        self._milestones(it, a, due, open_=False)
        self._work(it, k, r, self._reports_n(it, k, r), 100, final=True)
        it.add(r, "close_request")

    def _story_closed(self, it: Item) -> None:
        rng, last = self.rng, self.last
        sc = it.scenario
        c = it.create_day
        age = self.wdb(c, last)
        if it.preset and c <= self.natural_due(it) <= last:
            due = self.natural_due(it)
            it.preset_used = True
            a = self._out(it, due, approval=False)
            k = self._ack(it, a, latest=due)
            late = rng.random() < 0.3 and self.wd(due, 1) <= last
            v = self.rand_day(self.wd(due, 1), min(self.wd(due, 4), last)) if late else self.rand_day(k, min(due, last))
            self._work(it, k, v, 1, 100, final=True, assists=False)
            it.add(v, "close_request")
            it.add(v, "approve_close")
            return
        if sc == "late" and age >= 4:
            v = self.rand_day(self.wd(c, 4), last)
            due = self.due_past(it, c, self.wd(v, 0))
            if due is not None:
                a = self._out(it, due, approval=False)
                k = self._ack(it, a, latest=due)
                r = self.rand_day(self.wd(due, 1), v) if self.wd(due, 1) <= v else v
                self._work(it, k, r, self._reports_n(it, k, r) + 1, 100, final=True, problems=0.4)
                self._pressure(it, due, self.wd(r, -1))
                it.add(r, "close_request")
                it.add(v, "approve_close")
                return
        if sc == "extended" and age >= 5:
            a = self._out(it, None, approval=False)
            v = self.rand_day(self.wd(a, 5), last)
            due0 = self.pick_due(it, a, self.wd(a, 2), self.wd(v, -2))
            it.due0 = due0
            k = self._ack(it, a, latest=due0)
            e = self.rand_day(k, due0)
            late = rng.random() < 0.3 and self.wd(due0, 1) < v
            due1 = (
                self.rand_day(self.wd(due0, 1), self.wd(v, -1)) if late else self.wd(max(v, due0), rng.randint(0, 15))
            )
            if due1 <= due0:
                due1 = self.wd(due0, 5)
            it.add(e, "ext_request", new_due=due1)
            dd = min(self.wd(e, 1), v)
            it.add(dd, "ext_decide", approve=True, new_due=due1)
            r = self.rand_day(dd, v)
            self._work(it, k, r, self._reports_n(it, k, r) + 1, 100, final=True)
            if late:
                self._pressure(it, due1, self.wd(r, -1))
            it.add(r, "close_request")
            it.add(v, "approve_close")
            return
        if sc == "returned" and age >= 5:
            a = self._out(it, None, approval=False)
            k = self._ack(it, a, latest=self.wd(last, -5))
            v = self.rand_day(self.wd(k, 4), last)
            r1 = self.rand_day(self.wd(k, 1), self.wd(v, -3))
            ret = self.wd(r1, 1)
            r2 = self.rand_day(self.wd(ret, 1), self.wd(v, -1))
            if rng.random() < 0.3:
                due = self.pick_due(it, a, self.wd(a, 1), self.wd(v, -1))
            else:
                due = self.pick_due(it, a, v, self.wd(v, 15))
            it.due0 = due
            self._milestones(it, a, due, open_=False)
            done: set = set()
            self._work(it, k, r1, self._reports_n(it, k, r1), 100, final=True, done=done)
            it.add(r1, "close_request")
            it.add(ret, "return")
            self._work(it, ret, r2, 1, 100, final=True, assists=False, done=done)
            it.add(r2, "close_request", again=True)
            it.add(v, "approve_close")
            return
        # closed on time
        a = self._out(it, None)
        k = self._ack(it, a)
        v = self.rand_day(min(self.wd(a, 3), last), last) if a < last else a
        r = max(k, self.wd(v, -rng.choice([0, 1, 1, 2])))
        r = min(r, v)
        it.due0 = due = self.pick_due(it, a, v, self.wd(v, 20))
        self._milestones(it, a, due, open_=False)
        self._work(it, k, r, self._reports_n(it, k, r), 100, final=True)
        it.add(r, "close_request")
        it.add(v, "approve_close")

    def _story_suspended(self, it: Item) -> None:
        rng, last = self.rng, self.last
        due = self.due_future(it, it.create_day)
        a = self._out(it, due)
        k = self._ack(it, a)
        s = self.rand_day(self.wd(k, 1), last) if k < last else k
        if s > k:
            self._work(it, k, max(self.wd(s, -1), k), 1, rng.choice([10, 20, 30]))
        it.add(s, "suspend")

    def _story_cancelled(self, it: Item) -> None:
        last = self.last
        if it.scenario == "from_pending":
            it.needs_approval = True
            if EXEC not in it.leaders:
                it.leaders.append(EXEC)
            it.due0 = self.due_future(it, it.create_day)
            it.add(it.create_day, "create")
            it.add(it.create_day, "submit")
            it.add(self.rand_day(it.create_day, last), "cancel")
            return
        due = self.due_future(it, it.create_day)
        a = self._out(it, due)
        if it.scenario == "from_progress" and a < last:
            k = self._ack(it, a)
            x = self.rand_day(self.wd(k, 1), last) if k < last else k
            self._work(it, k, x, 1, 20)
            it.add(x, "cancel")
        else:
            it.add(self.rand_day(a, last), "cancel")
