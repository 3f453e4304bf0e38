"""A plot's permitted building height, end to end: kept by its municipality (API, bulk file,
import), bounded, found by an investor's search, shown on the plot page and the shortlist."""

from __future__ import annotations

import lxml.html
from sqlalchemy import Engine, text

from locations.importer import import_file
from tests.test_bulk_updates import kranj_plots, upload
from tests.test_import_validation import _good_rows, _write
from tests.test_plot_updates import etag, make_account


def height_of(engine: Engine, plot_id: int) -> float | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT max_building_height_m FROM plot WHERE id = :id"),
                            {"id": plot_id}).scalar_one()


def test_an_editor_sets_the_height_and_an_investor_finds_the_plot_by_it(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    (plot,) = kranj_plots(fresh_engine, "available", 1)
    path = f"/plots/{plot['id']}"
    changed = fresh_client.patch(path, json={"max_building_height_m": 18.5, "note": "zoning plan"},
                                 headers={**kranj, "If-Match": etag(fresh_client, path)})
    assert changed.status_code == 200, changed.text
    assert fresh_client.get(path).json()["properties"]["max_building_height_m"] == 18.5

    def found(least: float) -> set[int]:
        answer = fresh_client.get("/plots", params={"min_building_height_m": least, "limit": 500})
        assert answer.status_code == 200
        return {feature["id"] for feature in answer.json()["features"]}

    assert plot["id"] in found(18)
    assert plot["id"] not in found(19)
    events = fresh_client.get(f"{path}/history", headers=kranj).json()["events"]
    assert events[-1]["new_values"] == {"max_building_height_m": 18.5}
    assert events[-1]["note"] == "zoning plan"


def test_implausible_heights_are_refused_naming_the_field_and_nothing_is_written(fresh_client,
                                                                                 fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    (plot,) = kranj_plots(fresh_engine, "available", 1)
    path = f"/plots/{plot['id']}"
    for value in (0.2, -3, 5000):
        answer = fresh_client.patch(path, json={"max_building_height_m": value},
                                    headers={**kranj, "If-Match": etag(fresh_client, path)})
        assert answer.status_code in (400, 422), answer.text
        assert "max_building_height_m" in answer.text
    assert height_of(fresh_engine, plot["id"]) is None
    with fresh_engine.connect() as conn:  # whoever writes: the database refuses it too
        refused = conn.execute(text(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'plot_building_height_plausible'"
        )).scalar_one()
    assert refused == 1


def test_a_bulk_file_with_a_decimal_comma_sets_heights(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    a, b = kranj_plots(fresh_engine, "available", 2)
    csv = ("cadastral_ref;max_building_height_m\n"
           f"{a['cadastral_ref']};12,5\n"
           f"{b['cadastral_ref']};2000\n")
    refused = upload(fresh_client, kranj, csv)
    assert refused.status_code == 400 and "row 3" in refused.text
    assert "max_building_height_m" in refused.text
    assert height_of(fresh_engine, a["id"]) is None  # all or nothing
    applied = upload(fresh_client, kranj, csv.splitlines()[0] + "\n" + csv.splitlines()[1] + "\n")
    assert applied.status_code == 200, applied.text
    assert height_of(fresh_engine, a["id"]) == 12.5


def test_an_import_carries_the_height_and_names_a_bad_row(fresh_engine, tmp_path):
    rows = _good_rows(2)
    rows[0]["max_building_height_m"] = 25.0
    rows[1]["max_building_height_m"] = 0.001
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows), dry_run=True)
    problems = " ".join(str(p) for p in report.problems)
    assert "max_building_height_m" in problems
    rows[1]["max_building_height_m"] = None
    assert import_file(fresh_engine, "plots", _write(tmp_path, rows, name="ok.gpkg")).created == 2
    with fresh_engine.connect() as conn:
        heights = dict(conn.execute(text(
            "SELECT cadastral_ref, max_building_height_m FROM plot WHERE cadastral_ref LIKE 'TEST-%'")).all())
    assert heights == {"TEST-0": 25.0, "TEST-1": None}


def test_the_plot_page_and_the_search_page_show_the_height(fresh_client, fresh_engine):
    (plot,) = kranj_plots(fresh_engine, "available", 1)
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET max_building_height_m = 21 WHERE id = :id"), {"id": plot["id"]})
    page = lxml.html.fromstring(fresh_client.get(f"/maps/plots/{plot['id']}?lang=sl").text)
    facts = {" ".join(dt.text_content().split()): " ".join(dt.getnext().text_content().split())
             for dt in page.xpath("//dl/dt")}
    assert facts["Dovoljena višina objektov"] == "21,0 m"
    search = fresh_client.get("/maps/search?lang=de&min_building_height_m=20&region=SI042")
    assert search.status_code == 200
    assert "Zulässige Bauhöhe mindestens (m)" in search.text
    listed = lxml.html.fromstring(search.text).xpath("//table//a[contains(@href, '/maps/plots/')]/@href")
    assert any(href.split("?")[0].endswith(f"/maps/plots/{plot['id']}") for href in listed)
