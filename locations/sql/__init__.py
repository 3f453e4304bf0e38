"""The database's own code: each function, trigger and view in one named SQL file.

``functions/``, ``triggers/`` and ``views/`` hold one file per object and version,
``<name>.v<N>.sql``. The highest version is the object's current text; older
versions stay only because the migration that created them names them. A
migration that changes an object adds ``<name>.v<N+1>.sql`` and applies that
version, so no migration's effect changes when a later one is written.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Connection

SQL_DIR = Path(__file__).resolve().parent
KINDS = ("functions", "triggers", "views")
_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>[0-9]+)\.sql$")


def text_of(kind: str, name: str, version: int) -> str:
    """The SQL of ``kind/name`` at ``version`` (raises FileNotFoundError if there is none)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of database object: {kind}")
    return (SQL_DIR / kind / f"{name}.v{version}.sql").read_text(encoding="utf-8")


@cache
def current_versions() -> dict[tuple[str, str], int]:
    """Every object as (kind, name) with its highest version: what a database at head holds."""
    versions: dict[tuple[str, str], int] = {}
    for kind in KINDS:
        for path in (SQL_DIR / kind).glob("*.sql"):
            match = _FILE.match(path.name)
            if match is None:
                raise ValueError(f"{path} is not named <name>.v<N>.sql")
            key = (kind, match["name"])
            versions[key] = max(versions.get(key, 0), int(match["version"]))
    return versions


def apply(conn: Connection, kind: str, name: str, version: int) -> None:
    """Create or replace ``kind/name`` at ``version``.

    Triggers have no CREATE OR REPLACE before PostgreSQL 14's syntax is everywhere,
    so a trigger's file is run after dropping the trigger of that name.
    """
    sql = text_of(kind, name, version)
    if kind == "triggers":
        table = re.search(r"\bON\s+([a-z_]+)", sql)
        if table is None:
            raise ValueError(f"triggers/{name}.v{version}.sql names no table")
        sql = f"DROP TRIGGER IF EXISTS {name} ON {table[1]};\n{sql}"
    # Straight to the driver, with no parameters: the files hold plpgsql with % signs
    # and colons that SQLAlchemy and psycopg2 would otherwise read as placeholders.
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(sql)
