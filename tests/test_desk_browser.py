"""The municipality's desk as people use it, in Debian's Chromium: a Kranj editor previews and
applies a bulk XLSX in Slovenian words, is stopped by a bad row, answers an inquiry and
adds photos; other municipalities, agencies and forged forms change nothing; an admin
checks an import file and starts it; every page passes axe-core and fits a phone."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, text

from locations.settings import get_settings
from tests import desk_files
from tests.conftest import _drop_database, _engine_from_template
from tests.people import invite_and_sign_in
from tests.servers import serving
from tests.test_accessibility import AXE, TAGS
from tests.test_inquiries import smtp  # noqa: F401 - the fixture
from tests.test_investor_browser import browser  # noqa: F401 - the fixture

SHOTS = Path("/tmp/shots-desk")
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "plots-generic.geojson"


@pytest.fixture(scope="module")
def desk_engine(pg_server: str, template_db: str) -> Iterator[Engine]:
    """The module's own copy of the demo: its tests write."""
    name, engine = _engine_from_template(pg_server, template_db, "locations_test_desk")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def server(desk_engine) -> Iterator[str]:
    with serving(desk_engine) as url:
        yield url


def person(browser, server, engine, name, role, width=1280, **scope):  # noqa: F811
    """A browser context signed in as a new account ``name``."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    invite_and_sign_in(context, server, engine, name, role, **scope)
    return context


def kranj_plots(engine: Engine, status: str, count: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(
            "SELECT p.id, p.cadastral_ref, p.status, p.price_eur_m2, p.version FROM plot p "
            "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
            "WHERE m.name = 'Kranj' AND p.status = :s AND p.retired_at IS NULL "
            "ORDER BY p.id DESC LIMIT :n"), {"s": status, "n": count}).mappings()]


def plot_row(engine: Engine, plot_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM plot WHERE id = :id"),
                                 {"id": plot_id}).mappings().one())


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def axe_violations(tab) -> list[str]:
    tab.evaluate(AXE.read_text(encoding="utf-8"))
    results = tab.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    assert len(results["passes"]) > 10
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in results["violations"]]


def fits_the_width(tab) -> bool:
    return tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def shot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# -- bulk updates ------------------------------------------------------------------------------

def test_a_kranj_editor_previews_a_slovenian_xlsx_and_applies_it(browser, server,  # noqa: F811
                                                                 desk_engine):
    first, second = kranj_plots(desk_engine, "available", 2)
    sheet = xlsx([["Spremembe zemljišč Kranj"],
                  ["cadastral_ref", "status", "offer", "readiness", "price_eur_m2", "note"],
                  [first["cadastral_ref"], "rezervirano", "v najem", "komunalno opremljeno",
                   "55,5", "rezervacija podjetja"],
                  [second["cadastral_ref"], "V pogajanjih", None, None, None, None]])
    context = person(browser, server, desk_engine, "kranj-bulk", "municipality",
                     width=390, municipalities=["Kranj"])
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/bulk?lang=sl")
    assert tab.locator("h1").inner_text() == "Skupinske spremembe"
    tab.set_input_files("#bulk-file", files=[{"name": "spremembe.xlsx", "buffer": sheet,
                                              "mimeType": "application/vnd.openxmlformats-"
                                                          "officedocument.spreadsheetml.sheet"}])
    with tab.expect_navigation():
        tab.click("#bulk-upload button[type=submit]")
    # The preview: rows numbered as the sheet numbers them (a title above the header).
    summary = tab.locator("#bulk-summary").inner_text()
    assert "ničesar še ni spremenjeno" in summary and "spremenjenih zemljišč bi bilo 2" in summary
    row3 = tab.locator('#bulk-preview tr[data-row="3"]').inner_text()
    assert "prosto" in row3 and "rezervirano" in row3 and "v najem" in row3
    assert "55,50" in row3
    assert "v pogajanjih" in tab.locator('#bulk-preview tr[data-row="4"]').inner_text()
    assert plot_row(desk_engine, first["id"])["status"] == "available"  # nothing yet
    assert fits_the_width(tab)
    shot(tab, "bulk-preview-390")
    assert axe_violations(tab) == []

    tab.fill("#bulk-note", "Seja odbora 2. 12.")
    with tab.expect_navigation():
        tab.click("#bulk-apply button[type=submit]")
    assert "Končano" in tab.locator("#bulk-applied").inner_text()
    # Nothing left to correct: the form offers the next table, not a corrected one.
    assert "Naložite tabelo sprememb" in tab.locator("h2").all_inner_texts()
    shot(tab, "bulk-applied-390")
    changed = plot_row(desk_engine, first["id"])
    assert (changed["status"], changed["offer"], changed["readiness"]) == (
        "reserved", "lease", "serviced")
    assert float(changed["price_eur_m2"]) == 55.5
    assert plot_row(desk_engine, second["id"])["status"] == "under_negotiation"
    with desk_engine.connect() as conn:
        note = conn.execute(text("SELECT note FROM plot_event WHERE plot_id = :id "
                                 "ORDER BY id DESC LIMIT 1"), {"id": first["id"]}).scalar_one()
    assert note == "rezervacija podjetja"
    # The public page shows the new status in Slovenian.
    tab.goto(f"{server}/maps/plots/{first['id']}?lang=sl")
    assert "rezervirano" in tab.locator(".plot-head").inner_text()

    # Applying the same preview again is refused: the file was used up.
    context.close()


def test_a_bad_row_blocks_the_apply_naming_row_and_field(browser, server,  # noqa: F811
                                                        desk_engine):
    first, second = kranj_plots(desk_engine, "available", 2)
    sheet = xlsx([["cadastral_ref", "status", "price_eur_m2"],
                  [first["cadastral_ref"], "reserviert", None],
                  [second["cadastral_ref"], "rezervirano", "-3"],
                  ["9999-NI/1", "prodano", "1e309"]])
    context = person(browser, server, desk_engine, "kranj-bad-row", "municipality",
                     municipalities=["Kranj"])
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/bulk?lang=en")
    tab.set_input_files("#bulk-file", files=[{"name": "changes.xlsx", "buffer": sheet,
                                              "mimeType": "application/octet-stream"}])
    with tab.expect_navigation():
        tab.click("#bulk-upload button[type=submit]")
    blocked = tab.locator("#bulk-blocked").inner_text()
    assert "nothing can be applied" in blocked
    assert "Row 3: Asking price: enter a number from 0.01 to 100,000" in blocked
    assert "Row 4: Cadastral reference: no plot 9999-NI/1" in blocked
    assert "Upload a corrected table" in tab.locator("h2").all_inner_texts()
    # In Slovene, the same problems in Slovene words, naming the fields as the plot form does.
    tab.goto(f"{server}/maps/my/bulk?lang=sl")
    tab.set_input_files("#bulk-file", files=[{"name": "changes.xlsx", "buffer": sheet,
                                              "mimeType": "application/octet-stream"}])
    with tab.expect_navigation():
        tab.click("#bulk-upload button[type=submit]")
    problems = tab.locator("#bulk-preview tr[data-row='3'] .row-problems").inner_text()
    assert problems == "Izklicna cena: vnesite število od 0,01 do 100.000 ali pustite prazno."
    assert (tab.locator("#bulk-preview tr[data-row='4'] .row-problems").inner_text()
            == "Parcelna številka: ni zemljišča 9999-NI/1")
    assert "price_eur_m2" not in tab.inner_text("main") and "no plot" not in tab.inner_text("main")
    shot(tab, "bulk-problems-sl")
    assert tab.locator("#bulk-apply").count() == 0
    assert plot_row(desk_engine, first["id"])["status"] == "available"
    # A token guessed or kept from elsewhere applies nothing either.
    csrf = tab.locator("#bulk-upload input[name=csrf]").get_attribute("value")
    answer = context.request.post(f"{server}/maps/my/bulk/apply?lang=en",
                                  form={"csrf": csrf, "token": "x" * 43})
    assert answer.status == 404 and "upload it again" in answer.text()
    assert plot_row(desk_engine, first["id"])["status"] == "available"
    context.close()


def test_strangers_and_forged_forms_change_nothing(browser, server, desk_engine, smtp):  # noqa: F811
    (plot,) = kranj_plots(desk_engine, "available", 1)
    inquiry = stored_inquiry(desk_engine, plot["id"])
    kranj = person(browser, server, desk_engine, "kranj-owner", "municipality",
                   municipalities=["Kranj"])
    maribor = person(browser, server, desk_engine, "maribor-editor", "municipality",
                     municipalities=["Maribor"])
    agency = person(browser, server, desk_engine, "bsc-analyst", "agency", regions=["SI042"])

    def token_of(context, path):
        tab = context.new_page()
        tab.goto(server + path)
        value = tab.locator("input[name=csrf]").first.get_attribute("value")
        tab.close()
        return value

    # A preview staged by the Kranj editor, to be applied by others.
    sheet = f"cadastral_ref;status\n{plot['cadastral_ref']};rezervirano\n".encode()
    kranj_csrf = token_of(kranj, "/maps/my/bulk")
    preview = kranj.request.post(f"{server}/maps/my/bulk", multipart={
        "csrf": kranj_csrf, "file": {"name": "a.csv", "mimeType": "text/csv", "buffer": sheet}})
    assert preview.status == 200
    token = preview.text().split('name="token" value="')[1].split('"')[0]

    for context, name in ((maribor, "maribor"), (agency, "agency")):
        csrf = token_of(context, "/maps/my/inquiries")
        # The inquiry: answered or closed by neither.
        answer = context.request.post(f"{server}/maps/my/inquiries/{inquiry}/status",
                                      form={"csrf": csrf, "status": "closed"}, max_redirects=0)
        assert answer.status == 403, (name, answer.text())
        # A file on Kranj's plot: refused before its body is read.
        answer = context.request.post(f"{server}/maps/my/plots/{plot['id']}/files", multipart={
            "csrf": csrf, "file": {"name": "a.png", "mimeType": "image/png",
                                   "buffer": desk_files.png()}})
        assert answer.status == 403, (name, answer.text())
        # Kranj's staged preview: not theirs to apply.
        answer = context.request.post(f"{server}/maps/my/bulk/apply",
                                      form={"csrf": csrf, "token": token})
        assert answer.status in (403, 404), (name, answer.text())
    assert token_of(maribor, "/maps/my/bulk") is not None
    # An agency reads the inquiry of its region but has no buttons; bulk updates are not its.
    tab = agency.new_page()
    tab.goto(f"{server}/maps/my/inquiries/{inquiry}?lang=en")
    assert "its municipality answers it" in tab.content()
    assert tab.locator("form").filter(has=tab.locator("input[name=status]")).count() == 0
    assert tab.goto(f"{server}/maps/my/bulk").status == 403
    # Maribor does not even see Kranj's inquiry.
    assert maribor.new_page().goto(f"{server}/maps/my/inquiries/{inquiry}").status == 404

    # The Kranj editor's own forms, without their token or with another session's: nothing.
    for form in ({"status": "closed"}, {"status": "closed", "csrf": token_of(maribor, "/")}):
        answer = kranj.request.post(f"{server}/maps/my/inquiries/{inquiry}/status", form=form,
                                    max_redirects=0)
        assert answer.status == 403 and "security token" in answer.text()
    answer = kranj.request.post(f"{server}/maps/my/bulk/apply", form={"token": token})
    assert answer.status == 403
    answer = kranj.request.post(f"{server}/maps/my/plots/{plot['id']}/files", multipart={
        "file": {"name": "a.png", "mimeType": "image/png", "buffer": desk_files.png()}})
    assert answer.status == 403
    with desk_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM inquiry WHERE id = :id"),
                            {"id": inquiry}).scalar_one() == "new"
        assert conn.execute(text("SELECT count(*) FROM plot_attachment WHERE plot_id = :p"),
                            {"p": plot["id"]}).scalar_one() == 0
    assert plot_row(desk_engine, plot["id"])["status"] == "available"
    # Nobody signed in is sent to sign in, and a GET changes nothing.
    anonymous = browser.new_context()
    assert anonymous.request.get(f"{server}/maps/my/inquiries", max_redirects=0,
                                 headers={"Accept": "text/html"}).status == 303
    answer = anonymous.request.post(f"{server}/maps/my/inquiries/{inquiry}/status",
                                    form={"status": "closed"}, max_redirects=0)
    assert answer.status in (303, 401, 403)
    for context in (kranj, maribor, agency, anonymous):
        context.close()


# -- the inquiry inbox -------------------------------------------------------------------------

def stored_inquiry(engine: Engine, plot_id: int, lang: str = "sl") -> int:
    with engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO inquiry (plot_id, lang, name, company, email, message, consent_text, "
            "notification) VALUES (:p, :lang, 'Ana Novak', 'Novak Logistika d.o.o.', "
            "'ana.novak@novak-logistika.si', :message, 'consent', 'off') RETURNING id"),
            {"p": plot_id, "lang": lang,
             "message": "Ali je zemljišče še prosto?\nPotrebujemo 2 ha do pomladi."}
        ).scalar_one()


def test_the_editor_answers_an_inquiry_by_mailto_and_by_the_platforms_mail(
        browser, server, desk_engine, smtp):  # noqa: F811
    url, inbox = smtp
    (plot,) = kranj_plots(desk_engine, "available", 1)
    first = stored_inquiry(desk_engine, plot["id"])
    second = stored_inquiry(desk_engine, plot["id"], lang="de")
    context = person(browser, server, desk_engine, "kranj-inbox-editor", "municipality",
                     width=390, municipalities=["Kranj"])
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/inquiries?lang=sl&status=new")
    assert tab.locator(f'#inbox li[data-inquiry="{first}"]').count() == 1
    assert fits_the_width(tab)
    shot(tab, "inbox-390")
    assert axe_violations(tab) == []
    tab.click(f'#inbox li[data-inquiry="{first}"] a')
    mailto = tab.locator("#inquiry-mailto").get_attribute("href")
    assert mailto.startswith("mailto:ana.novak@novak-logistika.si?subject=Re%3A")
    assert "Spo%C5%A1tovani%20Ana%20Novak" in mailto
    assert fits_the_width(tab)
    shot(tab, "inquiry-390")
    assert axe_violations(tab) == []
    with tab.expect_navigation():
        tab.click('button[data-status="answered"]')
    assert tab.locator("#inquiry-status").inner_text() == "odgovorjeno"
    assert "kranj-inbox-editor: novo → odgovorjeno" in tab.locator("#inquiry-events").inner_text()

    # With a mail server set, the answer goes from the page, in the investor's language.
    import os
    os.environ["LOCATIONS_SMTP_URL"] = url
    get_settings.cache_clear()
    try:
        tab.goto(f"{server}/maps/my/inquiries/{second}?lang=en")
        assert tab.locator("#reply-text").input_value().startswith("Sehr geehrte/r Ana Novak,")
        tab.fill("#reply-text", "Sehr geehrte Frau Novak,\n\ndas Grundstück ist frei.\n")
        with tab.expect_navigation():
            tab.click("#inquiry-reply button[type=submit]")
        assert "answer was sent" in tab.locator("#inquiry-notice").inner_text()
        assert tab.locator("#inquiry-status").inner_text() == "answered"
    finally:
        del os.environ["LOCATIONS_SMTP_URL"]
        get_settings.cache_clear()
    (recipients, message), = inbox.messages
    assert recipients == ["ana.novak@novak-logistika.si"]
    assert message["Subject"].startswith("Re: Ihre Anfrage zum Grundstück")
    assert "das Grundstück ist frei." in message.get_content()
    with desk_engine.connect() as conn:
        assert conn.execute(text("SELECT via FROM inquiry_event WHERE inquiry_id = :id"),
                            {"id": second}).scalar_one() == "mail"
    context.close()


# -- photos and documents ----------------------------------------------------------------------

def test_a_photo_added_by_the_editor_shows_on_the_public_page_and_hostile_files_are_refused(
        browser, server, desk_engine):  # noqa: F811
    (plot,) = kranj_plots(desk_engine, "available", 1)
    context = person(browser, server, desk_engine, "kranj-photos", "municipality",
                     width=390, municipalities=["Kranj"])
    tab = context.new_page()
    tab.goto(f"{server}/maps/my/plots/{plot['id']}/files?lang=sl")
    for name, content, reason in (
            ("stran.png", desk_files.HTML_AS_PNG, "HTML"),
            ("logo.png", desk_files.SVG, "SVG"),
            ("bomba.png", desk_files.png_bomb(), "megapixels"),
            ("pokvarjena.png", desk_files.broken_png(), "broken")):
        tab.set_input_files("#file-file", files=[{"name": name, "mimeType": "image/png",
                                                  "buffer": content}])
        with tab.expect_navigation():
            tab.click("#files-upload button[type=submit]")
        assert reason in tab.locator("#files-error").inner_text(), name
    assert tab.locator("#files li").count() == 0

    tab.set_input_files("#file-file", files=[{"name": "pogled.jpg", "mimeType": "image/jpeg",
                                              "buffer": desk_files.jpeg(800, 600)}])
    tab.fill("#file-title", "Pogled z dovozne ceste")
    with tab.expect_navigation():
        tab.click("#files-upload button[type=submit]")
    assert "prikazana je na javni strani" in tab.locator("#files-notice").inner_text()
    tab.set_input_files("#file-file", files=[{"name": "načrt.pdf", "mimeType": "application/pdf",
                                              "buffer": desk_files.pdf()}])
    with tab.expect_navigation():
        tab.click("#files-upload button[type=submit]")
    assert tab.locator("#files li").count() == 2
    assert fits_the_width(tab)
    shot(tab, "files-390")
    assert axe_violations(tab) == []

    public = browser.new_context(viewport={"width": 390, "height": 900}).new_page()
    public.goto(f"{server}/maps/plots/{plot['id']}?lang=sl")
    image = public.locator("#files img")
    assert image.get_attribute("alt") == "Pogled z dovozne ceste"
    assert public.evaluate("img => img.naturalWidth", image.element_handle()) == 800
    assert public.locator("#files .plot-documents a").inner_text() == "načrt.pdf"
    public.locator("#files").scroll_into_view_if_needed()
    shot(public, "plot-with-files-390")

    # Removed again by the editor: gone from the public page.
    with tab.expect_navigation():
        tab.locator("#files li form button").first.click()
    assert tab.locator("#files li").count() == 1
    context.close()


# -- import jobs -------------------------------------------------------------------------------

def test_an_admin_checks_an_import_file_then_starts_it(browser, server, desk_engine):  # noqa: F811
    context = person(browser, server, desk_engine, "desk-admin", "admin", width=390)
    tab = context.new_page()
    tab.goto(f"{server}/maps/admin/imports?lang=de")
    tab.select_option("#import-target", "plots")
    tab.set_input_files("#import-file", str(SAMPLE))
    with tab.expect_navigation():
        tab.click("#import-upload button[type=submit]")
    deadline = time.monotonic() + 120
    while tab.locator("#job-state").get_attribute("data-state") in ("queued", "running"):
        assert time.monotonic() < deadline
        tab.wait_for_timeout(500)
        tab.reload()
    assert tab.locator("#job-state").get_attribute("data-state") == "succeeded", tab.content()
    # In the page's language: what the file would do, not the API's English summary.
    assert "würden neu angelegt" in tab.locator("#job-summary").inner_text()
    with desk_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot WHERE cadastral_ref LIKE "
                                 "'SAMPLE-%'")).scalar_one() == 0
    assert fits_the_width(tab)
    shot(tab, "import-dry-run-390")
    assert axe_violations(tab) == []
    with tab.expect_navigation():
        tab.click("#job-start button[type=submit]")
    deadline = time.monotonic() + 120
    while tab.locator("#job-state").get_attribute("data-state") in ("queued", "running"):
        assert time.monotonic() < deadline
        tab.wait_for_timeout(500)
        tab.reload()
    assert tab.locator("#job-state").get_attribute("data-state") == "succeeded", tab.content()
    with desk_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot WHERE cadastral_ref LIKE "
                                 "'SAMPLE-%'")).scalar_one() > 0
    tab.goto(f"{server}/maps/admin/imports?lang=de")
    assert tab.locator("#import-jobs tbody tr").count() >= 2
    assert axe_violations(tab) == []
    # A municipality editor may not open the admins' page.
    editor = person(browser, server, desk_engine, "kranj-no-admin", "municipality",
                    municipalities=["Kranj"])
    assert editor.new_page().goto(f"{server}/maps/admin/imports").status == 403
    editor.close()
    context.close()


def test_an_admin_chooses_the_layer_of_a_file_of_several(browser, server, desk_engine,  # noqa: F811
                                                         tmp_path):
    """A GeoPackage of two layers: the dry run's refusal names them and the page's own field
    to choose one (not only the command line's flag), and the field chooses it."""
    from tests.test_import_odd_files import two_layer_geopackage

    path, plots = two_layer_geopackage(tmp_path)
    context = person(browser, server, desk_engine, "desk-layers", "admin", width=390)
    tab = context.new_page()
    tab.goto(f"{server}/maps/admin/imports?lang=sl")
    tab.select_option("#import-target", "plots")
    tab.set_input_files("#import-file", str(path))
    with tab.expect_navigation():
        tab.click("#import-upload button[type=submit]")
    _wait_for_job(tab)
    assert tab.locator("#job-state").get_attribute("data-state") == "refused"
    page_text = tab.inner_text("main")
    assert "two layers.gpkg has several layers" in page_text and "import page" in page_text
    tab.goto(f"{server}/maps/admin/imports?lang=sl")
    assert tab.inner_text("label[for=import-layer]") == "Sloj ali list, če jih datoteka vsebuje več"
    tab.select_option("#import-target", "plots")
    tab.set_input_files("#import-file", str(path))
    tab.fill("#import-layer", "parcele")
    with tab.expect_navigation():
        tab.click("#import-upload button[type=submit]")
    _wait_for_job(tab)
    assert tab.locator("#job-state").get_attribute("data-state") == "succeeded", tab.content()
    summary = tab.locator("#job-summary").inner_text()  # new or unchanged: other tests ran
    assert "novih bi bilo" in summary and str(plots) in summary, summary
    assert fits_the_width(tab)
    shot(tab, "import-layer-390")
    context.close()


def _wait_for_job(tab) -> None:
    deadline = time.monotonic() + 120
    while tab.locator("#job-state").get_attribute("data-state") in ("queued", "running"):
        assert time.monotonic() < deadline
        tab.wait_for_timeout(500)
        tab.reload()


def test_an_admin_sees_what_new_boundaries_change_and_may_ask_to_reassign(
        browser, server, desk_engine, tmp_path):  # noqa: F811
    from tests.test_boundary_imports import _file_moving_zone, _zone_and_neighbour

    case = _zone_and_neighbour(desk_engine)
    path = _file_moving_zone(desk_engine, case, tmp_path / "gemeinden.geojson")
    context = person(browser, server, desk_engine, "desk-boundaries", "admin", width=390)
    tab = context.new_page()
    tab.goto(f"{server}/maps/admin/imports?lang=de")
    tab.select_option("#import-target", "municipalities")
    tab.set_input_files("#import-file", str(path))
    with tab.expect_navigation():
        tab.click("#import-upload button[type=submit]")
    _wait_for_job(tab)
    # Refused: the stranded zone named, with the remedy.
    problems = tab.locator("#job-problems").inner_text()
    assert f"leaves zone {case['zone']}" in problems and "--reassign" in problems
    assert tab.locator("#job-start").count() == 0
    # Again, asking to move what the new boundaries leave outside: each move listed.
    tab.goto(f"{server}/maps/admin/imports?lang=de")
    tab.select_option("#import-target", "municipalities")
    tab.set_input_files("#import-file", str(path))
    tab.check("#import-reassign")
    with tab.expect_navigation():
        tab.click("#import-upload button[type=submit]")
    _wait_for_job(tab)
    changes = tab.locator("#job-boundaries").inner_text()
    assert "Was die neuen Grenzen ändern" in changes
    assert (f"Nach Lage verschoben: Zone {case['zone']}, von {case['m_name']} ({case['m_code']}) "
            f"nach {case['n_name']} ({case['n_code']}).") in changes
    assert tab.locator("#job-start").count() == 1
    assert fits_the_width(tab)
    shot(tab, "import-boundaries-390")
    assert axe_violations(tab) == []
    with desk_engine.connect() as conn:  # a dry run: nothing moved
        assert conn.execute(text("SELECT municipality_id FROM zone WHERE id = :z"),
                            {"z": case["zone_id"]}).scalar_one() == case["m_id"]
    context.close()
