"""How large, detailed and long a plot and its text may plausibly be, each limit defined once:
the API's plot writes (``plot_updates``) and the import (``imports``) both check with these.

Each limit answers something that once got in: a plot covering most of Europe made its
1 km² zone report 11.8 million km² available; a valid outline of 350,000 vertices made
every export fail until it was deleted; four identical squares in one file went in as
four plots. Numbers and control characters are ``locations.values``'s.
"""

from __future__ import annotations

from locations.errors import InvalidInput

#: A plot's area at most: about three times the largest factory sites in Europe, far below
#: any region. Larger is a zone, a municipality or a wrong CRS, never one plot.
MAX_PLOT_AREA_M2 = 10_000_000
#: ... and at least, as the API has always had it: smaller is a slip or a sliver.
MIN_PLOT_AREA_M2 = 1
#: A plot may be this much larger than its zone (a share of the zone's area): the cadastre
#: and the planning map draw the same lines apart. Larger, the zone's land supply lies.
ZONE_AREA_TOLERANCE = 0.10
#: Points of a plot's outline at most (ST_NPoints, each ring's closing point included). A
#: surveyed parcel has tens; its GeoJSON, tiles and exports are built whole per plot.
MAX_PLOT_VERTICES = 10_000
#: Edges of a plot may stray this far out of its zone or into a neighbour: cadastral
#: outlines from different sources rarely agree to the centimetre.
EDGE_TOLERANCE_M = 0.5
#: The parts of a split plot cover it exactly: their areas add up to its area, and their
#: union differs from it, by at most this many m² (a strip 1 mm wide along a 10 m cut).
SPLIT_COVER_TOLERANCE_M2 = 0.01
#: Plots merged into one at most, and parts a plot is split into at most: a sale of a
#: few neighbours or of part of a plot, not a redrawing of the zone.
MAX_LINEAGE_PLOTS = 20

#: A zipped GIS file (a Shapefile's parts, a GeoPackage) may unpack to this many times its
#: own size once it unpacks to more than ``ZIP_RATIO_FLOOR_BYTES``, and to
#: ``MAX_UNZIPPED_BYTES`` at most: GIS files pack 3 to 50 times; a zip bomb, 20 MB that
#: unpack to 20 GB of records, would have every record read into memory.
MAX_ZIP_RATIO = 200
ZIP_RATIO_FLOOR_BYTES = 200 * 1024 * 1024
MAX_UNZIPPED_BYTES = 10 * 1024 * 1024 * 1024

#: A plot's photo or document (PDF, JPEG, PNG) at most, in bytes: a site plan or a zoning
#: extract as PDF, a photo from a phone. The pages and the exposé show them as they are.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: Photos and documents per plot at most: the page lists them all, the exposé the photos.
MAX_ATTACHMENTS_PER_PLOT = 20
#: Pixels of an attached image at most (width x height): a phone's 50-megapixel photo fits;
#: a small file claiming more is a decompression bomb (a few KB that unpack to gigabytes).
MAX_IMAGE_PIXELS = 60_000_000
#: A file kept between its preview (dry run) and its application, in bytes, and for how long.
MAX_STAGED_BYTES = 100 * 1024 * 1024
STAGED_UPLOAD_HOURS = 1

#: Characters at most: a reference or code (a key, and indexed), a name (indexed too,
#: within PostgreSQL's B-tree entry limit), any other text (notes, descriptions, contacts).
MAX_REFERENCE_CHARS = 100
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 5_000
#: Fields that are references or names, by the name they have in files and in the API.
_FIELD_CHARS = {"cadastral_ref": MAX_REFERENCE_CHARS, "code": MAX_REFERENCE_CHARS,
                "name": MAX_NAME_CHARS, "zone": MAX_NAME_CHARS,
                "municipality": MAX_NAME_CHARS, "region": MAX_NAME_CHARS}


def max_chars(field: str) -> int:
    """How many characters ``field`` may hold."""
    return _FIELD_CHARS.get(field, MAX_TEXT_CHARS)


def length_problem(field: str, value: str) -> str | None:
    """Why ``value`` is too long for ``field``, or None."""
    if len(value) <= max_chars(field):
        return None
    return f"{len(value):,} characters; at most {max_chars(field):,}"


def check_length(field: str, value: str) -> str:
    """``value`` unchanged, when ``field`` may hold it.

    Raises:
        InvalidInput: on ``field``, saying how long it is and may be.
    """
    if (problem := length_problem(field, value)) is not None:
        raise InvalidInput(field, problem)
    return value


def _area_text(area: str) -> str:
    """SQL: an area in m² as a person reads it, '900.0 m²' or '11,796,542.3 km²'."""
    return (f"CASE WHEN {area} < 1000000 THEN to_char({area}, 'FM999,990.0') || ' m²' "
            f"ELSE to_char({area} / 1e6, 'FM999,999,999,990.0') || ' km²' END")


def outline_problem_sql(geom: str) -> str:
    """SQL: why the plot outline ``geom`` (EPSG:3035, valid) is implausible, or NULL."""
    return f"""CASE
        WHEN ST_NPoints({geom}) > {MAX_PLOT_VERTICES}
            THEN 'the outline has ' || to_char(ST_NPoints({geom}), 'FM999,999,999,990')
                 || ' points; a plot may have at most {MAX_PLOT_VERTICES:,}: simplify it'
        WHEN ST_Area({geom}) > {MAX_PLOT_AREA_M2}
            THEN 'the plot''s area is ' || {_area_text(f"ST_Area({geom})")}
                 || '; a plot may have at most {MAX_PLOT_AREA_M2 / 1e6:g} km²'
        WHEN ST_Area({geom}) < {MIN_PLOT_AREA_M2}
            THEN 'the plot''s area is ' || round(ST_Area({geom})::numeric, 2)
                 || ' m², below {MIN_PLOT_AREA_M2} m²'
    END"""


def zone_problem_sql(geom: str, zone_area: str, zone_box: str, zone_name: str,
                     reach_m: float) -> str:
    """SQL: why the plot ``geom`` cannot be in the zone of area ``zone_area`` and bounding
    box ``zone_box``, or NULL: larger than the zone (ZONE_AREA_TOLERANCE), or reaching
    more than ``reach_m`` past the zone's box on any side (it dwarfs the zone, or lies
    across it). Boxes, not geometries: a million plots are checked in a blink."""
    reach = (f"greatest(ST_XMin({zone_box}) - ST_XMin({geom}), ST_XMax({geom}) - ST_XMax({zone_box}), "
             f"ST_YMin({zone_box}) - ST_YMin({geom}), ST_YMax({geom}) - ST_YMax({zone_box}))")
    return f"""CASE
        WHEN ST_Area({geom}) > {zone_area} * {1 + ZONE_AREA_TOLERANCE}
            THEN 'the plot''s area, ' || {_area_text(f"ST_Area({geom})")} || ', is more than zone '
                 || {zone_name} || '''s, ' || {_area_text(zone_area)}
        WHEN NOT ({geom} @ ST_Expand({zone_box}, {float(reach_m)}))
            THEN 'the plot reaches ' || CASE WHEN {reach} < 1000 THEN round({reach}) || ' m'
                                             ELSE round(({reach} / 1000)::numeric, 1) || ' km' END
                 || ' beyond the extent of zone ' || {zone_name} || ' (at most {reach_m:g} m)'
    END"""


def overlap_sql(other: str, core: str) -> str:
    """SQL true when the plot ``other`` overlaps a plot whose outline, shrunk by
    EDGE_TOLERANCE_M, is ``core`` (``core_sql``): the one rule of what overlapping is."""
    return (f"{other} && {core} AND ST_Intersects({other}, {core}) "
            f"AND NOT ST_Touches({other}, {core})")


def core_sql(geom: str) -> str:
    """SQL: the plot ``geom`` shrunk by EDGE_TOLERANCE_M, what may overlap no other plot."""
    return f"ST_Buffer({geom}, -{EDGE_TOLERANCE_M})"


def zone_outline_lock_sql(zone: str) -> str:
    """SQL taking the lock every writer of plot outlines in the zone ``zone`` (its id) holds
    until it commits: two of them drawing in one zone at once must not both pass the
    overlap check."""
    return f"pg_advisory_xact_lock(hashtext('plot_geometry'), {zone})"
