"""Each plot's straight-line distances to the nearest infrastructure, kept in ``plot_proximity``.

The distances are computed in PostGIS by one set-based statement (KNN over a
per-kind GiST index, then ``ST_Distance`` from the plot's boundary), written by
migration 0002 as the SQL function ``plot_proximity_refresh``. Triggers keep
the table current: inserted plots and plots whose boundary changed are
recomputed at the end of each statement, and any change to infrastructure
recomputes every plot. Call :func:`refresh_proximity` only to repair or to
recompute on purpose — and after a bulk load that deferred the plot triggers
with ``SET LOCAL locations.defer_proximity = 'on'`` (migration 0008): such a
writer must refresh its plots in the same transaction, as the importer does.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

#: Column of ``plot_proximity`` per distance, and what it measures to.
PROXIMITY_COLUMNS: dict[str, str] = {
    "motorway_km": "nearest motorway junction",
    "rail_station_km": "nearest rail station",
    "rail_freight_km": "nearest rail freight terminal",
    "airport_km": "nearest airport",
    "public_transport_km": "nearest rail station or bus stop",
}


def refresh_proximity(conn: Connection, plot_ids: Iterable[int] | None = None) -> int:
    """Recompute the distances of ``plot_ids`` (default: every plot) in one statement.

    Returns:
        How many plots' distances were written.
    """
    ids = None if plot_ids is None else [int(i) for i in plot_ids]
    conn.execute(text("SELECT plot_proximity_refresh(CAST(:ids AS bigint[]))"), {"ids": ids})
    if ids is None:
        return conn.execute(text("SELECT count(*) FROM plot_proximity")).scalar_one()
    return conn.execute(
        text("SELECT count(*) FROM plot_proximity WHERE plot_id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": ids},
    ).scalar_one()
