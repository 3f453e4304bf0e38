"""The field catalogue (``locations.fields``) and everything that describes a plot's or a
zone's fields agree: the tables, the PATCH schemas, the import layout, the exports and their
dictionary, the search's queryables, the plot's GeoJSON and the database's bounds. A column
added without its catalogue entry, or an entry that one of them forgets, fails here."""

from __future__ import annotations

import pytest
from sqlalchemy import ARRAY, CHAR, BigInteger, Boolean, Date, Double, Integer, Numeric, Text

from locations import cql, fields, tables
from locations.accounts import EVERYWHERE
from locations.field_rules import NOT_NULL, PLOT_FIELDS, ZONE_FIELDS
from locations.imports import exports
from locations.imports.loading import COLUMN_CASTS
from locations.imports.targets import TARGETS
from locations.search import PlotFilter
from locations.values import PLAUSIBILITY_CHECKS
from locations.zone_search import ZoneFilter

#: Columns of the tables that are no field a person reads or writes: keys to other tables,
#: the geometry (a file's geometry, the API's `geometry`) and bookkeeping.
# A plot's municipality_id is its keeper, derived from its outline like a zone's reference
# is given: a key, not a field.
# The outline's kept GeoJSON (0138) is the geometry again, as text the database keeps.
NOT_FIELDS = {"plot": {"boundary", "boundary_3857", "boundary_geojson", "municipality_id",
                       "retired_at", "updated_at"},
              "zone": {"municipality_id", "boundary", "updated_at"}}
#: The column types a field of each kind may have.
COLUMN_TYPES = {"text": (Text, CHAR), "enum": (Text,), "number": (Double, Numeric),
                "integer": (Integer, BigInteger), "bool": (Boolean,), "date": (Date,),
                "uses": (ARRAY,)}
COLLECTIONS = [(fields.PLOTS, tables.plot), (fields.ZONES, tables.zone)]


@pytest.mark.parametrize(("collection", "table"), COLLECTIONS, ids=["plots", "zones"])
def test_every_column_is_catalogued_with_its_type(collection, table):
    uncatalogued = {c.name for c in table.c} - NOT_FIELDS[table.name] - {
        f.name for f in collection.fields}
    assert not uncatalogued, f"columns of {table.name} without a catalogue entry"
    for field in collection.fields:
        if field.name in table.c:
            assert isinstance(table.c[field.name].type, COLUMN_TYPES[field.kind]), field.name
    # What is written must be a column (a computed export column is read only).
    assert {f.name for f in collection.editable} <= {c.name for c in table.c}
    # A field that may not be cleared is NOT NULL in the table (a list cleared is empty).
    for field in collection.editable:
        if field.kind != "uses":
            assert field.clearable == table.c[field.name].nullable, field.name


@pytest.mark.parametrize("collection", [fields.PLOTS, fields.ZONES], ids=["plots", "zones"])
def test_the_write_rules_and_the_patch_schema_are_the_editable_fields(collection, client):
    rules = PLOT_FIELDS if collection is fields.PLOTS else ZONE_FIELDS
    assert list(rules) == [f.name for f in collection.editable]
    assert NOT_NULL >= {f.name for f in collection.editable if not f.clearable}
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    body = schemas["PlotChange" if collection is fields.PLOTS else "ZoneChange"]["properties"]
    extra = {"geometry", "crs", "note", "effective_date"}
    assert set(body) - extra == {f.name for f in collection.editable}
    for field in collection.editable:
        documented = next(s for s in body[field.name]["anyOf"] if s.get("type") != "null")
        if field.kind == "enum":
            assert documented["enum"] == list(field.choices), field.name
        if field.kind == "number":
            assert (documented["minimum"], documented["maximum"]) == (
                field.minimum, field.maximum), field.name
        if field.kind == "uses":
            assert documented["items"]["enum"] == list(field.choices)


@pytest.mark.parametrize("collection", [fields.PLOTS, fields.ZONES], ids=["plots", "zones"])
def test_the_import_layout_is_the_importable_fields(collection):
    target = TARGETS[collection.name]
    assert target.table == collection.table
    assert target.field_names == tuple(f.name for f in collection.importable)
    for field in collection.importable:
        spec = target.field(field.name)
        assert (spec.kind, spec.minimum, spec.maximum, spec.required) == (
            field.kind, field.minimum, field.maximum, field.required)
    # Every importable column of the table is loaded, with a cast to its type.
    assert set(COLUMN_CASTS[collection.name]) == {
        f.name for f in collection.importable
        if f.name in tables.metadata.tables[collection.table].c} - {"cadastral_ref", "name"}
    # The import layout is what the export writes: an export imports back as it is.
    assert {c["name"] for c in exports.dictionary(collection.name) if c["import"]} == {
        *target.field_names, "wkt"}


def test_the_database_bounds_are_the_catalogues():
    for constraint, (name, maximum) in PLAUSIBILITY_CHECKS.items():
        collection = fields.ZONES if constraint.startswith("zone_") else fields.PLOTS
        assert collection[name].maximum == maximum, constraint


def test_the_queryables_are_catalogued_fields_of_the_same_type():
    json_types = {"text": "string", "enum": "string", "number": "number",
                  "integer": "integer", "bool": "boolean", "date": "date"}
    zone_properties = {"broadband", "gas", "rail_siding"}
    for name, queryable in cql.PLOT_PROPERTIES.items():
        if name == "geometry":
            continue
        field = (fields.ZONES if name in zone_properties else fields.PLOTS)[name]
        assert queryable.type == json_types[field.kind], name
        if queryable.enum is not None:
            assert queryable.enum == field.choices, name
    internal = cql.plot_properties(EVERYWHERE)
    assert {n for n in internal if n not in cql.PLOT_PROPERTIES} == {
        f.name for f in fields.PLOTS.fields if f.internal}
    # A zone's own columns among the zones' queryables (OGC API: /collections/zones).
    zone_columns = {f.name for f in fields.ZONES.fields}
    own = {name: queryable for name, queryable in cql.ZONE_PROPERTIES.items()
           if queryable.sql == f"z.{name}" and name in zone_columns}
    assert {"kind", "power_mw", "broadband", "last_verified"} <= own.keys()
    for name, queryable in own.items():
        field = fields.ZONES[name]
        assert queryable.type == json_types[field.kind], name
        if queryable.enum is not None:
            assert queryable.enum == field.choices, name


def test_exports_write_the_dictionarys_columns(engine):
    """The columns of a real export of plots (with internal columns) and of zones are the
    catalogue's exported fields, in its order; the geometry columns come with the format."""
    with engine.connect() as conn:
        plots = exports.select_plots(conn, PlotFilter(), internal=EVERYWHERE)
        zones = exports.select_zones(conn, ZoneFilter())
    assert len(plots) and len(zones)
    skipped = {"score", "score_profile", *fields.GEOMETRY_COLUMNS}  # a profile's, a format's
    assert list(plots.columns.drop("geometry")) == [
        f.name for f in fields.PLOTS.exported if f.name not in skipped]
    assert list(zones.columns.drop("geometry")) == [
        f.name for f in fields.ZONES.exported if f.name not in fields.GEOMETRY_COLUMNS]


def test_the_api_serves_the_catalogues_dictionary_and_plot_fields(client):
    for collection in (fields.PLOTS, fields.ZONES):
        answer = client.get(f"/exports/dictionary/{collection.name}")
        assert answer.status_code == 200
        assert answer.json()["columns"] == collection.dictionary()
    # A description with a comma in it is whole (the YAML it came from cut it into keys).
    (region,) = [c for c in client.get("/exports/dictionary/plots").json()["columns"]
                 if c["name"] == "region_code"]
    assert region["description"].endswith("AT221..AT226 Styria).")
    plot = client.get("/plots", params={"limit": 1}).json()["features"][0]["properties"]
    public_columns = {f.name for f in fields.PLOTS.editable if not f.internal}
    assert public_columns <= set(plot), public_columns - set(plot)
    assert not {f.name for f in fields.PLOTS.fields if f.internal} & set(plot)
