"""Importing department lists (单位名录): names, aliases, kinds, leaders in charge."""

from __future__ import annotations

from openpyxl import Workbook
from sqlmodel import select

from tests.fixtures.helpers import FIXTURES, counts, load_district
from tracker.models import AuditEvent, Department, DepartmentAlias, Leader
from tracker.services.ledger import department_list
from tracker.services.organisation import directory as organisation
from tracker.services.organisation.resolve import DepartmentResolver, LeaderResolver


def _book(tmp_path, rows, name="list.xlsx"):
    wb = Workbook()
    ws = wb.active
    ws.title = "名录"
    for row in rows:
        ws.append(row)
    wb.save(tmp_path / name)
    return tmp_path / name


def test_district_list_field_by_field(session):
    org = load_district(session)
    deps = {d.name: d for d in session.exec(select(Department))}
    assert len(deps) == 13
    expected = {
        "区发展和改革委员会": ("component", "区发改委", {"发改委"}),
        "区交通运输局": ("component", "区交通局", {"交通局"}),
        "区生态环境分局": ("institution", "生态环境分局", set()),
        "城关街道办事处": ("street", "城关街道", set()),
        "河口镇人民政府": ("town", "河口镇", set()),
        "区政府办公室": ("component", "区政府办", set()),
    }
    for name, (kind, short, aliases) in expected.items():
        dep = deps[name]
        assert (dep.kind, dep.short_name) == (kind, short)
        got = set(session.exec(select(DepartmentAlias.alias).where(DepartmentAlias.department_id == dep.id)))
        assert got == aliases
    assert [d.sort_order for d in sorted(deps.values(), key=lambda d: d.sort_order)][:3] == [10, 20, 30]
    leaders = {x.name: x for x in session.exec(select(Leader))}
    assert {n: x.title for n, x in leaders.items()} == {
        "吴海涛": "常务副区长",
        "李明": "副区长",
        "王芳": "副区长",
        "赵强": "副区长",
        "孙志强": "区长",
    }
    portfolio = {
        n: {d for d, dep in deps.items() if dep.id in organisation.portfolio_ids(session, x.id)}
        for n, x in leaders.items()
    }
    assert portfolio["吴海涛"] == {"区发展和改革委员会", "区财政局", "区政府办公室"}
    assert portfolio["孙志强"] == {"区政府办公室"}
    assert portfolio["李明"] == {"区交通运输局", "区住房和城乡建设局", "河口镇人民政府"}
    resolved = DepartmentResolver.load(session).resolve_list("区交通局（牵头）、城关街道、河口镇")
    assert resolved.lead_id == org.dept("区交通运输局") and not resolved.unknown
    assert LeaderResolver.load(session).resolve_list("常务副区长吴海涛").ids == [org.leader("吴海涛")]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "department_create")).all()


def test_a_list_imported_again_changes_nothing_and_a_grown_list_only_adds(session, tmp_path):
    org = load_district(session)
    before = counts(session)
    again = department_list.import_departments(
        session, org.office, FIXTURES / "departments_district.xlsx", dry_run=False
    )
    session.commit()
    assert again.counts()["unchanged"] == 13 and counts(session) == before

    grown = _book(
        tmp_path,
        [
            ["单位名称", "简称", "类型", "分管领导"],
            ["区财政局", "财政局、区财政", "组成部门", "吴海涛"],
            ["区教育局", "教育局", "组成部门", "李明"],
            ["区人力资源和社会保障局", "区人社局", "", "钱伟（副区长）"],
        ],
    )
    report = department_list.import_departments(session, org.office, grown, dry_run=False)
    session.commit()
    actions = {r.name: r.action for r in report.rows}
    assert actions == {"区财政局": "update", "区教育局": "update", "区人力资源和社会保障局": "create"}
    assert DepartmentResolver.load(session).lookup("区财政") == org.dept("区财政局")
    new = session.exec(select(Department).where(Department.name == "区人力资源和社会保障局")).one()
    assert new.kind == "component" and new.short_name == "区人社局"
    assert any("推断" in w.message for w in report.rows[2].warnings)
    qian = session.exec(select(Leader).where(Leader.name == "钱伟")).one()
    assert qian.title == "副区长" and organisation.portfolio_ids(session, qian.id) == [new.id]
    # 李明 now also has 区教育局; 王芳 keeps it: a list adds to portfolios, it never takes away
    assert org.dept("区教育局") in organisation.portfolio_ids(session, org.leader("李明"))
    assert org.dept("区教育局") in organisation.portfolio_ids(session, org.leader("王芳"))


def test_department_list_errors_write_nothing(session, tmp_path):
    org = load_district(session)
    before = counts(session)
    bad = _book(
        tmp_path,
        [
            ["单位全称", "简称/别名", "单位类型", "分管领导"],
            ["区审计局", "审计局", "局机关", "吴海涛"],
            ["区统计局", "区财政局", "组成部门", ""],
            ["区统计局", "", "组成部门", ""],
            ["区医保局", "医保", "组成部门", ""],
            ["区档案馆", "医保", "事业单位", ""],
            [None, "没有全称", "组成部门", ""],
        ],
    )
    report = department_list.import_departments(session, org.office, bad, dry_run=False)
    session.commit()
    assert not report.committed and counts(session) == before
    errors = {r.row: [(e.column, e.message) for e in r.errors] for r in report.rows}
    assert errors[2] == [("C", "无法识别单位类型“局机关”（可填：组成部门、街道、乡镇、事业单位、其他）")]
    assert errors[3][0][0] == "B" and "区财政局" in errors[3][0][1]
    assert errors[4][0][0] == "A" and "第3行已出现" in errors[4][0][1]
    assert errors[6][0][0] == "B" and "第5行" in errors[6][0][1]
    assert errors[7] == [("A", "未填写单位全称")]
    assert errors[5] == []


def test_departments_cli(app, session, tmp_path):
    from tracker.cli_ledger import register_ledger_cli

    register_ledger_cli(app)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["departments", "import", str(FIXTURES / "departments_district.xlsx"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "试运行" in dry.stdout and "区发展和改革委员会" in dry.stdout
    session.rollback()
    assert session.exec(select(Department)).first() is None
    real = runner.invoke(
        args=["departments", "import", str(FIXTURES / "departments_district.xlsx"), "--format", "json"]
    )
    assert real.exit_code == 0, real.output
    import json

    body = json.loads(real.stdout)
    assert body["committed"] and body["counts"]["create"] == 13 and body["what"] == "departments"
    assert body["rows"][0]["name"] == "区发展和改革委员会" and body["rows"][0]["aliases"] == ["区发改委", "发改委"]
    session.rollback()
    assert len(session.exec(select(Department)).all()) == 13
    bad = _book(tmp_path, [["单位全称", "单位类型"], ["区审计局", "局机关"]])
    failed = runner.invoke(args=["departments", "import", str(bad)])
    assert failed.exit_code == 1 and "错误" in failed.stdout
