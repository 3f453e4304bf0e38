"""A server process leaves the objects it made at start out of the garbage collector's
full passes (api/gc_pauses.py): those passes stop every request in flight, and walking a
started server's objects took 0.3-1 s under load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVE_AND_COUNT = """
import gc, json
from fastapi.testclient import TestClient
from api.app import create_app

before = gc.get_freeze_count()
with TestClient(create_app()) as client:
    assert client.get("/plots?limit=5").status_code == 200
    frozen = gc.get_freeze_count()
    # What a full pass still walks once the process serves: what was made since, as this
    # list made after the start.
    made = [[]]
    walked = gc.get_objects()
    made_walked = any(o is made for o in walked)
    walked = len(walked)
    with TestClient(create_app()) as again:  # a second app in the process freezes no more
        assert again.get("/health/live").status_code == 200
        frozen_again = gc.get_freeze_count()
        walked_again = len(gc.get_objects())
print(json.dumps({"before": before, "frozen": frozen, "walked": walked,
                  "made_walked": made_walked, "frozen_again": frozen_again,
                  "walked_again": walked_again}))
"""


def test_a_started_server_leaves_its_startup_objects_out_of_full_collections(engine):
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SERVE_AND_COUNT], check=False, env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    # Modules, routes, schemas and compiled queries: well over a hundred thousand objects.
    assert counts["frozen"] > 100_000
    # What was made after the start is still walked (and so collected) as usual, and it is
    # a small part of what the start made (a request makes a few hundred objects or more,
    # fewer as the routing got leaner: a fixed floor here would measure the routing).
    assert counts["made_walked"], counts
    assert 0 < counts["walked"] < counts["frozen"] / 4, counts
    # A second app in the process froze nothing more: it made over ten thousand objects,
    # and they are walked, not frozen.
    assert counts["walked_again"] - counts["walked"] > 10_000, counts
    assert counts["frozen_again"] - counts["frozen"] < 5_000, counts
