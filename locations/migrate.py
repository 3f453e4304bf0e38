"""Schema migrations: run Alembic programmatically so no alembic.ini is needed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from locations.errors import SchemaNotReady

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (default: every head, so feature branches all apply)."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        _forget_covered_revisions(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _forget_covered_revisions(conn: Connection) -> None:
    """Drop from ``alembic_version`` the revisions another listed one depends on.

    Migrated one release at a time, a database keeps 0007 beside 0016, which depends on
    it; alembic then refuses every later upgrade ("Requested revision 0016 overlaps with
    other requested revisions 0007"). Forgetting the covered one leaves the table as a
    migration in one go leaves it; every migration stays applied.
    """
    if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return
    revisions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    unknown = _unknown_revision(str(conn.engine.url.database), revisions)
    if unknown:
        raise SchemaNotReady(unknown[0].upper() + unknown[1:] + ".")
    covered = {ancestor for revision in revisions
               for ancestor in _applied([revision]) if ancestor != revision}
    redundant = sorted(covered.intersection(revisions))
    if redundant:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = ANY (:redundant)"),
                     {"redundant": redundant})


def _unknown_revision(database: str, revisions: list[str]) -> str | None:
    """What to say of a listed revision this version does not know, if there is one."""
    for revision in revisions:
        try:
            _scripts().get_revision(revision)
        except CommandError:
            return (f"the schema of database {database} is at revision {revision}, which "
                    "this version of the platform does not know (a newer version migrated "
                    "it): update the platform")
    return None


def _applied(revisions: list[str]) -> set[str]:
    """``revisions`` and every migration they stand on, dependencies included. Taken one
    at a time: alembic refuses a set in which one revision is another's ancestor."""
    return {ancestor.revision for revision in revisions
            for ancestor in _scripts().iterate_revisions(revision, "base")}


def current_revisions(engine: Engine) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def schema_problem(database: str, postgis: str | None, revisions: list[str]) -> str | None:
    """What keeps ``database`` (with PostGIS ``postgis`` and the schema at ``revisions``)
    from serving this version of the platform, and what to do; None when nothing does.

    Without the check, a database created by hand, or one a `git pull` left a migration
    behind, fails later, in the middle of a command, with a traceback ending in SQL.
    """
    migrate_hint = "run 'locations db migrate'"
    if postgis is None:
        return (f"PostGIS is not installed in database {database}: {migrate_hint}, which "
                "installs it with the schema (its role needs the right to create the "
                "extension; otherwise an administrator runs CREATE EXTENSION postgis there "
                "first)")
    if not revisions:
        return f"database {database} has no schema yet: {migrate_hint}"
    unknown = _unknown_revision(database, revisions)
    if unknown:
        return unknown
    # The branches depend on each other, so alembic_version may or may not list a revision
    # that another listed one depends on (0007 beside 0016, as a database migrated step by
    # step keeps it): compare what they and their ancestors cover.
    missing = sorted({r.revision for r in _scripts().walk_revisions()} - _applied(revisions))
    if not missing:
        return None
    return (f"the schema of database {database} lacks {len(missing)} migration(s) of this "
            f"version of the platform ({', '.join(missing)}): {migrate_hint}")
