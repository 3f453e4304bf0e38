"""Where a request's time goes inside the server, one line per request: for ``bench.load``.

A uvicorn factory (``bench.load.timing:create_app``) that serves ``api.app.create_app``
and writes, for each request, when it arrived, each of its trips through the thread pool
(how long it queued for a thread, how long it ran there and how much of that was CPU of
its own thread), its time in the database driver, and when its answer started and ended.
It also logs the garbage collector's passes and how late the event loop ran a 10 ms
timer, so a slow request can be laid beside what stopped everything at that moment.

    LOCATIONS_BENCH_TIMING_LOG=/tmp/timing.jsonl uvicorn bench.load.timing:create_app --factory

``python -m bench.load.timing /tmp/timing.jsonl`` sums a log up: for the requests over a
percentile of their total, which step took their time; with the client's log of each
request (``bench.load.run --timing-log`` writes ``PATH.<phase>.client``), how long each
request took to reach the app and its answer to reach the client. Only for measuring: the platform
itself never imports this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import os
import sys
import threading
import time
from collections import defaultdict

import anyio.to_thread
from sqlalchemy import event
from sqlalchemy.engine import Engine

_record: contextvars.ContextVar[dict | None] = contextvars.ContextVar("bench_timing", default=None)
_lines: list[str] = []
_lock = threading.Lock()
_now = time.perf_counter


def _write(entry: dict) -> None:
    line = json.dumps(entry)
    with _lock:
        _lines.append(line)


def _flush(path: str) -> None:
    with _lock:
        lines, _lines[:] = list(_lines), []
    if lines:
        with open(path, "a") as out:
            out.write("\n".join(lines) + "\n")


def _install_hooks() -> None:
    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, **kwargs):
        record = _record.get()
        if record is None:
            return await original(func, *args, **kwargs)
        submitted = _now()

        def timed(*inner):
            started, cpu = _now(), time.thread_time()
            try:
                return func(*inner)
            finally:
                record["threads"].append((round(submitted - record["t0"], 5),
                                          round(started - submitted, 5),
                                          round(_now() - started, 5),
                                          round(time.thread_time() - cpu, 5)))
        return await original(timed, *args, **kwargs)

    anyio.to_thread.run_sync = run_sync

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = _now()

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        record = _record.get()
        started = conn.info.pop("bench_started", None)
        if record is not None and started is not None:
            record["db"] += _now() - started
            record["statements"] += 1

    gc_started = {}

    def on_gc(phase, info):
        if phase == "start":
            gc_started["t"] = _now()
        elif "t" in gc_started:
            took = _now() - gc_started.pop("t")
            if info["generation"] == 2 or took > 0.005:
                _write({"gc": info["generation"], "at": _now(), "ms": round(took * 1000, 2),
                        "collected": info["collected"]})

    gc.callbacks.append(on_gc)


class Timed:
    """Outermost ASGI middleware: one record per HTTP request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = _now()
        record = {"t0": t0, "path": scope["path"], "threads": [], "db": 0.0, "statements": 0}
        asked = next((value.decode() for name, value in scope["headers"]
                      if name == b"x-bench-request"), None)
        token = _record.set(record)
        marks = {}

        async def timed_send(message):
            if message["type"] == "http.response.start":
                marks["start"] = _now() - t0
                record["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            _record.reset(token)
            _write({"path": record["path"], "at": t0, "status": record.get("status"), "asked": asked,
                    "total": round(_now() - t0, 5), "response_start": marks.get("start"),
                    "threads": record["threads"], "db": round(record["db"], 5),
                    "statements": record["statements"]})


async def _loop_lag(path: str) -> None:
    """How late a 10 ms timer fires: the event loop busy (or starved of the GIL)."""
    while True:
        asked = _now()
        await asyncio.sleep(0.01)
        late = _now() - asked - 0.01
        if late > 0.02:
            _write({"lag": round(late * 1000, 1), "at": asked})
        if len(_lines) > 500:
            await asyncio.to_thread(_flush, path)


def create_app():
    from api.app import create_app as platform_app

    path = os.environ["LOCATIONS_BENCH_TIMING_LOG"]
    _install_hooks()
    app = platform_app()
    inner_lifespan = app.router.lifespan_context

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(a):
        task = asyncio.get_running_loop().create_task(_loop_lag(path))
        async with inner_lifespan(a) as state:
            yield state
        task.cancel()
        _flush(path)

    app.router.lifespan_context = lifespan
    return Timed(app)


def beside_client(requests: list[dict], client_path: str, phase: str,
                  quantile: float = 0.95) -> None:
    """The client's times beside the server's, request by request: how long before the
    server's app saw a request (the client writing it, then the server's event loop and
    uvicorn reading it), the server's own time, and how long after the app's answer
    the client had read it."""
    served = {entry["asked"]: entry for entry in requests if entry.get("asked")}
    with open(client_path) as log:
        timeline = [json.loads(line) for line in log]
    rows = []
    for number, kind, started, sent, ended in timeline:
        entry = served.get(f"{phase}:{number}")
        if entry is None or sent is None:
            continue
        rows.append({"client total": ended - started, "client writing": sent - started,
                     "until the app": entry["at"] - sent, "in the app": entry["total"],
                     "until the client read it": ended - entry["at"] - entry["total"]})
    rows.sort(key=lambda row: row["client total"])
    cut = int(len(rows) * quantile)
    print(f"{len(rows)} of {len(timeline)} client requests matched the server's log")
    for label, group in ((f"fastest {quantile:.0%}", rows[:cut]),
                         (f"slowest {1 - quantile:.0%}", rows[cut:])):
        print(f"  {label}, mean ms: " + ", ".join(
            f"{key} {1000 * sum(row[key] for row in group) / max(len(group), 1):.1f}"
            for key in rows[0]))


def summarise(path: str, quantile: float = 0.95) -> None:
    requests, gcs, lags = [], [], []
    with open(path) as log:
        entries = [json.loads(line) for line in log]
    for entry in entries:
        if "gc" in entry:
            gcs.append(entry)
        elif "lag" in entry:
            lags.append(entry)
        elif entry["path"] not in ("/health/ready", "/metrics"):
            requests.append(entry)
    requests.sort(key=lambda e: e["total"])
    n = len(requests)

    def parts(entry):
        queued = sum(t[1] for t in entry["threads"])
        ran = sum(t[2] for t in entry["threads"])
        cpu = sum(t[3] for t in entry["threads"])
        first = entry["threads"][0][0] if entry["threads"] else 0.0
        return {"total": entry["total"], "before first thread": first,
                "thread queue": queued, "in thread": ran, "thread cpu": cpu, "db": entry["db"],
                "after threads (loop)": entry["total"] - first - queued - ran}

    def show(label, group):
        sums = defaultdict(float)
        for entry in group:
            for key, value in parts(entry).items():
                sums[key] += value
        print(f"{label} ({len(group)} requests), mean ms: " + ", ".join(
            f"{key} {1000 * value / max(len(group), 1):.1f}" for key, value in sums.items()))

    by_path = defaultdict(list)
    for entry in requests:
        kind = "/maps/plots" if entry["path"].startswith("/maps/plots") else \
            "/tiles" if entry["path"].startswith("/tiles") else \
            "/plots/{id}" if entry["path"].startswith("/plots/") else entry["path"]
        by_path[kind].append(entry)
    print(f"{n} requests; server total p50 {1000 * requests[n // 2]['total']:.0f} ms, "
          f"p99 {1000 * requests[int(n * .99)]['total']:.0f} ms")
    for kind, group in by_path.items():
        group.sort(key=lambda e: e["total"])
        cut = int(len(group) * quantile)
        show(f"{kind} fastest {quantile:.0%}", group[:cut])
        show(f"{kind} slowest {1 - quantile:.0%}", group[cut:])
    print(f"gc passes logged: {len(gcs)}; gen 2: {sum(1 for g in gcs if g['gc'] == 2)}, "
          f"their ms: {sorted(g['ms'] for g in gcs)[-10:]}")
    print(f"event loop late > 20 ms: {len(lags)} times, worst ms: "
          f"{sorted(lag['lag'] for lag in lags)[-10:]}")
    for phase in ("regional", "mix"):
        if os.path.exists(f"{path}.{phase}.client"):
            print(f"{phase}: the client beside the server")
            beside_client(requests, f"{path}.{phase}.client", phase, quantile)


if __name__ == "__main__":
    summarise(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.95)
