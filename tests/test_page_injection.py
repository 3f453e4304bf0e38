"""Hostile text in the data never runs as script on any page, with or without the CSP.

Every text column of the tables a page can show is filled with markup that would run
script if it reached the page as HTML: in the server's templates, in folium's inline
map data, or in the tooltips and popups the browser builds. Every HTML page of the
router is then opened in Chromium, its map features hovered and clicked, once with the
Content-Security-Policy on and once off (so escaping alone is shown to hold), and the
page must show the literal text and run none of it.
"""

from __future__ import annotations

import os
import uuid

import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from playwright.sync_api import sync_playwright
from sqlalchemy import Text, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from locations import tables
from locations.accounts import create_account
from locations.sign_in import invite
from tests.conftest import _create_database, _drop_database
from tests.page_ready import wait_until_drawn
from tests.servers import serving_app
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

#: Tables whose text may reach a page.
SHOWN = [tables.region, tables.municipality, tables.zone, tables.plot, tables.infrastructure,
         tables.constraint_area]
#: The literal part a visitor must see, and the two ways it would run if pasted as HTML.
LITERAL = '<b>"Kranj" & \'Co\'</b>'


def hostile(column: str) -> str:
    return (f"{LITERAL}<img src=x onerror=\"window.__ran.push('img {column}')\">"
            f"<script>window.__ran.push('script {column}')</script></script><svg onload="
            f"\"window.__ran.push('svg {column}')\">")


@pytest.fixture(scope="module")
def hostile_db(pg_server, template_db):
    """A copy of the demo where every text value that can be hostile is."""
    name = f"locations_test_hostile_{uuid.uuid4().hex[:8]}"
    url = _create_database(pg_server, name, template=template_db)
    engine = create_engine(url)
    filled = []
    with engine.connect() as conn:
        for table in SHOWN:
            for column in table.columns:
                if not isinstance(column.type, Text):
                    continue
                savepoint = conn.begin()
                try:
                    # The row id keeps values distinct where they must be unique.
                    conn.execute(text(
                        f"UPDATE {table.name} SET {column.name} = :value || ' #' || id"),
                        {"value": hostile(f"{table.name}.{column.name}")})
                    savepoint.commit()
                    filled.append(f"{table.name}.{column.name}")
                except DBAPIError:  # a code or vocabulary the database checks
                    savepoint.rollback()
    # The names and references visitors read first are among the filled columns.
    assert {"zone.name", "plot.cadastral_ref", "municipality.name", "region.name",
            "zone.description_en", "zone.manager_name"} <= set(filled)
    yield engine
    engine.dispose()
    _drop_database(pg_server, make_url(url).database)


def _routes(routes):
    """Every route, into included routers (FastAPI keeps them as nested objects)."""
    for route in routes:
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        if nested is not None:
            yield from _routes(nested)
        else:
            yield route


def page_urls(app, engine, **given: object) -> list[str]:
    """Every HTML page of the router, its path parameters filled from the hostile data
    (or ``given``)."""
    with engine.connect() as conn:
        zone_id, plot_id, region = conn.execute(text(
            "SELECT z.id, p.id, r.code FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id "
            "WHERE p.status = 'available' ORDER BY p.id LIMIT 1")).one()
    # An invitation of an account whose name is hostile: its page shows the name.
    name = f"{hostile('account.name')} #{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        create_account(conn, name, "investor")
        token = invite(conn, name, hours=1)
    # Pages for people signed in (an inquiry, an import job) send anonymous visitors to the
    # sign-in page, whatever the id.
    values = {"zone_id": zone_id, "plot_id": plot_id, "region_code": region, "token": token,
              "inquiry_id": 1, "job_id": 1, "region": region} | given
    extra_queries = {"/maps/search": f"?region={region}&status=available",
                     "/maps/zones/{zone_id}": f"?plot={plot_id}"}
    urls = []
    for route in _routes(app.routes):
        if not (isinstance(route, APIRoute) and "GET" in route.methods
                and route.response_class is HTMLResponse):
            continue
        missing = [p for p in route.param_convertors if p not in values]
        assert not missing, f"add a value for {missing} of {route.path} to this test"
        path = route.path.format(**values)
        urls.append(path + extra_queries.get(route.path, ""))
    return urls


WATCH = """
window.__ran = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _app(engine, csp: bool):
    from api.app import create_app
    from locations.settings import get_settings

    # The setting holds while the app is made only: a page served later that read the
    # settings would otherwise cache "no CSP" for every test after this one.
    before = os.environ.get("LOCATIONS_CSP")
    os.environ["LOCATIONS_CSP"] = "1" if csp else "0"
    get_settings.cache_clear()
    try:
        return create_app(engine)
    finally:
        if before is None:
            os.environ.pop("LOCATIONS_CSP", None)
        else:
            os.environ["LOCATIONS_CSP"] = before
        get_settings.cache_clear()


def _visit_every_page(app, urls: list[str], csp: bool, sign_in: tuple[str, str] | None = None
                      ) -> list[str]:
    """Open each page in Chromium (signed in as ``sign_in``'s name and password), touch its
    map features, and assert that nothing ran and the CSP blocked none of the page's own
    code; the pages that showed the literal text."""
    shown_literally = []
    with serving_app(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.add_init_script(WATCH)
        tab = context.new_page()
        if sign_in is not None:
            tab.goto(base + "/maps/sign-in")
            tab.fill("input[name=name]", sign_in[0])
            tab.fill("input[name=password]", sign_in[1])
            with tab.expect_navigation():
                tab.click("form button[type=submit]")
            assert tab.locator("header.site nav.account .person").count() == 1
        for url in urls:
            response = tab.goto(base + url)
            assert response.status == 200, url
            assert ("content-security-policy" in response.headers) is csp
            if sign_in is not None and not url.startswith("/maps/sign-in"):
                assert "/maps/sign-in" not in tab.url, f"{url} asked to sign in"
            # Drawn, not network-idle: a page that polls (a running job) is never idle.
            wait_until_drawn(tab)
            # Tooltips and popups are built in the browser when a feature is touched.
            features = tab.locator("path.leaflet-interactive")
            for index in range(min(features.count(), 6)):
                feature = features.nth(index)
                if feature.is_visible():
                    feature.dispatch_event("mouseover")
                    feature.dispatch_event("click")
            tab.wait_for_timeout(150)
            ran = tab.evaluate("window.__ran")
            assert ran == [], f"{url} ran hostile text: {ran}"
            violations = tab.evaluate("window.__csp")
            assert violations == [], f"{url}: the CSP blocked the page's own {violations}"
            if LITERAL in tab.inner_text("body"):
                shown_literally.append(url.split("?")[0])
        browser.close()
    return shown_literally


@pytest.mark.parametrize("csp", [True, False], ids=["csp-on", "csp-off"])
def test_no_page_runs_hostile_text_and_each_shows_it_literally(hostile_db, csp):
    app = _app(hostile_db, csp)
    urls = page_urls(app, hostile_db)
    assert {"/", "/maps/overview", "/maps/compare", "/docs"} <= {u.split("?")[0] for u in urls}
    shown_literally = _visit_every_page(app, urls, csp)
    # The names reach the visitor as the very characters stored.
    assert {"/", "/maps/search", "/maps/zones/{zone_id}"} & {
        p if not p.startswith("/maps/zones/") else "/maps/zones/{zone_id}"
        for p in shown_literally} == {"/", "/maps/search", "/maps/zones/{zone_id}"}


@pytest.mark.parametrize("csp", [True, False], ids=["csp-on", "csp-off"])
def test_no_page_runs_hostile_text_for_a_signed_in_admin(hostile_db, csp):
    """The desk's pages (plots, forms, history, split, merge, outline, files, bulk, inbox,
    an inquiry, imports, accounts) are for people signed in: an admin, who may open every
    one, reads them over hostile plots and zones, an investor's hostile inquiry, a hostile
    file title, import job and account name."""
    from locations import attachments, import_jobs
    from locations.accounts import account_by_name
    from locations.sign_in import set_password
    from tests.desk_files import png

    app = _app(hostile_db, csp)
    # Short enough for the sign-in form's name field.
    name = f"{LITERAL}<img src=x onerror=\"window.__ran.push('admin')\"> #{uuid.uuid4().hex[:6]}"
    password = "correct horse battery staple"
    with hostile_db.begin() as conn:
        create_account(conn, name, "admin")
        admin = account_by_name(conn, name)
        set_password(conn, admin.id, password)
    with hostile_db.connect() as conn:
        plot_id = conn.execute(text("SELECT min(id) FROM plot WHERE status = 'available' "
                                    "AND retired_at IS NULL")).scalar_one()
    with hostile_db.begin() as conn:
        inquiry_id = conn.execute(text(
            "INSERT INTO inquiry (plot_id, lang, name, company, email, phone, message, "
            "consent_text, notification) VALUES (:p, 'en', :v, :v, 'ana@example.com', "
            "'+386 1 234', :v, "
            ":v, 'off') RETURNING id"), {"p": plot_id, "v": hostile("inquiry")}).scalar_one()
        attachments.add(conn, admin, plot_id, png(), "site.png", hostile("attachment.title")[:200])
        job_id = import_jobs.create_job(conn, admin, "plots", hostile("import_job.file_name"), {})
        conn.execute(text("UPDATE import_job SET state = 'refused', finished_at = now(), "
                          "error = :v WHERE id = :id"), {"v": hostile("import_job.error"),
                                                          "id": job_id})
    urls = page_urls(app, hostile_db, plot_id=plot_id, inquiry_id=inquiry_id, job_id=job_id)
    urls += [f"/maps/my/merge?plot={plot_id}"]
    shown_literally = _visit_every_page(app, urls, csp, sign_in=(name, password))
    assert {"/maps/my/plots", f"/maps/my/inquiries/{inquiry_id}",
            f"/maps/admin/imports/{job_id}", "/maps/admin/accounts"} <= set(shown_literally)
