"""Backups that restore: a database dumped with pg_dump (custom format) and restored into an
empty database, checked against the schema version this code knows.

The dump holds the schema version itself (the ``alembic_version`` table): ``restore``
reads it from the file before writing anything and refuses a dump made by a newer version
of the platform, whose schema this code could not migrate or read. An older dump is
restored and then migrated. The target must be empty: restoring over data would mix two
states of the platform.

For production, a nightly dump is the floor; continuous archiving (WAL) and point-in-time
recovery are described in the README.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from locations.errors import InvalidInput
from locations.migrate import current_revisions, head, is_known_revision

#: Tables whose rows a restore is compared by (and the README's round trip names).
COUNTED_TABLES = ("region", "municipality", "zone", "plot", "plot_event", "score_run", "account")


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str
    size_bytes: int
    counts: dict[str, int]


def _libpq_environment(engine: Engine) -> dict[str, str]:
    """pg_dump's and pg_restore's connection, passed in the environment so that the password
    never appears on a command line (which every local user could read in ps)."""
    url = make_url(engine.url)
    env = {**os.environ, "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
           "PGUSER": url.username or "postgres", "PGDATABASE": url.database or "postgres"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in COUNTED_TABLES}


def backup(engine: Engine, output: Path, pg_bin: Path) -> BackupReport:
    """Dump the platform's database to ``output`` (custom format, compressed), whole: schema,
    data, the schema version. Written to a temporary name first, so a failed dump never
    leaves a file that looks like a backup.

    Raises:
        InvalidInput: no folder to write in, or pg_dump failed (its message).
    """
    output = Path(output)
    if not output.parent.is_dir():
        raise InvalidInput("output", f"there is no folder {output.parent}")
    revisions = current_revisions(engine)
    if not revisions:
        raise InvalidInput("database", "has no schema yet: nothing to back up")
    partial = output.with_name(f".{output.name}.partial")
    result = subprocess.run(
        [str(pg_bin / "pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={partial}"],
        env=_libpq_environment(engine), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise InvalidInput("backup", f"pg_dump failed: {_last_lines(result.stderr)}")
    partial.replace(output)
    return BackupReport(output, revisions[0], output.stat().st_size, counts(engine))


def dump_revision(path: Path, pg_bin: Path) -> str:
    """The schema version a dump holds, read from the file without restoring it.

    Raises:
        InvalidInput: not a dump pg_restore reads, or one without the platform's schema.
    """
    if not Path(path).is_file():
        raise InvalidInput("file", f"{path}: no such file")
    result = subprocess.run(
        [str(pg_bin / "pg_restore"), "--data-only", "--table=alembic_version", "--file=-",
         str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InvalidInput("file", f"{Path(path).name} is not a backup pg_restore can read: "
                                   f"{_last_lines(result.stderr)}")
    # COPY public.alembic_version (version_num) FROM stdin;\n0104\n\.
    match = re.search(r"COPY [^\n]*alembic_version[^\n]*FROM stdin;\n([^\n\\]+)\n", result.stdout)
    if match is None:
        raise InvalidInput("file", f"{Path(path).name} holds no schema version "
                                   "(alembic_version): not a backup of this platform")
    return match.group(1).strip()


def restore(engine: Engine, path: Path, pg_bin: Path) -> BackupReport:
    """Restore the dump at ``path`` into the empty database of ``engine``, then migrate it to
    this code's schema.

    Raises:
        InvalidInput: not a backup of this platform, one made by a newer version, a target
            database that already holds tables, or pg_restore failed (nothing is kept then:
            it runs in one transaction).
    """
    path = Path(path)
    revision = dump_revision(path, pg_bin)
    if not is_known_revision(revision):
        raise InvalidInput("file", f"{path.name} was made by a newer version of the platform "
                                   f"(schema {revision}; this one knows up to {head()}): "
                                   "restore it with that version, or update this one")
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema') AND tablename <> 'spatial_ref_sys'")).scalar_one()
    if tables:
        raise InvalidInput("database", f"{make_url(engine.url).database} already holds {tables} "
                                       "tables: restore into an empty database")
    result = subprocess.run(
        [str(pg_bin / "pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
         "--exit-on-error", f"--dbname={make_url(engine.url).database}", str(path)],
        env=_libpq_environment(engine), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InvalidInput("restore", f"pg_restore failed, nothing was restored: "
                                      f"{_last_lines(result.stderr)}")
    from locations.migrate import migrate

    migrate(engine)
    return BackupReport(path, current_revisions(engine)[0], path.stat().st_size, counts(engine))


def _last_lines(message: str, lines: int = 3) -> str:
    return " ".join(" ".join(message.strip().splitlines()[-lines:]).split()) or "no message"
