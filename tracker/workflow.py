"""The closed loop (闭环) as data: statuses, actions, who may take them.

No database code here. The transition table is keyed by action; each entry
names the statuses it may start from, the status it leads to (``None``: the
status does not change) and the parties who may take it. The service layer
asks ``check()`` before it changes anything, and the UI asks ``allowed()``
so it only offers what is allowed (the Redmine workflow-transition idea).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tracker.errors import IllegalTransition, NotPermitted


class Status(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"  # 领导审核 before it goes out
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    PENDING_REVIEW = "pending_review"
    CLOSED = "closed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class Party(StrEnum):
    """The actor's relation to one task; derived from role and assignment."""

    OFFICE = "office"  # 督查室
    LEAD = "lead"  # clerk of the lead department (牵头单位)
    ASSIST = "assist"  # clerk of an assisting department (协办单位)
    LEADER = "leader"  # a responsible leader, or the leader in charge of the lead
    NONE = "none"
    SYSTEM = "system"  # the scheduler applying a rule of the work rules, never a person


class Action(StrEnum):
    EDIT_DRAFT = "edit_draft"
    DELETE_DRAFT = "delete_draft"
    SUBMIT_FOR_APPROVAL = "submit_for_approval"
    LEADER_APPROVE = "leader_approve"
    LEADER_REJECT = "leader_reject"
    ASSIGN = "assign"
    ACKNOWLEDGE = "acknowledge"
    REPORT = "report"  # the lead's progress report
    REPORT_PART = "report_part"  # an assisting department reports its part
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    REQUEST_CLOSE = "request_close"
    APPROVE_CLOSE = "approve_close"
    RETURN = "return"
    SUSPEND = "suspend"
    RESUME = "resume"
    CANCEL = "cancel"
    REOPEN = "reopen"
    REQUEST_REASSIGN = "request_reassign"
    DECIDE_REASSIGN = "decide_reassign"
    REQUEST_CHANGE = "request_change"
    DECIDE_CHANGE = "decide_change"
    REMIND = "remind"
    ESCALATE = "escalate"
    CLOSE_NO_OBJECTION = "close_no_objection"  # 会签 unanswered by its deadline (000 §54)


S = Status
P = Party

OPEN = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.PENDING_REVIEW})
WORKING = frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS})
FINAL = frozenset({S.CLOSED, S.CANCELLED})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status | None  # None: the status stays as it is
    parties: frozenset[Party]
    label: str  # the button's words


def _t(sources, target, parties, label) -> Transition:
    return Transition(frozenset(sources), target, frozenset(parties), label)


TRANSITIONS: dict[Action, Transition] = {
    Action.EDIT_DRAFT: _t({S.DRAFT}, None, {P.OFFICE}, "编辑"),
    Action.DELETE_DRAFT: _t({S.DRAFT}, None, {P.OFFICE}, "删除草稿"),
    Action.SUBMIT_FOR_APPROVAL: _t({S.DRAFT}, S.PENDING_APPROVAL, {P.OFFICE}, "提交领导审核"),
    Action.LEADER_APPROVE: _t({S.PENDING_APPROVAL}, S.ASSIGNED, {P.LEADER}, "审核同意并交办"),
    Action.LEADER_REJECT: _t({S.PENDING_APPROVAL}, S.DRAFT, {P.LEADER}, "退回修改"),
    Action.ASSIGN: _t({S.DRAFT}, S.ASSIGNED, {P.OFFICE}, "交办"),
    Action.ACKNOWLEDGE: _t({S.ASSIGNED}, S.ACKNOWLEDGED, {P.LEAD}, "签收"),
    Action.REPORT: _t(WORKING, S.IN_PROGRESS, {P.LEAD}, "报送进展"),
    Action.REPORT_PART: _t(OPEN, None, {P.ASSIST}, "报送协办进展"),
    Action.REQUEST_EXTENSION: _t(OPEN - {S.PENDING_REVIEW}, None, {P.LEAD}, "申请延期"),
    Action.DECIDE_EXTENSION: _t(OPEN, None, {P.OFFICE}, "审核延期"),
    Action.REQUEST_CLOSE: _t(WORKING, S.PENDING_REVIEW, {P.LEAD}, "申请办结"),
    Action.APPROVE_CLOSE: _t({S.PENDING_REVIEW}, S.CLOSED, {P.OFFICE}, "审核办结"),
    Action.RETURN: _t({S.PENDING_REVIEW}, S.IN_PROGRESS, {P.OFFICE}, "退回"),
    Action.SUSPEND: _t(OPEN, S.SUSPENDED, {P.OFFICE}, "暂缓"),
    Action.RESUME: _t({S.SUSPENDED}, None, {P.OFFICE}, "恢复办理"),  # back where it was
    Action.CANCEL: _t(OPEN | {S.PENDING_APPROVAL, S.SUSPENDED}, S.CANCELLED, {P.OFFICE}, "撤销"),
    Action.REOPEN: _t({S.CLOSED}, S.IN_PROGRESS, {P.OFFICE}, "复查不合格，重新打开"),
    Action.REQUEST_REASSIGN: _t({S.ASSIGNED, S.ACKNOWLEDGED}, None, {P.LEAD}, "申请改派"),
    Action.DECIDE_REASSIGN: _t({S.ASSIGNED, S.ACKNOWLEDGED}, None, {P.OFFICE}, "审核改派"),
    Action.REQUEST_CHANGE: _t(OPEN | {S.SUSPENDED}, None, {P.OFFICE, P.LEAD}, "申请变更"),
    Action.DECIDE_CHANGE: _t(OPEN | {S.SUSPENDED}, None, {P.OFFICE, P.LEADER}, "审核变更"),
    Action.REMIND: _t(OPEN, None, {P.OFFICE, P.LEADER}, "催办"),
    Action.ESCALATE: _t(OPEN, None, {P.OFFICE}, "督办"),
    # "逾期不回复视为无不同意见" (000 §54, 001 §27, 004 §56): a 会签/征求意见 item the
    # department never answered (no lead report, so still 已交办/已签收) closes by rule.
    Action.CLOSE_NO_OBJECTION: _t({S.ASSIGNED, S.ACKNOWLEDGED}, S.CLOSED, {P.SYSTEM}, "逾期未回复视为无异议"),
}

# What each kind of user reads for a status (004 §30: the office and the
# department look at the same item from opposite sides of the review).
STATUS_LABELS: dict[str, dict[Status, str]] = {
    "office": {
        S.DRAFT: "草稿",
        S.PENDING_APPROVAL: "待领导审核",
        S.ASSIGNED: "已交办",
        S.ACKNOWLEDGED: "已签收",
        S.IN_PROGRESS: "办理中",
        S.PENDING_REVIEW: "待审核",
        S.CLOSED: "已办结",
        S.SUSPENDED: "暂缓",
        S.CANCELLED: "已撤销",
    },
    "department": {
        S.DRAFT: "草稿",
        S.PENDING_APPROVAL: "待领导审核",
        S.ASSIGNED: "待签收",
        S.ACKNOWLEDGED: "已签收",
        S.IN_PROGRESS: "办理中",
        S.PENDING_REVIEW: "已申请办结",
        S.CLOSED: "已办结",
        S.SUSPENDED: "暂缓办理",
        S.CANCELLED: "已撤销",
    },
    "leader": {
        S.DRAFT: "草稿",
        S.PENDING_APPROVAL: "待我审核",
        S.ASSIGNED: "已交办",
        S.ACKNOWLEDGED: "已签收",
        S.IN_PROGRESS: "办理中",
        S.PENDING_REVIEW: "督查室审核中",
        S.CLOSED: "已办结",
        S.SUSPENDED: "暂缓",
        S.CANCELLED: "已撤销",
    },
}

# What the timeline says was done, in the past tense, for each audited action (a step of the
# table above, a decision on a request, a motion's own step): the task page and the 409 that
# tells who got there first (``services/tasks/settled.py``) speak the same words.

PARTY_VIEW = {
    P.OFFICE: "office",
    P.LEAD: "department",
    P.ASSIST: "department",
    P.LEADER: "leader",
    P.NONE: "office",
    P.SYSTEM: "office",
}


def status_label(status: str, party: Party = P.OFFICE) -> str:
    return STATUS_LABELS[PARTY_VIEW[party]][Status(status)]


def check(action: Action, status: str, parties: set[Party] | frozenset[Party]) -> Transition:
    """Return the transition, or raise a WorkflowError saying why not, in Chinese."""
    transition = TRANSITIONS[action]
    if not (transition.parties & set(parties)):
        raise NotPermitted(f"您无权对该事项执行“{transition.label}”操作")
    if Status(status) not in transition.sources:
        raise IllegalTransition(f"事项当前状态为“{status_label(status)}”，不能执行“{transition.label}”操作")
    return transition


def allowed(status: str, parties: set[Party] | frozenset[Party]) -> list[Action]:
    """The actions these parties may take on a task in this status, in table order."""
    st = Status(status)
    return [action for action, t in TRANSITIONS.items() if st in t.sources and t.parties & set(parties)]
