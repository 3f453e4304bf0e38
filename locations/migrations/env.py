"""Alembic environment: runs migrations on the connection or URL the platform hands over.

Run by ``locations db migrate`` (with a connection) or by the ``alembic`` command in the
project folder (``alembic heads``, ``alembic check``), which uses the platform's database
(DATABASE_URL or the embedded cluster). ``target_metadata`` is ``locations.tables``, so
``alembic check`` compares the declared tables with the database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from locations.tables import metadata

config = context.config

#: Tables that are not the platform's: PostGIS's own, and the ones imports create and
#: drop within their transaction.
_FOREIGN_TABLES = {"spatial_ref_sys", "alembic_version"}


def include_name(name, type_, parent_names) -> bool:
    if type_ == "schema":
        return name in (None, "public")
    if type_ == "table":
        # A scoring run's scores are a partition of plot_score made by the run, not declared.
        return name not in _FOREIGN_TABLES and not name.startswith("plot_score_run_")
    return True


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      include_name=include_name, transaction_per_migration=True)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from locations.db import database_url

        url = database_url()
    engine = create_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()
    engine.dispose()


run_migrations_online()
