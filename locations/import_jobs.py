"""Import jobs: an import over HTTP that runs after the response, followed while it runs.

A large file takes minutes, longer than a proxy or a client waits for one answer.
The job is recorded first (``import_job``); when it runs, a connection of its own,
the job's tracker, writes the import's step and rows done, committing each at once
(the import's own transaction shows nothing until the end).

A server beats for the jobs it holds, queued or running: every ``HEARTBEAT_EVERY_S``
it writes their ``heartbeat_at``, through a connection it keeps open for that (its
lifeline), and the lifeline's backend (``worker_pid``, ``worker_started``). A queued or
running job was cut off by a stopped server, and its import's transaction, which ended
with it, wrote nothing, when that backend is gone from ``pg_stat_activity`` (a killed
server's connections close with it, so a reader knows at once), or when its last beat
is older than ``STALE_AFTER_S``. The second rule holds where the first cannot tell:
behind a connection pooler, whose server connection outlives the server that used it,
and when the server hangs without dying.

Jobs run a few at a time (``MAX_RUNNING_JOBS``), in threads of their own, and the
rest wait queued: twenty files posted at once would otherwise take twenty of the
request threads and forty pooled connections, and the API would stop answering.
A waiting job holds no connection at all.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from locations.accounts import Account
from locations.errors import Conflict, LocationsError, NotFound
from locations.importer import ImportReport, import_file

logger = logging.getLogger("locations.imports")

#: Progress is written at most this often (seconds): a million rows report thousands of
#: chunks and steps, and each write is a commit.
PROGRESS_EVERY_S = 0.5
#: Jobs ``GET /imports`` lists, newest first.
LISTED_JOBS = 50
#: Problems a job's report lists; all of them are at ``/imports/{id}/problems`` (CSV). A
#: million-row file in the wrong CRS has a million, 82 MB of JSON in every poll.
REPORTED_PROBLEMS = 1_000
#: Imports running at once in one server process; more wait queued. Two cores here, and
#: two bulk loads already contend for the same tables' locks.
MAX_RUNNING_JOBS = 2

#: How often (seconds) a server writes the beat of the jobs it holds, and after how long
#: without one a queued or running job counts as cut off: several beats, so that a busy
#: database or a slow commit is not taken for a stopped server.
HEARTBEAT_EVERY_S = 5.0
STALE_AFTER_S = 30.0

_runner = ThreadPoolExecutor(max_workers=MAX_RUNNING_JOBS, thread_name_prefix="import-job")


def _job_columns() -> str:
    """The columns a job is shown from, ``cut_off`` included (read at call time, so that
    the allowance is the module's current one)."""
    return f"""
    j.id, j.requested_by, j.target, j.file_name, j.options, j.state, j.step, j.done, j.total,
    j.report, j.error, j.created_at, j.started_at, j.finished_at,
    (j.state IN ('queued', 'running') AND (j.heartbeat_at IS NULL OR
        j.heartbeat_at < now() - make_interval(secs => {float(STALE_AFTER_S)})
        OR (j.worker_pid IS NOT NULL AND NOT EXISTS (
            SELECT FROM pg_stat_activity a
            WHERE a.pid = j.worker_pid AND a.backend_start = j.worker_started)))) AS cut_off
"""


def create_job(conn: Connection, account: Account, target: str, file_name: str,
               options: dict[str, Any]) -> int:
    """Record a queued import of ``file_name`` into ``target`` for ``account``; its id.

    Its first beat is its creation: ``start_job`` must follow within ``STALE_AFTER_S``.
    """
    return conn.execute(text(
        """
        INSERT INTO import_job (account_id, requested_by, target, file_name, options,
                                heartbeat_at)
        VALUES (:account_id, :name, :target, :file_name, CAST(:options AS jsonb), now())
        RETURNING id
        """),
        {"account_id": account.id, "name": account.name, "target": target,
         "file_name": file_name, "options": json.dumps(options)}).scalar_one()


def tracker(engine: Engine) -> Connection:
    """A connection committing each statement at once, outside ``engine``'s pool (which
    running jobs would otherwise drain): a running job's progress and outcome."""
    return _tracker_engine(_url(engine)).connect().execution_options(
        isolation_level="AUTOCOMMIT")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def _tracker_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


class _Heartbeat:
    """The jobs this process holds, by database, and the thread that beats for them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, set[int]] = {}
        self.thread: threading.Thread | None = None
        # Set by ``hold``: a new job is beaten for at once, not at the end of a wait.
        self.wake = threading.Event()
        # One open connection per database, used by the beating thread alone: its backend
        # lives as long as this process does.
        self.lifelines: dict[str, Connection] = {}

    def hold(self, engine: Engine, job_id: int) -> None:
        with self.lock:
            self.jobs.setdefault(_url(engine), set()).add(job_id)
            if self.thread is None:
                self.thread = threading.Thread(target=self._beat, name="import-job-heartbeat",
                                               daemon=True)
                self.thread.start()
        self.wake.set()

    def release(self, engine: Engine, job_id: int) -> None:
        with self.lock:
            self.jobs.get(_url(engine), set()).discard(job_id)
        self.wake.set()  # its lifeline is closed once it holds no job

    def _beat(self) -> None:
        while True:
            self.wake.wait(HEARTBEAT_EVERY_S)
            self.wake.clear()
            with self.lock:
                held = {url: sorted(ids) for url, ids in self.jobs.items() if ids}
            for url, ids in held.items():
                try:
                    self._lifeline(url).execute(text(
                        """
                        UPDATE import_job SET heartbeat_at = now(), worker_pid = pg_backend_pid(),
                               worker_started = (SELECT backend_start FROM pg_stat_activity
                                                 WHERE pid = pg_backend_pid())
                        WHERE id = ANY(:ids)
                        """), {"ids": ids})
                except Exception:  # the database away for a while: the next beat may reach it
                    logger.warning("no heartbeat for import jobs %s", ids, exc_info=True)
                    self._cut(url, invalidate=True)
            # A database with no job held keeps no connection open.
            for url in [url for url in self.lifelines if url not in held]:
                self._cut(url)

    def _cut(self, url: str, invalidate: bool = False) -> None:
        lifeline = self.lifelines.pop(url, None)
        if lifeline is None:
            return
        try:
            if invalidate:
                lifeline.invalidate()
            lifeline.close()
        except Exception:  # noqa: BLE001 - a connection already lost: nothing to give back
            logger.debug("an import jobs' connection was already gone")

    def _lifeline(self, url: str) -> Connection:
        if url not in self.lifelines:
            self.lifelines[url] = _tracker_engine(url).connect().execution_options(
                isolation_level="AUTOCOMMIT")
        return self.lifelines[url]


_heartbeat = _Heartbeat()


def start_job(engine: Engine, job_id: int, path: Path, *, account: Account,
              remove: Path | None = None, **options: Any) -> None:
    """Queue job ``job_id`` (see ``run_job``) for the next free runner; returns at once.
    From now until ``run_job`` ends, this process beats for the job."""
    _heartbeat.hold(engine, job_id)
    try:
        _runner.submit(run_job, engine, job_id, path, account=account, remove=remove,
                       **options)
    except BaseException:
        _heartbeat.release(engine, job_id)
        raise


class _ProgressWriter:
    """The import's progress callback: the step and rows done, written now and then."""

    def __init__(self, conn: Connection, job_id: int) -> None:
        self.conn = conn
        self.job_id = job_id
        self.step: str | None = None
        self.written_at = 0.0

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if step == self.step and now - self.written_at < PROGRESS_EVERY_S and done < total:
            return
        self.step, self.written_at = step, now
        self.conn.execute(text(
            "UPDATE import_job SET step = :step, done = :done, total = :total WHERE id = :id"),
            {"step": step, "done": done, "total": total, "id": self.job_id})


def run_job(engine: Engine, job_id: int, path: Path, *, account: Account,
            remove: Path | None = None, **options: Any) -> None:
    """Run job ``job_id``: import ``path`` with ``options`` (those of ``import_file``) as
    ``account``, and store the outcome on the job. Never raises: the outcome, failures
    included, is the job's to tell. ``remove`` (the upload's folder) is deleted at the end,
    and the job's beat stops.
    """
    try:
        with tracker(engine) as job_tracker:
            job_tracker.execute(text(
                "UPDATE import_job SET state = 'running', started_at = now() WHERE id = :id"),
                {"id": job_id})
            state, report, error = _import(engine, job_id, path, account, options,
                                           _ProgressWriter(job_tracker, job_id))
            job_tracker.execute(text(
                "UPDATE import_job SET state = :state, report = CAST(:report AS jsonb), "
                "problems_csv = :problems, error = :error, finished_at = now() WHERE id = :id"),
                {"state": state, "error": error, "id": job_id,
                 **_stored_report(job_id, report)})
    except Exception:
        # Not even the outcome could be stored (the database went away): the job stays
        # 'running', its beat stops, and it reads as cut off.
        logger.exception("import job %s could not record its outcome", job_id)
    finally:
        _heartbeat.release(engine, job_id)
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)


def _stored_report(job_id: int, report: ImportReport | None) -> dict[str, Any]:
    """The job's ``report`` (JSON text, its first REPORTED_PROBLEMS problems) and
    ``problems_csv`` (all of them) as the job row stores them."""
    if report is None:
        return {"report": None, "problems": None}
    stored = report.as_dict(problems_limit=REPORTED_PROBLEMS)
    stored["problems_total"] = len(report.problems)
    stored["problems_href"] = f"/imports/{job_id}/problems" if report.problems else None
    return {"report": json.dumps(stored),
            "problems": report.problems_csv() if report.problems else None}


def problems_csv(conn: Connection, job_id: int, account: Account) -> bytes:
    """Every problem of job ``job_id``'s file, as CSV (``row,field,reason``).

    Raises:
        NotFound: no such job, or not the account's.
        Conflict: the job has not ended yet.
    """
    job = get_job(conn, job_id, account)
    if job["state"] in ("queued", "running"):
        raise Conflict(f"import job {job_id} is {job['state']}: its problems are known once "
                       "it has ended")
    stored = conn.execute(text("SELECT problems_csv FROM import_job WHERE id = :id"),
                          {"id": job_id}).scalar_one()
    return bytes(stored) if stored is not None else b"row,field,reason\n"


def _import(engine: Engine, job_id: int, path: Path, account: Account, options: dict[str, Any],
            progress: _ProgressWriter) -> tuple[str, ImportReport | None, str | None]:
    """The import itself: (state, report, error) as the job stores them."""
    try:
        report: ImportReport = import_file(engine, path=path, account=account,
                                           progress=progress, **options)
    except LocationsError as exc:  # the file or the request, not the server: said as is
        return "refused", None, str(exc)
    except Exception:
        logger.exception("import job %s failed", job_id)
        return "failed", None, ("the import failed on the server and wrote nothing; the "
                                "server's log has the cause")
    forbidden = any(f == "scope" for _, f, _ in report.problems) and not report.written
    # A dry run whose file would be refused is told as refused too: its report says "would".
    return ("refused" if forbidden or report.refused else "succeeded"), report, None


def get_job(conn: Connection, job_id: int, account: Account) -> dict[str, Any]:
    """Job ``job_id`` as its account (or an admin) sees it.

    Raises:
        NotFound: no such job, or not the account's.
    """
    row = conn.execute(text(f"SELECT {_job_columns()}, j.account_id FROM import_job j "
                            "WHERE j.id = :id"), {"id": job_id}).mappings().first()
    if row is None or (account.role != "admin" and row["account_id"] != account.id):
        raise NotFound(f"import job {job_id} does not exist, or is not yours")
    return _job(row)


def list_jobs(conn: Connection, account: Account) -> list[dict[str, Any]]:
    """The account's latest jobs (an admin's: everyone's), newest first, without reports."""
    rows = conn.execute(text(
        f"SELECT {_job_columns()} FROM import_job j "
        "WHERE CAST(:everyone AS boolean) OR j.account_id = :account_id "
        "ORDER BY j.id DESC LIMIT :limit"),
        {"everyone": account.role == "admin", "account_id": account.id,
         "limit": LISTED_JOBS}).mappings().all()
    return [_job(row, with_report=False) for row in rows]


def _job(row: Any, with_report: bool = True) -> dict[str, Any]:
    state, error = row["state"], row["error"]
    if row["cut_off"]:
        state = "interrupted"
        error = ("the server stopped before the import ended; its transaction ended with "
                 "it, so nothing was written: upload the file again")
    job = {
        "id": row["id"], "state": state, "target": row["target"], "file": row["file_name"],
        "requested_by": row["requested_by"], "options": row["options"],
        "step": row["step"], "done": row["done"], "total": row["total"],
        "created_at": _iso(row["created_at"]), "started_at": _iso(row["started_at"]),
        "finished_at": _iso(row["finished_at"]), "error": error,
        "href": f"/imports/{row['id']}",
    }
    if with_report:
        job["report"] = row["report"]
    else:
        job["summary"] = (row["report"] or {}).get("summary")
    return job


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
