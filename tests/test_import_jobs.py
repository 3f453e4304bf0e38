"""Imports over HTTP as jobs (``Prefer: respond-async``): 202 at once, then the job tells
where the import stands and, at the end, the same report or refusal as a direct import."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "plots-generic.geojson"
ASYNC = {"Prefer": "respond-async"}



def _accounts(engine: Engine) -> dict[str, str]:
    from locations.accounts import create_account

    with engine.begin() as conn:
        return {"kranj": create_account(conn, "kranj-editor", "municipality",
                                        municipalities=["Kranj"]),
                "maribor": create_account(conn, "maribor-editor", "municipality",
                                          municipalities=["Maribor"]),
                "admin": create_account(conn, "boss", "admin")}


def _post(client, token: str, headers: dict[str, str] | None = None, **form: str):
    with SAMPLE.open("rb") as handle:
        return client.post("/imports", headers={"Authorization": f"Bearer {token}"} | (headers or {}),
                           data={"target": "plots", **form},
                           files={"file": ("plots.geojson", handle, "application/geo+json")})


def _finished(client, location: str, headers: dict[str, str]) -> dict:
    """The job at ``location`` once it has ended (jobs run in threads of their own)."""
    deadline = time.monotonic() + 120
    while True:
        job = client.get(location, headers=headers).json()
        if job["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def _sample_plots(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM plot WHERE cadastral_ref LIKE 'SAMPLE-%'")).scalar_one()


def test_an_async_import_answers_at_once_and_its_job_reports_as_a_direct_one(
        fresh_client, fresh_engine: Engine) -> None:
    tokens = _accounts(fresh_engine)
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    before = _sample_plots(fresh_engine)

    started = _post(fresh_client, tokens["admin"], ASYNC)
    assert started.status_code == 202, started.text
    assert started.headers["Preference-Applied"] == "respond-async"
    location = started.headers["Location"]
    assert location == f"/imports/{started.json()['id']}"
    assert started.json()["file"] == "plots.geojson"

    job = _finished(fresh_client, location, admin)
    assert job["state"] == "succeeded", job
    assert (job["report"]["created"], job["report"]["unchanged"]) == (5, 0)
    assert job["step"] == "loading" and job["done"] == job["total"] == 1
    assert job["started_at"] and job["finished_at"] and job["error"] is None
    assert _sample_plots(fresh_engine) == before + 5
    listed = fresh_client.get("/imports", headers=admin).json()["jobs"]
    assert listed[0]["id"] == job["id"] and "5 plots were created" in listed[0]["summary"]


def test_a_refused_async_import_writes_nothing_and_says_why_row_by_row(
        fresh_client, fresh_engine: Engine) -> None:
    tokens = _accounts(fresh_engine)
    kranj = {"Authorization": f"Bearer {tokens['kranj']}"}
    before = _sample_plots(fresh_engine)
    # The sample holds plots of five municipalities: a Kranj editor may load only its own.
    job = _finished(fresh_client, _post(fresh_client, tokens["kranj"], ASYNC).headers["Location"],
                    kranj)
    assert job["state"] == "refused"
    assert any(p["field"] == "scope" and "outside your scope" in p["reason"]
               for p in job["report"]["problems"])
    assert _sample_plots(fresh_engine) == before
    # A file that cannot be read at all: the reason, in the job's error.
    unknown = _post(fresh_client, tokens["kranj"], ASYNC, layer="nowhere")
    job = _finished(fresh_client, unknown.headers["Location"], kranj)
    assert job["state"] == "refused" and "nowhere" in job["error"], job


def test_a_jobs_report_lists_the_first_problems_and_its_csv_all(fresh_client, fresh_engine: Engine,
                                                                monkeypatch) -> None:
    """A million-row file in a wrong CRS has a million problems: the report, sent at every
    poll, lists the first ones and the total; every one is in the job's CSV."""
    from locations import import_jobs

    monkeypatch.setattr(import_jobs, "REPORTED_PROBLEMS", 2)
    tokens = _accounts(fresh_engine)
    kranj = {"Authorization": f"Bearer {tokens['kranj']}"}
    maribor = {"Authorization": f"Bearer {tokens['maribor']}"}
    location = _post(fresh_client, tokens["kranj"], ASYNC).headers["Location"]
    job = _finished(fresh_client, location, kranj)
    report = job["report"]
    assert job["state"] == "refused" and len(report["problems"]) == 2
    assert report["problems_total"] == report["problem_rows"] == 4  # one Kranj plot of five
    assert report["problems_href"] == f"{location}/problems"
    problems = fresh_client.get(report["problems_href"], headers=kranj)
    assert problems.status_code == 200 and problems.headers["content-type"].startswith("text/csv")
    lines = problems.text.splitlines()
    assert lines[0] == "row,field,reason" and len(lines) == 1 + 4
    assert all(line.endswith(",scope,outside your scope") for line in lines[1:])
    assert [line.split(",")[:3] for line in lines[1:3]] == [
        [str(p["row"]), p["field"], p["reason"]] for p in report["problems"]]
    assert fresh_client.get(report["problems_href"], headers=maribor).status_code == 404


def test_a_job_is_its_accounts_alone(fresh_client, fresh_engine: Engine) -> None:
    tokens = _accounts(fresh_engine)
    location = _post(fresh_client, tokens["kranj"], ASYNC, dry_run="true",
                     skip_invalid="true").headers["Location"]
    as_other = fresh_client.get(location, headers={"Authorization": f"Bearer {tokens['maribor']}"})
    assert as_other.status_code == 404
    assert fresh_client.get(location).status_code == 401
    assert fresh_client.get("/imports", headers={
        "Authorization": f"Bearer {tokens['maribor']}"}).json()["jobs"] == []
    as_admin = _finished(fresh_client, location, {"Authorization": f"Bearer {tokens['admin']}"})
    assert as_admin["report"]["dry_run"] is True


def _state_for(engine: Engine, job_id: int, account, seconds: float) -> set[str]:
    """The states job ``job_id`` showed, read every 0.1 s for ``seconds``."""
    from locations.import_jobs import get_job

    seen, deadline = set(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            seen.add(get_job(conn, job_id, account)["state"])
        time.sleep(0.1)
    return seen


def test_a_job_whose_server_stopped_reads_as_interrupted(fresh_engine: Engine,
                                                          monkeypatch) -> None:
    """A server beats for the jobs it holds. A job left queued or running without a beat
    says so, and that nothing was written, instead of waiting for ever; one whose server
    beats stays as it is however long it takes. The beat is a row, not a session, so a
    connection pooler that keeps sessions open does not keep dead jobs alive."""
    from locations import import_jobs
    from locations.accounts import Account

    monkeypatch.setattr(import_jobs, "HEARTBEAT_EVERY_S", 0.1)
    monkeypatch.setattr(import_jobs, "STALE_AFTER_S", 1.0)
    with fresh_engine.begin() as conn:
        account_id = conn.execute(text(
            "INSERT INTO account (name, role) VALUES ('a', 'admin') RETURNING id")).scalar_one()
    account = Account(account_id, "a", "admin")
    for state in ("queued", "running"):
        with fresh_engine.begin() as conn:
            job_id = import_jobs.create_job(conn, account, "plots", "big.gpkg", {})
            conn.execute(text("UPDATE import_job SET state = :state WHERE id = :id"),
                         {"state": state, "id": job_id})
        import_jobs._heartbeat.hold(fresh_engine, job_id)  # its server holds it ...
        assert _state_for(fresh_engine, job_id, account, 2.0) == {state}
        import_jobs._heartbeat.release(fresh_engine, job_id)  # ... and stops
        assert "interrupted" in _state_for(fresh_engine, job_id, account, 2.0)
        with fresh_engine.connect() as conn:
            job = import_jobs.get_job(conn, job_id, account)
        assert job["state"] == "interrupted" and "nothing was written" in job["error"]


def test_progress_is_visible_while_the_import_runs(fresh_engine: Engine) -> None:
    """Each step is written at once, on a connection that commits it, so another session
    sees it while the import's own transaction still holds everything back."""
    from locations.accounts import Account
    from locations.import_jobs import _ProgressWriter, create_job, get_job, tracker

    with fresh_engine.begin() as conn:
        account_id = conn.execute(text(
            "INSERT INTO account (name, role) VALUES ('a', 'admin') RETURNING id")).scalar_one()
    account = Account(account_id, "a", "admin")
    with tracker(fresh_engine) as job_tracker:
        job_id = create_job(job_tracker, account, "plots", "big.gpkg", {})
        progress = _ProgressWriter(job_tracker, job_id)
        progress("staging", 200_000, 1_000_000)
        with fresh_engine.connect() as reader:
            job = get_job(reader, job_id, account)
        assert (job["step"], job["done"], job["total"]) == ("staging", 200_000, 1_000_000)
        progress("staging", 300_000, 1_000_000)  # within half a second: not written again
        progress("checking", 0, 1)  # a new step is
        with fresh_engine.connect() as reader:
            assert get_job(reader, job_id, account)["step"] == "checking"


def test_a_dry_run_job_of_a_file_that_would_be_refused_says_so(fresh_client,
                                                                 fresh_engine: Engine) -> None:
    tokens = _accounts(fresh_engine)
    kranj = {"Authorization": f"Bearer {tokens['kranj']}"}
    location = _post(fresh_client, tokens["kranj"], ASYNC, dry_run="true").headers["Location"]
    job = _finished(fresh_client, location, kranj)
    assert job["state"] == "refused" and job["report"]["dry_run"] is True
    assert "nothing would be imported" in job["report"]["summary"]


def test_jobs_beyond_the_runners_wait_queued_and_then_run(fresh_client, fresh_engine: Engine,
                                                          monkeypatch) -> None:
    """Posted all at once, jobs run a few at a time and the others wait queued, without
    taking the API's threads or connections: it still answers meanwhile."""
    from locations import import_jobs

    release = threading.Event()
    real_import = import_jobs.import_file

    def held_import(*args, **kwargs):
        assert release.wait(60)
        return real_import(*args, **kwargs)

    monkeypatch.setattr(import_jobs, "import_file", held_import)
    tokens = _accounts(fresh_engine)
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    jobs = [_post(fresh_client, tokens["admin"], ASYNC, dry_run="true").headers["Location"]
            for _ in range(import_jobs.MAX_RUNNING_JOBS + 2)]
    deadline = time.monotonic() + 30
    while True:
        states = [fresh_client.get(job, headers=admin).json()["state"] for job in jobs]
        if states.count("running") == import_jobs.MAX_RUNNING_JOBS or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert states.count("running") == import_jobs.MAX_RUNNING_JOBS, states
    assert states.count("queued") == 2, states
    # Its problems are known once a job has ended.
    assert fresh_client.get(f"{jobs[0]}/problems", headers=admin).status_code == 409
    assert fresh_client.get("/plots", params={"limit": 1}).status_code == 200
    release.set()
    assert [_finished(fresh_client, job, admin)["state"] for job in jobs] == ["succeeded"] * 4


HELD_IMPORT = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine
from locations import import_jobs
from locations.accounts import account_by_name

def held(*args, **kwargs):  # an import that takes its time, as a large file does
    time.sleep(600)

import_jobs.import_file = held
engine = create_engine(sys.argv[1])
with engine.begin() as conn:
    account = account_by_name(conn, "boss")
    job_id = import_jobs.create_job(conn, account, "plots", "big.gpkg", {})
import_jobs.start_job(engine, job_id, Path(sys.argv[2]), account=account)
print(job_id, flush=True)
time.sleep(600)
"""


def test_a_job_whose_server_is_killed_reads_as_interrupted_at_once(fresh_engine: Engine) -> None:
    """A server killed mid-import (SIGKILL: no handler runs) closes its connections with
    it; the job names its server's backend, so a reader tells at once that it is gone,
    long before its heartbeat (every 5 s, stale after 30 s) could."""
    import os
    import signal
    import subprocess
    import sys

    from locations import import_jobs
    from locations.accounts import account_by_name

    _accounts(fresh_engine)
    with fresh_engine.connect() as conn:
        admin = account_by_name(conn, "boss")
    url = fresh_engine.url.render_as_string(hide_password=False)
    root = Path(__file__).resolve().parent.parent
    worker = subprocess.Popen([sys.executable, "-c", HELD_IMPORT, url, str(SAMPLE)],
                              stdout=subprocess.PIPE, text=True, cwd=root,
                              env=dict(os.environ, PYTHONPATH=str(root)))
    try:
        job_id = int(worker.stdout.readline())

        def job() -> dict:
            with fresh_engine.connect() as conn:
                return import_jobs.get_job(conn, job_id, admin)

        deadline = time.monotonic() + 30
        while job()["state"] != "running":
            assert time.monotonic() < deadline, job()
            time.sleep(0.05)
        with fresh_engine.connect() as conn:
            assert conn.execute(text("SELECT worker_pid IS NOT NULL FROM import_job WHERE id = :id"),
                                {"id": job_id}).scalar_one()
        time.sleep(1.0)
        assert job()["state"] == "running"  # alive: however long it takes

        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed = time.monotonic()
        while (found := job())["state"] != "interrupted":
            assert time.monotonic() - killed < 3.0, found
            time.sleep(0.02)
        waited = time.monotonic() - killed
        print(f"interrupted {waited:.3f} s after SIGKILL")
        assert waited < import_jobs.HEARTBEAT_EVERY_S, waited
        assert "nothing was written" in found["error"]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
