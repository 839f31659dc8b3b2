"""Hostile input on every route of ``app.url_map``: no answer is ever a 5xx, on either engine.

Run it on PostgreSQL too: that engine refuses NUL in text, and SQLite's acceptance of it is what
once hid the 500s (PITFALLS.md).

Per route and method, as each role (and anonymously), a benign request first: it tells whether the
role may use the route and, through recording argument dictionaries, which query-string and form
names the view reads. Then every parameter in turn carries every hostile value, the others benign:

- path converters (``<int:…>`` gets negative and huge numbers, other converters every value);
- the query-string names the view read, and the filter forms on its pages;
- the form fields of the POST forms found on the app's own pages (crawled once per run, as every
  role, over tasks in every state), plus the fields of tests/test_permission_matrix.py's forms,
  and uploaded file names;
- the JSON fields of the API (from its OpenAPI document) and of the board's callbacks (from Dash's
  ``_dash-dependencies``), and malformed JSON bodies;
- the headers the app reads.

A role that may not use the route gets one request per hostile value with every parameter
hostile at once. Any request carrying a control character must be refused with exactly 400 by
the input guard (tracker/http/guard.py), before login and CSRF: that holds the guard to every
surface. Forms that refuse a missing one-time token (400/409) are fine: anything but 5xx is.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import tempfile
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import jinja2
import pytest
from sqlmodel import Session
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from tests import factories as f
from tests.conftest import TODAY, _empty
from tests.test_permission_matrix import (
    FORM,
    JSON_BODY,
    SEEDED_TASKS,
    SESSION_API,
    _client,
    _seed,
)
from tests.test_permission_matrix import _bulletin_id as bulletin_id
from tracker import clock, create_app
from tracker.api.docs import document
from tracker.config import Settings

HUGE_TEXT = "长" * 2000 + "x" * 994_000  # 1 MB of UTF-8; mostly ASCII, or percent-encoding it costs seconds
# In a URL: no server passes a request line over 8 KB (gunicorn 4 KB, nginx 8 KB), and the test
# client unquotes the whole URL several times per request.
LONG_IN_URL = "长" * 2000 + "x" * 58_000
HOSTILE = {
    "nul": "区发改委\x00",
    "huge_text": HUGE_TEXT,
    "bidi_zero_width": "\u202egpj.exe\u200b事\u200d项",
    "emoji": "👨‍👩‍👧‍👦🏳️‍🌈🀄",
    "year_9999": "9999-12-31",
    "year_0001": "0001-01-01",
    "iso_week": "9999-W52",
    "negative": "-1",
    "huge_number": "99999999999999999999",
}
# Other controls, sent once per route and role with every parameter at once: the guard's rule for
# each character is tested in tests/test_http_guard.py; here, that no surface escapes it.
OTHER_CONTROLS = {"c1": "事项\x85名称", "escape": "\x1b[31m红色", "del": "a\x7fb"}
CONTROL = {"nul", *OTHER_CONTROLS}
# Numbers in an ``<int:…>`` path segment; any other value matches no rule (a 404), tried once.
PATH_INTS = {"negative": "-1", "zero": "0", "int32_max+1": "2147483648", "huge_number": "99999999999999999999"}
JSON_EXTRA = {  # values JSON can carry that a form cannot
    "big_int": 10**30,
    "inf": float("inf"),
    "null": None,
    "object": {"a": ["b"]},
}
MALFORMED_JSON = [
    b'{"title": ',
    b"[" * 5000,
    b"\xff\xfe\x00garbage",
    b'"just a string"',
    b"[]",
    b"{}",
    b"null",
    b'{"a": 1e999999}',
    b'{"output": 1, "inputs": "x"}',
]
HEADERS = ["User-Agent", "X-Request-ID", "X-CSRFToken", "Idempotency-Key", "Referer", "Origin", "Accept-Language"]

ROLES = ("anonymous", "supervisor", "clerk", "leader", "admin")


# --- routes ------------------------------------------------------------------------------


def _make_app(url: str, tmp) -> object:
    return create_app(
        Settings(
            env="testing",
            database_url=url,
            instance_path=tmp / "instance",
            today=TODAY,
            secret_key="fuzz-secret",
        )
    )


def _route_methods(app) -> list[tuple[str, str]]:
    """Every (endpoint, method) the app answers, HEAD and OPTIONS being Flask's own."""
    out = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((rule.endpoint, method))
    return sorted(out)


def _collect() -> list[tuple[str, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="tracker-fuzz-"))
    return _route_methods(_make_app(f"sqlite:///{tmp / 'routes.db'}", tmp))


# Routes left out of the walk, each with its reason. None is: static files, Dash's own routes and
# logging out are walked like any page (a route refused to every role is still walked refused).
EXCLUDED: dict[str, str] = {}

ROUTE_METHODS = _collect()
ENDPOINTS = sorted({e for e, _m in ROUTE_METHODS} - set(EXCLUDED))


def _rule(app, endpoint: str):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    assert len(rules) == 1, f"{endpoint}: {len(rules)} rules"
    return rules[0]


# --- what a view reads ----------------------------------------------------------------------

READ: set[str] = set()


class _Recording(ImmutableMultiDict):
    """Argument dictionaries that note the names a view asks for."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        READ.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        READ.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        READ.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        READ.add(key)
        return super().__contains__(key)


def _record_reads(app) -> None:
    class RecordingRequest(app.request_class):
        parameter_storage_class = _Recording

    app.request_class = RecordingRequest
    app.jinja_env.bytecode_cache = _TEMPLATES  # each test's app would compile every template again


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates kept across this module's apps."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _SharedBytecode()


# --- the forms on the app's own pages --------------------------------------------------------


class _Forms(HTMLParser):
    """Each <form>: its method, its action and its fields (name -> (kind, a value the page offers))."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else tag
            name = a["name"]
            if kind in ("checkbox", "radio") and "checked" not in a and name in self._form["fields"]:
                return
            self._form["fields"][name] = (kind, a.get("value") or "")
            self._select = name if tag == "select" else None
        elif tag == "option" and self._form is not None and self._select:
            kind, value = self._form["fields"][self._select]
            if not value and a.get("value"):
                self._form["fields"][self._select] = (kind, a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _all_tasks(session, seed) -> dict:
    d = seed["d"]
    for key, (status, pending) in SEEDED_TASKS.items():
        if seed["tasks"].get(key) is None:
            seed["tasks"][key] = f.task_in(session, d, status, pending=pending, title=f"督办事项（{key}）")
    session.commit()
    return seed["tasks"]


def _crawl(app, session) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """(endpoint, method) -> the fields of every form on the app's GET pages that submits to it."""
    from tracker.services.scheduling.weekly import generate_week

    seed = _seed(session, app, "tasks.show")
    tasks = _all_tasks(session, seed)
    generate_week(session, TODAY)
    session.commit()
    adapter = app.url_map.bind("localhost")
    fields: dict[tuple[str, str], dict] = defaultdict(dict)
    for role in ROLES[1:]:
        client, _token = _client(app, "office.index", role, seed)
        seen = set()
        for endpoint, method in ROUTE_METHODS:
            if method != "GET" or endpoint.startswith(("api.", "/dashboard")) or "static" in endpoint:
                continue
            for url in _benign_urls(app, endpoint, seed, tasks):
                if url in seen:
                    continue
                seen.add(url)
                resp = client.get(url)
                if resp.status_code != 200 or resp.mimetype != "text/html":
                    continue
                parser = _Forms()
                parser.feed(resp.get_data(as_text=True))
                for form in parser.forms:
                    action = urlsplit(form["action"] or url).path
                    verb = "POST" if form["method"] == "post" else "GET"
                    try:
                        target, _values = adapter.match(action, method=verb)
                    except Exception:  # noqa: BLE001 - a form to another site or method: not ours
                        continue
                    for name, spec in form["fields"].items():
                        if name != "csrf_token":
                            fields[(target, verb)].setdefault(name, spec)
    return dict(fields)


@pytest.fixture(scope="session")
def page_forms(engine, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-crawl")
    with clock.frozen(TODAY):
        _empty(engine)
        app = create_app(
            Settings(env="testing", database_url=str(engine.url), instance_path=tmp, today=TODAY, secret_key="crawl"),
            engine=engine,
        )
        with Session(engine, expire_on_commit=False) as session:
            forms = _crawl(app, session)
        clock.set_today(None)
    return forms


# --- URLs ------------------------------------------------------------------------------------


def _path_values(app, endpoint: str, seed: dict, tasks: dict | None = None) -> list[dict]:
    """Benign values for the route's path arguments: every seeded task for a task's page."""
    from tests.test_permission_matrix import REQUEST_FOR, TASK_FOR

    rule = _rule(app, endpoint)
    values: dict = {}
    for arg in rule.arguments:
        if arg == "task_id":
            values[arg] = seed["tasks"][TASK_FOR.get(endpoint, "main")].id
        elif arg in ("request_id", "req_id"):
            values[arg] = seed["requests"].get(REQUEST_FOR.get(endpoint, ""), 1)
        elif arg == "token_id":
            values[arg] = seed["token_ids"]["api" if endpoint.startswith("api.") else "admin"]
        elif arg == "bulletin_id":
            values[arg] = bulletin_id(app)
        elif arg == "filename":
            values[arg] = {"static": "favicon.svg", "api.static": "docs.css"}.get(endpoint, "board.css")
        elif arg == "package_name":
            values[arg] = "dash"
        elif arg == "fingerprinted_path":
            values[arg] = "dcc/dash_core_components.js"
        elif arg == "path":
            values[arg] = "tasks"
        elif arg == "motion_id" and seed["ids"].get("motion_id") is None:
            values[arg] = 1
        else:
            values[arg] = seed["ids"][arg]
    out = [values]
    if tasks and "task_id" in values and endpoint == "tasks.show":
        out += [{**values, "task_id": t.id} for t in tasks.values() if t is not None]
    return out


def _build(app, endpoint: str, values: dict, raw: dict | None = None) -> str:
    """The route's path with ``values``; ``raw`` replaces a segment with text no converter checks."""
    rule = _rule(app, endpoint)
    with app.test_request_context():
        from flask import url_for

        if not raw:
            return url_for(endpoint, **values)
        marker = {k: 7_654_321 if isinstance(rule._converters[k], IntegerConverter) else "FUZZ_MARK" for k in raw}
        url = url_for(endpoint, **{**values, **marker})
    for k, text in raw.items():
        url = url.replace(str(marker[k]), quote(text, safe=""), 1)
    return url


def _benign_urls(app, endpoint, seed, tasks) -> list[str]:
    return [_build(app, endpoint, v) for v in _path_values(app, endpoint, seed, tasks)]


# --- the API's and the board's JSON ----------------------------------------------------------


def _openapi_fields(app, endpoint: str, method: str) -> list[dict]:
    """Bodies to start from: one per variant of the request body (transitions have one per action),
    each with the names of its fields."""
    with app.app_context():
        spec = document()
    rule = _rule(app, endpoint)
    path = rule.rule.replace("/api/v1", "", 1)
    for arg in rule.arguments:
        conv = rule._converters[arg]
        path = path.replace(f"<{type(conv).__name__}:{arg}>", f"{{{arg}}}")
    import re

    path = re.sub(r"<[^>]*:(\w+)>", r"{\1}", path)
    op = (spec["paths"].get(path) or spec["paths"].get("/api/v1" + path) or {}).get(method.lower())
    if not op or "requestBody" not in op:
        return []
    schemas = spec["components"]["schemas"]

    def resolve(s):
        while "$ref" in s:
            s = schemas[s["$ref"].rsplit("/", 1)[1]]
        return s

    schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
    variants = [resolve(v) for v in schema.get("oneOf", schema.get("anyOf", []))] or [schema]
    out = []
    for v in variants:
        props = v.get("properties", {})
        base = {}
        if "action" in props:
            action = props["action"].get("const") or (props["action"].get("enum") or [None])[0]
            base["action"] = action
        out.append({"base": base, "fields": [p for p in props if p != "action"] or ["title"]})
    return out


def _dash_payloads(client) -> list[dict]:
    """One payload per board callback, its inputs and states named, each with a value to replace."""
    deps = client.get("/dashboard/_dash-dependencies").get_json()
    payloads = []
    for dep in deps or []:
        output = dep["output"]
        outs = output.strip(".").split("...") if output.startswith("..") else [output]
        outputs = []
        for o in outs:
            ident, prop = o.rsplit(".", 1)
            outputs.append({"id": _dash_id(ident), "property": prop})
        payloads.append(
            {
                "output": output,
                "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": [{"id": _dash_id(i["id"]), "property": i["property"], "value": None} for i in dep["inputs"]],
                "state": [{"id": _dash_id(s["id"]), "property": s["property"], "value": None} for s in dep["state"]],
                "changedPropIds": [],
            }
        )
    return payloads


def _dash_id(ident):
    if isinstance(ident, str) and ident.startswith("{"):
        parsed = json.loads(ident)
        return {k: (1 if isinstance(v, list) else v) for k, v in parsed.items()}
    return ident


# --- sending ---------------------------------------------------------------------------------


class Walk:
    """The requests of one route: how many, which failed (with the app's last logged exception),
    which parameters they covered."""

    def __init__(self, app, endpoint, seed):
        self.app, self.endpoint, self.seed = app, endpoint, seed
        self.sent = 0
        self.failures: list[str] = []
        self.params: dict[str, set[str]] = defaultdict(set)  # surface -> names walked
        self.headers_walked = False
        self.errors: list[str] = []
        walk = self

        class Catch(logging.Handler):
            def emit(self, record):
                if record.exc_info:
                    exc = record.exc_info[1]
                    walk.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")

        self.handler = Catch(logging.ERROR)

    def check(self, resp, what: str, *, control: bool):
        self.sent += 1
        status = resp.status_code
        if status >= 500:
            self.failures.append(f"{what}: {status} {self.errors[-1] if self.errors else ''}")
        elif control and status != 400:
            self.failures.append(f"{what}: {status}, expected the guard's 400")
        elif control and "不可见的控制字符" not in resp.get_data(as_text=True):
            self.failures.append(f"{what}: 400 without the guard's message")


@functools.lru_cache(maxsize=256)
def _quoted(text: str) -> str:
    """Percent-encoding of a value, once: quoting the megabyte string byte by byte in Python
    took most of the walk's time."""
    return quote_plus(text)


def _urlencode(pairs: dict) -> str:
    return "&".join(f"{_quoted(str(k))}={_quoted(str(v))}" for k, v in pairs.items())


def _send(client, method, url, *, query=None, form=None, files=None, body=None, headers=None, json_api=False):
    headers = dict(headers or {})
    if json_api:
        headers.setdefault("Accept", "application/json")
    if query:
        url = url + ("&" if "?" in url else "?") + _urlencode(query)
    if method == "GET":
        return client.get(url, headers=headers)
    if body is not None:
        return client.open(url, method=method, data=body, content_type="application/json", headers=headers)
    if not files:
        return client.open(
            url,
            method=method,
            data=_urlencode(form or {}),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
    data = dict(form or {})
    for name, (filename, content) in files.items():
        data[name] = (io.BytesIO(content), filename)
    return client.open(url, method=method, data=data, headers=headers)


def _role_client(app, endpoint, role, seed):
    client, token = _client(app, endpoint, role, seed)
    headers = {}
    if endpoint.startswith("api.") and role != "anonymous":
        if endpoint in SESSION_API:
            headers["X-CSRFToken"] = token
        else:
            headers["Authorization"] = f"Bearer {seed['tokens'][role]}"
    if endpoint.startswith("/dashboard") and role != "anonymous":
        headers["X-CSRFToken"] = token
    return client, token, headers


def _allowed(resp) -> bool:
    """Whether the benign request got past who-may-use-this: not a login page, 401, 403 or 404."""
    if resp.status_code in (401, 403, 404):
        return False
    return not (resp.status_code in (301, 302, 303) and "/login" in resp.headers.get("Location", ""))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_hostile_input_never_answers_5xx(endpoint, app, session, page_forms, request):
    if endpoint.startswith("admin.holiday"):
        request.getfixturevalue("restore_calendar")
    _record_reads(app)
    seed = _seed(session, app, endpoint)
    if endpoint.startswith("schedule."):
        from tracker.services.scheduling.weekly import generate_week

        generate_week(session, TODAY)
        session.commit()
    walk = Walk(app, endpoint, seed)
    methods = sorted(m for e, m in ROUTE_METHODS if e == endpoint)
    app.logger.addHandler(walk.handler)
    try:
        for method in methods:
            for role in ROLES:
                _walk_role(walk, method, role, page_forms.get((endpoint, method), {}))
    finally:
        app.logger.removeHandler(walk.handler)
    assert walk.params["path"] >= set(_rule(app, endpoint).arguments)
    if endpoint.startswith("api.") and {"POST", "PATCH"} & set(methods) or endpoint.endswith("_dash-update-component"):
        assert walk.params["json"], "no JSON field was walked"
    # every role: the benign request and at least the other controls all at once
    assert walk.sent >= len(methods) * len(ROLES) * (1 + len(OTHER_CONTROLS))
    assert not walk.failures, f"{endpoint}: {len(walk.failures)} of {walk.sent} requests failed:\n" + "\n".join(
        walk.failures[:40]
    )


def _walk_role(walk: Walk, method: str, role: str, page_fields: dict) -> None:
    app, endpoint, seed = walk.app, walk.endpoint, walk.seed
    is_api = endpoint.startswith("api.")
    is_dash_post = endpoint == "/dashboard/_dash-update-component"
    client, token, headers = _role_client(app, endpoint, role, seed)
    values = _path_values(app, endpoint, seed)[0]
    url = _build(app, endpoint, values)
    form, files = {}, {}
    if method != "GET" and not is_api:
        form = {k: v for k, (kind, v) in page_fields.items() if kind not in ("file", "submit")}
        form.update(FORM.get(endpoint, {}))
        form["csrf_token"] = token
        files = {k: ("说明.txt", b"x") for k, (kind, _v) in page_fields.items() if kind == "file"}
    json_bodies: list[dict] = []
    if is_api and method in ("POST", "PATCH", "PUT"):
        json_bodies = _openapi_fields(app, endpoint, method) or [{"base": {}, "fields": ["title"]}]
        for b in json_bodies:
            b["base"] = {**JSON_BODY.get(endpoint, {}), **b["base"]}
    if is_dash_post and role != "anonymous":
        json_bodies = [{"dash": p} for p in _dash_payloads(client)]
    if is_dash_post:
        headers = {**headers, "Origin": "http://localhost"}
    benign_body = _json_of(json_bodies[0]) if json_bodies else (b"" if is_api and method != "GET" else None)

    def send(*, url=url, query=None, form_=None, files_=None, body=benign_body, extra_headers=None):
        h = {**headers, **(extra_headers or {})}
        if method == "GET" or body is not None:
            return _send(client, method, url, query=query, body=body, headers=h, json_api=is_api)
        return _send(
            client,
            method,
            url,
            query=query,
            form=form if form_ is None else form_,
            files=files if files_ is None else files_,
            headers=h,
        )

    READ.clear()
    first = send()
    walk.check(first, f"{method} {role} benign", control=False)
    query_names = READ | {k for k in page_fields} if method == "GET" else set(READ)
    names = {
        "query": sorted(query_names - {"csrf_token"} - set(form) - set(files)),
        "form": sorted(set(form) - {"csrf_token"}),
        "files": sorted(files),
    }
    rule = _rule(app, endpoint)
    walk.params["path"].update(values)

    def all_at_once(label, value):
        short = LONG_IN_URL if value is HUGE_TEXT else value
        raw = {k: short for k in values}
        return send(
            url=_build(app, endpoint, values, raw) if raw else url,
            query={k: short for k in names["query"]} or {"q": short},
            form_={**form, **{k: value for k in names["form"]}},
            files_={k: (value[:200] + ".txt", b"x") for k in files},
        )

    if not _allowed(first):
        # Refused for who it is: every parameter hostile at once, once per value.
        for label, value in {**HOSTILE, **OTHER_CONTROLS}.items():
            walk.check(all_at_once(label, value), f"{method} {role} (refused) all={label}", control=label in CONTROL)
        return
    in_url = {**HOSTILE, "huge_text": LONG_IN_URL}
    for label, value in OTHER_CONTROLS.items():
        walk.check(all_at_once(label, value), f"{method} {role} all={label}", control=True)
    for arg in values:
        is_int = isinstance(rule._converters[arg], IntegerConverter)
        for label, value in ({**PATH_INTS, "nul": HOSTILE["nul"]} if is_int else in_url).items():
            resp = send(url=_build(app, endpoint, values, {arg: value}))
            walk.check(resp, f"{method} {role} path {arg}={label}", control=label in CONTROL)
    for name in names["query"]:
        walk.params["query"].add(name)
        for label, value in in_url.items():
            walk.check(send(query={name: value}), f"{method} {role} ?{name}={label}", control=label in CONTROL)
    for name in names["form"]:
        walk.params["form"].add(name)
        for label, value in HOSTILE.items():
            resp = send(form_={**form, name: value})
            walk.check(resp, f"{method} {role} form {name}={label}", control=label in CONTROL)
    for name in names["files"]:
        walk.params["files"].add(name)
        for label, value in HOSTILE.items():
            resp = send(files_={**files, name: (value[:300] + ".pdf", b"%PDF-1.4\n")})
            walk.check(resp, f"{method} {role} file name {name}={label}", control=label in CONTROL)
    for i, b in enumerate(json_bodies):
        _walk_json(walk, f"{method} {role}", b, send, every_value=i == 0)
    if json_bodies or benign_body is not None and method != "GET":
        for raw in MALFORMED_JSON:
            walk.check(send(body=raw), f"{method} {role} malformed {raw[:20]!r}", control=False)
    if not walk.headers_walked:  # the guard reads headers before any view: once per route
        walk.headers_walked = True
        for name in HEADERS:
            walk.params["headers"].add(name)
            for label, value in (("nul", HOSTILE["nul"]), ("escape", OTHER_CONTROLS["escape"]), ("long", "x" * 8000)):
                resp = send(extra_headers={name: value})
                walk.check(resp, f"{method} {role} header {name}={label}", control=label in CONTROL)


def _json_of(b: dict) -> bytes:
    return json.dumps(b["dash"] if "dash" in b else b["base"], allow_nan=True).encode()


# Later variants of a body (the transitions' actions after the first) get these values only.
SOME_VALUES = ("nul", "huge_text", "bidi_zero_width", "year_9999", "huge_number", "big_int", "null", "object")


def _walk_json(walk: Walk, what: str, b: dict, send, *, every_value: bool) -> None:
    values = {**HOSTILE, **JSON_EXTRA}
    if not every_value:
        values = {k: v for k, v in values.items() if k in SOME_VALUES}
    if "dash" in b:
        payload = b["dash"]
        for where in ("inputs", "state"):
            for i, item in enumerate(payload[where]):
                walk.params["json"].add(f"dash:{item['id']}.{item['property']}")
                for label, value in values.items():
                    changed = json.loads(json.dumps(payload))
                    changed[where][i]["value"] = value
                    changed["changedPropIds"] = [f"{item['id']}.{item['property']}"] if where == "inputs" else []
                    resp = send(body=json.dumps(changed, allow_nan=True).encode())
                    walk.check(resp, f"{what} dash {payload['output']} {where}[{i}]={label}", control=label in CONTROL)
        return
    for name in b["fields"]:
        walk.params["json"].add(name)
        for label, value in values.items():
            body = json.dumps({**b["base"], name: value}, allow_nan=True).encode()
            resp = send(body=body)
            walk.check(resp, f"{what} json {b['base'].get('action', '')}.{name}={label}", control=label in CONTROL)


# --- coverage of the walk itself -------------------------------------------------------------


def test_every_route_and_method_is_walked(app):
    """The walk's list is the app's: a new route is fuzzed without anyone adding it here."""
    walked = {(e, m) for e in ENDPOINTS for m in sorted(m for e2, m in ROUTE_METHODS if e2 == e)}
    every = set(_route_methods(app))
    assert walked == {(e, m) for e, m in every if e not in EXCLUDED}
    assert set(EXCLUDED) <= {e for e, _m in every}, "EXCLUDED names routes that no longer exist"
    assert len(ENDPOINTS) == len({e for e, _m in every}) - len(EXCLUDED) >= 150
    assert len(walked) >= 160, len(walked)  # (endpoint, method) pairs


def test_the_crawl_found_the_forms(page_forms):
    """The forms of the pages were read: the task report form and the office's new task form among them."""
    assert {"text", "percent"} <= set(page_forms[("tasks.report", "POST")])
    assert "title" in page_forms[("office.new_task", "POST")]
    assert {"q", "kind"} <= set(page_forms[("office.sources", "GET")])
    assert len(page_forms) > 60, len(page_forms)
