"""Every write route of the router, API and page forms alike, by every role: who may, and
that nobody else changes anything.

The routes are collected from the application, so a write route added later fails this
test until it is given a request here and the action ``accounts.authorise`` checks for it.
Each route is tried by nobody, an unknown or revoked credential, an investor, an agency
analyst of the region, the editor of another municipality, the plot's own editor and an
admin; each refusal must leave the database as it was, each admitted caller must change it.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from locations.accounts import ACTION_ROLES, account_by_name, create_account, revoke_account
from locations.sign_in import set_password
from tests.desk_files import png
from tests.plot_shapes import split_body
from tests.test_authorisation import WRITES as API_WRITES
from tests.test_authorisation import cadastral_ref, sample_plots, target_in
from tests.test_page_injection import _routes

PASSWORD = "correct horse battery staple"

#: Writes anybody may send: they change no plot, zone or account, and each has its own
#: limits (searches and downloads read; an inquiry is an investor's message, limited per
#: address; signing in and invitations are how a person gets a session at all).
PUBLIC_WRITES = {
    "POST /plots/search": "a search with its filters in the body",
    "POST /exports/plots": "a download of a search",
    "POST /maps/plots/{plot_id}/inquiry": "an investor's inquiry (limited per address)",
    "POST /maps/sign-in": "signing in (limited per address and per name)",
    "POST /maps/sign-out": "signing out ends one's own session",
    "POST /maps/invitations/{token}": "setting one's password with an invitation link",
}

#: The callers of every route, refused ones first; who of them each action admits.
CALLERS = ("anonymous", "unknown", "revoked", "investor", "agency", "other editor",
           "own editor", "admin")
ADMITTED = {
    "edit": {"own editor", "admin"},
    "answer": {"own editor", "admin"},
    "import": {"own editor", "agency", "admin"},
    "import anything": {"admin"},
    "score": {"agency", "admin"},
    "manage accounts": {"admin"},
}


def test_the_matrix_knows_every_action_and_each_role_it_admits():
    assert set(ADMITTED) == set(ACTION_ROLES)
    role_of = {"own editor": "municipality", "agency": "agency", "admin": "admin"}
    for action, callers in ADMITTED.items():
        assert {role_of[c] for c in callers} == set(ACTION_ROLES[action]), action


# -- the database's state ------------------------------------------------------------------------

def fingerprint(engine: Engine) -> tuple:
    """Everything a write could change, as digests."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            """
            SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY p.id)) FROM plot p),
                   (SELECT md5(string_agg(z::text, ',' ORDER BY z.id)) FROM zone z),
                   (SELECT count(*) FROM plot_event), (SELECT count(*) FROM zone_event),
                   (SELECT count(*) FROM plot_attachment),
                   (SELECT md5(string_agg(i.id || i.status, ',' ORDER BY i.id)) FROM inquiry i),
                   (SELECT count(*) FROM inquiry_event),
                   (SELECT md5(string_agg(a.id || a.name || coalesce(a.revoked_at::text, '')
                                          || coalesce(a.password_hash, ''), ',' ORDER BY a.id))
                    FROM account a),
                   (SELECT count(*) FROM account_invitation),
                   (SELECT count(*) FROM score_run), (SELECT count(*) FROM import_job),
                   (SELECT count(*) FROM staged_upload)
            """)).one())


# -- callers -------------------------------------------------------------------------------------

@dataclass
class Caller:
    name: str
    headers: dict[str, str] = field(default_factory=dict)  # the API's bearer token
    browser: TestClient | None = None  # a browser session (pages)
    csrf: str = "0" * 64
    account: Any = None


class _Inputs(HTMLParser):
    """The fields of each form of a page: {action: {name: value or [values]}}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self.current: dict[str, Any] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.current = self.forms.setdefault(attributes.get("action") or "", {})
        elif tag == "input" and self.current is not None and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind in ("submit", "file", "button"):
                return
            self.current[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def form_of(client: TestClient, page: str, action: str) -> dict[str, Any]:
    """The fields of the form posting to ``action`` on ``page``, as the page wrote them."""
    answer = client.get(page, headers={"Accept": "text/html"})
    assert answer.status_code == 200, (page, answer.text[:500])
    parser = _Inputs()
    parser.feed(answer.text)
    found = {key.split("?")[0]: value for key, value in parser.forms.items()}
    assert action in found, (action, list(found))
    return dict(found[action])


def signed_in(app, engine: Engine, name: str) -> tuple[TestClient, str]:
    """A browser signed in as account ``name`` (its password set here), and its form token."""
    with engine.begin() as conn:
        set_password(conn, account_by_name(conn, name).id, PASSWORD)
    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/maps/sign-in").text).group(1)
    answer = client.post("/maps/sign-in", data={"name": name, "password": PASSWORD, "csrf": token})
    assert answer.status_code == 303, answer.text
    page = client.get("/maps/my/plots", headers={"Accept": "text/html"}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    return client, (csrf.group(1) if csrf else token)


def callers(app, engine: Engine) -> dict[str, Caller]:
    def make(key: str, role: str, **scope) -> Caller:
        name = f"matrix {key}"
        with engine.begin() as conn:
            token = create_account(conn, name, role, **scope)
            account = account_by_name(conn, name)
        browser, csrf = signed_in(app, engine, name)
        return Caller(key, {"Authorization": f"Bearer {token}"}, browser, csrf, account)

    made = {
        "investor": make("investor", "investor"),
        "agency": make("agency", "agency", regions=["SI042"]),
        "other editor": make("other editor", "municipality", municipalities=["Maribor"]),
        "own editor": make("own editor", "municipality", municipalities=["Kranj"]),
        "admin": make("admin", "admin"),
    }
    revoked = make("revoked", "municipality", municipalities=["Kranj"])
    with engine.begin() as conn:
        revoke_account(conn, "matrix revoked")
    anonymous = TestClient(app, follow_redirects=False)
    anonymous.__enter__()
    csrf = re.search(r'name="csrf" value="([^"]+)"', anonymous.get("/maps/sign-in").text).group(1)
    made["anonymous"] = Caller("anonymous", {}, anonymous, csrf)
    made["unknown"] = Caller("unknown", {"Authorization": "Bearer not-a-token"}, anonymous, "x")
    made["revoked"] = revoked
    return made


# -- targets -------------------------------------------------------------------------------------

def target(engine: Engine, municipality: str, admin) -> dict[str, Any]:
    """A plot and zone of ``municipality`` to act on, with a pair to merge, a file attached
    and an inquiry about the plot."""
    from locations import attachments

    found = target_in(engine, municipality)
    with engine.begin() as conn:
        found["file"] = attachments.add(conn, admin, found["plot"], png(), "site.png", "site")
        found["inquiry"] = conn.execute(text(
            "INSERT INTO inquiry (plot_id, lang, name, company, email, message, consent_text, "
            "notification) VALUES (:p, 'en', 'Ana', 'Firma', 'ana@example.com', 'Is it free?', "
            "'consent', 'off') RETURNING id"), {"p": found["plot"]}).scalar_one()
        found["ref"] = cadastral_ref(engine, found["plot"])
        found["outline"] = json.loads(conn.execute(text(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_Buffer(boundary, -0.5), 4326)) FROM plot "
            "WHERE id = :id"), {"id": found["plot"]}).scalar_one())
        found["account"] = conn.execute(text(
            "SELECT a.id FROM account a JOIN account_municipality am ON am.account_id = a.id "
            "JOIN municipality m ON m.id = am.municipality_id WHERE m.name = :m "
            "AND a.revoked_at IS NULL ORDER BY a.id LIMIT 1"), {"m": municipality}).scalar()
    return found


# -- page forms: how each is sent ------------------------------------------------------------------

PageWrite = Callable[[Caller, dict, dict, "Context"], Any]


@dataclass
class Context:
    engine: Engine
    admin: Caller

    def form(self, page: str, action: str) -> dict[str, Any]:
        return form_of(self.admin.browser, page, action)


def post_page(caller: Caller, path: str, data: dict | None = None, files=None):
    return caller.browser.post(path, data={**(data or {}), "csrf": caller.csrf}, files=files,
                               headers={"Accept": "text/html"})


def save_form(caller, target, ctx):
    path = f"/maps/my/plots/{target['plot']}"
    fields = ctx.form(path, path)
    return post_page(caller, path, {**fields, "status": "reserved"})


def verify_form(caller, target, ctx):
    path = f"/maps/my/plots/{target['plot']}"
    return post_page(caller, path + "/verify", ctx.form(path, path + "/verify"))


def retire_form(caller, target, ctx):
    path = f"/maps/my/plots/{target['plot']}"
    fields = ctx.form(path + "/retire", path + "/retire")
    return post_page(caller, path + "/retire", {**fields, "note": "sold as one with its neighbour",
                                                "confirm": "yes"})


def split_form(caller, target, ctx):
    body = split_body(ctx.engine, target["plot"], f"PSPLIT-{caller.name.replace(' ', '')}")
    fields = {"action": "split", "line": json.dumps(body["line"]), "note": body["note"],
              "version": str(_version(ctx.engine, target["plot"]))}
    fields |= {f"ref_{n + 1}": ref for n, ref in enumerate(body["cadastral_refs"])}
    return post_page(caller, f"/maps/my/plots/{target['plot']}/split", fields)


def merge_form(caller, target, ctx):
    first, second = target["pair"]
    fields = {"plots": [str(first), str(second)], "cadastral_ref": f"PMERGED-{first}",
              "note": "one buyer", f"version_{first}": str(_version(ctx.engine, first)),
              f"version_{second}": str(_version(ctx.engine, second))}
    return post_page(caller, f"/maps/my/merge?plot={first}", fields)


def outline_form(caller, target, ctx):
    return post_page(caller, f"/maps/my/plots/{target['plot']}/outline",
                     {"action": "replace", "outline": json.dumps(target["outline"]),
                      "version": str(_version(ctx.engine, target["plot"])),
                      "note": "surveyed again"})


def upload_file(caller, target, ctx):
    return post_page(caller, f"/maps/my/plots/{target['plot']}/files", {"title": "entrance"},
                     files={"file": ("entrance.png", io.BytesIO(png(32, 24)), "image/png")})


def delete_file(caller, target, ctx):
    return post_page(caller, f"/maps/my/plots/{target['plot']}/files/{target['file']}/delete")


def bulk_sheet(target) -> bytes:
    return f"cadastral_ref;status\n{target['ref']};reserved\n".encode()


def bulk_preview(caller, target, ctx):
    return post_page(caller, "/maps/my/bulk",
                     files={"file": ("changes.csv", io.BytesIO(bulk_sheet(target)), "text/csv")})


def stage_bulk_file(caller, target, ctx):
    """The file staged for the caller's own session (as a preview would, had the caller's
    scope been wider then), before the state is taken: the apply must check who applies."""
    from locations import staged_uploads

    if caller.account is None:
        return "none"
    with ctx.engine.begin() as conn:
        return staged_uploads.stage(conn, caller.account, caller.csrf, "plot_updates",
                                    "changes.csv", bulk_sheet(target))


def bulk_apply(caller, target, ctx, token):
    return post_page(caller, "/maps/my/bulk/apply", {"token": token, "note": "bulk"})


bulk_apply.prepare = stage_bulk_file


def inquiry_status(caller, target, ctx):
    return post_page(caller, f"/maps/my/inquiries/{target['inquiry']}/status",
                     {"status": "closed"})


def inquiry_reply(caller, target, ctx):
    return post_page(caller, f"/maps/my/inquiries/{target['inquiry']}/reply",
                     {"reply": "Yes, it is still free."})


def admin_import(caller, target, ctx):
    sheet = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    return post_page(caller, "/maps/admin/imports", {"target": "plots"},
                     files={"file": ("plots.geojson", io.BytesIO(sheet), "application/geo+json")})


def admin_import_start(caller, target, ctx):
    with ctx.engine.connect() as conn:
        job = conn.execute(text("SELECT max(id) FROM import_job")).scalar() or 1
    return post_page(caller, f"/maps/admin/imports/{job}/start")


def create_account_form(caller, target, ctx):
    return post_page(caller, "/maps/admin/accounts",
                     {"name": f"new {caller.name}", "role": "investor"})


def reset_account(caller, target, ctx):
    return post_page(caller, f"/maps/admin/accounts/{target['account']}/reset")


def revoke_account_form(caller, target, ctx):
    return post_page(caller, f"/maps/admin/accounts/{target['account']}/revoke")


def _version(engine: Engine, plot_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM plot WHERE id = :id"),
                            {"id": plot_id}).scalar_one()


# -- API writes: how each is sent -------------------------------------------------------------------

def api_write(maker):
    """A request maker of ``tests.test_authorisation`` as one of this matrix."""
    def send(caller, target, ctx):
        return maker(_api_client(ctx), ctx.engine, target, caller.headers)
    return send


_API: dict[int, TestClient] = {}


def _api_client(ctx: Context) -> TestClient:
    return _API[id(ctx)]


#: The sample plot each caller imports: Kranj's, Skofja Loka's (Gorenjska too), Maribor's.
SAMPLE_BY_CALLER = {"agency": "SAMPLE-2/1", "admin": "SAMPLE-3/1"}


def api_import(caller, target, ctx):
    file = sample_plots(SAMPLE_BY_CALLER.get(caller.name, "SAMPLE-1/1"))
    return _api_client(ctx).post(
        "/imports", headers=caller.headers, data={"target": "plots"},
        files={"file": ("plots.geojson", file, "application/geo+json")})


def score_run(caller, target, ctx):
    return _api_client(ctx).post("/scores/runs", json={"profile": "logistics", "region": "SI042"},
                                 headers=caller.headers)


#: Every write route: (the action it needs, how it is sent, what an admitted caller gets).
WRITES: dict[str, tuple[str, Callable, int]] = {
    **{route.replace("/plots/{id}", "/plots/{plot_id}").replace("/zones/{id}", "/zones/{zone_id}"):
       ("edit", api_write(maker), status) for route, (maker, status) in API_WRITES.items()},
    "POST /imports": ("import", api_import, 200),
    "POST /scores/runs": ("score", score_run, 202),
    "POST /maps/my/plots/{plot_id}": ("edit", save_form, 303),
    "POST /maps/my/plots/{plot_id}/verify": ("edit", verify_form, 303),
    "POST /maps/my/plots/{plot_id}/retire": ("edit", retire_form, 303),
    "POST /maps/my/plots/{plot_id}/split": ("edit", split_form, 303),
    "POST /maps/my/merge": ("edit", merge_form, 303),
    "POST /maps/my/plots/{plot_id}/outline": ("edit", outline_form, 303),
    "POST /maps/my/plots/{plot_id}/files": ("edit", upload_file, 303),
    "POST /maps/my/plots/{plot_id}/files/{file_id}/delete": ("edit", delete_file, 303),
    "POST /maps/my/bulk": ("edit", bulk_preview, 200),
    "POST /maps/my/bulk/apply": ("edit", bulk_apply, 200),
    "POST /maps/my/inquiries/{inquiry_id}/status": ("answer", inquiry_status, 303),
    # No mail server in the tests: an admitted caller is told so (the form again), after the check.
    "POST /maps/my/inquiries/{inquiry_id}/reply": ("answer", inquiry_reply, 400),
    "POST /maps/admin/imports": ("import anything", admin_import, 303),
    "POST /maps/admin/imports/{job_id}/start": ("import anything", admin_import_start, None),
    "POST /maps/admin/accounts": ("manage accounts", create_account_form, 200),
    "POST /maps/admin/accounts/{account_id}/reset": ("manage accounts", reset_account, 200),
    "POST /maps/admin/accounts/{account_id}/revoke": ("manage accounts", revoke_account_form, 200),
}


def write_routes(app) -> set[str]:
    found = set()
    for route in _routes(app.routes):
        if isinstance(route, APIRoute):
            for method in route.methods - {"GET", "HEAD", "OPTIONS"}:
                found.add(f"{method} {route.path}")
    return found


def test_every_write_route_is_in_the_matrix_or_public(fresh_engine):
    from api.app import create_app

    routes = write_routes(create_app(fresh_engine))
    missing = routes - set(WRITES) - set(PUBLIC_WRITES)
    assert not missing, f"add these write routes to WRITES (with their action): {sorted(missing)}"
    assert not (set(WRITES) | set(PUBLIC_WRITES)) - routes, "routes that no longer exist"


#: Refusals answered as a report: a bulk file's preview is a dry run that names each row the
#: caller may not change, and keeps nothing to apply.
REPORTED = {("POST /maps/my/bulk", "other editor"): (200, "may not edit")}
#: Admitted answers that change nothing: there is no mail server in the tests, and no job
#: to start again.
UNCHANGED = {"POST /maps/my/inquiries/{inquiry_id}/reply",
             "POST /maps/admin/imports/{job_id}/start"}


def refused_as(caller: str, route: str) -> tuple[int, ...]:
    """What a refused caller gets: nobody is asked to sign in (pages, 303) or 401 (API)."""
    page = route.split(" ", 1)[1].startswith("/maps/")
    if caller in ("anonymous", "unknown", "revoked"):
        return (303,) if page else (401,)
    return (403,)


@pytest.mark.parametrize("route", sorted(WRITES))
def test_write_route_by_every_role(fresh_engine, route):
    from api.app import create_app

    action, send, success = WRITES[route]
    app = create_app(fresh_engine)
    people = callers(app, fresh_engine)
    ctx = Context(fresh_engine, people["admin"])
    _API[id(ctx)] = TestClient(app, follow_redirects=False)
    admin_account = people["admin"].account
    kranj = target(fresh_engine, "Kranj", admin_account)
    maribor = target(fresh_engine, "Maribor", admin_account)
    try:
        for name in CALLERS:
            caller = people[name]
            admitted = name in ADMITTED[action]
            # The own editor and agency act in Kranj (Gorenjska), the admin in Maribor, the
            # other editor tries Kranj's plot.
            where = maribor if name == "admin" else kranj
            prepare = getattr(send, "prepare", None)
            extra = () if prepare is None else (prepare(caller, where, ctx),)
            before = fingerprint(fresh_engine)
            answer = send(caller, where, ctx, *extra)
            after = fingerprint(fresh_engine)
            if (route, name) in REPORTED:
                status, said = REPORTED[route, name]
                assert answer.status_code == status and said in answer.text, name
                assert after == before, f"{name} changed something through {route}"
                continue
            if not admitted:
                assert answer.status_code in refused_as(name, route), (
                    name, answer.status_code, answer.text[:400])
                if answer.status_code == 303:
                    assert answer.headers["location"].startswith("/maps/sign-in"), name
                assert after == before, f"{name} changed something through {route}"
                continue
            if success is not None:
                assert answer.status_code == success, (name, answer.status_code,
                                                       html.unescape(answer.text[:600]))
            else:
                assert answer.status_code not in (401, 403), (name, answer.text[:400])
            if route not in UNCHANGED:
                assert after != before, f"{name} changed nothing through {route}"
    finally:
        for caller in people.values():
            if caller.browser is not None:
                caller.browser.__exit__(None, None, None)
        _API.pop(id(ctx)).close()


# -- forms without their token --------------------------------------------------------------------

#: A form's token as a forged or stale form carries it: (value, why).
STALE_TOKENS = [
    (None, "no token at all: a form posted from another site"),
    ("", "an empty token"),
    ("0" * 64, "a token of the right shape that is nobody's"),
]


@pytest.mark.parametrize("route", sorted(r for r in WRITES if r.split(" ", 1)[1].startswith("/maps/")))
def test_every_page_form_without_its_token_changes_nothing(fresh_engine, route):
    """Signed in as an admin, who may send every form: without this session's token (as
    another site's page would post it), or with another session's, nothing changes."""
    from api.app import create_app

    _action, send, _success = WRITES[route]
    app = create_app(fresh_engine)
    people = callers(app, fresh_engine)
    admin = people["admin"]
    ctx = Context(fresh_engine, admin)
    _API[id(ctx)] = TestClient(app, follow_redirects=False)
    where = target(fresh_engine, "Maribor", admin.account)
    real = admin.csrf
    try:
        tokens = [*STALE_TOKENS, (people["own editor"].csrf, "another person's token")]
        for token, why in tokens:
            prepare = getattr(send, "prepare", None)
            extra = () if prepare is None else (prepare(admin, where, ctx),)
            before = fingerprint(fresh_engine)
            admin.csrf = token
            try:
                answer = _send_with_token(send, admin, where, ctx, extra)
            finally:
                admin.csrf = real
            assert answer.status_code == 403, (why, answer.status_code, answer.text[:300])
            assert fingerprint(fresh_engine) == before, f"{route} changed something: {why}"
    finally:
        for caller in people.values():
            if caller.browser is not None:
                caller.browser.__exit__(None, None, None)
        _API.pop(id(ctx)).close()


def _send_with_token(send, caller, where, ctx, extra):
    """``send`` as is, but with no csrf field at all when the token is None."""
    if caller.csrf is not None:
        return send(caller, where, ctx, *extra)
    original = caller.browser.post

    def without_token(path, data=None, **kwargs):
        return original(path, data={k: v for k, v in (data or {}).items() if k != "csrf"},
                        **kwargs)

    caller.browser.post = without_token
    try:
        return send(caller, where, ctx, *extra)
    finally:
        caller.browser.post = original


# -- reading changes nothing ------------------------------------------------------------------------

def test_no_page_changes_anything_when_it_is_read(fresh_engine):
    """Nothing is changed by a GET: every page of the router, read by an admin (who may open
    them all) and by nobody, leaves plots, zones, inquiries, accounts, invitations, runs
    and jobs as they were. A link in a mail or an <img> on another site can only GET."""
    from api.app import create_app
    from tests.test_page_injection import page_urls

    app = create_app(fresh_engine)
    people = callers(app, fresh_engine)
    admin = people["admin"]
    urls = page_urls(app, fresh_engine)  # makes an invitation of its own first
    assert len(urls) > 25
    before = fingerprint(fresh_engine)
    try:
        for url in urls:
            for browser in (admin.browser, people["anonymous"].browser):
                answer = browser.get(url, headers={"Accept": "text/html"})
                assert answer.status_code < 500, (url, answer.status_code)
                assert fingerprint(fresh_engine) == before, f"GET {url} changed something"
    finally:
        for caller in people.values():
            if caller.browser is not None:
                caller.browser.__exit__(None, None, None)
