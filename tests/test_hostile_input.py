"""Every hostile input of tests/hostile_inputs.py, sent to the main text fields, query
parameters and paths: never a 5xx, a 4xx naming the field, and nothing written."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests import hostile_inputs
from tests.conftest import _drop_database, _engine_from_template
from tests.test_accounts import run_cli
from tests.test_authorisation import fingerprint
from tests.test_plot_updates import make_account, plot_in, zone_in


def _ids(cases) -> list[str]:
    return [repr(value)[:40] for value, _ in cases]


@pytest.fixture(scope="module")
def hostile_engine(pg_server: str, template_db: str) -> Iterator[Engine]:
    """One private copy of the demo database for the module: every request here must be
    refused, so the copy stays as it was (each test checks that it does)."""
    name, engine = _engine_from_template(pg_server, template_db, "locations_test_hostile")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def api(hostile_engine: Engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(hostile_engine)) as client:
        yield client


@pytest.fixture(scope="module")
def admin(hostile_engine: Engine) -> dict[str, str]:
    # An admin may write everywhere: a refusal here is the value's, never the scope's.
    return make_account(hostile_engine, "hostile-admin", "admin")


@pytest.fixture(scope="module")
def plot(hostile_engine: Engine) -> int:
    return plot_in(hostile_engine, "Kranj", "available")


@pytest.fixture(scope="module")
def zone(hostile_engine: Engine) -> int:
    return zone_in(hostile_engine, "Kranj")


@pytest.fixture
def unchanged(hostile_engine: Engine) -> Iterator[None]:
    """Asserts, after the test, that no plot, zone or audit event changed."""
    before = fingerprint(hostile_engine)
    yield
    assert fingerprint(hostile_engine) == before, "a hostile input was written"


def send(api: TestClient, method: str, url: str, body: dict, headers: dict[str, str]):
    # Python's json, not httpx's: it escapes a lone surrogate as \ud800 and writes NaN and
    # Infinity, as a careless or hostile client would send them.
    return api.request(method, url, content=json.dumps(body),
                       headers=headers | {"Content-Type": "application/json"})


def if_match(api: TestClient, path: str) -> dict[str, str]:
    return {"If-Match": api.get(path).headers["ETag"]}


def assert_refused(response, field: str) -> None:
    """A 4xx with a JSON body that names ``field`` and says why."""
    assert 400 <= response.status_code < 500, (field, response.status_code, response.text)
    body = response.json()
    named = body.get("field") or " ".join(p["field"] for p in body.get("errors") or [])
    assert field in named or field in body["detail"], (field, body)
    assert body["detail"]


def url_text(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def survives_a_url(value: str) -> bool:
    """A lone surrogate cannot travel in a URL: the server reads U+FFFD (harmless) instead."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- text ----------------------------------------------------------------------------------------

PLOT_TEXT_FIELDS = ("owner_contact", "internal_note", "note", "status", "offer", "crs")
ZONE_TEXT_FIELDS = ("description_en", "description_sl", "manager_name", "manager_email",
                    "manager_phone", "property_sheet_url", "facts_source", "note")


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.TEXT],
                         ids=_ids(hostile_inputs.TEXT))
def test_text_fields_refuse_control_characters(api, admin, plot, zone, unchanged, value):
    plot_tag = if_match(api, f"/plots/{plot}")
    for field in PLOT_TEXT_FIELDS:
        response = send(api, "PATCH", f"/plots/{plot}", {field: value}, admin | plot_tag)
        assert_refused(response, field)
    zone_tag = if_match(api, f"/zones/{zone}")
    for field in ZONE_TEXT_FIELDS:
        response = send(api, "PATCH", f"/zones/{zone}", {field: value}, admin | zone_tag)
        assert_refused(response, field)
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    created = send(api, "POST", f"/zones/{zone}/plots",
                   {"cadastral_ref": value, "geometry": square}, admin | zone_tag)
    assert_refused(created, "cadastral_ref")
    for action in ("verify", "retire"):
        response = send(api, "POST", f"/plots/{plot}/{action}", {"note": value}, admin | plot_tag)
        assert_refused(response, "note")


#: Query parameters and path segments that reach SQL or the file system as text.
TEXT_URLS = [
    "/plots?region={}", "/plots?municipality={}", "/plots?bbox-crs={}", "/plots?cursor={}",
    "/zones?region={}", "/zones?municipality={}", "/exports/zones?municipality={}",
    "/municipalities?region={}", "/municipalities/{}/changes", "/municipalities/{}/stale",
    "/standards/{}", "/standards/location-standard?version={}",
    "/rankings?profile=logistics&region={}", "/rankings?profile=logistics&weights={}",
    "/infrastructure?kind={}", "/tiles/plots/14/8847/5813.pbf?profile={}",
    "/maps/search?region={}", "/maps/overview?measure=score&profile={}",
    # OGC API: a CQL2 text literal of each collection, a sortby, a CRS.
    "/collections/plots/items?filter=cadastral_ref%20%3D%20%27{}%27",
    "/collections/zones/items?filter=name%20LIKE%20%27{}%27",
    "/collections/municipalities/items?filter=name%20IN%20(%27{}%27)",
    "/collections/constraint_areas/items?sortby={}", "/collections/regions/items?crs={}",
]


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.TEXT],
                         ids=_ids(hostile_inputs.TEXT))
def test_query_parameters_and_paths_refuse_control_characters(api, admin, unchanged, value):
    for template in TEXT_URLS:
        response = api.get(template.format(url_text(value)), headers=admin)
        assert response.status_code < 500, (template, response.text)
        if survives_a_url(value):
            name = template.split("{}")[0].rsplit("=", 1)[0].rsplit("?", 1)[-1].rsplit("&", 1)[-1]
            assert_refused(response, name if "=" in template else "")


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.TEXT if survives_a_url(v)],
                         ids=_ids([case for case in hostile_inputs.TEXT if survives_a_url(case[0])]))
def test_bulk_update_files_refuse_control_characters(api, admin, hostile_engine, plot, unchanged,
                                                     value):
    with hostile_engine.connect() as conn:
        reference = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                                 {"id": plot}).scalar_one()
    for line in (f"{reference};reserved;{value}", f"{reference}{value};reserved;"):
        csv = f"cadastral_ref;status;note\n{line}\n".encode()
        for dry_run in (True, False):
            response = api.post("/imports/plot-updates", params={"dry_run": dry_run},
                                files={"file": ("changes.csv", csv)}, headers=admin)
            assert_refused(response, "file")
            assert "line 2" in response.json()["detail"]


#: A small file the import accepts as it is (two stops given by lon/lat).
IMPORT_SAMPLE = Path(__file__).parent.parent / "data" / "samples" / "infrastructure-lonlat.csv"
IMPORT_OPTION_VALUES = [value for value, _ in hostile_inputs.TEXT + hostile_inputs.INTEGERS
                        if value and survives_a_url(value)]


@pytest.mark.parametrize("value", IMPORT_OPTION_VALUES, ids=[repr(v)[:40] for v in IMPORT_OPTION_VALUES])
def test_import_options_refuse_hostile_values(api, admin, hostile_engine, unchanged, value):
    def stops() -> int:
        with hostile_engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM infrastructure")).scalar_one()

    before = stops()
    for option in ("crs", "encoding"):
        response = api.post("/imports", headers=admin,
                            files={"file": (IMPORT_SAMPLE.name, IMPORT_SAMPLE.read_bytes())},
                            data={"target": "infrastructure", option: value})
        assert_refused(response, option)
    assert stops() == before


def test_the_cli_refuses_a_nul_in_a_file_without_a_traceback(hostile_engine, plot, tmp_path,
                                                            unchanged):
    with hostile_engine.connect() as conn:
        reference = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                                 {"id": plot}).scalar_one()
    path = tmp_path / "changes.csv"
    path.write_bytes(f"cadastral_ref;status;note\n{reference};reserved;a\x00b\n".encode())
    result = run_cli(hostile_engine, "plots", "update", str(path), "--account", "hostile-admin")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "control character U+0000" in output and "line 2" in output


# -- integers ------------------------------------------------------------------------------------

INTEGER_URLS = [
    "/plots?zone={}", "/plots?municipality={}", "/plots?limit={}", "/zones?municipality={}",
    "/exports/plots?zone={}", "/plots/{}", "/zones/{}", "/plots/{}/history",
    "/plots/{}/score?profile=logistics", "/zones/{}/score?profile=logistics", "/maps/zones/{}",
    "/imports/{}", "/scores/runs/{}", "/municipalities/{}/changes",
    "/municipalities/Kranj/stale?months={}", "/rankings?profile=logistics&limit={}",
    "/tiles/plots/{}/0/0.pbf", "/tiles/zones/14/{}/0.pbf",
    # OGC API: integers in CQL2 filters of each kind of collection, pages and tiles.
    "/collections/plots/items?filter=zone_id%20%3D%20{}",
    "/collections/municipalities/items?filter=population%20%3E%3D%20{}",
    "/collections/zones/items?filter=plot_count%20BETWEEN%200%20AND%20{}",
    "/collections/regions/items?offset={}", "/collections/infrastructure/items?limit={}",
    "/collections/constraint_areas/items/{}",
    "/collections/zones/tiles/WebMercatorQuad/{}/0/0",
]


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.INTEGERS],
                         ids=_ids(hostile_inputs.INTEGERS))
def test_integers_out_of_range_or_in_other_scripts_are_never_a_server_error(api, admin, zone,
                                                                          unchanged, value):
    for template in [*INTEGER_URLS, f"/maps/zones/{zone}?plot={{}}"]:
        response = api.get(template.format(url_text(value)), headers=admin)
        assert response.status_code < 500, (template, response.text)
        if response.status_code >= 400:
            assert response.json()["detail"], template
    for path in (f"/plots/{url_text(value)}", f"/zones/{url_text(value)}"):
        response = send(api, "PATCH", path, {"note": "x"}, admin | {"If-Match": '"1"'})
        assert 400 <= response.status_code < 500, (path, response.text)


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.INTEGERS],
                         ids=_ids(hostile_inputs.INTEGERS))
def test_an_epsg_code_that_is_no_integer_is_refused(api, admin, plot, unchanged, value):
    # The plot's own outline: only the CRS can be the reason for a refusal.
    outline = api.get(f"/plots/{plot}").json()["geometry"]
    response = send(api, "PATCH", f"/plots/{plot}", {"geometry": outline, "crs": f"EPSG:{value}"},
                    admin | if_match(api, f"/plots/{plot}"))
    assert_refused(response, "crs")


def test_an_id_in_another_script_is_a_name_not_another_id(api):
    # '١' is 1 to int(); read as an id it would silently search municipality 1.
    response = api.get("/plots", params={"municipality": "١"})
    assert_refused(response, "municipality")
    beyond = api.get("/plots", params={"zone": str(2**31)})
    assert_refused(beyond, "zone")


# -- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.PRICES],
                         ids=_ids(hostile_inputs.PRICES))
def test_prices_no_plot_can_have_are_refused(api, admin, plot, unchanged, value):
    response = send(api, "PATCH", f"/plots/{plot}", {"price_eur_m2": value},
                    admin | if_match(api, f"/plots/{plot}"))
    assert_refused(response, "price_eur_m2")
    if value > 100_000:
        # Beyond the database's bound: 422, as the CHECK constraint itself would be answered.
        assert response.status_code == 422


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.POWERS],
                         ids=_ids(hostile_inputs.POWERS))
def test_power_no_plot_or_zone_can_have_is_refused(api, admin, plot, zone, unchanged, value):
    for path in (f"/plots/{plot}", f"/zones/{zone}"):
        response = send(api, "PATCH", path, {"power_mw": value}, admin | if_match(api, path))
        assert_refused(response, "power_mw")


#: The finite numbers (a file cannot write the others as numbers) and the field each is for.
FILE_NUMBERS = [(field, value) for field, cases in (("price_eur_m2", hostile_inputs.PRICES),
                                                    ("power_mw", hostile_inputs.POWERS))
                for value, _ in cases if math.isfinite(value)]


@pytest.mark.parametrize("field, value", FILE_NUMBERS)
def test_bulk_files_refuse_the_same_numbers(api, admin, hostile_engine, plot, unchanged, field,
                                            value):
    with hostile_engine.connect() as conn:
        reference = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                                 {"id": plot}).scalar_one()
    csv = f"cadastral_ref,{field}\n{reference},{value!r}\n".encode()
    response = api.post("/imports/plot-updates", files={"file": ("changes.csv", csv)},
                        headers=admin)
    assert_refused(response, field)


def test_the_database_bound_is_answered_422_naming_the_field(hostile_engine, plot):
    """The CHECK constraints of migration 0101 still refuse whoever skips the field rules;
    the shared write path then names the field (422 in the API), never a 500."""
    from locations.errors import OutOfRange
    from locations.writes import guarded_update

    with hostile_engine.connect() as conn, conn.begin():
        version = conn.execute(text("SELECT version FROM plot WHERE id = :id"),
                               {"id": plot}).scalar_one()
        with pytest.raises(OutOfRange) as refused:
            guarded_update(conn, "plot", plot, version, "price_eur_m2 = :p, ", {"p": 500_000})
        assert refused.value.field == "price_eur_m2"
        conn.rollback()


# -- geometry ------------------------------------------------------------------------------------


def spoiled(coordinates, spoil):
    if isinstance(coordinates, list):
        return [spoiled(item, spoil) for item in coordinates]
    return spoil(coordinates)


@pytest.mark.parametrize("spoil", [how for how, _ in hostile_inputs.COORDINATES],
                         ids=[why[:30] for _, why in hostile_inputs.COORDINATES])
def test_coordinates_that_are_no_numbers_are_refused(api, admin, plot, zone, unchanged, spoil):
    # The plot's own outline, which as numbers would be accepted as it is: only the
    # spoiled coordinates can be the reason for a refusal.
    outline = api.get(f"/plots/{plot}").json()["geometry"]
    outline["coordinates"] = spoiled(outline["coordinates"], spoil)
    moved = send(api, "PATCH", f"/plots/{plot}", {"geometry": outline},
                 admin | if_match(api, f"/plots/{plot}"))
    assert_refused(moved, "geometry")
    created = send(api, "POST", f"/zones/{zone}/plots",
                   {"cadastral_ref": "HOSTILE-1", "geometry": outline},
                   admin | if_match(api, f"/zones/{zone}"))
    assert_refused(created, "geometry")
    searched = send(api, "POST", "/plots/search", {"geometry": outline}, {})
    assert_refused(searched, "geometry")


# -- OGC API: sortby and CQL2 filter texts ------------------------------------------------------


def _refused_by_name_or_answered(response, parameter: str) -> None:
    """Never a 5xx: a 400 naming ``parameter``, or an answer."""
    assert response.status_code < 500, (parameter, response.status_code, response.text[:300])
    if response.status_code != 200:
        assert response.status_code == 400, (parameter, response.status_code, response.text)
        assert_refused(response, parameter)


@pytest.mark.parametrize("collection", ["zones", "plots"])
@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.OGC_SORTBY],
                         ids=_ids(hostile_inputs.OGC_SORTBY))
def test_ogc_sortby_texts_are_refused_by_name_or_answered(api, collection, value):
    response = api.get(f"/collections/{collection}/items",
                       params={"f": "json", "limit": 5, "sortby": value})
    _refused_by_name_or_answered(response, "sortby")


def _filter_lang(value: str) -> dict[str, str]:
    return {"filter-lang": "cql2-json"} if value[:1] in ('{', '[', '"') else {}


@pytest.mark.parametrize("collection", ["zones", "plots"])
@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.OGC_FILTERS],
                         ids=_ids(hostile_inputs.OGC_FILTERS))
def test_ogc_filter_texts_are_refused_by_name_or_answered(api, collection, value):
    response = api.get(f"/collections/{collection}/items",
                       params={"f": "json", "limit": 5, "filter": value} | _filter_lang(value))
    _refused_by_name_or_answered(response, "filter")


# -- the admission limit --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [v for v, _ in hostile_inputs.ADMISSION_LIMITS],
                         ids=_ids(hostile_inputs.ADMISSION_LIMITS))
def test_an_admission_limit_no_server_can_keep_is_refused_at_start(monkeypatch, value):
    from pydantic import ValidationError

    from locations.settings import get_settings

    monkeypatch.setenv("LOCATIONS_MAX_ACTIVE_REQUESTS", value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError) as refused:
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "max_active_requests" in str(refused.value)


def test_refused_requests_leave_their_place_in_the_admission_queue(hostile_engine, monkeypatch):
    """With one read at work at a time, every hostile read refused (4xx, an error page)
    leaves its place: a plain read after them all is still answered."""
    import threading

    from api.app import create_app
    from locations.settings import get_settings

    monkeypatch.setenv("LOCATIONS_MAX_ACTIVE_REQUESTS", "1")
    get_settings.cache_clear()
    try:
        app = create_app(hostile_engine)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    statuses: list[int] = []
    with TestClient(app) as client:
        for value, _ in hostile_inputs.TEXT + hostile_inputs.INTEGERS:
            if not survives_a_url(value):
                continue
            for path in (f"/maps/plots/{url_text(value)}", f"/zones/{url_text(value)}",
                         f"/plots?municipality={url_text(value)}",
                         f"/maps/search?region={url_text(value)}&lang=en"):
                statuses.append(client.get(path).status_code)
        for value, _ in hostile_inputs.OGC_SORTBY[:5]:
            statuses.append(client.get("/collections/zones/items",
                                       params={"sortby": value}).status_code)
        answered: list[int] = []
        last = threading.Thread(target=lambda: answered.append(
            client.get("/collections/zones/items", params={"f": "json"}).status_code),
            daemon=True)
        last.start()
        last.join(60)
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert any(400 <= status < 500 for status in statuses)
    assert answered == [200], "a refused read kept its place"
