"""The demo district's organisation: departments with their aliases, the 区政府 leaders
with their portfolios, and seven users; written through ``tracker.services.organisation.directory``.

Only seven users are created (password hashing costs ~0.1–0.2 s each with scrypt); the
departments without a user of their own act through an ``Actor`` without ``user_id``
(their 联络员), so their reports carry the department but no author.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass

from sqlmodel import Session, select

from tracker.models import Department, DepartmentAlias, DepartmentKind, Leader, Role, User
from tracker.rules.names import normalise_name
from tracker.services.actors import SYSTEM, Actor
from tracker.services.organisation import directory as organisation
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver

DISTRICT = "青山区"
DEMO_PASSWORD = "Demo@2026"  # one of accounts.passwords.DEMO_PASSWORDS: refused outside demo mode

# Leader keys: who is who in the 区政府 leadership.
MAYOR, EXEC, GAO, LIN, MA, HE = "mayor", "exec", "gao", "lin", "ma", "he"

LEADERS = [
    # key, name, title
    (MAYOR, "周国平", "区长"),
    (EXEC, "吴海涛", "常务副区长"),
    (GAO, "高志远", "副区长"),
    (LIN, "林晓东", "副区长"),
    (MA, "马丽", "副区长"),
    (HE, "何军", "区政府党组成员、办公室主任"),
]

C, ST, TW, INS, OT = (
    DepartmentKind.COMPONENT,
    DepartmentKind.STREET,
    DepartmentKind.TOWN,
    DepartmentKind.INSTITUTION,
    DepartmentKind.OTHER,
)

DEPARTMENTS = [
    # key (short name), full name, aliases (the first is the usual label), kind, leader in charge
    ("政府办", "区人民政府办公室", ["区政府办", "区政府办公室", "区府办"], C, HE),
    ("发改委", "区发展和改革委员会", ["区发改委", "发改委"], C, EXEC),
    ("教体局", "区教育体育局", ["区教体局", "教体局", "区教育局"], C, MA),
    ("科工信局", "区科学技术和工业信息化局", ["区科工信局", "科工信局", "区经信局"], C, LIN),
    ("公安分局", "区公安分局", ["公安青山分局", "区公安局"], C, MAYOR),
    ("民政局", "区民政局", ["民政局"], C, MA),
    ("司法局", "区司法局", ["司法局"], C, HE),
    ("财政局", "区财政局", ["财政局"], C, EXEC),
    ("人社局", "区人力资源和社会保障局", ["区人社局", "人社局"], C, MA),
    ("住建局", "区住房和城乡建设局", ["区住建局", "住建局"], C, GAO),
    ("城管局", "区城市管理执法局", ["区城管局", "城管局", "区城管执法局"], C, GAO),
    ("交通局", "区交通运输局", ["区交通局", "交通局"], C, LIN),
    ("水利局", "区水利和湖泊局", ["区水利局", "水利局", "区水务局"], C, LIN),
    ("农业农村局", "区农业农村局", ["区农业局", "农业农村局"], C, LIN),
    ("商务局", "区商务局", ["商务局"], C, EXEC),
    ("文旅局", "区文化和旅游局", ["区文旅局", "文旅局"], C, MA),
    ("卫健委", "区卫生健康委员会", ["区卫健委", "卫健委"], C, MA),
    ("退役军人局", "区退役军人事务局", ["区退役军人局"], C, MA),
    ("应急局", "区应急管理局", ["区应急局", "应急局"], C, LIN),
    ("审计局", "区审计局", ["审计局"], C, MAYOR),
    ("市场监管局", "区市场监督管理局", ["区市场监管局", "市场监管局"], C, EXEC),
    ("统计局", "区统计局", ["统计局"], C, EXEC),
    ("医保局", "区医疗保障局", ["区医保局", "医保局"], C, MA),
    ("信访局", "区信访局", ["信访局"], C, HE),
    ("政数局", "区政务服务和大数据管理局", ["区政数局", "区政务服务局", "政数局"], C, HE),
    ("自规分局", "区自然资源和规划分局", ["区自规分局", "自规分局", "区自然资源局"], OT, GAO),
    ("生态环境分局", "区生态环境分局", ["区环保局", "生态环境分局"], OT, GAO),
    ("机关事务中心", "区机关事务服务中心", ["区机关事务中心"], INS, HE),
    ("征收中心", "区房屋征收服务中心", ["区征收中心", "征收中心"], INS, GAO),
    ("投促中心", "区投资促进服务中心", ["区投促中心", "投促中心"], INS, EXEC),
    ("融媒体中心", "区融媒体中心", ["融媒体中心"], INS, HE),
    ("国资中心", "区国有资产服务中心", ["区国资中心"], INS, EXEC),
    ("交易中心", "区公共资源交易中心", ["区交易中心"], INS, EXEC),
    ("青山街道", "青山街道办事处", ["青山街道", "青山街"], ST, EXEC),
    ("滨江街道", "滨江街道办事处", ["滨江街道"], ST, EXEC),
    ("柳林街道", "柳林街道办事处", ["柳林街道"], ST, GAO),
    ("东湖路街道", "东湖路街道办事处", ["东湖路街道"], ST, GAO),
    ("南门街道", "南门街道办事处", ["南门街道"], ST, MA),
    ("北苑街道", "北苑街道办事处", ["北苑街道"], ST, MA),
    ("新华街道", "新华街道办事处", ["新华街道"], ST, HE),
    ("红星街道", "红星街道办事处", ["红星街道"], ST, HE),
    ("柳河镇", "柳河镇人民政府", ["柳河镇"], TW, LIN),
    ("石门镇", "石门镇人民政府", ["石门镇"], TW, LIN),
    ("白沙镇", "白沙镇人民政府", ["白沙镇"], TW, LIN),
]

STREETS = [d[0] for d in DEPARTMENTS if d[3] == ST]
TOWNS = [d[0] for d in DEPARTMENTS if d[3] == TW]

USERS = [
    # username, display name, role, department key, leader key
    ("admin", "系统管理员", Role.ADMIN, None, None),
    ("duchashi", "督查室王敏", Role.SUPERVISOR, None, None),
    ("duchashi2", "督查室张磊", Role.SUPERVISOR, None, None),
    ("wuhaitao", "吴海涛", Role.LEADER, None, EXEC),
    ("fgw", "区发改委陈静", Role.CLERK, "发改委", None),
    ("czj", "区财政局刘芳", Role.CLERK, "财政局", None),
    ("jiedao", "青山街道李娟", Role.CLERK, "青山街道", None),
]

# Lookups by key.
DEPT_BY_KEY = {d[0]: d for d in DEPARTMENTS}
DEPT_LEADER = {d[0]: d[4] for d in DEPARTMENTS}
LEADER_BY_KEY = {k: (name, title) for k, name, title in LEADERS}


def label(key: str) -> str:
    """The name people use: 区财政局, 区住建局, 青山街道, 柳河镇."""
    _key, name, aliases, kind, _leader = DEPT_BY_KEY[key]
    if kind in (ST, TW):
        return aliases[0]
    if len(name) <= 7:
        return name
    return next((a for a in aliases if a.startswith("区")), name)


# --- writing it through the services ---------------------------------------------


@dataclass
class Org:
    """What the rest of the demo acts through: ids by key, and the actors."""

    departments: dict[str, int]
    leaders: dict[str, int]
    users: dict[str, User]
    office: Actor
    office2: Actor
    leader: Actor  # 吴海涛, the 常务副区长
    clerks: dict[str, Actor]
    created: Tally


def _free_aliases(session: Session, aliases: list[str]) -> list[str]:
    """Aliases no other department answers to yet (a database may already hold real ones)."""
    return [alias for alias in aliases if organisation.name_holder(session, alias)[0] is None]


def build_org(session: Session) -> Org:
    """Departments, leaders and users; existing ones (same name / login) are reused."""
    created: Tally = Tally()
    admin_user = session.exec(select(User).where(User.username == "admin")).first()
    if admin_user is None:
        admin_user = organisation.create_user(session, SYSTEM, "admin", "系统管理员", DEMO_PASSWORD, Role.ADMIN)
        created["user"] += 1
    admin = Actor.of(admin_user)

    departments: dict[str, int] = {}
    for order, (key, name, aliases, kind, _leader) in enumerate(DEPARTMENTS, start=1):
        dep = session.exec(select(Department).where(Department.name == normalise_name(name))).first()
        if dep is None:
            dep = organisation.create_department(
                session,
                admin,
                name,
                kind=kind,
                short_name=label(key),
                aliases=_free_aliases(session, aliases),
                sort_order=order * 10,
            )
            created["department"] += 1
        else:
            for alias in _free_aliases(session, aliases):
                organisation.add_alias(session, dep, alias, audit_actor=admin)
        departments[key] = dep.id

    leaders: dict[str, int] = {}
    for order, (key, name, title) in enumerate(LEADERS, start=1):
        leader = session.exec(select(Leader).where(Leader.name == name, Leader.title == title)).first()
        if leader is None:
            portfolio = [departments[d] for d, boss in DEPT_LEADER.items() if boss == key]
            leader = organisation.create_leader(
                session, admin, name, title, department_ids=portfolio, sort_order=order * 10
            )
            created["leader"] += 1
        leaders[key] = leader.id

    users: dict[str, User] = {"admin": admin_user}
    for username, display, role, dep_key, leader_key in USERS:
        if username in users:
            continue
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = organisation.create_user(
                session,
                admin,
                username,
                display,
                DEMO_PASSWORD,
                role,
                department_id=departments[dep_key] if dep_key else None,
                leader_id=leaders[leader_key] if leader_key else None,
                must_change_password=False,
            )
            created["user"] += 1
        users[username] = user

    def actor(username: str, display: str, role: Role, **kw) -> Actor:
        user = users[username]
        ok = user.role == role and user.active and all(getattr(user, name) == value for name, value in kw.items())
        # A same-named account with another role stays untouched; act without it.
        return Actor.of(user) if ok else Actor(None, display, role, **kw)

    clerks = {}
    for key, _name, _aliases, _kind, _leader in DEPARTMENTS:
        clerks[key] = Actor(None, f"{label(key)}联络员", Role.CLERK, department_id=departments[key])
    for username, display, role, dep_key, _leader_key in USERS:
        if role == Role.CLERK:
            clerks[dep_key] = actor(username, display, role, department_id=departments[dep_key])
    return Org(
        departments=departments,
        leaders=leaders,
        users=users,
        office=actor("duchashi", "督查室王敏", Role.SUPERVISOR),
        office2=actor("duchashi2", "督查室张磊", Role.SUPERVISOR),
        leader=actor("wuhaitao", "吴海涛", Role.LEADER, leader_id=leaders[EXEC]),
        clerks=clerks,
        created=created,
    )


def vocabulary() -> tuple[DepartmentResolver, LeaderResolver]:
    """The demo district's departments (with every alias) and leaders in memory, read as
    ``build_org`` writes them, for reading minutes where no district has been set up yet."""
    rows, aliases = [], []
    for i, (key, full, names, kind, _leader) in enumerate(DEPARTMENTS, start=1):
        rows.append(Department(id=i, name=full, short_name=key, kind=kind.value, active=True, sort_order=i))
        aliases += [
            DepartmentAlias(id=len(aliases) + 1, department_id=i, alias=a) for a in names if a not in (full, key)
        ]
    leaders = [
        Leader(id=i, name=name, title=title, active=True, sort_order=i)
        for i, (_key, name, title) in enumerate(LEADERS, start=1)
    ]
    return DepartmentResolver.build(rows, aliases), LeaderResolver.build(leaders)
