"""Files as Excel and GIS write them in Slovenia and Austria: Windows-1250, ';', decimal commas,
day-first dates, shapefiles zipped in a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from locations.errors import InvalidInput
from locations.importer import import_file
from tests.test_bulk_updates import kranj_plots, upload
from tests.test_plot_updates import make_account

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _excel_csv(path: Path, lines: list[str]) -> Path:
    """A CSV as Excel saves it on a Slovenian Windows: Windows-1250, ';', CRLF."""
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1250"))
    return path


def _lon_lat_of(engine: Engine, *names: str) -> dict[str, list[float]]:
    """Where the infrastructure of these names was stored, in lon/lat."""
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT name, ARRAY[ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326))] "
            "FROM infrastructure WHERE name = ANY(:names)"), {"names": list(names)}).all())


def test_an_excel_csv_of_infrastructure_keeps_its_letters_and_positions(
        fresh_engine: Engine, tmp_path: Path) -> None:
    path = _excel_csv(tmp_path / "postaje.csv", [
        "kind;name;lon;lat",
        "bus_stop;Žabnica – Škofja Loka;14,3962;46,2311",
        "bus_stop;Großgmain Straße;15,6712;46,5309",
    ])
    report = import_file(fresh_engine, "infrastructure", path)
    assert report.written and not report.problems, report.describe_problems()
    assert report.encoding == "Windows-1250"
    stops = _lon_lat_of(fresh_engine, "Žabnica – Škofja Loka", "Großgmain Straße")
    assert stops["Žabnica – Škofja Loka"] == pytest.approx([14.3962, 46.2311], abs=1e-6)
    assert stops["Großgmain Straße"] == pytest.approx([15.6712, 46.5309], abs=1e-6)


def test_a_table_of_projected_points_needs_and_takes_its_crs(fresh_engine: Engine,
                                                              tmp_path: Path) -> None:
    # GURS writes points as E and N in D96/TM; these are the two stops above, in metres.
    path = _excel_csv(tmp_path / "postaje-d96.csv", [
        "kind;name;E;N",
        "bus_stop;Hrastje D96;453427,46;121438,55",
        "bus_stop;Tezno D96;551488,65;154802,28",
        "bus_stop;Brez koordinat;;154802,28",
    ])
    with pytest.raises(InvalidInput, match="holds E/N coordinates, which carry no coordinate "
                                           "reference system; pass it with --crs"):
        import_file(fresh_engine, "infrastructure", path)
    report = import_file(fresh_engine, "infrastructure", path, crs="EPSG:3794")
    assert report.problems == [(3, "geometry", "E/N missing or not a number")]
    report = import_file(fresh_engine, "infrastructure", path, crs="EPSG:3794",
                         skip_invalid=True)
    assert report.created == 2
    stops = _lon_lat_of(fresh_engine, "Hrastje D96", "Tezno D96")
    assert stops["Hrastje D96"] == pytest.approx([14.3962, 46.2311], abs=1e-5)
    assert stops["Tezno D96"] == pytest.approx([15.6712, 46.5309], abs=1e-5)


def test_a_workbook_with_a_cover_sheet_asks_for_the_sheet(fresh_engine: Engine,
                                                         tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "postaje.xlsx"
    with pd.ExcelWriter(path) as workbook:
        pd.DataFrame({"Navodila": ["Postajališča so na listu 'postaje'."]}).to_excel(
            workbook, sheet_name="navodila", index=False)
        pd.DataFrame({"kind": ["bus_stop"], "name": ["Na drugem listu"], "lon": [14.3962],
                      "lat": [46.2311]}).to_excel(workbook, sheet_name="postaje", index=False)
    with pytest.raises(InvalidInput, match="its first sheet, 'navodila', has no geometry "
                                           "columns; its sheets: navodila, postaje: choose one "
                                           "with --layer"):
        import_file(fresh_engine, "infrastructure", path)
    with pytest.raises(InvalidInput, match="has no sheet 'stops'; its sheets: navodila, postaje"):
        import_file(fresh_engine, "infrastructure", path, layer="stops")
    assert import_file(fresh_engine, "infrastructure", path, layer="postaje").created == 1


def test_plots_with_decimal_commas_and_day_first_dates_import(fresh_engine: Engine,
                                                               tmp_path: Path) -> None:
    square = "POLYGON ((14.3950 46.2300, 14.3954 46.2300, 14.3954 46.2303, 14.3950 46.2303, 14.3950 46.2300))"
    moved = square.replace("14.395", "14.396")
    path = _excel_csv(tmp_path / "parcele.csv", [
        "cadastral_ref;zone;price_eur_m2;available_from;last_verified;wkt",
        f'XL-1;PC Hrastje;95,50;1. 03. 2027;22.11.2026;"{square}"',
        f'XL-2;PC Hrastje;80;2027-04-15;;"{moved}"',
    ])

    import geopandas as gpd

    from tests.test_import_validation import retire_plots_under

    # Room under the two squares: an import may not draw over a live demo plot.
    retire_plots_under(fresh_engine, gpd.GeoSeries.from_wkt([square, moved], crs=4326)
                       .to_crs(3035).union_all())
    report = import_file(fresh_engine, "plots", path, crs="EPSG:4326")
    assert report.created == 2, report.describe_problems()
    with fresh_engine.connect() as conn:
        rows = {r.cadastral_ref: r for r in conn.execute(text(
            "SELECT cadastral_ref, price_eur_m2, available_from::text, last_verified::text "
            "FROM plot WHERE cadastral_ref IN ('XL-1', 'XL-2')"))}
    assert float(rows["XL-1"].price_eur_m2) == 95.5
    assert (rows["XL-1"].available_from, rows["XL-1"].last_verified) == ("2027-03-01", "2026-11-22")
    assert rows["XL-2"].available_from == "2027-04-15"


def test_a_date_that_does_not_exist_is_named(fresh_engine: Engine, tmp_path: Path) -> None:
    square = "POLYGON ((14.3950 46.2300, 14.3954 46.2300, 14.3954 46.2303, 14.3950 46.2303, 14.3950 46.2300))"
    path = _excel_csv(tmp_path / "parcele.csv", [
        "cadastral_ref;zone;available_from;wkt",
        f'XL-3;PC Hrastje;31.02.2027;"{square}"',
    ])
    report = import_file(fresh_engine, "plots", path, crs="EPSG:4326")
    assert not report.written
    assert report.problems == [
        (1, "available_from", "not a date (YYYY-MM-DD or DD.MM.YYYY): 31.02.2027")]


def test_a_municipality_updates_its_plots_from_an_excel_csv(fresh_client, fresh_engine) -> None:
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    plot, other = kranj_plots(fresh_engine, "available", 2)
    content = "\r\n".join([
        "cadastral_ref;price_eur_m2;available_from;note",
        f"{plot['cadastral_ref']};88,50;1.6.2027;Cena znižana – sklep občinskega sveta",
        f"{other['cadastral_ref']};;1. 07. 2027;",
    ]).encode("cp1250")
    response = upload(fresh_client, kranj, content, name="cene.csv")
    assert response.status_code == 200, response.text
    with fresh_engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(text(
            "SELECT p.id, p.price_eur_m2, p.available_from::text, "
            "(SELECT e.note FROM plot_event e WHERE e.plot_id = p.id ORDER BY e.id DESC LIMIT 1) AS note "
            "FROM plot p WHERE p.id = ANY(:ids)"), {"ids": [plot["id"], other["id"]]})}
    assert float(rows[plot["id"]].price_eur_m2) == 88.5
    assert rows[plot["id"]].available_from == "2027-06-01"
    assert rows[plot["id"]].note == "Cena znižana – sklep občinskega sveta"
    assert rows[other["id"]].available_from == "2027-07-01"
    assert float(rows[other["id"]].price_eur_m2) == float(other["price_eur_m2"])


def _shapefile_zip(tmp_path: Path, name: str, *, folder: str, cpg: bool) -> Path:
    """GURS municipalities as a zipped shapefile written in Windows-1250, as GIS on a
    Slovenian Windows writes it; ``folder`` inside the zip, with or without its .cpg."""
    import zipfile

    import geopandas as gpd
    import pyogrio

    frame = gpd.read_file(SAMPLES / "gurs-municipalities.gpkg")
    frame["OB_UIME"] = "Škofja Loka – Žiri"
    shapes = tmp_path / name
    shapes.mkdir()
    pyogrio.write_dataframe(frame, shapes / "obcine.shp", encoding="cp1250")
    if not cpg:
        (shapes / "obcine.cpg").unlink()
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for member in shapes.iterdir():
            packed.write(member, f"{folder}/{member.name}" if folder else member.name)
    return archive


@pytest.mark.parametrize(("folder", "cpg"), [("OB", True), ("", False)])
def test_a_zipped_shapefile_as_downloaded_keeps_its_letters(fresh_engine: Engine, tmp_path: Path,
                                                           folder: str, cpg: bool) -> None:
    """Its files in a folder of the zip, or its text in Windows-1250 without a .cpg saying so."""
    path = _shapefile_zip(tmp_path, "obcine", folder=folder, cpg=cpg)
    report = import_file(fresh_engine, "municipalities", path, mapping="gurs-municipalities")
    assert report.written and not report.problems, report.describe_problems()
    assert report.encoding == (None if cpg else "Windows-1250")
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM municipality WHERE name = 'Škofja Loka – Žiri'")).scalar_one() >= 1


def test_a_sheet_with_a_title_above_its_header_imports(fresh_engine: Engine, tmp_path: Path) -> None:
    """A municipality's sheet: a title and a blank row, then the header and the rows."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Avtobusna postajališča, Občina Kranj, stanje 22. 11. 2026"])
    sheet.append([])
    sheet.append(["kind", "name", "lon", "lat"])
    sheet.append(["bus_stop", "Hrastje – obračališče", 14.3962, 46.2311])
    sheet.append(["bus_stop", "Labore", "14,3701", "46,2402"])
    path = tmp_path / "postajalisca.xlsx"
    workbook.save(path)
    report = import_file(fresh_engine, "infrastructure", path)
    assert report.created == 2, report.describe_problems()
    with fresh_engine.connect() as conn:
        names = set(conn.execute(text(
            "SELECT name FROM infrastructure WHERE name IN ('Hrastje – obračališče', 'Labore')")).scalars())
    assert names == {"Hrastje – obračališče", "Labore"}


def test_an_encoding_the_file_cannot_name_is_given_by_the_user(fresh_engine: Engine,
                                                               tmp_path: Path) -> None:
    """ISO-8859-2 puts š where Windows-1250 has ą: only the user can tell, with --encoding."""
    path = tmp_path / "postaje.csv"
    path.write_bytes("kind;name;lon;lat\nbus_stop;Šenčur;14,4194;46,2446\n".encode("iso-8859-2"))
    guessed = import_file(fresh_engine, "infrastructure", path, dry_run=True)
    assert guessed.encoding == "Windows-1250"
    report = import_file(fresh_engine, "infrastructure", path, encoding="iso-8859-2")
    assert report.created == 1 and report.encoding == "iso-8859-2"
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM infrastructure WHERE name = 'Šenčur'")).scalar_one() == 1
    from locations.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not an encoding"):
        import_file(fresh_engine, "infrastructure", path, encoding="latin-99")
    with pytest.raises(InvalidInput, match="the file is not utf-8"):
        import_file(fresh_engine, "infrastructure", path, encoding="utf-8")


def test_price_changes_in_a_sheet_with_a_title_name_the_lines_the_user_sees(
        fresh_client, fresh_engine) -> None:
    import io

    from openpyxl import Workbook

    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    plot, other = kranj_plots(fresh_engine, "available", 2)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Cenik zemljišč, Občina Kranj"])
    sheet.append([])
    sheet.append(["cadastral_ref", "price_eur_m2"])
    sheet.append([plot["cadastral_ref"], "88,50"])
    sheet.append([other["cadastral_ref"], "-3"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    dry = upload(fresh_client, kranj, buffer.getvalue(), name="cenik.xlsx", dry_run=True)
    assert dry.status_code == 200, dry.text
    rows = {row["row"]: row for row in dry.json()["rows"]}
    # Line 4 and 5 of the sheet, under its title, blank line and header.
    assert rows[4]["changes"]["price_eur_m2"]["new"] == 88.5 and rows[4]["problems"] == []
    assert any("price_eur_m2" in problem for problem in rows[5]["problems"])
