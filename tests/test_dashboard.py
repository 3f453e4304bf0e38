"""Agencies' figures on the scored demo: zone rankings against an independent computation
over the plot rows, a region's dashboard against the same rows, regions compared with their
differences in words, and the reports (PDF and XLSX) holding the API's figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
from collections import defaultdict

import lxml.html
import pytest
import shapely
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from maps.i18n import Translator


@pytest.fixture(scope="module")
def client(scored_engine):
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as test_client:
        yield test_client


def _current_run(conn, profile: str) -> int:
    # The demo is scored once per profile over all regions: the newest run is the current one.
    return conn.execute(text("""
        SELECT id FROM score_run WHERE profile = :p AND status = 'finished'
        ORDER BY finished_at DESC, id DESC LIMIT 1"""), {"p": profile}).scalar_one()


def _plots(conn):
    return conn.execute(text("""
        SELECT p.id, p.zone_id, p.status, p.readiness, p.brownfield, p.area_m2, p.last_verified,
               r.code AS region_code, m.population
        FROM plot p JOIN zone z ON z.id = p.zone_id
        JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id
        WHERE p.retired_at IS NULL""")).mappings().all()


def test_an_agencys_analyst_opens_the_dashboard_of_their_own_region(fresh_engine):
    """Gorenjska's agency lands on Gorenjska (SI042), not on the first region of the list;
    anybody else on the first region."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.test_hostile_pages import person, sign_in

    person(fresh_engine, "gorenjska-analyst", "agency", regions=["SI042"])
    with TestClient(create_app(engine=fresh_engine), follow_redirects=False) as client:
        anonymous = client.get("/maps/dashboard?lang=sl")
        assert anonymous.status_code == 303 and "/maps/dashboard/SI042" not in anonymous.headers[
            "location"]
        sign_in(client, "gorenjska-analyst")
        own = client.get("/maps/dashboard?lang=sl")
        assert own.status_code == 303
        assert own.headers["location"].split("?")[0].endswith("/maps/dashboard/SI042")


def test_the_zone_ranking_downloads_as_the_page_reads(client):
    """The ranking page's CSV and XLSX: its headings in the page's language, its order, every
    zone; a bad region is refused, never a 500, and reaches no header."""
    page = client.get("/maps/rankings", params={"region": "SI042", "sort": "name",
                                                "lang": "sl"})
    shown = lxml.html.fromstring(page.text).xpath(
        "//table[@id='ranking']/tbody/tr/td[2]/a/text()")
    answer = client.get("/maps/rankings.csv", params={"region": "SI042", "sort": "name",
                                                      "lang": "sl"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].endswith('-sl.csv"')
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["#", "Cona"] and "Prosta površina (m²)" in rows[0]
    assert [row[1] for row in rows[1:]] == shown and len(shown) > 1
    for params in ({"region": "<b>"}, {"region": "X\r\nSet-Cookie: a=b"}, {"region": "ŠŠŠ"},
                   {"kind": "%(message)s"}, {"sort": "-nothing"}):
        refused = client.get("/maps/rankings.xlsx", params=params)
        assert refused.status_code in (400, 404, 422), params
        assert "set-cookie" not in refused.headers


def by_key(book, key: str):
    """A report's sheet by its section's key (the sheet's code name; its tab shows the
    section's title in the report's language)."""
    return next(sheet for sheet in book.worksheets if sheet.sheet_properties.codeName == key)


def test_zone_ranking_matches_a_computation_over_the_plot_rows(client, scored_engine):
    """Median and best score over each zone's plots that pass the gates, available area and
    occupancy from the plots' statuses, distance to the nearest junction by shapely: the API
    gives the same, in the order asked for."""
    with scored_engine.connect() as conn:
        run = _current_run(conn, "logistics")
        scores = conn.execute(text("""
            SELECT p.zone_id, ps.total FROM plot_score ps JOIN plot p ON p.id = ps.plot_id
            WHERE ps.run_id = :run AND ps.passed"""), {"run": run}).all()
        plots = _plots(conn)
        zones = {row.id: shapely.from_wkb(bytes(row.wkb)) for row in conn.execute(text(
            "SELECT id, ST_AsBinary(boundary) AS wkb FROM zone"))}
        junctions = [shapely.from_wkb(bytes(w)) for (w,) in conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM infrastructure WHERE kind = 'motorway_junction'"))]
    by_zone = defaultdict(list)
    for zone_id, total in scores:
        by_zone[zone_id].append(total)
    area, taken, available = defaultdict(float), defaultdict(float), defaultdict(float)
    for plot in plots:
        area[plot["zone_id"]] += plot["area_m2"]
        if plot["status"] in ("sold", "occupied"):
            taken[plot["zone_id"]] += plot["area_m2"]
        if plot["status"] == "available":
            available[plot["zone_id"]] += plot["area_m2"]

    answer = client.get("/zones", params={"profile": "logistics", "sort": "-score"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["standard"] == {"name": "location-standard", "version": "1"}
    listed = [f["properties"] for f in body["features"]]
    assert len(listed) == len(zones)
    for zone in listed:
        totals = by_zone.get(zone["id"], [])
        if totals:
            assert zone["score_median"] == pytest.approx(statistics.median(totals), abs=0.051)
            assert zone["score_best"] == pytest.approx(max(totals), abs=0.051)
        else:
            assert zone["score_median"] is None and zone["score_best"] is None
        assert zone["available_area_m2"] == pytest.approx(available[zone["id"]], abs=0.1)
        if area[zone["id"]]:
            assert zone["occupancy_share"] == pytest.approx(taken[zone["id"]] / area[zone["id"]],
                                                            abs=0.0001)
        nearest = min(zones[zone["id"]].distance(j) for j in junctions) / 1000
        assert zone["motorway_km"] == pytest.approx(nearest, abs=0.006)
    # Best median first, zones without a scored plot last.
    medians = [z["score_median"] for z in listed]
    scored = [m for m in medians if m is not None]
    assert scored == sorted(scored, reverse=True) and medians[len(scored):] == \
        [None] * (len(medians) - len(scored))
    assert len(scored) >= 10

    # Every other order the ranking page offers, each against the same rows.
    nearest_first = [f["properties"]["motorway_km"] for f in client.get(
        "/zones", params={"sort": "motorway"}).json()["features"]]
    assert nearest_first == sorted(nearest_first)
    most_land = [f["properties"]["available_area_m2"] for f in client.get(
        "/zones", params={"sort": "-available", "region": "AT22"}).json()["features"]]
    assert most_land == sorted(most_land, reverse=True)
    assert len(most_land) == len({p["zone_id"] for p in plots if p["region_code"].startswith("AT22")}
                                 | {z["id"] for z in listed if z["region_code"].startswith("AT22")})


def test_rankings_rank_zones_too_and_read_a_region_at_any_level(client):
    """/rankings?region=AT22 returned nothing: Styria is six NUTS-3 regions. Now a prefix
    covers them, zones are ranked beside the plots, and an unknown region is refused."""
    ranked = client.get("/rankings", params={"profile": "logistics", "region": "AT22"}).json()
    assert ranked["plots"] and all(p["region_code"].startswith("AT22") for p in ranked["plots"])
    assert ranked["zones"] and all(z["region_code"].startswith("AT22") for z in ranked["zones"])
    medians = [z["score_median"] for z in ranked["zones"] if z["score_median"] is not None]
    assert medians == sorted(medians, reverse=True)
    # An exact code still means that region alone, as before.
    gorenjska = client.get("/rankings", params={"profile": "logistics", "region": "SI042"}).json()
    assert {p["region_code"] for p in gorenjska["plots"]} == {"SI042"}
    unknown = client.get("/rankings", params={"profile": "logistics", "region": "AT99"})
    assert unknown.status_code == 400 and "AT99" in unknown.text
    needs_profile = client.get("/zones", params={"sort": "-score"})
    assert needs_profile.status_code == 400 and "profile" in needs_profile.text


def test_a_regions_dashboard_holds_what_its_plot_rows_say(client, scored_engine):
    with scored_engine.connect() as conn:
        plots = [p for p in _plots(conn) if p["region_code"].startswith("AT22")]
        today = conn.execute(text("SELECT current_date")).scalar_one()
    figures = client.get("/dashboard/AT22").json()
    assert figures["regions"] == ["AT221", "AT222", "AT223", "AT224", "AT225", "AT226"]
    assert figures["plots"] == len(plots)
    by_status = {row["status"]: row for row in figures["by_status"]}
    for status in ("available", "sold", "occupied", "reserved"):
        mine = [p for p in plots if p["status"] == status]
        assert by_status[status]["plots"] == len(mine)
        assert by_status[status]["area_m2"] == pytest.approx(sum(p["area_m2"] for p in mine), abs=0.1)
    tiers = {row["readiness"]: row["area_m2"] for row in figures["available_by_readiness"]}
    assert tiers["shovel_ready"] == pytest.approx(sum(
        p["area_m2"] for p in plots if p["status"] == "available"
        and p["readiness"] == "shovel_ready"), abs=0.1)
    total = sum(p["area_m2"] for p in plots)
    taken = sum(p["area_m2"] for p in plots if p["status"] in ("sold", "occupied"))
    assert figures["occupancy_share"] == pytest.approx(taken / total, abs=0.0001)
    since = today.replace(year=today.year - 1) if not (today.month == 2 and today.day == 29) \
        else dt.date(today.year - 1, 2, 28)
    fresh = [p for p in plots if p["last_verified"] and p["last_verified"] >= since]
    assert figures["freshness"]["verified_plots"] == len(fresh)
    with scored_engine.connect() as conn:
        known, unknown = conn.execute(text("""SELECT count(m.population),
            count(*) FILTER (WHERE m.population IS NULL) FROM municipality m
            JOIN region r ON r.id = m.region_id WHERE r.code LIKE 'AT22%'""")).one()
    # Styria holds all 286 real Gemeinden; the demo knows the population of its towns only,
    # so Styria's is unknown, and said to be.
    assert (known, unknown) == (12, 274)
    assert figures["municipalities"] == 286
    assert figures["population"] is None
    assert figures["municipalities_without_population"] == unknown
    assert [s["profile"] for s in figures["scores"]] == ["logistics", "manufacturing", "services",
                                                         "technology"]
    logistics = figures["scores"][0]
    assert sum(b["plots"] for b in logistics["distribution"]) == logistics["ranked_plots"]
    ranked = client.get("/rankings", params={"profile": "logistics", "region": "AT22",
                                             "limit": 1000}).json()["plots"]
    assert logistics["ranked_plots"] == len(ranked)
    assert logistics["best"] == pytest.approx(max(p["score"] for p in ranked), abs=0.01)
    assert figures["standards"] == [{"name": "location-standard", "version": "1"}]


def test_regions_compared_say_what_differs_and_refuse_what_cannot_be_compared(client):
    comparison = client.get("/comparison", params=[("region", "SI042"), ("region", "AT22")]).json()
    assert [r["region"] for r in comparison["regions"]] == ["SI042", "AT22"]
    assert comparison["standards"] == [{"name": "location-standard", "version": "1"}]
    for difference in comparison["differences"]:
        assert {difference["higher"], difference["lower"]} == {"SI042", "AT22"}
        if difference["kind"] == "ratio":
            assert difference["ratio"] >= 1.5
            assert difference["values"][0] / difference["values"][1] == pytest.approx(
                difference["ratio"], abs=0.06)
    answers = {
        "one": client.get("/comparison", params={"region": "SI042"}),
        "twice": client.get("/comparison", params=[("region", "SI042"), ("region", "SI042")]),
        "unknown": client.get("/comparison", params=[("region", "SI042"), ("region", "XX1")]),
        "not a code": client.get("/comparison", params=[("region", "SI042"), ("region", "<b>")]),
    }
    for name, answer in answers.items():
        assert answer.status_code == 400, name
    assert "region[2]" in answers["unknown"].text


def test_the_comparison_page_compares_a_region_chosen_twice_once(client):
    """The form preselects three regions: setting two of them to the third's region asks for
    two regions, not for an error; what cannot be compared is said in the page's words."""
    page = client.get("/maps/compare", params=[("region", "SI042"), ("region", "AT22"),
                                                ("region", "AT22"), ("lang", "sl")])
    assert page.status_code == 200, page.text
    compared = client.get("/maps/compare", params=[("region", "SI042"), ("region", "AT22"),
                                                    ("lang", "sl")])
    def same(html: str) -> str:  # the page's body, without the ids folium draws at random
        body = html[html.index("<main"):]
        return re.sub(r"_[0-9a-f]{32}", "_id", re.sub(r'nonce="[^"]*"', "", body))

    assert same(page.text) == same(compared.text)
    # The same region twice is one region: a start, as from a dashboard's link, not an error.
    one = client.get("/maps/compare", params=[("region", "SI042"), ("region", "si042"),
                                               ("lang", "sl")])
    assert one.status_code == 200 and 'role="alert"' not in one.text
    words = {
        "period": ([("region", "SI042"), ("region", "AT22"), ("from", "2027-01"),
                    ("to", "2025-01")], "Mesece vnesite kot LLLL-MM"),
    }
    for name, (params, said) in words.items():
        answer = client.get("/maps/compare", params=params + [("lang", "sl")])
        assert answer.status_code == 400, name
        assert f'<p class="problem general" role="alert">{said}' in answer.text, name
        assert "each region may be given once" not in answer.text
        assert "is after" not in answer.text and "compare 2 to 4" not in answer.text, name


def test_per_inhabitant_figures_only_where_the_population_is_known(fresh_engine):
    from api.app import create_app

    with fresh_engine.begin() as conn:
        conn.execute(text("""UPDATE municipality SET population = NULL WHERE id =
            (SELECT m.id FROM municipality m JOIN region r ON r.id = m.region_id
             WHERE r.code = 'SI042' ORDER BY m.id LIMIT 1)"""))
    with TestClient(create_app(fresh_engine)) as client:
        # Podravska: every municipality's population known (Styria's Gemeinden are not all).
        comparison = client.get("/comparison", params=[("region", "SI042"),
                                                       ("region", "SI032")]).json()
        page = client.get("/maps/compare", params=[("region", "SI042"), ("region", "SI032"),
                                                   ("lang", "en")]).text
    gorenjska, podravska = comparison["regions"]
    assert gorenjska["population"] is None and gorenjska["per_inhabitant"] is None
    assert gorenjska["municipalities_without_population"] == 1
    assert podravska["per_inhabitant"]["available_area_m2"] > 0
    assert comparison["population_unknown"] == ["SI042"]
    assert not any(d["measure"] == "available_per_inhabitant" for d in comparison["differences"])
    assert "Population not known for: Gorenjska" in page


def _figures_text(t: Translator, figures: dict) -> list[str]:
    """Figures as the report writes them."""
    tiers = {r["readiness"]: r["area_m2"] for r in figures["available_by_readiness"]}
    found = [t.area_ha(figures["available_area_m2"]), t.area_ha(tiers["shovel_ready"]),
             t.percent(figures["occupancy_share"]), t.percent(figures["freshness"]["share"]),
             t.number(figures["plots"])]
    for score in figures["scores"]:
        found += [t.number(score["median"], 1), t.number(score["best"], 1)]
    return found


@pytest.mark.parametrize("lang", ["sl", "de", "en"])
def test_the_report_pdf_and_workbook_hold_the_apis_figures(client, lang):
    t = Translator(lang)
    figures = client.get("/dashboard/SI042").json()
    pdf = client.get("/maps/dashboard/SI042/report.pdf", params={"lang": lang, "from": "2025-01"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    words = " ".join(words.split())
    assert t("report_title", region="Gorenjska") in words
    assert t("dash_standard", name="location-standard", version="1") in words
    assert t("report_period", start="2025-01", end=dt.date.today().strftime("%Y-%m")) in words
    for shown in _figures_text(t, figures):
        assert shown in words, shown

    workbook = client.get("/maps/dashboard/SI042/report.xlsx", params={"lang": lang})
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content))
    rows = {row[0]: row[1:] for row in by_key(book, "key_figures").iter_rows(min_row=3, values_only=True)}
    assert rows[t("dash_available_area") + " (m²)"][0] == figures["available_area_m2"]
    assert rows[t("dash_occupancy")][0] == figures["occupancy_share"]
    assert rows[t("dash_plots")][0] == figures["plots"]
    status = {row[0]: row[1:] for row in by_key(book, "status").iter_rows(min_row=3, values_only=True)}
    for item in figures["by_status"]:
        assert status[t.value("status", item["status"])] == (item["plots"], item["area_m2"])
    for score in figures["scores"]:
        sheet = {row[0]: row[1:] for row in
                 by_key(book, f"scores_{score['profile']}").iter_rows(min_row=3, values_only=True)}
        assert [sheet[f"{b['from']}–{b['to']}"][0] for b in score["distribution"]] == \
            [b["plots"] for b in score["distribution"]]
        assert sheet[t("dash_median")][0] == score["median"]
    assert t("dash_standard", name="location-standard", version="1") in [
        row[0] for row in book[t("report_sheet_about")[:31]].iter_rows(values_only=True)]


def test_a_comparison_report_says_the_differences_and_holds_each_regions_figures(client):
    t = Translator("en")
    params = [("region", "SI042"), ("region", "AT22"), ("lang", "en")]
    comparison = client.get("/comparison", params=params[:2]).json()
    pdf = client.get("/maps/compare/report.pdf", params=params)
    assert pdf.status_code == 200
    words = " ".join(" ".join(page.extract_text() for page in
                              PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert "Regions compared: Gorenjska, Styria (all of it)" in words
    assert comparison["differences"] and "Gorenjska" in words
    for figures in comparison["regions"]:
        for shown in _figures_text(t, figures)[:4]:
            assert shown in words, shown
    book = load_workbook(io.BytesIO(client.get("/maps/compare/report.xlsx", params=params).content))
    header = next(by_key(book, "key_figures").iter_rows(min_row=2, max_row=2, values_only=True))
    assert header[1:3] == ("Gorenjska", "Styria (all of it)")
    rows = {row[0]: row[1:] for row in by_key(book, "key_figures").iter_rows(min_row=3, values_only=True)}
    assert rows["Available area (m²)"][:2] == tuple(f["available_area_m2"]
                                                   for f in comparison["regions"])


@pytest.mark.parametrize("params", [{"from": "2027-01", "to": "2025-01"}, {"from": "2025-13"}])
def test_a_dashboard_period_that_is_no_period_keeps_the_dashboard_and_says_why(client, params):
    """The person stays on the dashboard, their months as typed, the reason beside them in
    the page's language; the figures are those of the whole time."""
    answer = client.get("/maps/dashboard/SI042", params={**params, "lang": "sl"})
    assert answer.status_code == 400
    doc = lxml.html.fromstring(answer.text)
    assert doc.get_element_by_id("period-error").text_content().startswith("Mesece vnesite kot")
    # Said where the page opens too: the months are typed at its foot.
    assert doc.xpath("//p[@role='alert']")[0].text_content().startswith("Mesece vnesite kot")
    assert doc.xpath("//input[@name='from']/@value") == [params["from"]]
    whole = lxml.html.fromstring(client.get("/maps/dashboard/SI042", params={"lang": "sl"}).text)
    tables = [t.text_content() for t in doc.xpath("//table")]
    assert tables and tables == [t.text_content() for t in whole.xpath("//table")]


@pytest.mark.parametrize("params", [{"from": "2025-13"}, {"from": "2025-05", "to": "2025-01"},
                                    {"to": "last"}])
def test_a_report_period_that_is_no_month_is_refused_naming_it(client, params):
    answer = client.get("/maps/dashboard/AT22/report.pdf", params=params)
    assert answer.status_code == 400
    assert next(iter(params)) in answer.json()["detail"]


def test_the_cli_writes_a_regions_report(scored_engine, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app
    from locations.db import get_engine
    from locations.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", scored_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        runner = CliRunner()
        pdf = tmp_path / "report.pdf"
        done = runner.invoke(app, ["report", "region", "AT22", "--from", "2025-01", "-o", str(pdf)])
        assert done.exit_code == 0, done.output
        assert pdf.read_bytes().startswith(b"%PDF")
        assert "Regional report: Styria (all of it)" in " ".join(
            " ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
        xlsx = tmp_path / "compare.xlsx"
        done = runner.invoke(app, ["report", "compare", "SI042", "AT22", "--lang", "de",
                                   "-o", str(xlsx)])
        assert done.exit_code == 0, done.output
        assert "Kennzahlen" in [c.value for c in by_key(load_workbook(xlsx), "key_figures")["A"]]
        # The tabs a person sees are named in the report's language, as its sheets' titles.
        names = load_workbook(xlsx).sheetnames
        assert "Kennzahlen" in names and not any("_" in name for name in names), names
        refused = runner.invoke(app, ["report", "region", "XX9", "-o", str(tmp_path / "x.pdf")])
        assert refused.exit_code == 1 and "XX9" in refused.output
        assert not (tmp_path / "x.pdf").exists()
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
