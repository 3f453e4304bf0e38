"""Observability: a request id on every answer, one JSON access-log line per request, and
Prometheus metrics at ``/metrics`` (requests by route and status, latency, the database
pool, replica lag and reads, import jobs and scoring runs).

With several worker processes (``locations serve --workers N`` sets it up), the figures are
prometheus-client's multiprocess mode: each process writes its counters and histograms to
files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever worker answers it, adds them
all up; the pool and the reads by node are summed over the live workers.

The access line names the route's template (``/plots/{plot_id}``), never the query string:
searches and tokens stay out of the log, and the log's cardinality stays that of the API.
The same holds for the metrics' labels. ``/metrics`` answers loopback clients, or anyone
with ``LOCATIONS_METRICS_TOKEN`` as a bearer token: the figures tell an outsider how busy
and how big the platform is.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from locations import replicas

access_log = logging.getLogger("locations.access")

REQUEST_ID_HEADER = "X-Request-ID"
#: An id a proxy in front gave the request is kept when it looks like one (no log injection).
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

#: Latency buckets around what the platform aims at: tiles and searches in tens of ms.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Observed:
    """ASGI middleware: request id, access log line, request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"]
                      if k == b"x-request-id"), "")
        request_id = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def identified_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, identified_send)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(seconds)
            self.metrics.note_process_figures()
            client = scope.get("client")
            access_log.info(json.dumps({
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "request_id": request_id, "method": scope["method"], "route": route,
                "status": status, "duration_ms": round(seconds * 1000, 1),
                "client": client[0] if client else None}))


class Metrics:
    """The platform's metrics, in a registry of its own (one per app)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = CollectorRegistry()
        # Read when the first prometheus_client module was imported, as the library does.
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.requests = Counter("locations_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("locations_http_request_duration_seconds",
                                 "Time from request to the end of the answer",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        if self.multiprocess:
            # What one process knows of itself, written after each request, summed over
            # the live workers at a scrape.
            self.pool = Gauge("locations_db_pool_connections", "Primary pool connections by state",
                              ["state"], multiprocess_mode="livesum", registry=None)
            self.reads = Gauge("locations_reads", "Reads served since start, by node", ["node"],
                               multiprocess_mode="livesum", registry=None)
            self.conflicts = Gauge(
                "locations_replica_recovery_conflicts",
                "Reads a replica cancelled for a recovery conflict, served again elsewhere",
                ["replica"], multiprocess_mode="livesum", registry=None)
        else:
            self.registry.register(_DatabaseCollector(engine, per_process=True))

    def note_process_figures(self) -> None:
        """Multiprocess mode: this process's pool and reads, for the scrapes to add up."""
        if not self.multiprocess:
            return
        pool = self.engine.pool
        if hasattr(pool, "checkedout"):
            self.pool.labels("in_use").set(pool.checkedout())
            self.pool.labels("idle").set(pool.checkedin())
        read_pool = replicas.pool_for(self.engine)
        if read_pool is not None:
            self.reads.labels("primary").set(read_pool.primary_reads)
            for replica in read_pool.replicas:
                self.reads.labels(replica.name).set(replica.reads)
                self.conflicts.labels(replica.name).set(replica.conflicts)

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        self.note_process_figures()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_DatabaseCollector(self.engine, per_process=False))
        return generate_latest(registry)

    def process_exits(self) -> None:
        """Multiprocess mode: this worker's live figures leave the sums (its counts stay)."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())


class _DatabaseCollector:
    """Read at scrape time: the pool's connections, replicas, import jobs and scoring runs.
    ``per_process``: also what only this process knows (the pool, reads and conflicts),
    which multiprocess mode sums from every worker instead."""

    def __init__(self, engine: Engine, *, per_process: bool) -> None:
        self.engine = engine
        self.per_process = per_process

    def describe(self) -> list:
        return []  # collected afresh on every scrape, never at registration

    def collect(self):
        pool = self.engine.pool
        checked_out = GaugeMetricFamily("locations_db_pool_connections",
                                        "Primary pool connections by state", labels=["state"])
        if hasattr(pool, "checkedout"):
            checked_out.add_metric(["in_use"], pool.checkedout())
            checked_out.add_metric(["idle"], pool.checkedin())
        if self.per_process:
            yield checked_out
        read_pool = replicas.pool_for(self.engine)
        reads = GaugeMetricFamily("locations_reads", "Reads served since start, by node",
                                  labels=["node"])
        lag = GaugeMetricFamily("locations_replica_lag_seconds",
                                "How far each replica is behind (last check)", labels=["replica"])
        healthy = GaugeMetricFamily("locations_replica_healthy",
                                    "1 while a replica serves reads", labels=["replica"])
        conflicts = GaugeMetricFamily(
            "locations_replica_recovery_conflicts",
            "Reads a replica cancelled for a recovery conflict, served again elsewhere",
            labels=["replica"])
        if read_pool is not None:
            reads.add_metric(["primary"], read_pool.primary_reads)
            for replica in read_pool.replicas:
                reads.add_metric([replica.name], replica.reads)
                if replica.lag_s is not None:
                    lag.add_metric([replica.name], replica.lag_s)
                healthy.add_metric([replica.name], float(replica.healthy(read_pool.max_lag_s)))
                conflicts.add_metric([replica.name], replica.conflicts)
        if self.per_process:
            yield reads
            yield conflicts
        yield lag
        yield healthy
        jobs = GaugeMetricFamily("locations_import_jobs", "Import jobs by state", labels=["state"])
        runs = GaugeMetricFamily("locations_scoring_runs", "Scoring runs by status",
                                 labels=["status"])
        up = GaugeMetricFamily("locations_database_up", "1 when the primary answered the scrape")
        try:
            with self.engine.connect() as conn:
                for state, count in conn.execute(text(
                        "SELECT state, count(*) FROM import_job GROUP BY state")):
                    jobs.add_metric([state], count)
                for status, count in conn.execute(text(
                        "SELECT status, count(*) FROM score_run GROUP BY status")):
                    runs.add_metric([status], count)
            up.add_metric([], 1)
        except DBAPIError:
            up.add_metric([], 0)
        yield jobs
        yield runs
        yield up


def metrics_endpoint(metrics: Metrics, token: str | None):
    """The ``/metrics`` route: loopback clients, or the configured bearer token."""

    async def endpoint(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        allowed = (request.client is not None and request.client.host in ("127.0.0.1", "::1")
                   ) or (token is not None and hmac.compare_digest(given, f"Bearer {token}"))
        if not allowed:
            return PlainTextResponse("metrics are for loopback clients or the metrics token\n",
                                     status_code=403)
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(metrics.render)  # the collector queries the database
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return endpoint


def configure_access_log() -> None:
    """Access lines go to stderr as they are (JSON), unless logging was set up already."""
    if not access_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
