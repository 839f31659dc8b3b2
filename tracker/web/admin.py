"""Pages: system administration (系统管理).

The office (督查室) and administrators keep the reference data: departments and
their aliases, leaders and their portfolios (分管), the holiday table and the
time-limit presets. Only administrators manage logins, roles and API tokens.
Each POST calls one service (which writes the audit event) and commits once;
a rejected form is re-rendered with the message next to each field (HTTP 422)
after a rollback, so nothing is half-saved.
"""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from tracker import clock
from tracker.db import get_session
from tracker.errors import Conflict, DomainError, NotFound, ValidationFailed
from tracker.http import idempotency
from tracker.http.login import current_actor
from tracker.http.params import parse_date, to_int
from tracker.models import (
    DEPARTMENT_KIND_LABELS,
    ROLE_LABELS,
    URGENCY_LABELS,
    ApiToken,
    CalendarYear,
    Department,
    DepartmentAlias,
    DepartmentKind,
    Holiday,
    Leader,
    LeaderDepartment,
    Role,
    TimeLimitPreset,
    User,
)
from tracker.rules.names import split_list
from tracker.rules.periods import weekday_name
from tracker.services import access, calendar
from tracker.services.accounts import sessions
from tracker.services.organisation import directory as organisation
from tracker.web.access import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _office_or_admin():
    """The whole section is for the office and administrators (login is checked first)."""
    if Role(current_user.row.role) not in (Role.SUPERVISOR, Role.ADMIN):
        abort(403)


@bp.context_processor
def _admin_globals():
    return {
        "is_admin": current_user.is_authenticated and current_user.row.role == Role.ADMIN,
        "kind_labels": {k.value: v for k, v in DEPARTMENT_KIND_LABELS.items()},
        "role_labels": {k.value: v for k, v in ROLE_LABELS.items()},
        "urgency_labels": {k.value: v for k, v in URGENCY_LABELS.items()},
        "unit_labels": calendar.PRESET_UNIT_LABELS,
        "origin_labels": calendar.ORIGIN_LABELS,
        "weekday": weekday_name,
        "department_options": lambda deps: [(d.id, d.name + ("" if d.active else "（已停用）")) for d in deps],
        "leader_options": lambda leaders: [
            (x.id, x.name + (f"（{x.title}）" if x.title else "") + ("" if x.active else "（已停用）")) for x in leaders
        ],
    }


# --- helpers ----------------------------------------------------------------------


def _errors(exc: DomainError, field: str = "_") -> dict:
    """Field messages for a rejected form; the failed change is rolled back first."""
    get_session().rollback()
    return dict(exc.fields) if exc.fields else {field: exc.message}


def _int(value: str | None, field: str, default: int = 0) -> int:
    text = (value or "").strip()
    if not text:
        return default
    number = to_int(text, signed=True)
    if number is None:
        raise ValidationFailed("须为不超过九位的整数", fields={field: "须为整数"})
    return number


def _opt_id(value: str | None) -> int | None:
    return to_int(value)


def _ids(values: list[str]) -> list[int]:
    return [n for n in map(to_int, values) if n is not None]


def _checked(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


def _departments(active_only: bool = False) -> list[Department]:
    query = select(Department).order_by(Department.active.desc(), Department.sort_order, Department.id)
    if active_only:
        query = query.where(Department.active.is_(True))
    return list(get_session().exec(query))


def _leaders(active_only: bool = False) -> list[Leader]:
    query = select(Leader).order_by(Leader.active.desc(), Leader.sort_order, Leader.id)
    if active_only:
        query = query.where(Leader.active.is_(True))
    return list(get_session().exec(query))


def _unknown_next_year() -> int | None:
    year = clock.today().year + 1
    return None if get_session().get(CalendarYear, year) else year


# --- index ------------------------------------------------------------------------


@bp.get("/")
def index():
    db = get_session()
    counts = {
        "departments": len(_departments(active_only=True)),
        "leaders": len(_leaders(active_only=True)),
        "presets": len(list(db.exec(select(TimeLimitPreset.id).where(TimeLimitPreset.active.is_(True))))),
        "users": len(list(db.exec(select(User.id).where(User.active.is_(True))))),
    }
    return render_template("admin/index.html", counts=counts, unknown_year=_unknown_next_year())


# --- departments ------------------------------------------------------------------


@bp.get("/departments")
def departments():
    db = get_session()
    aliases: dict[int, list[str]] = defaultdict(list)
    for row in db.exec(select(DepartmentAlias).order_by(DepartmentAlias.alias)):
        aliases[row.department_id].append(row.alias)
    in_charge: dict[int, list[Leader]] = defaultdict(list)
    for dep_id, leader in db.exec(
        select(LeaderDepartment.department_id, Leader)
        .join(Leader, Leader.id == LeaderDepartment.leader_id)
        .where(Leader.active.is_(True))
        .order_by(Leader.sort_order, Leader.id)
    ):
        in_charge[dep_id].append(leader)
    kind = request.args.get("kind", "")
    rows = [d for d in _departments() if not kind or d.kind == kind]
    return render_template(
        "admin/departments.html",
        departments=rows,
        aliases=aliases,
        in_charge=in_charge,
        open_counts=organisation.open_task_counts(db),
        kind=kind,
    )


@bp.route("/departments/new", methods=["GET", "POST"])
def department_new():
    form, errors = {"kind": DepartmentKind.COMPONENT.value}, {}
    if request.method == "POST":
        form = request.form
        try:
            dep = organisation.register_department(
                get_session(),
                current_actor(),
                form.get("name", ""),
                kind=form.get("kind", ""),
                short_name=form.get("short_name", ""),
                aliases=split_list(form.get("aliases", "")),
                sort_order=_int(form.get("sort_order"), "sort_order"),
            )
        except (ValidationFailed, Conflict) as exc:
            errors = _errors(exc, "name")
        else:
            get_session().commit()
            flash(f"已新增单位“{dep.name}”", "success")
            return redirect(url_for("admin.departments"))
    return render_template("admin/department_form.html", dep=None, form=form, errors=errors), (422 if errors else 200)


def _department_page(dep_id: int, *, form=None, errors=None, alias_form=None, alias_errors=None, status_errors=None):
    db = get_session()
    dep = organisation.get_department(db, dep_id)
    if form is None:
        form = {
            "name": dep.name,
            "kind": dep.kind,
            "short_name": dep.short_name,
            "sort_order": dep.sort_order,
            "keep_old_name": "1",
        }
    aliases = list(
        db.exec(select(DepartmentAlias).where(DepartmentAlias.department_id == dep.id).order_by(DepartmentAlias.alias))
    )
    leaders = list(
        db.exec(
            select(Leader)
            .join(LeaderDepartment, LeaderDepartment.leader_id == Leader.id)
            .where(LeaderDepartment.department_id == dep.id)
            .order_by(Leader.sort_order)
        )
    )
    users = list(db.exec(select(User).where(User.department_id == dep.id).order_by(User.username)))
    failed = bool(errors or alias_errors or status_errors)
    return render_template(
        "admin/department_form.html",
        dep=dep,
        form=form,
        errors=errors or {},
        aliases=aliases,
        alias_form=alias_form or {},
        alias_errors=alias_errors or {},
        status_errors=status_errors or {},
        leaders=leaders,
        users=users,
        open_count=organisation.open_task_counts(db, dep.id).get(dep.id, 0),
    ), (422 if failed else 200)


@bp.route("/departments/<int:dep_id>", methods=["GET", "POST"])
def department_edit(dep_id: int):
    if request.method == "GET":
        return _department_page(dep_id)
    form = request.form
    try:
        dep = organisation.update_department(
            get_session(),
            current_actor(),
            dep_id,
            name=form.get("name", ""),
            kind=form.get("kind", ""),
            short_name=form.get("short_name", ""),
            sort_order=_int(form.get("sort_order"), "sort_order"),
            keep_old_name=_checked("keep_old_name"),
        )
    except (ValidationFailed, Conflict) as exc:
        return _department_page(dep_id, form=form, errors=_errors(exc, "name"))
    get_session().commit()
    flash(f"已保存单位“{dep.name}”", "success")
    return redirect(url_for("admin.department_edit", dep_id=dep_id))


@bp.post("/departments/<int:dep_id>/aliases")
def department_alias_add(dep_id: int):
    try:
        row = organisation.add_department_alias(get_session(), current_actor(), dep_id, request.form.get("alias", ""))
    except (ValidationFailed, Conflict) as exc:
        return _department_page(dep_id, alias_form=request.form, alias_errors=_errors(exc, "alias"))
    get_session().commit()
    flash(f"已添加简称“{row.alias}”", "success")
    return redirect(url_for("admin.department_edit", dep_id=dep_id))


@bp.post("/departments/<int:dep_id>/aliases/<int:alias_id>/remove")
def department_alias_remove(dep_id: int, alias_id: int):
    organisation.remove_department_alias(get_session(), current_actor(), dep_id, alias_id)
    get_session().commit()
    flash("已删除简称", "success")
    return redirect(url_for("admin.department_edit", dep_id=dep_id))


@bp.post("/departments/<int:dep_id>/active")
def department_active(dep_id: int):
    active = request.form.get("active") == "1"
    try:
        count = organisation.set_department_active(
            get_session(), current_actor(), dep_id, active, accept_open_tasks=_checked("confirm")
        )
    except ValidationFailed as exc:
        return _department_page(dep_id, status_errors=_errors(exc, "confirm"))
    get_session().commit()
    if active:
        flash("单位已恢复启用", "success")
    else:
        flash("单位已停用" + (f"；其 {count} 项未办结事项仍由该单位继续办理" if count else ""), "success")
    return redirect(url_for("admin.department_edit", dep_id=dep_id))


# --- leaders ----------------------------------------------------------------------


@bp.get("/leaders")
def leaders():
    db = get_session()
    portfolio: dict[int, list[Department]] = defaultdict(list)
    for leader_id, dep in db.exec(
        select(LeaderDepartment.leader_id, Department)
        .join(Department, Department.id == LeaderDepartment.department_id)
        .order_by(Department.sort_order, Department.id)
    ):
        portfolio[leader_id].append(dep)
    return render_template("admin/leaders.html", leaders=_leaders(), portfolio=portfolio)


def _portfolio_owners(exclude_leader_id: int | None) -> dict[int, list[str]]:
    """Department id → names of the other active leaders in charge, shown beside each box."""
    owners: dict[int, list[str]] = defaultdict(list)
    query = (
        select(LeaderDepartment.department_id, Leader.name)
        .join(Leader, Leader.id == LeaderDepartment.leader_id)
        .where(Leader.active.is_(True))
    )
    if exclude_leader_id is not None:
        query = query.where(Leader.id != exclude_leader_id)
    for dep_id, name in get_session().exec(query):
        owners[dep_id].append(name)
    return owners


@bp.route("/leaders/new", methods=["GET", "POST"])
def leader_new():
    form, errors, selected = {}, {}, []
    if request.method == "POST":
        form = request.form
        selected = _ids(form.getlist("department_ids"))
        try:
            leader = organisation.register_leader(
                get_session(),
                current_actor(),
                form.get("name", ""),
                form.get("title", ""),
                department_ids=selected,
                sort_order=_int(form.get("sort_order"), "sort_order"),
            )
        except (ValidationFailed, Conflict, NotFound) as exc:
            errors = _errors(exc, "name")
        else:
            get_session().commit()
            flash(f"已新增领导“{leader.name}”", "success")
            return redirect(url_for("admin.leaders"))
    return render_template(
        "admin/leader_form.html",
        leader=None,
        form=form,
        errors=errors,
        selected=selected,
        departments=_departments(active_only=True),
        owners=_portfolio_owners(None),
    ), (422 if errors else 200)


def _leader_page(leader_id: int, *, form=None, errors=None, selected=None, portfolio_errors=None):
    db = get_session()
    leader = organisation.get_leader(db, leader_id)
    if form is None:
        form = {"name": leader.name, "title": leader.title, "sort_order": leader.sort_order}
    if selected is None:
        selected = organisation.portfolio_ids(db, leader.id)
    # Inactive departments stay listed while they are still in the portfolio.
    deps = [d for d in _departments() if d.active or d.id in selected]
    users = list(db.exec(select(User).where(User.leader_id == leader.id)))
    failed = bool(errors or portfolio_errors)
    return render_template(
        "admin/leader_form.html",
        leader=leader,
        form=form,
        errors=errors or {},
        selected=selected,
        portfolio_errors=portfolio_errors or {},
        departments=deps,
        owners=_portfolio_owners(leader.id),
        users=users,
    ), (422 if failed else 200)


@bp.route("/leaders/<int:leader_id>", methods=["GET", "POST"])
def leader_edit(leader_id: int):
    if request.method == "GET":
        return _leader_page(leader_id)
    form = request.form
    try:
        leader = organisation.update_leader(
            get_session(),
            current_actor(),
            leader_id,
            name=form.get("name", ""),
            title=form.get("title", ""),
            sort_order=_int(form.get("sort_order"), "sort_order"),
        )
    except ValidationFailed as exc:
        return _leader_page(leader_id, form=form, errors=_errors(exc, "name"))
    get_session().commit()
    flash(f"已保存领导“{leader.name}”", "success")
    return redirect(url_for("admin.leader_edit", leader_id=leader_id))


@bp.post("/leaders/<int:leader_id>/portfolio")
def leader_portfolio(leader_id: int):
    selected = _ids(request.form.getlist("department_ids"))
    try:
        leader = organisation.change_portfolio(get_session(), current_actor(), leader_id, selected)
    except ValidationFailed as exc:
        return _leader_page(leader_id, selected=selected, portfolio_errors=_errors(exc, "department_ids"))
    get_session().commit()
    flash(f"已更新“{leader.name}”的分管单位（{len(selected)} 个）", "success")
    return redirect(url_for("admin.leader_edit", leader_id=leader_id))


@bp.post("/leaders/<int:leader_id>/active")
def leader_active(leader_id: int):
    active = request.form.get("active") == "1"
    leader = organisation.set_leader_active(get_session(), current_actor(), leader_id, active)
    get_session().commit()
    flash(f"领导“{leader.name}”已{'恢复启用' if active else '停用'}", "success")
    return redirect(url_for("admin.leader_edit", leader_id=leader_id))


# --- users, roles and API tokens (administrators only) ----------------------------


@bp.get("/users")
@roles_required(Role.ADMIN)
def users():
    db = get_session()
    role, q = request.args.get("role", ""), request.args.get("q", "").strip()
    query = select(User).order_by(User.active.desc(), User.role, User.username)
    if role in ROLE_LABELS:
        query = query.where(User.role == role)
    rows = list(db.exec(query))
    if q:
        rows = [u for u in rows if q.lower() in u.username.lower() or q in u.display_name]
    tokens: dict[int, int] = defaultdict(int)
    for user_id in db.exec(select(ApiToken.user_id).where(ApiToken.revoked.is_(False))):
        tokens[user_id] += 1
    return render_template(
        "admin/users.html",
        users=rows,
        role=role,
        q=q,
        tokens=tokens,
        departments={d.id: d for d in _departments()},
        leaders={x.id: x for x in _leaders()},
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form, errors = {"role": Role.CLERK.value, "must_change_password": "1"}, {}
    if request.method == "POST":
        form = request.form
        try:
            user = organisation.register_user(
                get_session(),
                current_actor(),
                form.get("username", ""),
                form.get("display_name", ""),
                form.get("password", ""),
                form.get("role", ""),
                department_id=_opt_id(form.get("department_id")),
                leader_id=_opt_id(form.get("leader_id")),
                must_change_password=_checked("must_change_password"),
            )
        except (ValidationFailed, Conflict) as exc:
            errors = _errors(exc, "username")
        else:
            get_session().commit()
            flash(f"已新增用户“{user.username}”", "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template(
        "admin/user_form.html",
        user=None,
        form=form,
        errors=errors,
        departments=_departments(active_only=True),
        leaders=_leaders(active_only=True),
    ), (422 if errors else 200)


def _user_page(
    user_id: int,
    *,
    form=None,
    errors=None,
    password_errors=None,
    status_errors=None,
    token_errors=None,
    new_token=None,
    status=None,
):
    db = get_session()
    user = organisation.get_user(db, user_id)
    if form is None:
        form = {
            "display_name": user.display_name,
            "role": user.role,
            "department_id": user.department_id or "",
            "leader_id": user.leader_id or "",
        }
    tokens = list(
        db.exec(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.revoked, ApiToken.created_at.desc())
        )
    )
    failed = bool(errors or password_errors or status_errors or token_errors)
    deps = [d for d in _departments() if d.active or d.id == user.department_id]
    leaders = [x for x in _leaders() if x.active or x.id == user.leader_id]
    return render_template(
        "admin/user_form.html",
        user=user,
        form=form,
        errors=errors or {},
        password_errors=password_errors or {},
        status_errors=status_errors or {},
        token_errors=token_errors or {},
        tokens=tokens,
        login_sessions=sessions.active(db, user.id, sessions.Limits.of(current_app.config["TRACKER"])),
        new_token=new_token,
        departments=deps,
        leaders=leaders,
    ), (status or (422 if failed else 200))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    if request.method == "GET":
        return _user_page(user_id)
    form = request.form
    try:
        user = organisation.update_user(
            get_session(),
            current_actor(),
            user_id,
            display_name=form.get("display_name", ""),
            role=form.get("role", ""),
            department_id=_opt_id(form.get("department_id")),
            leader_id=_opt_id(form.get("leader_id")),
        )
    except ValidationFailed as exc:
        return _user_page(user_id, form=form, errors=_errors(exc, "display_name"))
    get_session().commit()
    flash(f"已保存用户“{user.username}”", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.post("/users/<int:user_id>/password")
@roles_required(Role.ADMIN)
def user_password(user_id: int):
    try:
        user = organisation.reset_password(get_session(), current_actor(), user_id, request.form.get("password", ""))
    except ValidationFailed as exc:
        return _user_page(user_id, password_errors=_errors(exc, "password"))
    get_session().commit()
    flash(f"已重置“{user.username}”的密码，该用户下次登录时须修改密码", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.post("/users/<int:user_id>/active")
@roles_required(Role.ADMIN)
def user_active(user_id: int):
    active = request.form.get("active") == "1"
    try:
        user = organisation.set_user_active(get_session(), current_actor(), user_id, active)
    except ValidationFailed as exc:
        return _user_page(user_id, status_errors=_errors(exc, "active"))
    get_session().commit()
    flash(f"用户“{user.username}”已{'恢复启用' if active else '停用'}", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.post("/users/<int:user_id>/tokens")
@roles_required(Role.ADMIN)
def user_token_issue(user_id: int):
    db = get_session()
    user = organisation.get_user(db, user_id)
    if not user.active:
        return _user_page(user_id, token_errors={"name": "已停用的用户不能签发令牌"})
    token = access.issue_token(db, current_actor(), user, request.form.get("name", ""))
    db.commit()
    idempotency.shown_once()
    # Shown once, in this response only: never put the token in a flash (the session cookie), nor in
    # the answer a repeated submission would get.
    return _user_page(user_id, new_token=token)


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
@roles_required(Role.ADMIN)
def user_token_revoke(user_id: int, token_id: int):
    db = get_session()
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound("未找到该令牌")
    if not row.revoked:
        access.revoke_token(db, current_actor(), token_id)
        db.commit()
    flash(f"已吊销令牌“{row.name}”", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id))


# --- holidays ---------------------------------------------------------------------


def _holiday_page(
    year: int | None = None, *, form=None, errors=None, bulk_form=None, bulk_errors=None, year_errors=None
):
    db = get_session()
    today = clock.today()
    year = year or today.year
    known = calendar.known_years(db)
    known_set = {k.year for k in known}
    years = sorted(known_set | {today.year, today.year + 1, year}, reverse=True)
    failed = bool(errors or bulk_errors or year_errors)
    line_errors = [v for k, v in (bulk_errors or {}).items() if k.startswith("line_")]
    return render_template(
        "admin/holidays.html",
        year=year,
        years=years,
        known=known,
        known_set=known_set,
        year_known=year in known_set,
        rows=calendar.year_exceptions(db, year),
        form=form or {"kind": "holiday"},
        errors=errors or {},
        bulk_form=bulk_form or {},
        bulk_errors=bulk_errors or {},
        line_errors=line_errors,
        year_errors=year_errors or {},
        unknown_year=_unknown_next_year(),
        today=today,
    ), (422 if failed else 200)


@bp.get("/holidays")
def holidays():
    year = request.args.get("year", "")
    if year and not (year.isdigit() and 2000 <= int(year) <= 2045):
        abort(404)
    return _holiday_page(int(year) if year else None)


@bp.post("/holidays/day")
def holiday_set():
    form = request.form
    try:
        day = calendar.enter_holiday(
            get_session(), current_actor(), form.get("day", ""), form.get("kind", ""), form.get("name", "")
        )
    except ValidationFailed as exc:
        year = _opt_id(form.get("year")) or clock.today().year
        return _holiday_page(year, form=form, errors=_errors(exc, "day"))
    get_session().commit()
    flash(f"已登记 {day.isoformat()}（{'调休上班' if form.get('kind') == 'workday' else '放假'}）", "success")
    return redirect(url_for("admin.holidays", year=day.year))


@bp.post("/holidays/day/<day>/remove")
def holiday_remove(day: str):
    try:
        parsed = parse_date(day, label="日期", field="day")
    except ValidationFailed:
        abort(404)
    db = get_session()
    if db.get(Holiday, parsed) is None:
        raise NotFound("该日期没有登记")
    calendar.set_holiday(db, current_actor(), parsed, is_workday=None)
    db.commit()
    flash(f"已删除 {parsed.isoformat()} 的登记，该日恢复为{'工作日' if parsed.weekday() < 5 else '休息日'}", "success")
    return redirect(url_for("admin.holidays", year=parsed.year))


@bp.post("/holidays/bulk")
def holiday_bulk():
    form = request.form
    try:
        days = calendar.enter_holidays(
            get_session(), current_actor(), form.get("lines", ""), confirm_years=_checked("confirm_years")
        )
    except ValidationFailed as exc:
        year = _opt_id(form.get("year")) or clock.today().year
        return _holiday_page(year, bulk_form=form, bulk_errors=_errors(exc, "lines"))
    get_session().commit()
    flash(f"已批量录入 {len(days)} 天", "success")
    return redirect(url_for("admin.holidays", year=days[0].year))


@bp.post("/holidays/confirm")
def holiday_confirm_year():
    year = _opt_id(request.form.get("year"))
    try:
        if year is None:
            raise ValidationFailed("年份无效", fields={"year": "年份无效"})
        changed = calendar.mark_year_entered(get_session(), current_actor(), year)
    except ValidationFailed as exc:
        return _holiday_page(year if year and 2000 <= year <= 2045 else None, year_errors=_errors(exc, "year"))
    get_session().commit()
    flash(f"{year}年节假日安排已标记为已录入" if changed else f"{year}年节假日安排此前已录入", "success")
    return redirect(url_for("admin.holidays", year=year))


# --- time-limit presets -----------------------------------------------------------


@bp.get("/presets")
def presets():
    rows = list(
        get_session().exec(
            select(TimeLimitPreset).order_by(
                TimeLimitPreset.active.desc(), TimeLimitPreset.sort_order, TimeLimitPreset.id
            )
        )
    )
    return render_template("admin/presets.html", presets=rows)


def _preset_args(form) -> dict:
    return {
        "name": form.get("name", ""),
        "amount": form.get("amount", ""),
        "unit": form.get("unit", ""),
        "urgency": form.get("urgency", ""),
        "basis": form.get("basis", ""),
        "active": _checked("active"),
        "sort_order": form.get("sort_order", ""),
    }


@bp.route("/presets/new", methods=["GET", "POST"])
def preset_new():
    form, errors = {"unit": "workdays", "active": "1"}, {}
    if request.method == "POST":
        form = request.form
        try:
            preset = calendar.create_preset(
                get_session(), current_actor(), code=form.get("code", ""), **_preset_args(form)
            )
        except ValidationFailed as exc:
            errors = _errors(exc, "name")
        else:
            get_session().commit()
            flash(f"已新增时限预设“{preset.name}”", "success")
            return redirect(url_for("admin.presets"))
    return render_template("admin/preset_form.html", preset=None, form=form, errors=errors), (422 if errors else 200)


@bp.route("/presets/<int:preset_id>", methods=["GET", "POST"])
def preset_edit(preset_id: int):
    db = get_session()
    preset = db.get(TimeLimitPreset, preset_id)
    if preset is None:
        raise NotFound("未找到该时限预设")
    errors = {}
    if request.method == "POST":
        form = request.form
        try:
            calendar.update_preset(db, current_actor(), preset_id, **_preset_args(form))
        except ValidationFailed as exc:
            errors = _errors(exc, "name")
        else:
            db.commit()
            flash(f"已保存时限预设“{preset.name}”", "success")
            return redirect(url_for("admin.presets"))
        preset = db.get(TimeLimitPreset, preset_id)
    else:
        form = {
            "name": preset.name,
            "amount": preset.amount,
            "unit": preset.unit,
            "urgency": preset.urgency,
            "basis": preset.basis,
            "active": "1" if preset.active else "",
            "sort_order": preset.sort_order,
        }
    return render_template("admin/preset_form.html", preset=preset, form=form, errors=errors), (422 if errors else 200)
