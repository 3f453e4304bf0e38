"""The pages' maps render byte for byte the same with maps.folium_templates' fast paths as
with folium's own rendering, which compiles every fragment as a Jinja template."""

from __future__ import annotations

import itertools

import branca.element
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from maps import folium_templates


def pages(client: TestClient, engine) -> list[str]:
    with engine.connect() as conn:
        plot_id, zone_id = conn.execute(text(
            "SELECT id, zone_id FROM plot ORDER BY id LIMIT 1")).one()
    return [f"/maps/plots/{plot_id}", f"/maps/zones/{zone_id}", "/maps/overview",
            "/maps/search?region=SI042&lang=sl"]


def rendered(client: TestClient, path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # Element ids are random: number them, so that two renderings can be compared.
    numbers = itertools.count()
    monkeypatch.setattr(branca.element.Element, "_generate_id",
                        classmethod(lambda cls: f"{next(numbers):032x}"))
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.text[:300])
    return answer.text


def test_pages_are_the_same_with_and_without_the_fast_paths(client, engine, monkeypatch):
    for path in pages(client, engine):
        folium_templates.uninstall()
        try:
            slow = rendered(client, path, monkeypatch)
        finally:
            folium_templates.install()
        fast = rendered(client, path, monkeypatch)
        assert "L.map(" in fast and len(fast) > 10_000, path
        assert fast == slow, path


def test_text_with_jinja_syntax_is_still_a_template():
    element = branca.element.Element("{{ this._name }} and {# a comment #}")
    assert element.render() == "Element and "
    plain = branca.element.Element("var a = {b: 1};\r\nline two\n")
    assert plain.render() == "var a = {b: 1};\nline two"
