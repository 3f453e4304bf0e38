"""What a new user or an operator meets before any code runs: compose file, README, CI."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose_config(file: str = "docker-compose.yml", env: dict | None = None) -> dict:
    # `docker compose` (v2 plugin) where present, else Debian's docker-compose: both validate.
    for command in (["docker", "compose", "-f", file, "config"],
                    ["docker-compose", "-f", file, "config"]):
        try:
            # Not check=True: when one variant refuses, the other is tried.
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                                    check=False, env=None if env is None else {**os.environ, **env})
        except FileNotFoundError:
            continue
        if result.returncode == 0:
            return yaml.safe_load(result.stdout)
    raise AssertionError("neither 'docker compose config' nor 'docker-compose config' accepted "
                         f"{file}")


def test_compose_runs_postgis_with_a_healthcheck_and_the_app_against_it():
    config = compose_config()
    db, app = config["services"]["db"], config["services"]["app"]
    assert db["image"].startswith("postgis/postgis:")
    assert "healthcheck" in db
    assert any(str(v).endswith(":/var/lib/postgresql/data") or "pgdata" in str(v)
               for v in db["volumes"])
    assert "pgdata" in config["volumes"]
    assert "build" in app
    assert "@db:5432/" in app["environment"]["DATABASE_URL"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_production_compose_streams_to_a_replica_behind_pgbouncer():
    config = compose_config("deploy/docker-compose.production.yml", {"POSTGRES_PASSWORD": "x"})
    services = config["services"]
    assert {"db", "replica", "pgbouncer", "app"} <= set(services)
    assert "wal_level=replica" in " ".join(services["db"]["command"])
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    app = services["app"]
    assert "@pgbouncer:5432/" in app["environment"]["DATABASE_URL"]
    assert "@replica:5432/" in app["environment"]["LOCATIONS_READ_REPLICA_URLS"]
    assert "--workers" in " ".join(app["command"])
    # Under load a few reads work at once and the rest wait in order (README, "Under load").
    assert app["environment"]["LOCATIONS_MAX_ACTIVE_REQUESTS"] == "4"
    for script in ("primary-init.sh", "replica-start.sh"):
        assert os.access(ROOT / "deploy" / "postgres" / script, os.X_OK)


def test_dockerfile_migrates_on_start():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"locations db migrate .*locations serve", dockerfile)


def test_readme_quick_start_is_the_two_make_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", quick_start, flags=re.MULTILINE)
    assert commands == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
