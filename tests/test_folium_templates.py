"""The pages' maps render byte for byte the same with maps.folium_templates' fast paths as
with folium's own rendering, which compiles every fragment as a Jinja template."""

from __future__ import annotations

import itertools
import json
import re

import branca.element
import folium
import folium.features
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from maps import folium_templates
from tests.packed import payloads_of, unpack


def pages(client: TestClient, engine) -> list[str]:
    with engine.connect() as conn:
        plot_id, zone_id = conn.execute(text(
            "SELECT id, zone_id FROM plot ORDER BY id LIMIT 1")).one()
        # A plot among the most neighbours of several statuses: the style maps' fast paths.
        crowded = conn.execute(text(
            "SELECT min(id) FROM plot GROUP BY zone_id "
            "ORDER BY count(DISTINCT status) DESC, count(*) DESC, zone_id LIMIT 1")).scalar_one()
    return [f"/maps/plots/{plot_id}", f"/maps/zones/{zone_id}", "/maps/overview",
            "/maps/search?region=SI042&lang=sl", f"/maps/plots/{crowded}?lang=de"]


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


def _mapping(layer: folium.GeoJson, function, switch: str) -> dict:
    mapper = folium.features.GeoJsonStyleMapper(layer.data, layer.feature_identifier, layer)
    return mapper._create_mapping(function, switch)


def test_style_maps_are_folium_own_for_any_style_function():
    """The style map's fast path (a key per distinct style, a dict handed out again by its
    identity) gives folium's own mapping, also where the shortcuts would go wrong: equal
    values of other types, a shared dict changed between features, lists."""
    features = [{"type": "Feature", "id": n, "properties": {"n": n},
                 "geometry": {"type": "Point", "coordinates": [15.0, 46.0 + n / 100]}}
                for n in range(12)]
    shared = {"weight": 1}

    def changing(feature):  # the same dict, changed: must not be taken for the last style
        shared["weight"] = feature["properties"]["n"] % 3
        return shared

    functions = [
        lambda f: {"weight": [1, 1.0, True][f["properties"]["n"] % 3]},
        lambda f: {"dashArray": [1, 2] if f["properties"]["n"] % 2 else [1, 2.0]},
        lambda f: {"color": "#fff", "weight": f["properties"]["n"] // 5},
        changing,
        lambda f: shared,
    ]
    for function in functions:
        layer = folium.GeoJson({"type": "FeatureCollection", "features": features},
                               style_function=function)
        for switch in ("style", "highlight"):
            fast = _mapping(layer, function, switch)
            folium_templates.uninstall()
            try:
                slow = _mapping(layer, function, switch)
            finally:
                folium_templates.install()
            assert fast == slow
            assert list(fast) == list(slow)


def test_tojson_of_ints_and_others_is_jinjas():
    environment = folium.GeoJson._template.environment
    template = environment.from_string("{{ v|tojson }}")
    values = [0, -7, 2**70, True, None, 1.5, "a'<b>&", {"b": 1, "a": [1, 2]}]
    fast = [template.render(v=v) for v in values]
    folium_templates.uninstall()
    try:
        slow = [environment.from_string("{{ v|tojson }}").render(v=v) for v in values]
    finally:
        folium_templates.install()
    assert fast == slow


def test_a_plot_pages_neighbours_are_the_generic_feature_collection(engine):
    """The plot page reads its zone's plots in one parse; they must be what the generic
    row-by-row ``feature_collection`` makes of the same query."""
    from locations.geojson import feature_collection, geometry_sql
    from maps.plot_page import NEIGHBOURS, _zone_plots

    with engine.connect() as conn:
        plot_ids = conn.execute(text(
            "SELECT min(id) FROM plot GROUP BY zone_id ORDER BY count(*) DESC LIMIT 3")).scalars()
        for plot_id in plot_ids:
            generic = feature_collection(conn.execute(text(f"""
                SELECT o.id, o.cadastral_ref, o.status,
                       round(o.area_m2::numeric, 1)::float AS area_m2,
                       {geometry_sql("o.boundary")} AS geometry
                FROM plot p JOIN plot o ON o.zone_id = p.zone_id AND o.retired_at IS NULL
                WHERE p.id = :id
                ORDER BY o.boundary <-> p.boundary, o.id
                LIMIT :limit
            """), {"id": plot_id, "limit": NEIGHBOURS}).mappings())
            read = _zone_plots(conn, plot_id)
            assert read["numberReturned"] > 1
            assert json.dumps(read) == json.dumps(generic)


def test_text_in_a_maps_data_is_never_run_as_a_template(fresh_client, fresh_engine):
    """A map element's rendered script holds the data; read as a template again (as branca
    did) a plot named "{{ 7*7 }}" showed as 49, and Jinja could reach much more."""
    name = "{{ 7*7 }}{{ this.__class__.__name__ }}{% if true %}RAN-AS-JINJA{% endif %}"
    with fresh_engine.begin() as conn:
        plot_id, other_id, zone_id = conn.execute(text("""
            SELECT p.id, o.id, p.zone_id FROM plot p
            JOIN plot o ON o.zone_id = p.zone_id AND o.id <> p.id AND o.retired_at IS NULL
            WHERE p.retired_at IS NULL ORDER BY p.id, o.id LIMIT 1""")).one()
        conn.execute(text("UPDATE plot SET cadastral_ref = :name WHERE id = :id"),
                     {"name": name, "id": plot_id})
    # The plot's neighbour draws it on its map (a folium GeoJson layer named on hover).
    sheet = fresh_client.get(f"/maps/plots/{other_id}?lang=en").text
    scripts = "".join(re.findall(r"<script>(.*?)</script>", sheet, re.DOTALL))
    assert name in scripts
    assert "49" + "Element" not in sheet and "49GeoJson" not in sheet
    assert scripts.count("RAN-AS-JINJA") == scripts.count(name)
    # The zone's page packs it and the browser reads it back as it was written.
    (payload,) = payloads_of(fresh_client.get(f"/maps/zones/{zone_id}?lang=en").text)
    assert {f["id"]: f["properties"]["cadastral_ref"] for f in unpack(payload)}[plot_id] == name


def _jinja_tojson(value) -> str:
    """What folium's own rendering writes of a layer's data: Jinja's ``|tojson``."""
    from jinja2.utils import htmlsafe_json_dumps

    return str(htmlsafe_json_dumps(value, sort_keys=True))


def test_written_layer_data_is_what_jinja_writes_of_the_whole():
    """A layer's data spliced from PostGIS's outline texts is, byte for byte, what Jinja's
    ``|tojson`` writes of the parsed whole, whatever the texts hold and however the numbers
    are written (forms json.dumps would write otherwise take the slow way)."""
    from maps.folium_templates import WrittenJson, written_collection

    hostile = ["</script><script>alert(1)</script>", "{{ 7*7 }}{% if 1 %}x{% endif %}",
               "a'b\"c&d", "Žalec č š ü ß 東京", "line\u2028separator", "\\u0000", "tab\there"]
    outlines = [
        '{"type":"Polygon","coordinates":[[[14.1234567,46.7654321],[14.2,46.3],[14,46]]]}',
        '{"type":"MultiPolygon","coordinates":[[[[-14.5,-46.25],[0,0.5],[1,2]]],[[[3,4],[5,6]]]]}',
        '{"type":"Polygon","coordinates":[[[14.10,46.0],[14.5,46.20]]]}',  # trailing zeros
        '{"type":"Polygon","coordinates":[[[-0,46],[-0.0,1e-7],[1E+2,5]]]}',  # -0, exponents
        '{"type":"Point","coordinates":[15.5,46.5]}',  # not an outline
        None,
        '{"type":"Polygon","coordinates":[[[14.0,46],[14.25,0.75],[100,-7.5]]]}',
    ]
    features = [{"type": "Feature", "id": n, "geometry": None,
                 "properties": {"id": n, "cadastral_ref": hostile[n % len(hostile)],
                                "status": "available", "area_m2": 1234.5 + n,
                                "facts": ["0,12 ha", hostile[(n + 1) % len(hostile)]]}}
                for n in range(len(outlines))]
    for chosen in (list(range(len(outlines))), [0, 1], [2], [3], [4, 5], [0, 6, 1], []):
        written = written_collection([features[i] for i in chosen], [outlines[i] for i in chosen])
        whole = {"type": "FeatureCollection", "features": [
            {**features[i], "geometry": None if outlines[i] is None else json.loads(outlines[i])}
            for i in chosen]}
        assert isinstance(written, WrittenJson)
        assert written.text == _jinja_tojson(whole)
        assert written.whole() == whole
        # folium's Python side sees the features without their outlines.
        assert written == {"type": "FeatureCollection", "features": [features[i] for i in chosen]}
    with pytest.raises(ValueError):
        written_collection(features[:2], outlines[:1])
    # Inside a script element, nothing of the texts can close it or read as markup.
    text = written_collection(features, outlines).text
    assert "</script" not in text and "<" not in text and "'" not in text and "&" not in text


def test_a_plot_pages_neighbours_on_its_map_are_the_database_s(client, engine):
    """The neighbours' layer the plot page writes (outlines spliced from PostGIS's text)
    holds each other live plot of the zone, nearest first, with the outline, reference,
    status and area the generic GeoJSON path reads from the database, and the popup's texts."""
    from locations.geojson import feature_collection, geometry_sql
    from maps.folium_templates import WrittenJson
    from maps.i18n import Translator
    from maps.page import PageContext
    from maps.plot_page import NEIGHBOURS, _neighbour_data, area_text, read_plot_sheet

    with engine.connect() as conn:
        plot_ids = conn.execute(text(
            "SELECT min(id) FROM plot WHERE retired_at IS NULL GROUP BY zone_id "
            "ORDER BY count(*) DESC LIMIT 3")).scalars().all()
        for plot_id, lang in zip(plot_ids, ("sl", "de", "en"), strict=False):
            t = Translator(lang)
            page = PageContext(t=t, path=f"/maps/plots/{plot_id}", query={})
            sheet = read_plot_sheet(conn, plot_id, None)
            data = _neighbour_data(sheet, t, page)
            assert isinstance(data, WrittenJson)
            generic = feature_collection(conn.execute(text(f"""
                SELECT o.id, o.cadastral_ref, o.status,
                       round(o.area_m2::numeric, 1)::float AS area_m2,
                       {geometry_sql("o.boundary")} AS geometry
                FROM plot p JOIN plot o ON o.zone_id = p.zone_id AND o.retired_at IS NULL
                WHERE p.id = :id AND o.id <> p.id
                ORDER BY o.boundary <-> p.boundary, o.id
                LIMIT :limit
            """), {"id": plot_id, "limit": NEIGHBOURS - 1}).mappings())
            drawn = data.whole()["features"]
            assert len(drawn) == len(generic["features"]) > 1
            for feature, expected in zip(drawn, generic["features"], strict=True):
                props = expected["properties"]
                assert feature["id"] == props["id"] and feature["geometry"] == expected["geometry"]
                assert {k: feature["properties"][k] for k in props} == props
                assert feature["properties"]["facts"] == [
                    area_text(t, props["area_m2"]), t.value("status", props["status"])]
                assert feature["properties"]["link"] == f"/maps/plots/{props['id']}?lang={lang}"
            # The page carries exactly that text in its script.
            assert data.text in client.get(f"/maps/plots/{plot_id}?lang={lang}").text
