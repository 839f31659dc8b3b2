"""The demo's replay: every planned step, day by day on the frozen clock, through
``tracker.services.tasks.sources`` and the task service (``tasks.lifecycle``, ``tasks.requests``,
``chasing.by_hand``) only, so the audit log reads like a real history. Texts drawn here come from their own generator, in replay order."""

from __future__ import annotations

import random
from datetime import date

from sqlmodel import Session, select

from tracker import clock
from tracker.demo.organisation import DEPT_BY_KEY, ST, TW, Org, label
from tracker.demo.plan import Item, PlannerBase, SourcePlan
from tracker.demo.wording import (
    ASSIST_PHRASES,
    CANCEL_REASONS,
    EXTENSION_REASONS,
    GENERIC_PROBLEMS,
    REASSIGN_REASONS,
    REFUSE_NOTES,
    REJECT_REASONS,
    RETURN_NOTES,
    SUSPEND_REASONS,
    cn_date,
)
from tracker.models import Milestone
from tracker.services.actors import Actor
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests
from tracker.services.tasks import sources


class Runner:
    """Replays the plan day by day on the frozen clock, through the services only."""

    def __init__(self, session: Session, org: Org, plan: PlannerBase, seed: int):
        self.session = session
        self.org = org
        self.plan = plan
        self.rng = random.Random(seed + 1)  # texts are drawn in replay order

    def run(self) -> None:
        plan = self.plan
        ordered = sorted(plan.items, key=lambda it: (it.create_day, it.source.idx, int(it.item_no)))
        for rank, it in enumerate(ordered):
            it.rank = rank
            it.current_lead = it.lead
        events = [(src.day, -1, src.idx, 0, "source", src, {}) for src in plan.sources]
        for it in ordered:
            events += [(day, 0, it.rank, seq, action, it, kw) for day, seq, action, kw in it.steps_plan]
        events.sort(key=lambda e: e[:4])  # by day; sources first; each task's steps in order
        for day, _phase, _rank, _seq, action, subject, kw in events:
            with clock.frozen(day):
                getattr(self, f"_do_{action}")(subject, **kw)

    # helpers

    def office(self, it: Item) -> Actor:
        return self.org.office2 if it.rank % 4 == 3 else self.org.office

    def lead(self, it: Item) -> Actor:
        return self.org.clerks[it.current_lead]

    def dep(self, key: str) -> int:
        return self.org.departments[key]

    # sources

    def _do_source(self, src: SourcePlan) -> None:
        row = sources.create_source(
            self.session,
            self.org.office,
            {
                "kind": src.kind,
                "title": src.title,
                "reference": src.reference,
                "source_date": src.day,
                "leader_id": self.org.leaders[src.leader] if src.leader else None,
                "body": src.body,
                "attendees": src.attendees,
                "document": src.document,
            },
        )
        src.db_id = row.id

    # the loop

    def _do_create(self, it: Item) -> None:
        data = {
            "title": it.title,
            "requirement": it.requirement,
            "source_id": it.source.db_id,
            "item_no": it.item_no,
            "lead_department_id": self.dep(it.lead),
            "assisting_department_ids": [self.dep(d) for d in it.assists],
            "leader_ids": [self.org.leaders[k] for k in it.leaders],
            "urgency": it.urgency,
            "deadline_kind": it.deadline_kind,
            "due_date": None if it.preset_used else it.due0,  # a preset's: the service sets it
            "deadline_text": it.deadline_text,
            "recurrence": it.recurrence,
            "time_limit_preset": it.preset[0] if it.preset else "",
            "feedback_cycle": it.feedback,
            "needs_leader_approval": it.needs_approval,
            "milestones": [{"title": t, "due_date": d} for t, d in it.milestones],
        }
        task = tasks.create_draft(self.session, self.office(it), data)
        assert task.due_date == it.due0, (it.title, task.due_date, it.due0)  # the story was planned on it
        it.task_id = task.id
        if it.milestones:
            it.milestone_ids = list(
                self.session.exec(
                    select(Milestone.id).where(Milestone.task_id == task.id).order_by(Milestone.sort_order)
                )
            )

    def _do_submit(self, it: Item) -> None:
        tasks.submit_for_approval(self.session, self.office(it), it.task_id)

    def _do_approve(self, it: Item) -> None:
        tasks.leader_approve(self.session, self.org.leader, it.task_id, note="同意，请督查室交办并跟踪督办。")

    def _do_reject(self, it: Item) -> None:
        tasks.leader_reject(self.session, self.org.leader, it.task_id, self.rng.choice(REJECT_REASONS))

    def _do_assign(self, it: Item) -> None:
        tasks.assign(self.session, self.office(it), it.task_id)

    def _do_ack(self, it: Item) -> None:
        tasks.acknowledge(self.session, self.lead(it), it.task_id)

    def _do_report(self, it: Item, pct: int | None, final: bool, problem: bool, marks: list[int]) -> None:
        rng, steps = self.rng, it.steps
        if pct is None:
            idx = rng.randrange(len(steps))
            text = f"本期工作：{steps[idx]}，各项工作按计划持续推进。"
        elif final:
            idx = len(steps) - 1
            text = f"{steps[idx]}。各项工作已按要求全部完成，相关佐证材料已上传。"
        else:
            idx = min(len(steps) - 1, pct * len(steps) // 101)
            text = f"{steps[idx]}。目前整体完成约{pct}%。"
        if final:
            next_steps = "按程序申请办结。"
        elif idx + 1 < len(steps):
            next_steps = f"{steps[idx + 1]}。"
        else:
            next_steps = "巩固成效，做好收尾工作。"
        problems = ""
        if problem:
            problems = rng.choice(list(it.problems) + GENERIC_PROBLEMS) + "。"
        data = {
            "text": text,
            "percent": pct,
            "problems": problems,
            "next_steps": next_steps,
            "needs_coordination": bool(problem and rng.random() < 0.5),
            "milestones_done": [it.milestone_ids[m] for m in marks],
        }
        tasks.report_progress(self.session, self.lead(it), it.task_id, data)

    def _do_part(self, it: Item, dep: str) -> None:
        if dep == it.current_lead or dep not in it.assists:
            return
        kind = DEPT_BY_KEY[dep][3]
        phrase = ASSIST_PHRASES.get(dep) or (
            "辖区内入户宣传、群众工作和现场协调" if kind in (ST, TW) else "本单位职责范围内的配合工作"
        )
        text = f"按照牵头单位{label(it.current_lead)}的要求，已完成{phrase}。" + self.rng.choice(
            ["相关材料已报送牵头单位。", "将继续做好配合工作。", "下一步将按时间节点配合推进。"]
        )
        tasks.report_progress(self.session, self.org.clerks[dep], it.task_id, {"text": text})

    def _do_ext_request(self, it: Item, new_due: date) -> None:
        reason = f"{self.rng.choice(EXTENSION_REASONS)}，申请延期至{cn_date(new_due)}。"
        req = task_requests.request_extension(self.session, self.lead(it), it.task_id, new_due, reason)
        it.request_id = req.id

    def _do_ext_decide(self, it: Item, approve: bool, new_due: date | None = None) -> None:
        note = (
            f"同意延期至{cn_date(new_due)}，请严格按新时限办结。"
            if approve and new_due
            else self.rng.choice(REFUSE_NOTES)
        )
        task_requests.decide_extension(self.session, self.office(it), it.request_id, approve, note)

    def _do_close_request(self, it: Item, again: bool = False) -> None:
        assists = "、".join(label(d) for d in it.assists)
        summary = (
            ("已按退回意见补充完善。" if again else "")
            + f"{it.title}已按要求办理完毕：{it.steps[-1]}。"
            + (f"{assists}按职责完成配合工作。" if assists else "")
            + "佐证材料已上传，申请办结。"
        )
        task_requests.request_close(self.session, self.lead(it), it.task_id, summary)

    def _do_return(self, it: Item) -> None:
        task_requests.review_close(
            self.session, self.office(it), it.task_id, approve=False, note=self.rng.choice(RETURN_NOTES)
        )

    def _do_approve_close(self, it: Item) -> None:
        task_requests.review_close(
            self.session, self.office(it), it.task_id, approve=True, note="经审核，办理结果符合要求，同意办结。"
        )

    def _reminder_text(self, it: Item, due: date | None, **kw) -> str:
        if kw.get("unacknowledged"):
            return f"该事项已交办{kw['days']}个工作日，贵单位尚未签收，请尽快签收并明确经办人。"
        if kw.get("soon"):
            return f"该事项将于{cn_date(due)}到期，请抓紧办理，按时申请办结。"
        if kw.get("no_report"):
            return "该事项签收后未按反馈周期报送进展，请及时报送。"
        return f"该事项完成时限为{cn_date(due)}，现已逾期，请抓紧办理并于明日下班前报送进展。"

    def _do_remind(self, it: Item, due: date | None = None, **kw) -> None:
        task_chasing.remind(self.session, self.office(it), it.task_id, self._reminder_text(it, due, **kw))

    def _do_leader_remind(self, it: Item, due: date | None = None, **kw) -> None:
        message = f"请{label(it.current_lead)}主要负责同志亲自过问，尽快办结，办理情况报我。"
        task_chasing.remind(self.session, self.org.leader, it.task_id, message)

    def _do_escalate(self, it: Item, due: date, level: int) -> None:
        who = "报请责任领导督办" if level == 3 else "现予督办"
        reason = (
            f"该事项已超过完成时限（{cn_date(due)}），经多次催办仍未办结，{who}。请{label(it.current_lead)}"
            "主要负责同志亲自过问，3个工作日内书面报送办理情况。"
        )
        task_chasing.escalate(self.session, self.office(it), it.task_id, reason, level=level)

    def _do_suspend(self, it: Item) -> None:
        tasks.suspend(self.session, self.office(it), it.task_id, self.rng.choice(SUSPEND_REASONS))

    def _do_resume(self, it: Item) -> None:
        tasks.resume(self.session, self.office(it), it.task_id, "暂缓原因已消除，恢复办理。")

    def _do_cancel(self, it: Item) -> None:
        tasks.cancel(self.session, self.office(it), it.task_id, self.rng.choice(CANCEL_REASONS))

    def _do_reopen(self, it: Item) -> None:
        tasks.reopen(
            self.session, self.office(it), it.task_id, "复查核验发现整改不彻底，部分问题出现反弹，重新打开继续办理。"
        )

    def _do_reassign_request(self, it: Item, new: str) -> None:
        reason = self.rng.choice(REASSIGN_REASONS).format(other=label(new))
        req = task_requests.request_reassign(
            self.session, self.lead(it), it.task_id, reason, suggested_department_id=self.dep(new)
        )
        it.request_id = req.id

    def _do_reassign_decide(self, it: Item, new: str) -> None:
        task_requests.decide_reassign(
            self.session,
            self.office(it),
            it.request_id,
            True,
            new_lead_department_id=self.dep(new),
            note=f"经核实，同意改由{label(new)}牵头办理。",
        )
        it.current_lead = new
        it.assists = [d for d in it.assists if d != new]

    def _do_change_request(self, it: Item) -> None:
        requirement = it.requirement + "（经协调，先行实施一期工程，二期视资金和用地条件另行安排。）"
        req = task_requests.request_change(
            self.session,
            self.lead(it),
            it.task_id,
            "受资金和用地条件限制，原工作要求难以一次完成，申请调整工作内容。",
            requirement=requirement,
        )
        it.request_id = req.id

    def _do_change_decide(self, it: Item, approve: bool) -> None:
        note = "" if approve else "原工作要求系区政府会议议定，不宜调整，请按原要求办理。"
        task_requests.decide_change(self.session, self.office(it), it.request_id, approve, note)
