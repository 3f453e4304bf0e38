"""Schema migrations: run Alembic programmatically so no alembic.ini is needed.

The history is linear: one head. Revisions 0001-0020 of the unreleased platform were
squashed into the baseline 0100; a database they migrated to their last state is
recognised by its ``alembic_version`` rows and stamped at the baseline through
Alembic's own ``stamp`` (its schema is the baseline's), then upgraded as usual.
"""

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
BASELINE = "0100"

#: The squashed history: each old revision with the ones it stood on (down revision and
#: dependencies). Kept to recognise databases those revisions migrated; never extended.
SQUASHED_REVISIONS: dict[str, tuple[str, ...]] = {
    "0001": (), "0002": ("0001",), "0003": ("0001",), "0005": ("0001",),
    "0007": ("0001",), "0008": ("0001", "0002"), "0009": ("0008",),
    "0010": ("0009", "0002"), "0011": ("0010",), "0012": ("0011",), "0013": ("0012",),
    "0014": ("0013",), "0015": ("0014",), "0016": ("0015", "0007"), "0017": ("0016",),
    "0018": ("0017",), "0019": ("0018",), "0020": ("0019",),
}


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the head)."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        revisions = _listed_revisions(conn)
        unknown = _unknown_revision(str(conn.engine.url.database), revisions)
        if unknown:
            raise SchemaNotReady(unknown[0].upper() + unknown[1:] + ".")
        if revisions and set(revisions) <= SQUASHED_REVISIONS.keys():
            _adopt_squashed(config, str(conn.engine.url.database), revisions)
        command.upgrade(config, revision)


def _adopt_squashed(config: Config, database: str, revisions: list[str]) -> None:
    """Stamp a database the squashed revisions migrated at the baseline, or say why not."""
    missing = sorted(SQUASHED_REVISIONS.keys() - _squashed_cover(revisions))
    if missing:
        raise SchemaNotReady(
            f"The schema of database {database} stopped at an early revision of the "
            f"platform (it lacks {', '.join(missing)}), from before the baseline 0100: "
            "migrate it with the platform of commit 08199cc first ('locations db migrate' "
            "there), then with this version.")
    # purge: the rows of the squashed revisions go; Alembic writes the baseline's.
    command.stamp(config, BASELINE, purge=True)


def _squashed_cover(revisions: list[str]) -> set[str]:
    """``revisions`` of the squashed history and every one they stood on."""
    covered: set[str] = set()
    todo = list(revisions)
    while todo:
        revision = todo.pop()
        if revision not in covered:
            covered.add(revision)
            todo.extend(SQUASHED_REVISIONS[revision])
    return covered


def _listed_revisions(conn: Connection) -> list[str]:
    if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _unknown_revision(database: str, revisions: list[str]) -> str | None:
    """What to say of a listed revision this version does not know, if there is one."""
    for revision in revisions:
        if revision in SQUASHED_REVISIONS:
            continue
        try:
            _scripts().get_revision(revision)
        except CommandError:
            return (f"the schema of database {database} is at revision {revision}, which "
                    "this version of the platform does not know (a newer version migrated "
                    "it): update the platform")
    return None


def is_known_revision(revision: str) -> bool:
    """Whether this version of the platform knows ``revision`` (squashed ones included)."""
    return _unknown_revision("", [revision]) is None


def current_revisions(engine: Engine) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def head() -> str:
    """The one head of the history."""
    return _scripts().get_current_head()


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
    if set(revisions) <= SQUASHED_REVISIONS.keys():
        return (f"the schema of database {database} predates the baseline revision "
                f"{BASELINE}: {migrate_hint}")
    missing = [script.revision for script in _scripts().iterate_revisions(head(), revisions[0])
               if script.revision != revisions[0]]
    if not missing:
        return None
    missing.reverse()
    return (f"the schema of database {database} lacks {len(missing)} migration(s) of this "
            f"version of the platform ({', '.join(missing)}): {migrate_hint}")
