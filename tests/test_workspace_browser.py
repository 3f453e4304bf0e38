"""A Kranj editor keeps plots current in a real Chromium (Debian's, via Playwright): changes a
plot's status with a reason (the public plot page, the map tile and the history show it),
marks another plot as still current, meets the "changed meanwhile" page when a colleague in
a second browser changed the plot first and re-applies; a Maribor plot's form is refused; a
form posted without its CSRF token or after the session ended changes nothing; the pages
pass axe-core and are usable at 390 px. Screenshots go to ``artifacts/`` (git-ignored)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright
from sqlalchemy import Engine, text

from tests.page_ready import wait_until_drawn
from tests.people import invite_and_sign_in
from tests.servers import serving
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.test_page_injection import hostile_db  # noqa: F401 (a fixture)
from tests.test_tiles import tile_of

AXE = Path(__file__).resolve().parent.parent / "maps" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
_names = itertools.count(1)


@pytest.fixture(scope="module")
def database(pg_server, template_db) -> Iterator[Engine]:
    """The module's own copy of the demo: its tests change plots, each a different one."""
    from tests.conftest import _drop_database, _engine_from_template

    name, engine = _engine_from_template(pg_server, template_db, "locations_test_wsbrowser")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def server(database) -> Iterator[str]:
    with serving(database) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def signed_in(browser, server: str, engine: Engine, role: str = "municipality",
              width: int = 1280, **scope) -> BrowserContext:
    """A browser context of a newly invited person, signed in (a Kranj editor by default)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    if role == "municipality":
        scope.setdefault("municipalities", ["Kranj"])
    invite_and_sign_in(context, server, engine, f"{role}-person-{next(_names)}", role, **scope)
    return context


def shoot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"workspace-{name}.png"), full_page=True)


def kranj_plot(engine: Engine, status: str, nth: int = 0) -> int:
    with engine.connect() as conn:
        return conn.execute(text("""
            SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE m.name = 'Kranj' AND p.status = :s AND p.retired_at IS NULL
            ORDER BY p.id OFFSET :n LIMIT 1"""), {"s": status, "n": nth}).scalar_one()


def plot_row(engine: Engine, plot_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("""
            SELECT status, price_eur_m2, internal_note, version, last_verified, retired_at,
                   current_date AS today,
                   (SELECT count(*) FROM plot_event e WHERE e.plot_id = p.id) AS events
            FROM plot p WHERE id = :id"""), {"id": plot_id}).mappings().one())


def tile_status(tab: Page, server: str, engine: Engine, plot_id: int) -> str:
    """The plot's status as the /tiles route's feature carries it (z16, decoded)."""
    with engine.connect() as conn:
        x, y = conn.execute(text("""
            SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(boundary_3857) AS c
                                           FROM plot WHERE id = :id) s"""),
                            {"id": plot_id}).one()
    tx, ty = tile_of(x, y, 16)
    answer = tab.request.get(f"{server}/tiles/plots/16/{tx}/{ty}.pbf")
    assert answer.ok
    tile = mapbox_vector_tile.decode(answer.body())
    [feature] = [f for layer in tile.values() for f in layer["features"]
                 if f["properties"].get("plot_id") == plot_id]
    return feature["properties"]["status"]


def test_an_editor_changes_a_status_with_a_reason_and_page_tile_and_history_show_it(
        browser, server, database):
    plot_id = kranj_plot(database, "available")
    events_before = plot_row(database, plot_id)["events"]
    context = signed_in(browser, server, database)
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/plots?lang=en")
    assert tab.title().startswith("My plots")
    shoot(tab, "list")
    tab.click(f"tr[data-plot-id='{plot_id}'] a.form-link")
    assert tab.url.startswith(f"{server}/maps/my/plots/{plot_id}")
    # Only the transitions the state machine allows from "available" are offered.
    offered = tab.eval_on_selector_all("#field-status option", "os => os.map(o => o.value)")
    assert offered == ["available", "reserved", "under_negotiation", "sold", "not_for_sale"]
    tab.select_option("#field-status", "reserved")
    tab.fill("#field-internal_note", "Acme wants it from March")
    tab.fill("#field-note", "reserved by Acme d.o.o. until the permit")
    shoot(tab, "form")
    tab.click("#save")
    # Post-redirect-get: the confirmation is a page of its own, reloading it changes nothing.
    assert "done=saved" in tab.url
    assert "are saved" in tab.text_content("#done")
    tab.reload()
    state = plot_row(database, plot_id)
    assert (state["status"], state["events"]) == ("reserved", events_before + 1)

    # The plot's page leads its editor to the form, and nobody else.
    tab.goto(f"{server}/maps/plots/{plot_id}?lang=en")
    assert tab.get_attribute("#edit-link", "href").startswith(f"/maps/my/plots/{plot_id}?")

    public = browser.new_context().new_page()
    public.goto(f"{server}/maps/plots/{plot_id}?lang=en")
    assert public.locator("#edit-link").count() == 0
    assert "reserved" in public.text_content(".plot-head")
    assert "Acme wants it" not in public.content()
    assert tile_status(public, server, database, plot_id) == "reserved"
    public.click("a#history-link")
    history = public.text_content("#history")
    assert "Availability: available → reserved" in history
    # The public sees what changed and when, not who, why, nor the internal note.
    assert "Acme" not in public.content() and "person" not in history
    public.context.close()

    tab.goto(f"{server}/maps/plots/{plot_id}/history?lang=en")
    first = tab.locator("#history > li").first
    assert "Availability: available → reserved" in first.text_content()
    assert "reserved by Acme d.o.o. until the permit" in first.text_content()
    assert "municipality-person-" in first.locator(".actor").text_content()
    shoot(tab, "history")
    context.close()


def test_an_editor_marks_a_stale_plot_as_still_current_in_one_click(browser, server, database):
    context = signed_in(browser, server, database)
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/plots?lang=sl")
    stale_row = tab.locator("#my-plots tbody tr.stale").first
    plot_id = int(stale_row.get_attribute("data-plot-id"))
    before = plot_row(database, plot_id)
    assert before["last_verified"] < before["today"]
    stale_row.locator("form.verify-row button").click()
    assert "done=verified" in tab.url
    assert "še veljajo" in tab.text_content("#done")
    after = plot_row(database, plot_id)
    assert after["last_verified"] == after["today"] and after["version"] == before["version"] + 1
    # Verified today, the plot is no longer among the stale ones, and its verification is
    # the municipality's latest change.
    assert "stale" not in (tab.locator(f"tr[data-plot-id='{plot_id}']").get_attribute("class")
                           or "")
    latest = tab.locator("#recent-changes > li").first
    assert latest.get_attribute("data-plot-id") == str(plot_id)
    assert latest.get_attribute("data-action") == "verify"
    context.close()


def test_a_form_sent_after_a_colleague_changed_the_plot_shows_what_changed_and_reapplies(
        browser, server, database):
    plot_id = kranj_plot(database, "available", nth=2)
    events_before = plot_row(database, plot_id)["events"]
    mine = signed_in(browser, server, database).new_page()
    theirs = signed_in(browser, server, database, width=390).new_page()
    mine.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    theirs.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    theirs.fill("#field-price_eur_m2", "91.5")
    theirs.fill("#field-note", "price list 2027")
    theirs.click("#save")
    assert "done=saved" in theirs.url

    mine.select_option("#field-status", "under_negotiation")
    mine.fill("#field-price_eur_m2", "99")
    mine.fill("#field-note", "talks with Beta GmbH")
    mine.click("#save")
    assert mine.locator("h1#conflict").is_visible()
    shoot(mine, "conflict")
    # Nothing of mine was written: their change stands alone.
    state = plot_row(database, plot_id)
    assert (state["status"], float(state["price_eur_m2"]), state["events"]) == (
        "available", 91.5, events_before + 1)
    meanwhile = mine.text_content("#meanwhile")
    assert "Asking price" in meanwhile and "91.50 €/m²" in meanwhile
    assert "price list 2027" in meanwhile and "municipality-person-" in meanwhile
    compared = {row.get_attribute("data-field"): (row.locator(".theirs").text_content(),
                                                   row.locator(".mine").text_content())
                for row in mine.locator("#theirs-and-mine tbody tr").all()}
    assert compared == {"status": ("available", "under negotiation"),
                        "price_eur_m2": ("91.50 €/m²", "99.00 €/m²")}
    mine.click("#reapply")
    assert "done=saved" in mine.url
    state = plot_row(database, plot_id)
    assert (state["status"], float(state["price_eur_m2"]), state["events"]) == (
        "under_negotiation", 99.0, events_before + 2)
    mine.context.close()
    theirs.context.close()


def test_discarding_mine_keeps_their_change_and_opens_the_current_plot(browser, server, database):
    plot_id = kranj_plot(database, "available", nth=3)
    mine = signed_in(browser, server, database).new_page()
    theirs = signed_in(browser, server, database).new_page()
    mine.goto(f"{server}/maps/my/plots/{plot_id}?lang=de")
    theirs.goto(f"{server}/maps/my/plots/{plot_id}?lang=de")
    theirs.select_option("#field-status", "reserved")
    theirs.click("#save")
    mine.fill("#field-internal_note", "my note")
    mine.click("#save")
    assert mine.locator("h1#conflict").is_visible()
    mine.click("#discard")
    assert mine.input_value("#field-internal_note") == ""
    assert mine.locator("#field-status option[selected]").get_attribute("value") == "reserved"
    assert plot_row(database, plot_id)["internal_note"] is None
    mine.context.close()
    theirs.context.close()


def test_a_bad_value_is_named_beside_its_field_in_the_page_language_and_nothing_is_written(
        browser, server, database):
    plot_id = kranj_plot(database, "reserved")
    before = plot_row(database, plot_id)
    tab = signed_in(browser, server, database, width=390).new_page()
    tab.goto(f"{server}/maps/my/plots/{plot_id}?lang=sl")
    tab.fill("#field-price_eur_m2", "poceni")
    tab.fill("#field-power_mw", "-2")
    tab.click("#save")
    assert tab.locator("#field-price_eur_m2").get_attribute("aria-invalid") == "true"
    assert "vnesite število od 0,01 do 100.000" in tab.text_content("#field-price_eur_m2-problem")
    assert "Priključna moč" in tab.text_content("#field-power_mw-problem")
    # What was typed stays in the form, to correct.
    assert tab.input_value("#field-price_eur_m2") == "poceni"
    shoot(tab, "errors-390")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    assert plot_row(database, plot_id) == before
    tab.context.close()


def test_another_municipality_s_plot_and_a_reader_are_refused(browser, server, database):
    with database.connect() as conn:
        maribor = conn.execute(text("""
            SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE m.name = 'Maribor' ORDER BY p.id LIMIT 1""")).scalar_one()
    before = plot_row(database, maribor)
    context = signed_in(browser, server, database)
    tab = context.new_page()
    answer = tab.goto(f"{server}/maps/my/plots/{maribor}?lang=en")
    assert answer.status == 403
    assert "belongs to Maribor" in tab.text_content("[role=alert]")
    # Posting to it with a valid token of the editor's own session changes nothing either.
    form = tab.request.post(f"{server}/maps/my/plots/{maribor}/verify?lang=en",
                            form={"csrf": _csrf_of(tab, server), "version": before["version"],
                                  "seen_event": 0}, max_redirects=0)
    assert form.status == 403
    assert plot_row(database, maribor) == before
    context.close()

    reader = signed_in(browser, server, database, role="agency", regions=["SI042"]).new_page()
    reader.goto(f"{server}/maps/my/plots?lang=en")
    assert reader.locator("#read-only").is_visible()
    assert reader.locator("form.verify-row").count() == 0
    answer = reader.goto(f"{server}/maps/my/plots/{kranj_plot(database, 'sold')}?lang=en")
    assert answer.status == 403
    reader.context.close()


def _csrf_of(tab: Page, server: str) -> str:
    tab.goto(f"{server}/maps/my/plots?lang=en")
    return tab.locator("input[name=csrf]").first.input_value()


def test_a_form_without_its_csrf_token_or_after_the_session_ended_changes_nothing(
        browser, server, database):
    plot_id = kranj_plot(database, "sold")
    before = plot_row(database, plot_id)
    context = browser.new_context()
    invite_and_sign_in(context, server, database, "kranj-expiring", "municipality",
                       municipalities=["Kranj"])
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    fields = {"version": str(before["version"]), "seen_event": "0",
              "opened": tab.locator("input[name=opened]").input_value(),
              "status": "occupied", "note": "forged"}
    csrf = tab.locator("input[name=csrf]").first.input_value()
    for form in (fields, {**fields, "csrf": "not-the-token"}):
        answer = tab.request.post(f"{server}/maps/my/plots/{plot_id}?lang=en", form=form,
                                  max_redirects=0)
        assert answer.status == 403
        assert "Nothing was changed" in answer.text()
    assert plot_row(database, plot_id) == before

    # The session expires: the same form, token and all, is sent to sign in instead.
    with database.begin() as conn:
        conn.execute(text("""
            UPDATE account_session SET created_at = now() - interval '400 days',
                                       last_seen_at = now() - interval '400 days'
            WHERE account_id = (SELECT id FROM account WHERE name = 'kranj-expiring')"""))
    answer = tab.request.post(f"{server}/maps/my/plots/{plot_id}?lang=en",
                              form={**fields, "csrf": csrf}, max_redirects=0,
                              headers={"Accept": "text/html"})
    assert answer.status == 303
    assert answer.headers["location"].startswith("/maps/sign-in")
    assert plot_row(database, plot_id) == before
    context.close()


def test_retiring_asks_first_and_then_takes_the_plot_off_the_list(browser, server, database):
    plot_id = kranj_plot(database, "not_for_sale")
    tab = signed_in(browser, server, database).new_page()
    tab.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    tab.click("#retire-link")
    # The confirmation is only a page: nothing has happened yet.
    assert plot_row(database, plot_id)["retired_at"] is None
    tab.fill("#field-note", "merged with the neighbouring plot")
    tab.click("#confirm-retire")
    assert "done=retired" in tab.url
    assert plot_row(database, plot_id)["retired_at"] is not None
    assert tab.locator(f"tr[data-plot-id='{plot_id}']").count() == 0
    tab.context.close()


PAGES = [
    ("list", "/maps/my/plots?lang=en"),
    ("list-sl", "/maps/my/plots?lang=sl&stale=1"),
    ("form", "/maps/my/plots/{plot}?lang=en"),
    ("form-de", "/maps/my/plots/{plot}?lang=de"),
    ("retire", "/maps/my/plots/{plot}/retire?lang=en"),
    ("history", "/maps/plots/{plot}/history?lang=en"),
]


@pytest.mark.parametrize("name, path", PAGES, ids=[p[0] for p in PAGES])
def test_the_workspace_pages_pass_axe_and_fit_a_phone(browser, server, database, name, path):
    plot_id = kranj_plot(database, "occupied")
    context = signed_in(browser, server, database)
    results = {}
    for width in (1280, 390):
        tab = context.new_page()
        tab.set_viewport_size({"width": width, "height": 844})
        tab.goto(server + path.format(plot=plot_id))
        wait_until_drawn(tab)
        assert tab.evaluate("document.documentElement.scrollWidth") <= width, name
        shoot(tab, f"{name}-{width}")
        tab.evaluate(AXE.read_text(encoding="utf-8"))
        results[width] = tab.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
        tab.close()
    context.close()
    for width, result in results.items():
        assert len(result["passes"]) > 10
        found = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
                 for v in result["violations"]]
        assert found == [], (width, found)


def test_the_changed_meanwhile_page_passes_axe(browser, server, database):
    plot_id = kranj_plot(database, "reserved", nth=1)
    mine = signed_in(browser, server, database).new_page()
    theirs = signed_in(browser, server, database).new_page()
    mine.goto(f"{server}/maps/my/plots/{plot_id}?lang=sl")
    theirs.goto(f"{server}/maps/my/plots/{plot_id}?lang=sl")
    theirs.fill("#field-note", "preverjeno")
    theirs.click("#verify")
    mine.fill("#field-internal_note", "klic lastnika")
    mine.click("#save")
    assert mine.locator("h1#conflict").is_visible()
    mine.set_viewport_size({"width": 390, "height": 844})
    shoot(mine, "conflict-390")
    assert mine.evaluate("document.documentElement.scrollWidth") <= 390
    mine.evaluate(AXE.read_text(encoding="utf-8"))
    result = mine.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    assert [v["id"] for v in result["violations"]] == []
    mine.context.close()
    theirs.context.close()


def test_hostile_text_in_plots_and_their_history_shows_literally_and_never_runs(
        browser, hostile_db):  # noqa: F811
    from locations import plot_updates
    from locations.accounts import account_by_name
    from tests.test_page_injection import LITERAL, WATCH, hostile

    with serving(hostile_db) as base:
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.add_init_script(WATCH)
        invite_and_sign_in(context, base, hostile_db, "hostile-editor", "municipality",
                           municipalities=[_hostile_municipality(hostile_db)])
        with hostile_db.begin() as conn:
            editor = account_by_name(conn, "hostile-editor")
            plot_id, version = conn.execute(text("""
                SELECT p.id, p.version FROM plot p JOIN zone z ON z.id = p.zone_id
                WHERE z.municipality_id = ANY(:m) AND p.retired_at IS NULL
                ORDER BY p.id LIMIT 1"""), {"m": list(editor.municipality_ids)}).one()
            plot_updates.update_plot(conn, editor, plot_id, version,
                                     {"internal_note": hostile("note"),
                                      "owner_contact": hostile("contact")},
                                     note=hostile("reason"))
        tab = context.new_page()
        for path in ("/maps/my/plots", f"/maps/my/plots/{plot_id}",
                     f"/maps/my/plots/{plot_id}/retire", f"/maps/plots/{plot_id}/history"):
            answer = tab.goto(f"{base}{path}?lang=en")
            assert answer.status == 200, path
            assert tab.evaluate("window.__ran") == [], path
            assert tab.evaluate("window.__csp") == [], path
            assert LITERAL in tab.inner_text("body"), path
        # The form gives the stored text back as the very characters stored.
        tab.goto(f"{base}/maps/my/plots/{plot_id}?lang=en")
        assert tab.input_value("#field-internal_note").startswith(LITERAL)
        context.close()


def _hostile_municipality(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("""
            SELECT z.municipality_id FROM plot p JOIN zone z ON z.id = p.zone_id
            ORDER BY p.id LIMIT 1""")).scalar_one())


def test_a_sale_recorded_late_keeps_the_day_it_took_effect(browser, server, database):
    # A plot whose latest recorded change lies days back: the sale can be dated between.
    with database.connect() as conn:
        plot_id, latest = conn.execute(text("""
            SELECT p.id, coalesce(max(e.effective_date), date '2020-01-01')
            FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            LEFT JOIN plot_event e ON e.plot_id = p.id AND e.action <> 'verify'
            WHERE m.name = 'Kranj' AND p.status IN ('under_negotiation', 'reserved')
              AND p.retired_at IS NULL
            GROUP BY p.id HAVING coalesce(max(e.effective_date), date '2020-01-01')
                                  < current_date - 2
            ORDER BY p.id DESC LIMIT 1""")).one()
    tab = signed_in(browser, server, database).new_page()
    tab.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    before = plot_row(database, plot_id)
    tab.select_option("#field-status", "sold")
    tab.fill("#field-effective_date", "2999-01-01")
    tab.click("#save")
    assert "not in the future" in tab.text_content("#field-effective_date-problem")
    assert plot_row(database, plot_id) == before
    # Before the plot's latest recorded change, the day would reorder its history: refused.
    tab.fill("#field-effective_date", (latest - dt.timedelta(days=1)).isoformat())
    tab.click("#save")
    assert tab.locator("#field-effective_date-problem").is_visible()
    assert plot_row(database, plot_id) == before
    day = latest + dt.timedelta(days=1)
    tab.fill("#field-effective_date", day.isoformat())
    tab.click("#save")
    assert "done=saved" in tab.url
    with database.connect() as conn:
        recorded = conn.execute(text("SELECT effective_date FROM plot_event WHERE plot_id = :p "
                                     "ORDER BY id DESC LIMIT 1"), {"p": plot_id}).scalar_one()
    assert recorded == day
    tab.goto(f"{server}/maps/plots/{plot_id}/history?lang=en")
    assert "took effect on" in tab.text_content("#history > li")
    tab.context.close()


def test_an_unchanged_form_sent_after_a_colleague_s_change_offers_only_the_current_plot(
        browser, server, database):
    plot_id = kranj_plot(database, "available", nth=4)
    mine = signed_in(browser, server, database).new_page()
    theirs = signed_in(browser, server, database).new_page()
    mine.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    theirs.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    theirs.select_option("#field-status", "sold")
    theirs.click("#save")
    after_theirs = plot_row(database, plot_id)
    mine.click("#save")
    # Nothing of mine to re-apply: what changed is shown, and the way to the current plot.
    assert mine.locator("h1#conflict").is_visible()
    assert mine.locator("#reapply").count() == 0
    assert "sold" in mine.text_content("#meanwhile")
    mine.click("#discard")
    assert mine.locator("#field-status option[selected]").get_attribute("value") == "sold"
    assert plot_row(database, plot_id) == after_theirs
    mine.context.close()
    theirs.context.close()
