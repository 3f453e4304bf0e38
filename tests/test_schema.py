"""The database itself refuses bad rows, whoever writes them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

SQUARE = "POLYGON((4700000 2600000, 4700100 2600000, 4700100 2600100, 4700000 2600100, 4700000 2600000))"
# Self-intersecting, with lobes of unequal size so its signed area is not zero.
BOWTIE = "POLYGON((4700000 2600000, 4700100 2600100, 4700100 2600000, 4700000 2600030, 4700000 2600000))"


@pytest.fixture
def zone_ids(empty_engine: Engine) -> dict[str, int]:
    """One Slovenian and one Austrian zone to hang plots on."""
    with empty_engine.begin() as conn:
        ids = {}
        for country, code in (("SI", "SI042"), ("AT", "AT221")):
            region = conn.execute(
                text("INSERT INTO region (code, name, country) VALUES (:c, :c, :k) RETURNING id"),
                {"c": code, "k": country},
            ).scalar_one()
            municipality = conn.execute(
                text("INSERT INTO municipality (code, name, region_id, country) "
                     "VALUES ('1', 'Town', :r, :k) RETURNING id"),
                {"r": region, "k": country},
            ).scalar_one()
            ids[country] = conn.execute(
                text("INSERT INTO zone (municipality_id, name, kind, boundary) "
                     "VALUES (:m, 'Zone', 'industrial', ST_Multi(ST_GeomFromText(:g, 3035))) "
                     "RETURNING id"),
                {"m": municipality, "g": SQUARE},
            ).scalar_one()
    return ids


def insert_plot(engine: Engine, zone_id: int, **overrides) -> None:
    values = {"zone": zone_id, "ref": "2100-1/1", "status": "available", "price": 50,
              "geom": f"SRID=3035;{SQUARE}"} | overrides
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plot (zone_id, cadastral_ref, status, price_eur_m2, boundary) "
                 "VALUES (:zone, :ref, :status, :price, ST_Multi(ST_GeomFromEWKT(:geom)))"),
            values,
        )


def plot_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM plot")).scalar_one()


def test_a_good_plot_is_accepted_with_its_area_and_country(empty_engine, zone_ids):
    insert_plot(empty_engine, zone_ids["SI"])
    with empty_engine.connect() as conn:
        area, country = conn.execute(text("SELECT area_m2, country FROM plot")).one()
    assert area == pytest.approx(10_000)
    assert country == "SI"


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"geom": f"SRID=3035;{BOWTIE}"}, "plot_boundary_valid"),
        ({"geom": "SRID=3035;POLYGON EMPTY"}, "plot_boundary_not_empty|plot_area_positive"),
        ({"geom": f"SRID=4326;{SQUARE}"}, "SRID"),
        ({"status": "for_grabs"}, "plot_status_known"),
        ({"price": 0}, "price_eur_m2"),
        ({"price": -5}, "price_eur_m2"),
        ({"ref": "  "}, "cadastral_ref"),
        ({"geom": "SRID=3035;POLYGON((4700000 2600000, 4700100 2600000, 4700200 2600000, 4700000 2600000))"},
         "plot_area_positive|plot_boundary_valid"),
    ],
    ids=["self-intersecting", "empty", "wrong-srid", "unknown-status", "zero-price",
         "negative-price", "blank-reference", "zero-area"],
)
def test_bad_plots_are_refused(empty_engine, zone_ids, overrides, constraint):
    with pytest.raises(DBAPIError) as refused:
        insert_plot(empty_engine, zone_ids["SI"], **overrides)
    assert re.search(constraint, str(refused.value.orig), re.IGNORECASE)
    assert plot_count(empty_engine) == 0


def test_a_cadastral_reference_is_unique_within_a_country_only(empty_engine, zone_ids):
    insert_plot(empty_engine, zone_ids["SI"], ref="2100-7/3")
    with pytest.raises(DBAPIError, match="plot_cadastral_ref_unique_in_country"):
        insert_plot(empty_engine, zone_ids["SI"], ref="2100-7/3")
    # The same text in Austria is another parcel altogether.
    insert_plot(empty_engine, zone_ids["AT"], ref="2100-7/3")
    assert plot_count(empty_engine) == 2


def test_a_plot_in_a_zone_that_does_not_exist_is_refused(empty_engine, zone_ids):
    with pytest.raises(DBAPIError, match="foreign key|not-null"):
        insert_plot(empty_engine, 999_999)
    assert plot_count(empty_engine) == 0


def test_a_zone_cannot_be_deleted_while_plots_reference_it(empty_engine, zone_ids):
    insert_plot(empty_engine, zone_ids["SI"])
    with pytest.raises(DBAPIError, match="foreign key"), empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM zone WHERE id = :id"), {"id": zone_ids["SI"]})


def test_unknown_zone_kind_and_infrastructure_kind_are_refused(empty_engine, zone_ids):
    with pytest.raises(DBAPIError, match="kind"), empty_engine.begin() as conn:
        conn.execute(text("UPDATE zone SET kind = 'casino'"))
    with pytest.raises(DBAPIError, match="kind"), empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO infrastructure (kind, name, geom) "
                          "VALUES ('teleporter', 'X', 'SRID=3035;POINT(4700000 2600000)')"))


#: Stored geometry columns derived from another (never searched, never written by hand):
#: plot boundaries in web mercator for vector tiles (0009), kept by plot's trigger (0018).
_DERIVED = "(g.f_table_name, g.f_geometry_column) IN (('plot', 'boundary_3857'))"


def test_every_geometry_column_has_a_gist_index(empty_engine):
    with empty_engine.connect() as conn:
        missing = conn.execute(text(f"""
            SELECT f_table_name || '.' || f_geometry_column
            FROM geometry_columns g
            WHERE f_table_schema = 'public' AND NOT {_DERIVED} AND NOT EXISTS (
                SELECT 1 FROM pg_indexes i
                WHERE i.tablename = g.f_table_name AND i.indexdef ILIKE '%gist%'
                  AND i.indexdef LIKE '%' || g.f_geometry_column || '%')
        """)).scalars().all()
        srids = set(conn.execute(text(
            f"SELECT srid FROM geometry_columns g WHERE f_table_schema = 'public' AND NOT {_DERIVED}"
        )).scalars())
        derived = conn.execute(text(
            f"SELECT f_table_name, f_geometry_column, srid FROM geometry_columns g"
            f" WHERE f_table_schema = 'public' AND {_DERIVED}")).all()
    assert missing == []
    assert srids == {3035}
    assert [tuple(row) for row in derived] == [("plot", "boundary_3857", 3857)]


def _derived(engine: Engine) -> tuple[float, bool]:
    """The plot's area, and whether its web-mercator copy is its boundary transformed."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT area_m2, ST_Equals(boundary_3857, ST_Transform(boundary, 3857)) "
            "AND ST_SRID(boundary_3857) = 3857 FROM plot")).one())


def test_area_and_tile_copy_follow_the_boundary_whoever_writes_them(empty_engine, zone_ids):
    insert_plot(empty_engine, zone_ids["SI"])
    assert _derived(empty_engine) == (pytest.approx(10_000), True)
    # A new boundary (half the square): both follow.
    half = "POLYGON((4700000 2600000, 4700050 2600000, 4700050 2600100, 4700000 2600100, 4700000 2600000))"
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET boundary = ST_Multi(ST_GeomFromText(:g, 3035))"),
                     {"g": half})
    assert _derived(empty_engine) == (pytest.approx(5_000), True)
    # Values written by hand are replaced, by an update as by an insert without the importer's
    # setting (which an update never honours).
    with empty_engine.begin() as conn:
        conn.execute(text("SET LOCAL locations.plot_geometry_given = 'on'"))
        conn.execute(text("UPDATE plot SET area_m2 = 1, boundary_3857 = ST_Transform(boundary, 3857)"))
    assert _derived(empty_engine) == (pytest.approx(5_000), True)
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM plot"))
        conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary, area_m2, boundary_3857) "
            "VALUES (:z, '2100-1/2', ST_Multi(ST_GeomFromText(:g, 3035)), 1, "
            "ST_Transform(ST_Multi(ST_GeomFromText(:g, 3035)), 3857))"),
            {"z": zone_ids["SI"], "g": SQUARE})
    assert _derived(empty_engine) == (pytest.approx(10_000), True)
