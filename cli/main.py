"""The ``locations`` command line: database, demo data, serving, and each feature's commands."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cli.support import console, explained

app = typer.Typer(
    help="Business-zone location platform: zones, plots and infrastructure on PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: embedded PostGIS cluster and schema migrations.",
                     no_args_is_help=True)
demo_app = typer.Typer(help="The demo data set (Gorenjska, Podravje, Styria).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
# Each feature's command group is registered here, one line each, below this comment.
from cli.accounts import accounts_app

app.add_typer(accounts_app, name="accounts")
from cli.plots import plots_app

app.add_typer(plots_app, name="plots")
from cli.transfer import transfer_app

app.add_typer(transfer_app)  # `locations import ...` and `locations export ...`
from cli.scoring import scoring_app

app.add_typer(scoring_app)  # `locations standard ...` and `locations score ...`
from cli.pages import map_app

app.add_typer(map_app, name="map")  # `locations map export overview|zone ID|search|compare`
from cli.inquiries import inquiries_app

app.add_typer(inquiries_app, name="inquiries")  # `locations inquiries purge|delete|send`
from cli.report import report_app

app.add_typer(report_app, name="report")  # `locations report region CODE | compare CODE...`


@db_app.command("up")
@explained
def db_up(
    replica: Annotated[int, typer.Option(
        min=0, max=9, help="Also make and start this many hot standbys (streaming replicas) "
                           "that serve reads; existing ones start anyway")] = 0,
) -> None:
    """Start the embedded PostGIS (initialising it on first use), and its replicas. Harmless
    when they run."""
    from locations.db import embedded_cluster
    from locations.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: the platform uses that server and starts nothing.")
        _report_external()
        return
    cluster = embedded_cluster(settings)
    was_running = cluster.status().running
    if replica and not cluster.streams and was_running:
        console.print("Restarting the embedded PostGIS once, to write the WAL replicas stream.")
    primary, *standbys = cluster.start_with_replicas(settings.embedded_db, replica)
    verb = "already running" if was_running and cluster.status().running else "started"
    console.print(
        f"Embedded PostGIS {verb}: 127.0.0.1:{primary.port}, database "
        f"'{settings.embedded_db}', files in {primary.folder}"
    )
    for number, standby in enumerate(standbys, start=1):
        console.print(f"Replica {number}: 127.0.0.1:{standby.port} (hot standby, reads), "
                      f"files in {standby.folder}")
    if standbys:
        console.print("`locations serve` sends reads to the replicas while they keep up "
                      "(LOCATIONS_REPLICA_MAX_LAG_S), writes to the primary.")


@db_app.command("down")
@explained
def db_down() -> None:
    """Stop the embedded PostGIS."""
    from locations.db import embedded_cluster

    stopped = embedded_cluster().stop_all()
    if stopped:
        console.print(f"Embedded PostGIS stopped ({', '.join(stopped)}).")
    else:
        console.print("Embedded PostGIS was not running.")


@db_app.command("status")
@explained
def db_status() -> None:
    """Say which database the platform uses and whether it runs."""
    from locations.db import embedded_cluster
    from locations.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        _report_external()
        return
    status = embedded_cluster(settings).status()
    if not status.initialised:
        console.print(f"Embedded PostGIS: not set up yet (would live in {status.folder}). "
                      "Run 'locations db up'.")
        raise typer.Exit(code=1)
    state = "running" if status.running else "stopped"
    console.print(f"Embedded PostGIS: {state} on 127.0.0.1:{status.port}, "
                  f"database '{settings.embedded_db}', files in {status.folder}")
    for standby in embedded_cluster(settings).replicas():
        console.print(f"Replica {standby.number}: {_replica_state(standby, settings)}")
    if not status.running:
        raise typer.Exit(code=1)
    _report_schema()


def _replica_state(standby, settings) -> str:
    """Running or not, port, and its lag behind the primary."""
    from locations.replicas import ReadPool

    status = standby.status()
    if not status.running:
        return f"stopped (127.0.0.1:{status.port}, files in {status.folder})"
    from locations.db import get_engine

    pool = ReadPool(get_engine(), [status.url(settings.embedded_db)], settings.replica_max_lag_s)
    try:
        pool.check()
        state = pool.states()[0]
    finally:
        pool.stop()
    lag = "unknown" if state["lag_s"] is None else f"{state['lag_s']:.1f} s"
    return (f"running on 127.0.0.1:{status.port}, lag {lag}, "
            f"{'serving reads' if state['healthy'] else 'not serving reads'}")


def _report_external() -> None:
    from sqlalchemy.engine import make_url

    from locations.db import check_connection, database_url, get_engine

    url = make_url(database_url())
    postgis = check_connection(get_engine(), schema=False)
    console.print(f"External database {url.host}:{url.port or 5432}/{url.database}: "
                  f"reachable, PostGIS {postgis}")
    _report_schema()


def _report_schema() -> None:
    """The schema's state, after the server's; a schema that needs migrating is told, not
    failed on: the status is the server's, and the line says what to run."""
    from locations.db import check_connection, get_engine
    from locations.errors import SchemaNotReady
    from locations.migrate import current_revisions

    engine = get_engine()
    try:
        check_connection(engine)
    except SchemaNotReady as exc:
        console.print(f"[yellow]Schema:[/] {exc}")
        return
    console.print(f"Schema up to date: {', '.join(current_revisions(engine))}")


@db_app.command("migrate")
@explained
def db_migrate() -> None:
    """Bring the schema up to date (Alembic)."""
    from locations.db import check_connection, get_engine
    from locations.migrate import current_revisions, migrate

    engine = get_engine()
    # Not the schema: that is what this command brings up to date (PostGIS with it).
    check_connection(engine, schema=False)
    migrate(engine)
    console.print(f"Schema up to date: {', '.join(current_revisions(engine))}")


@db_app.command("backup")
@explained
def db_backup(
    output: Annotated[Path, typer.Option("--output", "-o", help="The backup file to write "
                                         "(pg_dump custom format)")],
) -> None:
    """Back the database up into one file: schema, data and the schema version."""
    from locations.backups import backup
    from locations.db import check_connection, get_engine
    from locations.settings import get_settings

    engine = get_engine()
    check_connection(engine)
    with console.status("Dumping the database ..."):
        report = backup(engine, output, get_settings().pg_bin)
    console.print(f"Backed up to {report.path} ({report.size_bytes / 1e6:.1f} MB, schema "
                  f"{report.revision}): " + ", ".join(f"{n} {t}" for t, n in report.counts.items()))


@db_app.command("restore")
@explained
def db_restore(
    backup_file: Annotated[Path, typer.Argument(help="A file `locations db backup` wrote")],
) -> None:
    """Restore a backup into the (empty) database, then migrate it to this version."""
    from locations.backups import restore
    from locations.db import check_connection, get_engine
    from locations.settings import get_settings

    engine = get_engine()
    check_connection(engine, schema=False)
    with console.status("Restoring ..."):
        report = restore(engine, backup_file, get_settings().pg_bin)
    console.print(f"Restored {report.path.name} (schema now {report.revision}): "
                  + ", ".join(f"{n} {t}" for t, n in report.counts.items()))


@demo_app.command("load")
@explained
def demo_load() -> None:
    """Load the demo data set and score it; loading again updates in place, no duplicates."""
    from locations.db import check_connection, get_engine
    from locations.demo_load import load_demo
    from locations.demo_score import score_demo

    engine = get_engine()
    check_connection(engine)
    with console.status("Building and loading the demo data set ..."):
        counts = load_demo(engine)
    console.print("Demo loaded: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    with console.status("Scoring the demo for every profile of the standard ..."):
        profiles = score_demo(engine)
    console.print("Demo scored for: " + ", ".join(profiles))


def uvicorn_proxy_options(settings) -> dict:
    """How uvicorn treats X-Forwarded-For and -Proto: believed only from the proxies in
    LOCATIONS_TRUSTED_PROXIES (the client is the right-most address they did not add),
    never by default. uvicorn's own default believes any local client, which could then
    pose as any address; its FORWARDED_ALLOW_IPS is not read."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


@app.command("serve")
@explained
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the API and the maps (default http://127.0.0.1:8000)."""
    import uvicorn

    from locations.db import check_connection, get_engine
    from locations.settings import get_settings

    settings = get_settings()
    check_connection(get_engine())
    host = host or settings.host
    port = port or settings.port
    console.print(f"Serving on http://{host}:{port} (API docs at /docs)")
    if workers > 1:
        _metrics_shared_by_workers()
    # By its import string: uvicorn imports the app in each worker it starts.
    # The app writes its own access lines (JSON, with request ids, without query strings).
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, **uvicorn_proxy_options(settings))


def _metrics_shared_by_workers() -> None:
    """Several workers answer /metrics in turn: each must report the sum of all of them,
    so prometheus-client runs in multiprocess mode, its files in PROMETHEUS_MULTIPROC_DIR
    (a folder of its own unless one is given). The folder is emptied first: counts of an
    earlier run would be added to this one's. Set here, before uvicorn starts the workers,
    which inherit it before they import prometheus-client."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="locations-metrics-")


if __name__ == "__main__":
    app()
