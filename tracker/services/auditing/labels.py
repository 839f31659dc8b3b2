"""The audit log in the office's words: what each action, object and field is called, and a
change told as "field: before → after" with names instead of ids.

One table for every page that shows audit events: the task page's history and the audit
viewer. An action without a label is shown as it is stored (a new kind of event is never
hidden for want of a name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from tracker import clock
from tracker.models import (
    DEADLINE_KIND_LABELS,
    FEEDBACK_CYCLE_LABELS,
    ROLE_LABELS,
    SOURCE_KIND_LABELS,
    URGENCY_LABELS,
    Department,
    Leader,
)
from tracker.workflow import Status, status_label

ACTION_LABELS = {
    # a task's closed loop (the task page's history)
    "create": "登记立项",
    "edit_draft": "修改草稿",
    "delete_draft": "删除草稿",
    "submit_for_approval": "提交领导审核",
    "leader_approve": "领导审核同意",
    "leader_reject": "领导退回修改",
    "assign": "交办",
    "acknowledge": "签收",
    "report": "报送进展",
    "report_part": "报送协办进展",
    "request_extension": "申请延期",
    "approve_extension": "同意延期",
    "refuse_extension": "不同意延期",
    "request_close": "申请办结",
    "approve_close": "审核通过，办结",
    "return": "审核退回",
    "suspend": "暂缓办理",
    "resume": "恢复办理",
    "cancel": "撤销",
    "reopen": "复查不合格，重新打开",
    "request_reassign": "申请改派",
    "approve_reassign": "同意改派",
    "refuse_reassign": "不同意改派",
    "request_change": "申请变更",
    "approve_change": "同意变更",
    "refuse_change": "不同意变更",
    "remind": "催办",
    "escalate": "督办",
    "close_no_objection": "会签无异议办结",
    "attachment_upload": "上传附件",
    "import_progress": "导入进展",
    # sign-in and accounts
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "logout_everywhere": "退出全部设备",
    "session_revoked": "会话被撤销",
    "password_changed": "修改密码",
    "password_change": "修改密码",
    "password_reset": "重置密码",
    "account_unlocked": "解除账号锁定",
    "user_create": "新增用户",
    "user_update": "修改用户",
    "role_changed": "调整角色或所属单位",
    "demo_password_flagged": "标记演示密码",
    "api_token_issue": "签发接口令牌",
    "api_token_revoke": "吊销接口令牌",
    "set_email": "设置电子邮箱",
    # the organisation and the calendar
    "department_create": "新增单位",
    "department_update": "修改单位",
    "department_alias_add": "添加单位简称",
    "department_alias_remove": "删除单位简称",
    "departments_import": "导入单位名录",
    "leader_create": "新增区领导",
    "leader_update": "修改区领导",
    "leader_portfolio": "调整分管单位",
    "holiday_set": "登记节假日",
    "holiday_bulk_set": "批量登记节假日",
    "calendar_year_confirmed": "确认年度节假日",
    "preset_create": "新增时限预设",
    "preset_update": "修改时限预设",
    "rules_update": "修改催办规则",
    "set_score_weights": "修改考核权重",
    # sources, imports, exports
    "source_create": "登记任务来源",
    "ledger_import": "导入台账",
    "motions_import": "导入建议提案",
    "remember_mapping": "记住列对应关系",
    "audit_export": "导出审计日志",
    # weekly scheduling, bulletins, scoring
    "schedule_generate": "生成每周调度",
    "schedule_agenda_move": "调整议程顺序",
    "schedule_decision": "调度会议决定",
    "schedule_meeting": "记录调度会议",
    "generate_bulletin": "生成通报",
    "take_score_snapshot": "考核快照",
    # 建议/提案
    "motion_register": "登记建议提案",
    "motion_update": "修改建议提案",
    "motion_feedback": "建议提案反馈",
    "motion_promise_kept": "承诺事项落实",
    "motion_publish": "公开答复",
    "motion_deadline": "建议提案时限",
    # notifications
    "create_channel": "新增群机器人",
    "update_channel": "修改群机器人",
    "test_channel": "测试群机器人",
    "retry_delivery": "重发消息",
}

ENTITY_LABELS = {
    "task": "督办事项",
    "source": "任务来源",
    "progress_report": "进展报告",
    "attachment": "附件",
    "extension_request": "延期申请",
    "close_request": "办结申请",
    "change_request": "变更申请",
    "escalation": "督办通知",
    "reminder": "催办",
    "user": "用户",
    "api_token": "接口令牌",
    "department": "单位",
    "departments_import": "单位名录导入",
    "leader": "区领导",
    "holiday": "节假日",
    "calendar_year": "年度节假日",
    "time_limit_preset": "时限预设",
    "app_setting": "系统设置",
    "ledger_import": "台账导入",
    "ledger_mapping": "列对应关系",
    "motion": "建议提案",
    "weekly_schedule": "每周调度",
    "schedule_item": "调度事项",
    "bulletin": "通报",
    "score_snapshot": "考核快照",
    "notificationchannel": "群机器人",
    "delivery": "消息发送",
    "audit": "审计日志",
}

FIELD_LABELS = {
    "status": "状态",
    "title": "名称",
    "requirement": "工作要求",
    "lead_department_id": "牵头单位",
    "new_lead_department_id": "新的牵头单位",
    "assisting_department_ids": "协办单位",
    "department_ids": "分管单位",
    "department_id": "单位",
    "leader_ids": "责任领导",
    "leader_id": "领导",
    "urgency": "紧急程度",
    "deadline_kind": "时限类型",
    "due_date": "完成时限",
    "original_due_date": "原完成时限",
    "new_due_date": "新的完成时限",
    "deadline_text": "时限原文",
    "recurrence": "周期",
    "closed_on": "办结日期",
    "feedback_cycle": "反馈周期",
    "name": "名称",
    "short_name": "简称",
    "alias": "简称",
    "aliases": "简称",
    "kind": "类型",
    "role": "角色",
    "active": "启用",
    "username": "用户名",
    "display_name": "姓名",
    "email": "电子邮箱",
    "reason": "理由",
    "note": "说明",
    "percent": "完成进度",
    "text": "进展情况",
    "source_date": "日期",
    "reference": "文号或期数",
    "period": "期间",
    "filters": "筛选条件",
    "rows": "行数",
    "sort_order": "排序",
}

_EMPTY = "（空）"
_DEPARTMENT_FIELDS = {
    "lead_department_id",
    "new_lead_department_id",
    "assisting_department_ids",
    "department_ids",
    "department_id",
}
_LEADER_FIELDS = {"leader_ids", "leader_id"}
_CODED = {
    "deadline_kind": DEADLINE_KIND_LABELS,
    "urgency": URGENCY_LABELS,
    "feedback_cycle": FEEDBACK_CYCLE_LABELS,
    "role": ROLE_LABELS,
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def entity_label(entity: str) -> str:
    return ENTITY_LABELS.get(entity, entity)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str


@dataclass
class Names:
    """Department and leader names for the ids that events mention, read in two queries."""

    departments: dict[int, str]
    leaders: dict[int, str]

    @classmethod
    def for_events(cls, session: Session, events) -> "Names":
        dep_ids, leader_ids = set(), set()
        for e in events:
            for side in (e.before or {}, e.after or {}):
                for key, value in side.items():
                    target = dep_ids if key in _DEPARTMENT_FIELDS else leader_ids if key in _LEADER_FIELDS else None
                    if target is not None:
                        target.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
        deps = dict(session.exec(select(Department.id, Department.name).where(Department.id.in_(dep_ids))).all())
        leaders = dict(session.exec(select(Leader.id, Leader.name).where(Leader.id.in_(leader_ids))).all())
        return cls(deps, leaders)


def _one(field: str, value: Any, names: Names) -> str:
    if value is None or value == "" or value == []:
        return _EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if field in _DEPARTMENT_FIELDS and isinstance(value, int):
        return names.departments.get(value, f"单位#{value}")
    if field in _LEADER_FIELDS and isinstance(value, int):
        return names.leaders.get(value, f"领导#{value}")
    if field == "status" and value in Status.__members__.values():
        return status_label(value)
    if field == "kind" and value in SOURCE_KIND_LABELS:
        return SOURCE_KIND_LABELS[value]
    if field in _CODED:
        return str(_CODED[field].get(value, value))
    if isinstance(value, list):
        return "、".join(_one(field, v, names) for v in value) or _EMPTY
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime):
        return value.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def changes(before: dict | None, after: dict | None, names: Names) -> list[Change]:
    """Each changed field as the office reads it: its name, then before → after."""
    before, after = before or {}, after or {}
    out = []
    for key in sorted(before.keys() | after.keys()):
        was, now = _one(key, before.get(key), names), _one(key, after.get(key), names)
        if was != now:  # "" and None read alike: a creation lists only what it set
            out.append(Change(key, FIELD_LABELS.get(key, key), was, now))
    return out
