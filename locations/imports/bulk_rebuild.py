"""A first load of many plots: their tables' secondary indexes and foreign keys dropped for
the load and rebuilt after it, which is faster than maintaining them row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

#: Tables whose secondary indexes and foreign keys a large import rebuilds instead of
#: maintaining row by row.
BULK_REBUILT_TABLES = ("plot", "plot_proximity", "plot_event")
#: Below this many plots the rebuild saves too little to be worth the exclusive lock.
BULK_REBUILD_MIN_ROWS = 10_000


def drop_for_bulk_load(conn: Connection, incoming: int) -> list[str]:
    """Drop the secondary indexes and foreign keys of plot, plot_proximity and plot_event
    when the file brings (``incoming`` new plots) at least as many plots as the table holds
    (a first load, or one that doubles it); return the statements that put them back, for
    ``_restore_after_bulk_load``.

    Building an index once from sorted rows costs a fraction of inserting a million random
    keys into each of some fifteen btrees and a GiST; checking a foreign key once, by one
    join, costs a fraction of PostgreSQL's check per inserted row (a query and a row lock
    each: 13 s per million plots, as much again for their audit events). This is the order
    pg_restore uses: data first, then indexes and constraints. The price: the import holds
    an exclusive lock on the tables until it commits, so searches wait for a first load
    instead of reading an empty table. Primary keys stay (the distances upsert on theirs).
    The natural key (country, cadastral reference) goes too, once the plots the file names
    that exist already have been matched: keeping a million text keys sorted row by row
    cost 3.6 s, building it 1.2 s. The drop is part of the import's transaction: an import
    that fails or is killed leaves every index and key as it was, and a key that the loaded
    rows broke would fail the import when it is added back.
    """
    # The planner's estimate is enough to tell a first load from a top-up; -1: never counted.
    present = conn.execute(text(
        "SELECT CASE WHEN reltuples < 0 THEN (SELECT count(*) FROM plot) ELSE reltuples END"
        " FROM pg_class WHERE oid = 'plot'::regclass")).scalar_one()
    if incoming < max(present, BULK_REBUILD_MIN_ROWS):
        return []
    tables = {"tables": list(BULK_REBUILT_TABLES)}
    # Only a table's owner may drop its indexes: a role granted the tables but not owning
    # them loads row by row into the indexes as they stand, slower but the same result.
    if not conn.execute(text(
            "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class "
            "WHERE oid = ANY (CAST(:tables AS regclass[]))"), tables).scalar_one():
        return []
    keys = conn.execute(text(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid = ANY (CAST(:tables AS regclass[])) AND c.contype IN ('u', 'f')
          -- Dropping a foreign key locks the table it references until the commit. Every
          -- authenticated request reads account, so the key to it stays: dropped, it made
          -- them all wait for the load, the status of its own import job too. Its check
          -- costs nothing for the command line's events (no account), a lookup per event
          -- over HTTP.
          AND c.confrelid IS DISTINCT FROM CAST('account' AS regclass)
        -- Unique keys back before foreign keys, which might reference them.
        ORDER BY c.contype DESC, c.conrelid::regclass::text, c.conname
        """), tables).all()
    indexes = conn.execute(text(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = ANY (CAST(:tables AS regclass[])) AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """), tables).all()
    for table, name, _ in reversed(keys):
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    _renew_empty_tables(conn)
    return ([definition for _, definition in indexes]
            + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
               for table, name, definition in keys])


def _renew_empty_tables(conn: Connection) -> None:
    """Give a first load's empty tables new files, so that it writes them without WAL.

    With ``wal_level = minimal`` (the embedded cluster's, which has no replicas to feed),
    PostgreSQL writes a table whose file was created in the running transaction straight
    to disk and syncs it at commit, instead of logging every row and page twice. TRUNCATE
    of an empty table is how a transaction gets new files for it. Under ``replica`` this
    changes nothing but costs nothing either. Only tables that are really empty are
    truncated, checked under the exclusive lock the bulk load holds already.
    """
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM plot)")).scalar_one():
        return
    # plot's truncate trigger renews plot_proximity. The tables that keep a key to plot
    # (plot_site_metrics, inquiry) go with it, as TRUNCATE demands: only when empty, which
    # a key to no plot at all should make them, checked as for the events below.
    # And so do the tables keeping a key to those (inquiry_event to inquiry), all the way.
    referencing = conn.execute(text(
        """
        WITH RECURSIVE keyed(tab) AS (
            SELECT 'plot'::regclass
            UNION
            SELECT c.conrelid::regclass FROM pg_constraint c JOIN keyed k ON c.confrelid = k.tab
            WHERE c.contype = 'f' AND c.conrelid <> 'plot_event'::regclass
        )
        SELECT tab::text FROM keyed WHERE tab <> 'plot'::regclass ORDER BY 1
        """)).scalars().all()
    for table in referencing:
        if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar_one():
            return
    tables = ["plot", *referencing]
    # Events outlive nothing here: a plot with events cannot be deleted, so no plots means
    # no events; checked all the same, as history must never be lost to a speed-up.
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM plot_event)")).scalar_one():
        tables.append("plot_event")
    conn.execute(text(f"TRUNCATE {', '.join(tables)}"))


def restore_after_bulk_load(conn: Connection, statements: list[str]) -> None:
    """Build the dropped indexes, add the foreign keys back (each checked by one join)."""
    if not statements:
        return
    conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for statement in statements:
        conn.execute(text(statement))
    # Fresh statistics, so the first searches after a large load are planned for its size.
    for table in BULK_REBUILT_TABLES:
        conn.execute(text(f"ANALYZE {table}"))


#: The statement trigger that keeps the land-supply months as events are written.
EVENT_SUPPLY_TRIGGER = "zone_supply_event"


@contextmanager
def supply_kept_once(conn: Connection) -> Iterator[None]:
    """Events written inside are counted into the land-supply months once, after them, by
    ``zone_supply_rebuild()``, instead of by the trigger on the statement that writes them.

    Only for a first load's trail, when ``plot_event`` holds no event yet (otherwise the
    trigger keeps its work, unchanged). The trigger takes what the plots' events add now,
    less what their events before the statement added: for plots without earlier events the
    second half reads a million events to find none (at a million plots it was as long as
    the first). The rebuild computes the first half alone from the whole trail, which then
    is this load's: the same months and first loads. Disabling a trigger is part of the
    transaction, under the exclusive lock a bulk load holds on ``plot_event`` already: no
    other session ever writes an event while it is off.
    """
    empty = not conn.execute(text("SELECT EXISTS (SELECT 1 FROM plot_event)")).scalar_one()
    owner = conn.execute(text(
        "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class "
        "WHERE oid = 'plot_event'::regclass")).scalar_one()
    if not (empty and owner):
        yield
        return
    conn.execute(text(f"ALTER TABLE plot_event DISABLE TRIGGER {EVENT_SUPPLY_TRIGGER}"))
    yield
    conn.execute(text(f"ALTER TABLE plot_event ENABLE TRIGGER {EVENT_SUPPLY_TRIGGER}"))
    conn.execute(text("SELECT zone_supply_rebuild()"))
