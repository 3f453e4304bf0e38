"""A Kranj editor splits a plot in a real Chromium (Debian's, via Playwright): draws the line
with clicks on the plot's map, previews the parts with their areas, names them and splits;
uploads a line file instead; merges the parts back by ticking them. A Maribor plot's split
page is refused. The pages pass axe-core and fit a 390 px phone. Screenshots go to
``artifacts/`` (git-ignored)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine, text

from tests.people import invite_and_sign_in
from tests.plot_shapes import line_across
from tests.servers import serving
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

AXE = Path(__file__).resolve().parent.parent / "maps" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def database(pg_server, template_db) -> Iterator[Engine]:
    from tests.conftest import _drop_database, _engine_from_template

    name, engine = _engine_from_template(pg_server, template_db, "locations_test_lineage")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def server(database) -> Iterator[str]:
    with serving(database) as url:
        yield url


@pytest.fixture(scope="module")
def tab(database, server) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        invite_and_sign_in(context, server, database, "kranj-lineage", "municipality",
                           municipalities=["Kranj"])
        page = context.new_page()
        yield page
        browser.close()


def shoot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"lineage-{name}.png"), full_page=True)


def axe_violations(tab: Page) -> list[str]:
    tab.evaluate(AXE.read_text(encoding="utf-8"))
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    assert len(result["passes"]) > 10
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"]]


def kranj_plots(engine: Engine, n: int = 2) -> list[int]:
    with engine.connect() as conn:
        return conn.execute(text(
            """
            SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE m.name = 'Kranj' AND p.status = 'available' AND p.retired_at IS NULL
            ORDER BY p.id LIMIT :n
            """), {"n": n}).scalars().all()


def plot(engine: Engine, plot_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT cadastral_ref, retired_at, area_m2 FROM plot WHERE id = :id"),
            {"id": plot_id}).mappings().one())


def parts_of(engine: Engine, plot_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(
            """
            SELECT p.id, p.cadastral_ref, p.area_m2 FROM plot p JOIN plot_event e ON e.plot_id = p.id
            WHERE e.action = 'create' AND (e.new_values ->> 'split_from')::bigint = :id
            ORDER BY p.id
            """), {"id": plot_id}).mappings()]


def test_a_kranj_editor_splits_a_plot_by_drawing_and_merges_the_parts_back(tab, server, database):
    plot_id = kranj_plots(database)[0]
    before = plot(database, plot_id)
    tab.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    with tab.expect_navigation():
        tab.click("#split-link")
    assert tab.locator("h1").inner_text() == f"Split plot {before['cadastral_ref']}"
    box = tab.locator("#split-map").bounding_box()
    # The map fits the plot with a margin: a line from edge to edge through its middle.
    middle = box["y"] + box["height"] / 2
    tab.mouse.click(box["x"] + 8, middle)
    tab.mouse.click(box["x"] + box["width"] - 8, middle)
    assert tab.locator("#split-points").inner_text() == "2"
    shoot(tab, "drawn")
    with tab.expect_navigation():
        tab.click("#split-preview")
    rows = tab.locator("#split-parts tbody tr")
    assert rows.count() == 2, tab.content()
    assert "m²" in rows.nth(0).inner_text()
    assert plot(database, plot_id)["retired_at"] is None, "a preview wrote something"
    shoot(tab, "preview")
    assert axe_violations(tab) == []
    tab.set_viewport_size({"width": 390, "height": 844})
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(tab, "preview-390")
    tab.set_viewport_size({"width": 1280, "height": 900})

    tab.fill("#field-ref-1", f"{before['cadastral_ref']}-A")
    tab.fill("#field-ref-2", f"{before['cadastral_ref']}-B")
    tab.fill("#field-note", "the western part was sold")
    with tab.expect_navigation():
        tab.click("#split-save")
    assert f"/maps/plots/{plot_id}/history" in tab.url
    assert "split into" in tab.locator("#history").inner_text()
    shoot(tab, "history")
    parts = parts_of(database, plot_id)
    assert [p["cadastral_ref"] for p in parts] == [f"{before['cadastral_ref']}-A",
                                                  f"{before['cadastral_ref']}-B"]
    assert abs(sum(p["area_m2"] for p in parts) - before["area_m2"]) < 0.01
    assert plot(database, plot_id)["retired_at"] is not None

    # The buyer takes both parts after all: they are merged back into one plot.
    tab.goto(f"{server}/maps/my/merge?plot={parts[0]['id']}&lang=sl")
    tab.check(f"#merge-{parts[1]['id']}")
    tab.fill("#field-ref", f"{before['cadastral_ref']}-M")
    tab.fill("#field-note", "oba dela kupi isti kupec")
    assert axe_violations(tab) == []
    shoot(tab, "merge")
    with tab.expect_navigation():
        tab.click("#merge-save")
    assert "/history" in tab.url, tab.content()
    assert all(plot(database, p["id"])["retired_at"] is not None for p in parts)


def test_a_line_file_is_previewed_and_a_line_beside_the_plot_is_refused(tab, server, database,
                                                                        tmp_path):
    plot_id = kranj_plots(database)[0]
    line = tmp_path / "line.geojson"
    line.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": line_across(database, plot_id)}]}))
    tab.goto(f"{server}/maps/my/plots/{plot_id}/split?lang=de")
    tab.set_input_files("#field-line-file", str(line))
    with tab.expect_navigation():
        tab.click("#split-preview")
    assert tab.locator("#split-parts tbody tr").count() >= 2, tab.content()
    shoot(tab, "file-preview-de")

    beside = tmp_path / "beside.geojson"
    beside.write_text(json.dumps(line_across(database, plot_id, offset_m=3000)))
    tab.set_input_files("#field-line-file", str(beside))
    with tab.expect_navigation():
        tab.click("#split-preview")
    assert "Linie:" in tab.locator("#split-problem").inner_text()
    assert tab.locator("#split-parts").count() == 0
    shoot(tab, "file-refused-de")


def test_another_municipalitys_plot_is_refused(tab, server, database):
    with database.connect() as conn:
        maribor = conn.execute(text(
            "SELECT min(p.id) FROM plot p JOIN zone z ON z.id = p.zone_id JOIN municipality m "
            "ON m.id = z.municipality_id WHERE m.name = 'Maribor'")).scalar_one()
    response = tab.goto(f"{server}/maps/my/plots/{maribor}/split?lang=en")
    assert response.status == 403
    assert tab.locator("#split-map").count() == 0


def test_a_split_or_merge_posted_without_its_csrf_token_changes_nothing(tab, server, database):
    plot_id, other = kranj_plots(database)
    line = json.dumps(line_across(database, plot_id))
    split = tab.request.post(f"{server}/maps/my/plots/{plot_id}/split?lang=en", multipart={
        "version": "1", "line": line, "action": "split", "ref_1": "X-1", "ref_2": "X-2",
        "note": "no token"}, max_redirects=0)
    assert split.status == 403
    merge = tab.request.post(f"{server}/maps/my/merge?plot={plot_id}&lang=en", form={
        "plots": str(other), "cadastral_ref": "X-M", "note": "no token"}, max_redirects=0)
    assert merge.status == 403
    assert plot(database, plot_id)["retired_at"] is None
    assert plot(database, other)["retired_at"] is None


def test_hostile_addresses_of_the_pages_are_answered_not_failed(tab, server):
    for path in ("/maps/my/merge?plot=99999999999999999999", "/maps/my/merge?plot=abc",
                 "/maps/my/merge?plot=0", "/maps/my/plots/99999999999999999999/split",
                 "/maps/my/plots/123456789/split", "/maps/my/merge?plot=123456789"):
        response = tab.request.get(server + path, max_redirects=0)
        assert response.status < 500, (path, response.status)
