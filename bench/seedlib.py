"""What the 100,000-task benchmarks share: a scratch PostgreSQL database and a bulk-inserted
organisation (departments, leaders, portfolios). Tasks, users and reports differ per benchmark."""

from __future__ import annotations


def recreate_database(admin_url: str, name: str) -> str:
    """Drop and create ``name`` through the maintenance database; return its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def chunks(rows: list, size: int = 5000):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def seed_organisation(conn, n_deps: int, *, short_names: bool = True) -> tuple[list[int], list[int]]:
    """``n_deps`` departments, one leader per 20 of them (at least 6), each department in one
    leader's portfolio; returns (department ids, leader ids) in id order."""
    import sqlalchemy as sa

    from tracker.models import Department, Leader, LeaderDepartment

    conn.execute(
        sa.insert(Department),
        [
            {
                "name": f"测试单位{i:04d}",
                "short_name": f"单位{i:04d}" if short_names else "",
                "kind": "component",
                "active": True,
                "sort_order": i,
            }
            for i in range(1, n_deps + 1)
        ],
    )
    n_leaders = max(6, n_deps // 20)
    conn.execute(
        sa.insert(Leader),
        [{"name": f"领导{i:03d}", "title": "副区长", "active": True, "sort_order": i} for i in range(1, n_leaders + 1)],
    )
    dep_ids = [r[0] for r in conn.execute(sa.select(Department.id).order_by(Department.id))]
    leader_ids = [r[0] for r in conn.execute(sa.select(Leader.id).order_by(Leader.id))]
    conn.execute(
        sa.insert(LeaderDepartment),
        [{"leader_id": leader_ids[i % len(leader_ids)], "department_id": d} for i, d in enumerate(dep_ids)],
    )
    return dep_ids, leader_ids
