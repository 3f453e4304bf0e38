"""Import jobs: an import over HTTP that runs after the response, followed while it runs.

A large file takes minutes, longer than a proxy or a client waits for one answer.
The job is recorded first (``import_job``) on a connection of its own, the job's
tracker, which then writes the import's step and rows done, committing each at
once (the import's own transaction shows nothing until the end). The tracker lives
from the job's creation to its end: a job still queued or running whose tracker
session is gone was cut off by a stopped server, and its import's transaction,
which ended with it, wrote nothing.

Jobs run a few at a time (``MAX_RUNNING_JOBS``), in threads of their own, and the
rest wait queued: twenty files posted at once would otherwise take twenty of the
request threads and forty pooled connections, and the API would stop answering.
A waiting job holds only its tracker, a connection outside the request pool.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from locations.accounts import Account
from locations.errors import LocationsError, NotFound
from locations.importer import ImportReport, import_file

logger = logging.getLogger("locations.imports")

#: Progress is written at most this often (seconds): a million rows report thousands of
#: chunks and steps, and each write is a commit.
PROGRESS_EVERY_S = 0.5
#: Jobs ``GET /imports`` lists, newest first.
LISTED_JOBS = 50
#: Imports running at once in one server process; more wait queued. Two cores here, and
#: two bulk loads already contend for the same tables' locks.
MAX_RUNNING_JOBS = 2

_runner = ThreadPoolExecutor(max_workers=MAX_RUNNING_JOBS, thread_name_prefix="import-job")

JOB_COLUMNS = """
    j.id, j.requested_by, j.target, j.file_name, j.options, j.state, j.step, j.done, j.total,
    j.report, j.error, j.created_at, j.started_at, j.finished_at,
    (j.state IN ('queued', 'running') AND NOT EXISTS (
        SELECT 1 FROM pg_stat_activity a
        WHERE a.pid = j.worker_pid AND a.backend_start = j.worker_started)) AS cut_off
"""


def create_job(tracker: Connection, account: Account, target: str, file_name: str,
               options: dict[str, Any]) -> int:
    """Record a queued import of ``file_name`` into ``target`` for ``account``; its id.

    ``tracker`` (in autocommit) is the connection ``run_job`` goes on with: the job counts
    as alive while its session is.
    """
    return tracker.execute(text(
        """
        INSERT INTO import_job (account_id, requested_by, target, file_name, options,
                                worker_pid, worker_started)
        SELECT :account_id, :name, :target, :file_name, CAST(:options AS jsonb),
               pg_backend_pid(), backend_start
        FROM pg_stat_activity WHERE pid = pg_backend_pid()
        RETURNING id
        """),
        {"account_id": account.id, "name": account.name, "target": target,
         "file_name": file_name, "options": json.dumps(options)}).scalar_one()


def tracker(engine: Engine) -> Connection:
    """A connection for ``create_job`` and ``run_job``, committing each statement at once;
    outside ``engine``'s pool, which queued jobs would otherwise drain."""
    return _tracker_engine(engine.url.render_as_string(hide_password=False)).connect(
    ).execution_options(isolation_level="AUTOCOMMIT")


@lru_cache(maxsize=8)
def _tracker_engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


def start_job(job_tracker: Connection, engine: Engine, job_id: int, path: Path, *,
              account: Account, remove: Path | None = None, **options: Any) -> None:
    """Queue job ``job_id`` (see ``run_job``) for the next free runner; returns at once."""
    _runner.submit(run_job, job_tracker, engine, job_id, path, account=account,
                   remove=remove, **options)


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


def run_job(job_tracker: Connection, engine: Engine, job_id: int, path: Path, *,
            account: Account, remove: Path | None = None, **options: Any) -> None:
    """Run job ``job_id``, created on ``job_tracker``: import ``path`` with ``options``
    (those of ``import_file``) as ``account``, and store the outcome on the job. Never
    raises: the outcome, failures included, is the job's to tell. The tracker is closed
    and ``remove`` (the upload's folder) deleted at the end.
    """
    try:
        with job_tracker:
            job_tracker.execute(text(
                "UPDATE import_job SET state = 'running', started_at = now() WHERE id = :id"),
                {"id": job_id})
            state, report, error = _import(engine, job_id, path, account, options,
                                           _ProgressWriter(job_tracker, job_id))
            job_tracker.execute(text(
                "UPDATE import_job SET state = :state, report = CAST(:report AS jsonb), "
                "error = :error, finished_at = now() WHERE id = :id"),
                {"state": state, "report": json.dumps(report) if report else None,
                 "error": error, "id": job_id})
    except Exception:
        # Not even the outcome could be stored (the database went away): the job stays
        # 'running' with a worker session that is gone, which reads as cut off.
        logger.exception("import job %s could not record its outcome", job_id)
    finally:
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)


def _import(engine: Engine, job_id: int, path: Path, account: Account, options: dict[str, Any],
            progress: _ProgressWriter) -> tuple[str, dict[str, Any] | None, str | None]:
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
    return ("refused" if forbidden or report.refused else "succeeded"), report.as_dict(), None


def get_job(conn: Connection, job_id: int, account: Account) -> dict[str, Any]:
    """Job ``job_id`` as its account (or an admin) sees it.

    Raises:
        NotFound: no such job, or not the account's.
    """
    row = conn.execute(text(f"SELECT {JOB_COLUMNS}, j.account_id FROM import_job j "
                            "WHERE j.id = :id"), {"id": job_id}).mappings().first()
    if row is None or (account.role != "admin" and row["account_id"] != account.id):
        raise NotFound(f"import job {job_id} does not exist, or is not yours")
    return _job(row)


def list_jobs(conn: Connection, account: Account) -> list[dict[str, Any]]:
    """The account's latest jobs (an admin's: everyone's), newest first, without reports."""
    rows = conn.execute(text(
        f"SELECT {JOB_COLUMNS} FROM import_job j "
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
