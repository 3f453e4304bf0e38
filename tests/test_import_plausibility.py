"""Implausible files are refused whole, naming each row and why, and the database stays as it
was: a plot the size of Europe, one that dwarfs its zone, one of 20,000 points, four identical
squares, a plot drawn over another, a NUL in a cell, a price no plot has, a UTF-16 CSV. The
API's plot writes keep the same limits, and a bulk update's dry run refuses what its apply would."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import shapely
from sqlalchemy import Engine, text

from locations.errors import InvalidGeometry, InvalidInput
from locations.importer import import_file
from tests.test_authorisation import fingerprint
from tests.test_bulk_updates import kranj_plots, upload
from tests.test_import_validation import HRASTJE, _good_rows, _snapshot, _write, retire_plots_under
from tests.test_plot_updates import make_account

TOLERANCE = "(edges may stray 0.5 m)"


@pytest.fixture(autouse=True)
def _room_in_hrastje(request: pytest.FixtureRequest) -> None:
    """The strip of PC Hrastje where ``_good_rows`` draws its plots, freed of the demo's."""
    if "fresh_engine" in request.fixturenames:
        x, y = HRASTJE
        retire_plots_under(request.getfixturevalue("fresh_engine"),
                           shapely.box(x - 10, y - 10, x + 250, y + 50))


def _refused(engine: Engine, path: Path, **options) -> list[tuple[int, str, str]]:
    """The problems of importing ``path``, which must be refused with nothing written, by
    the dry run as by the import itself."""
    before = _snapshot(engine)
    dry = import_file(engine, "plots", path, dry_run=True, **options)
    report = import_file(engine, "plots", path, **options)
    assert report.rejected and not report.written and dry.refused
    assert dry.problems == report.problems
    assert _snapshot(engine) == before
    return report.problems


def test_a_plot_the_size_of_europe_is_refused(fresh_engine: Engine, tmp_path: Path) -> None:
    rows = _good_rows(2)
    # Lisbon to Helsinki in EPSG:3035, named into PC Hrastje, whose 0.26 km² it would swamp.
    rows[1]["geometry"] = shapely.box(2_700_000, 1_700_000, 5_200_000, 4_800_000)
    with fresh_engine.connect() as conn:
        available = conn.execute(text(
            "SELECT sum(area_m2) FROM plot WHERE status = 'available' AND retired_at IS NULL")).scalar()
    assert _refused(fresh_engine, _write(tmp_path, rows)) == [
        (2, "geometry", "the plot's area is 7,750,000.0 km²; a plot may have at most 10 km²")]
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT sum(area_m2) FROM plot WHERE status = 'available' AND retired_at IS NULL")
        ).scalar() == available


@pytest.mark.parametrize("outline, reason", [
    # 4 km² named into a zone of 0.26 km²: a plot may not be larger than its zone.
    (lambda x, y: shapely.box(x, y, x + 2000, y + 2000),
     "the plot's area, 4.0 km², is more than zone PC Hrastje's, 260,000.0 m²"),
    # A strip 3 km long from inside the zone: small, but reaching far past it.
    (lambda x, y: shapely.box(x, y, x + 3000, y + 20),
     " beyond the extent of zone PC Hrastje (at most 100 m)"),
])
def test_a_plot_that_dwarfs_its_zone_is_refused(fresh_engine: Engine, tmp_path: Path,
                                                outline, reason: str) -> None:
    rows = _good_rows(1)
    rows[0]["geometry"] = outline(*HRASTJE)
    problems = _refused(fresh_engine, _write(tmp_path, rows))
    assert len(problems) == 1 and problems[0][:2] == (1, "zone") and reason in problems[0][2]


def test_a_plot_of_20000_points_is_refused(fresh_engine: Engine, tmp_path: Path) -> None:
    x, y = HRASTJE
    circle = shapely.Polygon([(x + 15 + 12 * math.cos(2 * math.pi * i / 20_000),
                               y + 15 + 12 * math.sin(2 * math.pi * i / 20_000))
                              for i in range(20_000)])
    rows = _good_rows(2)
    rows[0]["geometry"] = circle
    assert _refused(fresh_engine, _write(tmp_path, rows)) == [
        (1, "geometry", "the outline has 20,001 points; a plot may have at most 10,000: simplify it")]


def test_four_identical_squares_are_refused_each_naming_the_others(fresh_engine: Engine,
                                                                   tmp_path: Path) -> None:
    rows = _good_rows(4)
    for row in rows:
        row["geometry"] = rows[0]["geometry"]
    problems = _refused(fresh_engine, _write(tmp_path, rows))
    assert [(row, field) for row, field, _ in problems] == [(n, "geometry") for n in (1, 2, 3, 4)]
    assert problems[0][2] == (
        "the plot overlaps row 2 (TEST-1) of the file by 900.0 m²; row 3 (TEST-2) of the file "
        f"by 900.0 m²; row 4 (TEST-3) of the file by 900.0 m² {TOLERANCE}")
    assert problems[3][2].startswith("the plot overlaps row 1 (TEST-0) of the file by 900.0 m²")


def test_beyond_the_full_check_identical_outlines_are_still_found(
        fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of more new plots than every pair can be checked for (a region's first load)
    is checked for identical outlines only: in the file, and beside a live plot."""
    from locations.imports import validation

    monkeypatch.setattr(validation, "OVERLAP_FULL_CHECK_ROWS", 2)
    with fresh_engine.connect() as conn:
        plot_id, reference, wkb = conn.execute(text(
            "SELECT p.id, p.cadastral_ref, ST_AsBinary(p.boundary) FROM plot p "
            "JOIN zone z ON z.id = p.zone_id WHERE z.name = 'PC Hrastje' "
            "AND p.retired_at IS NULL ORDER BY p.id LIMIT 1")).one()
    rows = _good_rows(4)
    rows[1]["geometry"] = rows[0]["geometry"]
    rows[3]["geometry"] = shapely.from_wkb(bytes(wkb))
    problems = _refused(fresh_engine, _write(tmp_path, rows))
    assert problems[:2] == [
        (1, "geometry", f"the plot overlaps row 2 (TEST-1) of the file by 900.0 m² {TOLERANCE}"),
        (2, "geometry", f"the plot overlaps row 1 (TEST-0) of the file by 900.0 m² {TOLERANCE}"),
    ]
    assert [(row, field) for row, field, _ in problems[2:]] == [(4, "geometry")]
    assert problems[2][2].startswith(f"the plot overlaps plot {plot_id} ({reference}) by ")


def test_neighbours_sharing_an_edge_or_straying_within_the_tolerance_go_in(
        fresh_engine: Engine, tmp_path: Path) -> None:
    x, y = HRASTJE
    rows = _good_rows(3)
    rows[1]["geometry"] = shapely.box(x + 30, y, x + 60, y + 30)  # shares row 1's east edge
    rows[2]["geometry"] = shapely.box(x + 59.7, y, x + 90, y + 30)  # 0.3 m into row 2
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows))
    assert report.created == 3, report.describe_problems()
    # Imported again unchanged, nothing is checked against itself.
    assert import_file(fresh_engine, "plots", _write(tmp_path, rows)).unchanged == 3


def test_a_plot_over_an_existing_plot_is_refused_naming_it(fresh_engine: Engine,
                                                           tmp_path: Path) -> None:
    with fresh_engine.connect() as conn:
        plot_id, reference, wkb = conn.execute(text(
            "SELECT p.id, p.cadastral_ref, ST_AsBinary(p.boundary) FROM plot p "
            "JOIN zone z ON z.id = p.zone_id WHERE z.name = 'PC Hrastje' "
            "AND p.retired_at IS NULL ORDER BY p.id LIMIT 1")).one()
    centre = shapely.from_wkb(bytes(wkb)).representative_point()
    rows = _good_rows(2)
    rows[1]["geometry"] = shapely.box(centre.x - 5, centre.y - 5, centre.x + 5, centre.y + 5)
    assert _refused(fresh_engine, _write(tmp_path, rows)) == [
        (2, "geometry", f"the plot overlaps plot {plot_id} ({reference}) by 100.0 m² {TOLERANCE}")]
    # The same outline under the existing plot's own reference replaces it: no overlap.
    rows[1]["cadastral_ref"] = reference
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows))
    assert (report.created, report.updated) == (1, 1), report.describe_problems()


def _csv(rows: list[dict], **extra: str) -> str:
    lines = ["cadastral_ref;zone;status;internal_note;wkt"]
    for row in rows:
        note = extra.get(row["cadastral_ref"], "")
        lines.append(f"{row['cadastral_ref']};{row['zone']};available;{note};{row['geometry'].wkt}")
    return "\n".join(lines) + "\n"


def test_a_nul_or_other_control_character_in_a_cell_is_refused(fresh_engine: Engine,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "plots.csv"
    path.write_text(_csv(_good_rows(3), **{"TEST-1": "gate\x00code", "TEST-2": "bell\x07"}),
                    encoding="utf-8")
    allowed = "only tab and line breaks are allowed"
    assert _refused(fresh_engine, path, crs="EPSG:3035") == [
        (2, "internal_note", f"contains the control character U+0000 at position 4; {allowed}"),
        (3, "internal_note", f"contains the control character U+0007 at position 4; {allowed}"),
    ]


def test_text_longer_than_a_field_holds_is_refused(fresh_engine: Engine, tmp_path: Path) -> None:
    rows = _good_rows(2)
    rows[1]["cadastral_ref"] = "9" * 101
    rows[0]["internal_note"] = "n" * 5001
    assert _refused(fresh_engine, _write(tmp_path, rows)) == [
        (1, "internal_note", "5,001 characters; at most 5,000"),
        (2, "cadastral_ref", "101 characters; at most 100"),
    ]


@pytest.mark.parametrize("price, reason", [
    (1e9, "must be at most 100,000"),  # numeric(10,2) overflowed mid-write
    (0.001, "must be at least 0.01"),  # stored to the cent as 0, which the table refuses
])
def test_a_price_the_table_would_refuse_is_a_row_problem(fresh_engine: Engine, tmp_path: Path,
                                                         price: float, reason: str) -> None:
    rows = _good_rows(2)
    rows[1]["price_eur_m2"] = price
    assert _refused(fresh_engine, _write(tmp_path, rows)) == [(2, "price_eur_m2", reason)]


def test_a_utf16_csv_is_read_and_one_without_its_mark_is_named(fresh_engine: Engine,
                                                               tmp_path: Path) -> None:
    rows = _good_rows(2)
    text_ = _csv(rows, **{"TEST-0": "Škofja Loka, čiščenje ß"})
    marked = tmp_path / "unicode.csv"
    marked.write_bytes(text_.encode("utf-16"))  # with its byte order mark, as Excel writes it
    report = import_file(fresh_engine, "plots", marked, crs="EPSG:3035")
    assert (report.created, report.encoding) == (2, "UTF-16"), report.describe_problems()
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT internal_note FROM plot WHERE cadastral_ref = 'TEST-0'")
                            ).scalar_one() == "Škofja Loka, čiščenje ß"
    bare = tmp_path / "bare.csv"
    bare.write_bytes(text_.encode("utf-16-le"))
    before = _snapshot(fresh_engine)
    with pytest.raises(InvalidInput, match=r"bare.csv looks like UTF-16 text without a byte "
                                           r"order mark: save it as CSV UTF-8, or give its "
                                           r"encoding \(--encoding utf-16-le"):
        import_file(fresh_engine, "plots", bare, crs="EPSG:3035")
    assert _snapshot(fresh_engine) == before
    assert import_file(fresh_engine, "plots", bare, crs="EPSG:3035",
                       encoding="utf-16-le").unchanged == 2


def test_a_bulk_update_dry_run_refuses_what_its_apply_would(fresh_client, fresh_engine) -> None:
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    good, bad = kranj_plots(fresh_engine, "available", 2)
    csv = (f"cadastral_ref;price_eur_m2\n{good['cadastral_ref']};80\n"
           f"{bad['cadastral_ref']};1e9\n").encode("utf-16")  # Excel's "Unicode text"
    before = fingerprint(fresh_engine)
    dry = upload(fresh_client, kranj, csv, dry_run=True)
    assert dry.status_code == 200, dry.text
    rows = {row["row"]: row for row in dry.json()["rows"]}
    assert rows[2]["problems"] == [] and rows[2]["changes"]["price_eur_m2"]["new"] == 80
    assert rows[3]["problems"] == ["price_eur_m2: must be at most 100,000"]
    applied = upload(fresh_client, kranj, csv)
    assert applied.status_code == 400
    assert "row 3: price_eur_m2: must be at most 100,000" in applied.json()["detail"]
    assert fingerprint(fresh_engine) == before


def test_the_api_keeps_the_same_outline_limits(fresh_engine: Engine) -> None:
    from locations.plot_geometry import validate_plot_geometry

    with fresh_engine.connect() as conn:
        zone_id = conn.execute(text("SELECT id FROM zone WHERE name = 'PC Hrastje'")).scalar_one()
        x, y = HRASTJE
        circle = shapely.Point(x + 15, y + 15).buffer(12, quad_segs=5_000)
        europe = shapely.box(2_700_000, 1_700_000, 5_200_000, 4_800_000)
        for outline, reason in ((circle, "the outline has 20,001 points"),
                                (europe, "the plot's area is 7,750,000.0 km²")):
            with pytest.raises(InvalidGeometry, match=reason):
                validate_plot_geometry(conn, json.loads(shapely.to_geojson(outline)),
                                       "EPSG:3035", zone_id)
