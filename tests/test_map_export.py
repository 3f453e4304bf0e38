"""``locations map export`` writes the page the server serves: the same composer
(``maps.composer``) reads and renders both, and the file differs only where a file must,
with its assets inlined, the countries inside it, no one signed in and no language switch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_maps import hrastje_id  # noqa: F401 (a fixture)


def _as_a_file_has_it(html: str) -> str:
    """``html`` without what differs by design between a served page and its file."""
    # Assets: linked when served, inlined in the file (all in the page's head).
    html = html[html.index("<body"):]
    html = re.sub(r'<script src="[^"]*"></script>', "", html)
    # A file is nobody's and has no server to switch its language.
    html = re.sub(r'<nav class="(account|languages)".*?</nav>\s*', "", html, flags=re.S)
    # The countries under the map: fetched by URL when served, drawn from the file itself.
    html = re.sub(r'"url": "/maps/context/countries\.geojson[^"]*"', '"url": null', html)
    html = re.sub(r"// Offline or failing.*?\.catch\(function \(\) \{\}\);", "draw(countries);",
                  html, flags=re.S)
    html = re.sub(r'draw\(\{"borders".*?\}\);\n', "draw(countries);\n", html)
    # folium names each element of a map afresh at every rendering.
    html = re.sub(r"_[0-9a-f]{32}(?![0-9a-f])", "_id", html)
    # Template blocks left out leave their indentation behind.
    return re.sub(r"\s+", " ", html).replace("> <", "><")


def _same(written: str, served: str) -> None:
    file, page = _as_a_file_has_it(written), _as_a_file_has_it(served)
    if file != page:
        at = next(i for i, (a, b) in enumerate(zip(file, page, strict=False)) if a != b)
        pytest.fail(f"the file differs from the page at {at}:\n"
                    f"file: {file[at - 200:at + 300]}\npage: {page[at - 200:at + 300]}")


@pytest.fixture
def exported(engine, tmp_path, monkeypatch):
    """The HTML ``locations map export`` writes for its arguments."""
    from cli.main import app
    from locations.db import get_engine
    from locations.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()

    def export(*args: str) -> str:
        output = tmp_path / "page.html"
        result = CliRunner().invoke(app, ["map", "export", *args, "-o", str(output)])
        assert result.exit_code == 0, result.output
        return Path(output).read_text(encoding="utf-8")

    yield export
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_the_exported_zone_page_is_the_served_one(client, exported, hrastje_id):  # noqa: F811
    served = client.get(f"/maps/zones/{hrastje_id}?lang=sl").text
    written = exported("zone", str(hrastje_id), "--lang", "sl")
    assert "PC Hrastje" in written
    _same(written, served)


def test_the_exported_search_is_the_served_one(client, exported):
    served = client.get("/maps/search?lang=de&region=SI042&status=available"
                        "&min_area_m2=1000&max_motorway_km=30").text
    written = exported("search", "--lang", "de", "--region", "SI042", "--status", "available",
                       "--min-area-m2", "1000", "--max-motorway-km", "30")
    assert "IC Trata" in written
    _same(written, served)


def test_an_exported_search_refuses_what_the_page_refuses(engine, tmp_path, monkeypatch):
    from cli.main import app
    from locations.db import get_engine
    from locations.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        output = tmp_path / "search.html"
        result = CliRunner().invoke(app, ["map", "export", "search", "--min-area-m2", "5000",
                                          "--max-area-m2", "100", "-o", str(output)])
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert result.exit_code == 1
    assert "min_area_m2" in result.output
    assert not output.exists()
