"""Links built once per deployment (tracker/web/nav.py): the same as url_for, per script root."""

from __future__ import annotations

from flask import url_for

from tracker.web.nav import ID_PLACEHOLDER, fixed_url, id_url


def test_fixed_links_match_url_for_under_each_script_root(app):
    for root in ("", "/duban"):
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            for _ in range(2):  # built, then from the cache
                assert fixed_url("static", filename="css/app.css") == url_for("static", filename="css/app.css")
                assert fixed_url("static", filename="css/app.css").startswith(root + "/static/")
                before, after = id_url("tasks.download", "attachment_id")
                assert before + "42" + after == url_for("tasks.download", attachment_id=42)
                assert f"{before}{ID_PLACEHOLDER}{after}" == url_for("tasks.download", attachment_id=ID_PLACEHOLDER)
                assert "7".join(id_url("tasks.show")) == url_for("tasks.show", task_id=7)
