"""The import's workspace in PostgreSQL: its own schema (or temporary tables), the file's
rows copied into it by COPY in chunks, and the problems table every check writes to.

Tables (unlogged, in a schema of the import's own that it drops before commit, so that
PostgreSQL may check their rows with parallel workers; temporary for a role that may not
create schemas; see ``open_workspace``):

- ``import_stage``: the file's rows as canonical text plus the geometry as read;
- ``import_row``: the rows resolved (``locations.imports.validation``);
- ``import_problem``: every problem, ``(row_no, field, reason)``.
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, text

from locations.imports.targets import Target, normalise

#: Rows per COPY chunk: large enough for bulk speed, small enough for a live progress bar.
COPY_CHUNK = 100_000
#: A smaller file still goes in this many chunks at least, so that checking the next chunk
#: overlaps the COPY of this one (in one chunk, the two would take turns).
COPY_CHUNKS_AT_LEAST = 8
#: ... of this many rows at least: smaller chunks cost more in round trips than they save.
COPY_CHUNK_AT_LEAST = 5_000

Progress = Callable[[str, int, int], None]


def open_workspace(conn: Connection) -> str | None:
    """Give this transaction a schema of its own for the staging tables, first on its path.

    Plain (unlogged) tables, not temporary ones: PostgreSQL's parallel workers cannot read
    a session's temporary tables, so every check over a million staged rows ran on one
    core. The schema is created in the import's transaction, so no other session sees it,
    and an import that fails or is killed takes it away with its rollback; a committed
    import drops it first (``close_workspace``). Named by the backend, so that imports
    running side by side never meet. Returns the schema's name, for ``close_workspace``.

    A role that may not create schemas in the database (``CREATE`` on it, which a server's
    administrator may well withhold from an application's role) gets temporary tables
    instead, and None: the same import, its checks on one core.
    """
    if not conn.execute(text(
            "SELECT has_database_privilege(current_database(), 'CREATE')")).scalar_one():
        conn.info[WORK_TABLE] = "TEMPORARY TABLE"
        return None
    conn.info[WORK_TABLE] = "UNLOGGED TABLE"
    schema = conn.execute(text("SELECT 'import_' || pg_backend_pid()")).scalar_one()
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    conn.execute(text(
        "SELECT set_config('search_path', quote_ident(:schema) || ', ' || "
        "current_setting('search_path'), true)"), {"schema": schema})
    return schema


#: Key of ``Connection.info`` (kept with the database connection) under which
#: ``open_workspace`` leaves the kind of table the import's statements create.
WORK_TABLE = "locations.import_work_table"


def work_table(conn: Connection) -> str:
    """``UNLOGGED TABLE`` in an import's own schema, ``TEMPORARY TABLE`` without one."""
    return conn.info[WORK_TABLE]


def close_workspace(conn: Connection, schema: str | None) -> None:
    """Drop the workspace ``schema`` of ``open_workspace`` with its tables, before the import
    commits; without a schema, the import's temporary tables, which would otherwise stay
    with the (pooled) connection and be in the way of its next import."""
    if schema is not None:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        return
    tables = conn.execute(text(
        "SELECT 'pg_temp.' || quote_ident(relname) FROM pg_class "
        "WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r' "
        r"AND relname LIKE 'import\_%'")).scalars().all()
    if tables:
        conn.execute(text(f"DROP TABLE {', '.join(tables)}"))


def stage(conn: Connection, spec: Target, frame: pd.DataFrame, wkb: np.ndarray,
          progress: Progress | None = None) -> tuple[list[str], list[tuple[int, str, str]]]:
    """Check the fields of ``frame`` and COPY the rows into ``import_stage``, chunk by chunk.

    Returns the staged field names and the field problems (``targets.normalise``). While
    the server takes in one chunk, a worker thread checks and formats the next: the
    client's and the server's work overlap on two cores instead of taking turns.
    """
    columns = [f for f in spec.field_names if f in frame.columns]
    definitions = ", ".join(f"{c} text" for c in columns)
    conn.execute(text(
        f"CREATE {work_table(conn)} import_stage (row_no integer, {definitions}{',' if columns else ''} "
        "geom geometry)"
    ))
    conn.execute(text(
        f"CREATE {work_table(conn)} import_problem (row_no integer, field text, reason text)"
    ))
    cursor = conn.connection.dbapi_connection.cursor()
    total = len(frame)
    copy_sql = (
        f"COPY import_stage (row_no, {', '.join(columns)}{',' if columns else ''} geom) "
        "FROM STDIN WITH (FORMAT csv)"
    )
    problems: list[tuple[int, str, str]] = []
    chunk = min(COPY_CHUNK, max(COPY_CHUNK_AT_LEAST, -(-total // COPY_CHUNKS_AT_LEAST)))
    starts = range(0, max(total, 1), chunk)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-chunk") as worker:
        pending = worker.submit(_chunk_csv, spec, columns, frame, wkb, starts[0], chunk)
        for number, start in enumerate(starts):
            csv, chunk_problems = pending.result()
            if number + 1 < len(starts):
                pending = worker.submit(_chunk_csv, spec, columns, frame, wkb, starts[number + 1],
                                        chunk)
            problems.extend(chunk_problems)
            # One read of the whole chunk: psycopg2 sends it without the GIL, so the worker
            # runs meanwhile (in 8 kB reads the two threads would take turns at the GIL).
            cursor.copy_expert(copy_sql, io.BytesIO(csv), size=max(len(csv), 1))
            if progress:
                progress("staging", min(start + chunk, total), total)
    return columns, problems


def _chunk_csv(spec: Target, columns: list[str], frame: pd.DataFrame, wkb: np.ndarray,
               start: int, size: int) -> tuple[bytes, list[tuple[int, str, str]]]:
    """Rows ``start`` to ``start + size`` checked (``normalise``) and written as CSV."""
    stop = min(start + size, len(frame))
    fields, problems = normalise(frame.iloc[start:stop], spec)
    chunk = pa.Table.from_pandas(fields[columns], preserve_index=False)
    chunk = chunk.add_column(0, "row_no", pa.array(fields.index.to_numpy() + 1))
    chunk = chunk.append_column("geom", _hex_wkb(pa.array(wkb[start:stop], type=pa.binary())))
    # Arrow writes the CSV in C++ (a tenth of pandas' time). Text is quoted, a NULL is an
    # unquoted empty field: COPY reads the one as the text and the other as NULL.
    buffer = io.BytesIO()
    pa_csv.write_csv(chunk, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue(), problems


def _hex_wkb(wkb: pa.BinaryArray) -> pa.LargeStringArray:
    """WKB as hex text, which PostGIS parses fastest from COPY; NULL stays NULL.

    All values are hexed in one call over Arrow's data buffer: each value's hex is
    twice as long, so the offsets just double.
    """
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[wkb.offset:wkb.offset + len(wkb) + 1]
    data = wkb.buffers()[2]
    hexed = binascii.hexlify(memoryview(data)[offsets[0]:offsets[-1]] if data else b"")
    # 64-bit offsets: the hex of a chunk of large boundaries may pass 2 GB.
    text = pa.LargeStringArray.from_buffers(
        len(wkb), pa.py_buffer(((offsets - offsets[0]) * 2).astype(np.int64)), pa.py_buffer(hexed))
    # Zero bytes are no geometry either: NULL, reported as a missing geometry.
    missing = pc.or_kleene(wkb.is_null(), pc.equal(pc.binary_length(wkb), 0))
    return pc.if_else(missing, pa.scalar(None, pa.large_string()), text)


def add_problems(conn: Connection, problems: Iterable[tuple[int, str, str]]) -> None:
    """Record problems found outside SQL (field checks, unreadable geometry)."""
    rows = list(problems)
    if not rows:
        return
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, header=False, index=False)
    buffer.seek(0)
    conn.connection.dbapi_connection.cursor().copy_expert(
        "COPY import_problem FROM STDIN WITH (FORMAT csv)", buffer
    )
