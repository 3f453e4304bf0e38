"""The search page's downloads hold what the page shows: its order, the score for its
profile, headings in its language, and the zone's power where the plot has none; and such a
download imports back."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from locations.importer import import_file

SEARCH = "/maps/search?lang=sl&region=AT22&profile=logistics&sort=-score"


@pytest.fixture(scope="module")
def scored_client(scored_engine: Engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as client:
        yield client


def page_rows(client: TestClient) -> tuple[list[dict], dict[str, str]]:
    page = lxml.html.fromstring(client.get(SEARCH).text)
    rows = [{"ref": row.xpath("string(.//a[@class='plot-link'])"),
             "score": row.xpath("string(.//td[contains(@class, 'score')])").strip(),
             "power": row.xpath("string(.//td[@data-label='Priključna moč'])").strip()}
            for row in page.xpath("//tr[@data-plot-id]")]
    links = {a.text_content().strip(): a.get("href") for a in page.xpath("//a[@class='download']")}
    return rows, links


def test_the_excel_download_is_the_page_in_its_order_language_and_scores(scored_client, scored_engine):
    rows, links = page_rows(scored_client)
    assert len(rows) > 5
    answer = scored_client.get(links["Excel"])
    assert answer.status_code == 200, answer.text
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    sheet = list(workbook["plots"].values)
    headings, body = list(sheet[0]), sheet[1:]
    assert "Parcelna številka" in headings and "Ocena" in headings and "cadastral_ref" not in headings
    column = {name: headings.index(name) for name in headings}
    # The page's first rows, in its order, with its scores (one decimal, Slovenian comma).
    shown = [(r["ref"], r["score"]) for r in rows]
    downloaded = [(line[column["Parcelna številka"]],
                   "–" if line[column["Ocena"]] is None else f"{line[column['Ocena']]:.1f}".replace(".", ","))
                  for line in body[:len(rows)]]
    assert downloaded == shown
    assert all(line[column["Profil ocenjevanja"]] == "logistics" for line in body)
    # Power: the zone's figure where the plot has none, saying whose it is.
    by_source = {line[column["Moč podana za"]] for line in body}
    assert "zone" in by_source
    for line in body:
        if line[column["Moč podana za"]] == "zone":
            assert line[column["Lastna priključna moč parcele (MW)"]] is None
            assert line[column["Priključna moč (MW)"]] is not None
    # The dictionary gives each heading's code.
    dictionary = list(workbook["dictionary"].values)
    codes = {line[0]: line[1] for line in dictionary[1:]}
    assert codes["Parcelna številka"] == "cadastral_ref" and codes["Ocena"] == "score"


def test_a_downloaded_file_with_headings_imports_back(scored_client, fresh_engine, tmp_path: Path):
    _, links = page_rows(scored_client)
    for label, name in (("Excel", "back.xlsx"), ("CSV", "back.csv")):
        path = tmp_path / name
        path.write_bytes(scored_client.get(links[label]).content)
        report = import_file(fresh_engine, "plots", path, dry_run=True)
        # Every row found again as the plot it came from, and nothing to change.
        assert not report.problems, (label, report.problems[:3])
        assert report.created == report.updated == 0 and report.unchanged == report.rows > 5
        assert "Parcelna številka" not in report.ignored_columns
        assert "Ocena" in report.ignored_columns  # read-only columns are left, and said so


def test_the_csv_without_a_language_keeps_codes_and_a_bad_language_or_profile_is_named(scored_client):
    plain = scored_client.get("/exports/plots?region=AT22&f=csv&sort=price")
    assert plain.status_code == 200
    table = pd.read_csv(io.BytesIO(plain.content))
    assert "cadastral_ref" in table.columns and "score" not in table.columns
    prices = table["price_eur_m2"].dropna().tolist()
    assert prices == sorted(prices)
    assert scored_client.get("/exports/plots?f=csv&lang=fr").status_code == 400
    unknown = scored_client.get("/exports/plots?f=csv&profile=nothing")
    assert unknown.status_code == 400 and "profile" in unknown.text
    assert scored_client.get("/exports/plots?f=csv&sort=-score").status_code == 400
