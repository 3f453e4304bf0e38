"""Odd and hostile files sent to ``POST /imports`` and the admins' import page: each is
refused with a 400 that names the file as its user sent it and the reason, never a 500, a
failed job, or the folder the server kept the upload in."""

from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import pytest
import shapely
import geopandas as gpd
from sqlalchemy import Engine, text

from tests.test_import_jobs import ASYNC, SAMPLE, _accounts, _finished

SAMPLE_LINE = b"cadastral_ref;zone;status\nKO 2100 123/4;Kranj;available\n"

ODD_FILES = [
    # (file name as sent, bytes, what the refusal must say)
    ("prazno.csv", b"", "prazno.csv is empty"),
    ("blanks.csv", b"\n\n  \n", "blanks.csv is empty"),
    ("one word.csv", b"justoneword\n", "one word.csv has no geometry"),
    ("Šenčur parcele.csv", SAMPLE_LINE.decode().encode("cp1250"), "Šenčur parcele.csv has no geometry"),
    ("garbage.gpkg", b"\x00\x01garbage" * 500, "garbage.gpkg cannot be read as GIS data"),
    ("garbage.geojson", b"{not json", "garbage.geojson cannot be read as GIS data"),
    ("garbage.xlsx", b"PK\x03\x04 not a workbook", "garbage.xlsx cannot be read as a table"),
]


def _refusal_is_clear(detail: str, expected: str) -> None:
    assert expected in detail, detail
    # Neither the server's folder nor the name it kept the upload under, nor GDAL's advice
    # to its own command-line users.
    assert "/tmp" not in detail and "upload." not in detail and "<DRIVER>" not in detail, detail


@pytest.mark.parametrize(("name", "content", "expected"), ODD_FILES,
                         ids=[case[0] for case in ODD_FILES])
def test_an_odd_file_is_refused_naming_it_and_nothing_is_written(
        fresh_client, fresh_engine: Engine, name: str, content: bytes, expected: str) -> None:
    token = _accounts(fresh_engine)["admin"]
    with fresh_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    answer = fresh_client.post("/imports", headers={"Authorization": f"Bearer {token}"},
                               data={"target": "plots"}, files={"file": (name, content)})
    assert answer.status_code == 400, answer.text
    _refusal_is_clear(answer.json()["detail"], expected)
    # As a job (what the import page starts), the same refusal, not "failed on the server".
    started = fresh_client.post("/imports", headers={"Authorization": f"Bearer {token}"} | ASYNC,
                                data={"target": "plots", "dry_run": "true"},
                                files={"file": (name, content)})
    assert started.status_code == 202, started.text
    job = _finished(fresh_client, started.headers["Location"],
                    {"Authorization": f"Bearer {token}"})
    assert job["state"] == "refused", job
    _refusal_is_clear(job["error"], expected)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot")).scalar_one() == before


def two_layer_geopackage(folder: Path) -> tuple[Path, int]:
    """A GeoPackage of the sample plots (layer ``parcele``) beside a layer of one outline
    (``obrisi``), and how many plots it holds."""
    sample = gpd.read_file(SAMPLE)
    path = folder / "two layers.gpkg"
    pyogrio.write_dataframe(sample, path, layer="parcele")
    outlines = gpd.GeoDataFrame({"note": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)],
                                crs=sample.crs)
    pyogrio.write_dataframe(outlines, path, layer="obrisi", append=True)
    return path, len(sample)


def test_a_geopackage_of_two_layers_is_read_from_the_layer_the_form_names(
        fresh_client, fresh_engine: Engine, tmp_path) -> None:
    """The refusal of a file of several layers says how to choose one outside the command
    line, and choosing it there works."""
    path, plots = two_layer_geopackage(tmp_path)
    token = _accounts(fresh_engine)["admin"]
    headers = {"Authorization": f"Bearer {token}"}
    answer = fresh_client.post("/imports", headers=headers,
                               data={"target": "plots", "dry_run": "true"},
                               files={"file": (path.name, path.read_bytes())})
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert re.search(r"two layers\.gpkg has several layers \((parcele, obrisi|obrisi, parcele)\)",
                     detail), detail
    assert "layer in POST /imports" in detail and "import page" in detail
    chosen = fresh_client.post("/imports", headers=headers,
                               data={"target": "plots", "dry_run": "true", "layer": "parcele"},
                               files={"file": (path.name, path.read_bytes())})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["rows"] == plots
