"""Request and response models of the API (non-table pydantic models).

Requests forbid unknown fields, so a misspelt field is a 422 rather than a
silently ignored value. Ids are bounded to the 32-bit columns they name.
Responses are built through these models too, so the OpenAPI document (made
from their JSON schemas) describes exactly what is sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel

from tracker.models import DeadlineKind, FeedbackCycle, Role, SourceKind, Urgency
from tracker.rules.overdue import Light
from tracker.services.tasks.lifecycle import MilestoneInput, ReportInput, TaskInput
from tracker.services.tasks.queries import MAX_PER_PAGE, SORTS
from tracker.services.tasks.sources import SourceInput
from tracker.services.validation import Day, Id, Line
from tracker.workflow import Action, Status

Note = Annotated[str, Field(max_length=5000)]
Reason = Annotated[str, Field(max_length=5000, description="不能为空")]

STRICT = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Response models: every field is always present (required in the schema)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


# --- shared pieces ---------------------------------------------------------------


class ErrorBody(Out):
    """The one error shape of the API."""

    error: str = Field(
        description="稳定的错误代码，如 invalid、not_found、forbidden、illegal_transition、"
        "conflict、unknown_action、malformed_json、csrf_failed、unauthorized、http_404"
    )
    message: str = Field(description="给人看的中文说明")
    fields: dict[str, str] = Field(description="字段名（嵌套时以点号连接）→ 该字段的中文说明")


class Ref(Out):
    id: int
    name: str


class LeaderRef(Out):
    id: int
    name: str
    title: str


class SourceRef(Out):
    id: int
    title: str
    kind: str
    kind_label: str


class Page(Out):
    total: int = Field(description="符合条件的总条数")
    page: int
    per_page: int
    pages: int


# --- tasks: read -----------------------------------------------------------------


class TaskQuery(BaseModel):
    """The task list's filters (tracker.services.tasks.queries.TaskFilter) plus paging."""

    model_config = STRICT

    status: list[Status] = Field(default=[], description="状态，可重复传多个")
    light: Optional[Light] = Field(default=None, description="红黄绿灯：red 逾期、yellow 临期、green 正常、none 不计")
    overdue: Optional[bool] = Field(default=None, description="只看逾期事项")
    due_soon: Optional[bool] = Field(default=None, description="只看临期事项")
    department_id: Optional[Id] = Field(default=None, description="牵头或协办单位")
    lead_department_id: Optional[Id] = Field(default=None, description="牵头单位")
    leader_id: Optional[Id] = Field(default=None, description="责任领导")
    source_id: Optional[Id] = Field(default=None, description="任务来源")
    source_kind: Optional[SourceKind] = Field(default=None, description="来源类型")
    urgency: Optional[Urgency] = None
    due_from: Optional[Day] = Field(default=None, description="完成时限不早于")
    due_to: Optional[Day] = Field(default=None, description="完成时限不晚于")
    q: str = Field(default="", max_length=100, description="在名称、工作要求、编号中检索")
    sort: Literal[tuple(SORTS)] = Field(default="due", description="排序，前缀 - 表示倒序")  # type: ignore[valid-type]
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


class TaskItem(Out):
    id: int
    code: str = Field(description="督办编号，如 DB-2026-0001")
    title: str
    status: Status
    status_label: str = Field(description="调用者视角的状态名称（督查室、承办单位、领导各有说法）")
    light: Light
    light_label: str
    overdue: bool
    overdue_workdays: int = Field(description="逾期工作日数，未逾期为 0")
    due_soon: bool
    due_date: Optional[date]
    original_due_date: Optional[date] = Field(description="最初交办时的完成时限（延期不改变它）")
    deadline_kind: DeadlineKind
    deadline_text: str
    lead_department: Optional[Ref]
    assisting: list[Ref]
    leaders: list[LeaderRef]
    source: Optional[SourceRef]
    urgency: Urgency
    urgency_label: str
    last_report_at: Optional[datetime]


class TaskPage(Page):
    items: list[TaskItem]


class MilestoneOut(Out):
    id: int
    title: str
    due_date: date
    done_on: Optional[date]


class EventOut(Out):
    id: int
    at: datetime
    actor_name: str
    action: str
    entity: str
    entity_id: Optional[int]
    note: str
    before: Optional[dict[str, Any]]
    after: Optional[dict[str, Any]]


class PendingRequestOut(Out):
    """An open request awaiting a decision; ``request_id`` for the decide_* actions."""

    kind: Literal["extension", "close", "reassign", "lead_change", "requirement_change"]
    request_id: int
    department: Optional[Ref]
    requested_by_id: Optional[int]
    created_at: datetime
    reason: str
    old_due_date: Optional[date]
    new_due_date: Optional[date]
    payload: Optional[dict[str, Any]]


class ActionOut(Out):
    action: Action
    label: str
    method: str = Field(description="执行该操作所用的 HTTP 方法")
    path: str = Field(description="执行该操作所用的路径")


class ActionList(Out):
    task_id: int
    status: Status
    status_label: str
    parties: list[str] = Field(description="调用者与该事项的关系：office、lead、assist、leader")
    actions: list[ActionOut]


class TaskDetail(TaskItem):
    requirement: str
    item_no: str
    parent_id: Optional[int]
    recurrence: str
    time_limit_preset: str
    feedback_cycle: FeedbackCycle
    feedback_cycle_label: str
    needs_leader_approval: bool
    closed_late: bool
    closed_on: Optional[date]
    created_at: datetime
    updated_at: datetime
    assigned_at: Optional[datetime]
    acknowledged_at: Optional[datetime]
    parties: list[str]
    actions: list[ActionOut]
    pending_requests: list[PendingRequestOut]
    milestones: list[MilestoneOut]
    timeline: list[EventOut]


# --- tasks: write ----------------------------------------------------------------


class MilestoneIn(MilestoneInput):
    model_config = STRICT


class TaskCreate(TaskInput):
    """A draft (草稿). The service's TaskInput with bounded ids and no unknown fields."""

    model_config = STRICT

    requirement: str = Field(default="", max_length=50_000)
    source_id: Optional[Id] = None
    parent_id: Optional[Id] = None
    lead_department_id: Optional[Id] = None
    assisting_department_ids: list[Id] = Field(default=[], max_length=200)
    leader_ids: list[Id] = Field(default=[], max_length=50)
    milestones: list[MilestoneIn] = Field(default=[], max_length=100)


def _no_defaults(schema: dict, _model) -> None:
    # A PATCH field has no default: an absent field keeps the draft's value.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


def _optional_copy(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The same fields and types, none required (PATCH: absent keeps the draft's value)."""
    from pydantic import create_model

    fields = {}
    for fname, info in model.model_fields.items():
        clone = info._copy() if hasattr(info, "_copy") else info.__class__.merge_field_infos(info)
        clone.default = None
        clone.default_factory = None
        fields[fname] = (info.annotation, clone)
    config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)
    return create_model(name, __config__=config, __doc__="只需给出要修改的字段；未给出的字段保持不变。", **fields)


TaskPatch = _optional_copy(TaskCreate, "TaskPatch")


class ReportIn(ReportInput):
    """进展反馈 (the lead's report, or an assisting department's part)."""

    model_config = STRICT

    problems: str = Field(default="", max_length=20_000)
    next_steps: str = Field(default="", max_length=20_000)
    milestones_done: list[Id] = Field(default=[], max_length=100, description="本次完成的时间节点编号")


class ProgressReportOut(Out):
    id: int
    task_id: int
    department: Optional[Ref]
    author_name: str
    created_at: datetime
    text: str
    percent: Optional[int]
    problems: str
    next_steps: str
    needs_coordination: bool


class ProgressReportList(Out):
    items: list[ProgressReportOut]


# One model per workflow action, told apart by "action".


class _Act(BaseModel):
    model_config = STRICT


class AcknowledgeAct(_Act):
    """签收（牵头单位）"""

    action: Literal["acknowledge"]


class AssignAct(_Act):
    """交办（督查室）"""

    action: Literal["assign"]


class SubmitForApprovalAct(_Act):
    """提交领导审核（督查室）"""

    action: Literal["submit_for_approval"]


class LeaderApproveAct(_Act):
    """领导审核同意并交办"""

    action: Literal["leader_approve"]
    note: Note = ""


class LeaderRejectAct(_Act):
    """领导退回修改"""

    action: Literal["leader_reject"]
    reason: Reason


class ReportAct(ReportIn):
    """报送进展；协办单位报送其承担部分（report_part）"""

    action: Literal["report", "report_part"]


class RequestExtensionAct(_Act):
    """申请延期（牵头单位，须在时限届满前）"""

    action: Literal["request_extension"]
    new_due_date: Day
    reason: Reason


class DecideExtensionAct(_Act):
    """审核延期（督查室）；不给 request_id 时审核该事项待审的延期申请"""

    action: Literal["decide_extension"]
    request_id: Optional[Id] = None
    approve: bool
    note: Note = Field(default="", description="不同意时必须填写理由")


class RequestCloseAct(_Act):
    """申请办结（牵头单位）"""

    action: Literal["request_close"]
    summary: Annotated[str, Field(max_length=20_000)]


class ApproveCloseAct(_Act):
    """审核办结（督查室）"""

    action: Literal["approve_close"]
    note: Note = ""


class ReturnAct(_Act):
    """退回重办（督查室）"""

    action: Literal["return"]
    note: Reason


class SuspendAct(_Act):
    """暂缓（督查室）"""

    action: Literal["suspend"]
    reason: Reason


class ResumeAct(_Act):
    """恢复办理（督查室）"""

    action: Literal["resume"]
    note: Note = ""


class CancelAct(_Act):
    """撤销（督查室）"""

    action: Literal["cancel"]
    reason: Reason


class ReopenAct(_Act):
    """复查不合格，重新打开（督查室）"""

    action: Literal["reopen"]
    reason: Reason


class RequestReassignAct(_Act):
    """申请改派（牵头单位，交办后限定工作日内）"""

    action: Literal["request_reassign"]
    reason: Reason
    suggested_department_id: Optional[Id] = None


class DecideReassignAct(_Act):
    """审核改派（督查室）；同意时须指定新的牵头单位"""

    action: Literal["decide_reassign"]
    request_id: Optional[Id] = None
    approve: bool
    new_lead_department_id: Optional[Id] = None
    note: Note = ""


class RequestChangeAct(_Act):
    """申请变更牵头单位、名称或工作要求（督查室或牵头单位）"""

    action: Literal["request_change"]
    reason: Reason
    lead_department_id: Optional[Id] = None
    requirement: Optional[Annotated[str, Field(max_length=50_000)]] = None
    title: Optional[Annotated[Line, Field(max_length=200)]] = None


class DecideChangeAct(_Act):
    """审核变更（督查室或责任领导，申请人本人除外）"""

    action: Literal["decide_change"]
    request_id: Optional[Id] = None
    approve: bool
    note: Note = ""


class RemindAct(_Act):
    """催办（督查室或责任领导）；默认催牵头单位，可指定协办单位"""

    action: Literal["remind"]
    message: Note = ""
    department_id: Optional[Id] = None


class EscalateAct(_Act):
    """督办：发督办通知单（督查室）"""

    action: Literal["escalate"]
    reason: Reason
    level: int = Field(default=2, ge=1, le=3, description="1 联络员，2 单位负责人，3 责任领导")


ACTS = (
    AcknowledgeAct,
    AssignAct,
    SubmitForApprovalAct,
    LeaderApproveAct,
    LeaderRejectAct,
    ReportAct,
    RequestExtensionAct,
    DecideExtensionAct,
    RequestCloseAct,
    ApproveCloseAct,
    ReturnAct,
    SuspendAct,
    ResumeAct,
    CancelAct,
    ReopenAct,
    RequestReassignAct,
    DecideReassignAct,
    RequestChangeAct,
    DecideChangeAct,
    RemindAct,
    EscalateAct,
)


class TransitionRequest(RootModel[Annotated[Union[ACTS], Field(discriminator="action")]]):  # type: ignore[valid-type]
    """A workflow step: {"action": "...", ...that action's parameters}."""


class TransitionResult(Out):
    action: str
    result: Optional[dict[str, Any]] = Field(
        description="该操作产生的记录（如延期申请、催办、督办通知单），没有则为 null"
    )
    task: Optional[TaskDetail] = Field(description="操作后的事项；调用者此后无权查看时为 null")


# --- reference data --------------------------------------------------------------


class SourceQuery(BaseModel):
    model_config = STRICT

    kind: Optional[SourceKind] = None
    q: str = Field(default="", max_length=100, description="在名称、文号中检索")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


class SourceItem(Out):
    id: int
    kind: SourceKind
    kind_label: str
    title: str
    reference: str
    source_date: date
    leader: Optional[LeaderRef]
    task_count: int = Field(description="调用者可见的、来自该来源的事项数")
    created_at: datetime


class SourcePage(Page):
    items: list[SourceItem]


class SourceTask(Out):
    id: int
    code: str
    title: str
    item_no: str
    status: Status
    status_label: str


class SourceDetail(SourceItem):
    body: str
    details: Optional[dict[str, Any]]
    tasks: list[SourceTask]


class SourceCreate(SourceInput):
    """登记任务来源（督查室）。会议可不填名称（按类型和期数生成）；领导批示须填领导和批示内容。"""

    model_config = STRICT

    leader_id: Optional[Id] = None


class DepartmentQuery(BaseModel):
    model_config = STRICT

    include_inactive: bool = Field(default=False, description="包括已停用的单位")


class DepartmentOut(Out):
    id: int
    name: str
    short_name: str
    kind: str
    kind_label: str
    active: bool
    aliases: list[str] = Field(description="别名、简称（如 区发改委）")


class DepartmentList(Out):
    items: list[DepartmentOut]


class LeaderOut(Out):
    id: int
    name: str
    title: str
    active: bool
    departments: list[Ref] = Field(description="分管单位")


class LeaderList(Out):
    items: list[LeaderOut]


class Me(Out):
    id: int
    username: str
    display_name: str
    role: Role
    role_label: str
    department: Optional[Ref]
    leader: Optional[LeaderRef]
    auth: Literal["token", "session"]
    csrf_token: Optional[str] = Field(description="登录会话调用时，修改操作须放入 X-CSRFToken 请求头；令牌调用为 null")


# --- tokens ----------------------------------------------------------------------


class TokenCreate(BaseModel):
    model_config = STRICT

    name: Annotated[str, Field(min_length=1, max_length=60, description="用途，如 OA 对接、企业微信机器人")]


class TokenOut(Out):
    id: int
    name: str
    created_at: datetime
    last_used_at: Optional[datetime]
    revoked: bool


class TokenList(Out):
    items: list[TokenOut]


class TokenIssued(TokenOut):
    token: str = Field(description="令牌原文，仅此一次返回，请妥善保存")
