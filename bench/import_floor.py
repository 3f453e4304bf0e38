"""What a bulk load of plots is measured against: the target ratio to a bare load of the same
rows (COPY and a GiST index, as ogr2ogr loads a file), and the floor the plot table itself
imposes on any load, whatever it checks or records besides."""

from __future__ import annotations

#: The ratio to a bare load that a million-plot load (import or synthetic) should stay
#: within, every check, distance and audit event kept.
TARGET_RATIO = 2.5


def floor_statements(table: str, row_id: str, *, zone: str | None, key: str) -> list[str]:
    """The plot table's own demands on a bare load's ``table``: its CHECK on valid boundaries
    and each secondary index of ``plot`` (the natural ``key``, the filters, the search orders,
    the ``zone``'s, none without one; the area index computes each area, as the plot table
    stores it). The GiST and the primary key (``row_id``) the bare load built already."""
    statements = [
        f"ALTER TABLE {table} ADD CHECK (NOT ST_IsEmpty(boundary) AND ST_IsValid(boundary))",
        f"CREATE UNIQUE INDEX ON {table} ({key})",
        f"CREATE INDEX ON {table} (status)",
        f"CREATE INDEX ON {table} (price_eur_m2)",
        f"CREATE INDEX ON {table} (last_verified)",
        f"CREATE INDEX ON {table} (ST_Area(boundary), {row_id})",
        f"CREATE INDEX ON {table} (COALESCE(price_eur_m2, 'Infinity'), {row_id})",
        f"CREATE INDEX ON {table} (COALESCE(last_verified, '-infinity'), {row_id})",
    ]
    if zone:
        statements.append(f"CREATE INDEX ON {table} ({zone}, {row_id})")
    return statements
