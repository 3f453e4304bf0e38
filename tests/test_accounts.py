"""Accounts as a new user meets them: the CLI, tokens shown once and stored hashed, rate limits, limits."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from locations.accounts import MAX_AUTH_FAILURES
from locations.settings import get_settings
from tests.test_plot_updates import make_account, plot_in


def run_cli(engine: Engine, *args: str) -> subprocess.CompletedProcess:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        check=False, capture_output=True, text=True, timeout=120,
        env=os.environ | {"DATABASE_URL": url, "COLUMNS": "200"},
    )


def everything_stored(engine: Engine) -> str:
    """The account tables as text, to look for a token in them."""
    with engine.connect() as conn:
        return " ".join(str(row) for table in ("account", "account_municipality")
                        for row in conn.execute(text(f"SELECT * FROM {table}")))


def test_cli_creates_a_token_shown_once_that_works_and_can_be_revoked(fresh_engine, fresh_client):
    created = run_cli(fresh_engine, "accounts", "create", "kranj-editor", "--role", "municipality",
                      "--municipality", "Kranj")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    stored = everything_stored(fresh_engine)
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored

    plot_id = plot_in(fresh_engine, "Kranj")
    headers = {"Authorization": f"Bearer {token}"}
    tag = fresh_client.get(f"/plots/{plot_id}").headers["ETag"]
    assert fresh_client.post(f"/plots/{plot_id}/verify", headers=headers | {"If-Match": tag}
                             ).status_code == 200

    listed = run_cli(fresh_engine, "accounts", "list")
    assert listed.returncode == 0
    assert "kranj-editor" in listed.stdout and "Kranj" in listed.stdout
    assert token not in listed.stdout

    twice = run_cli(fresh_engine, "accounts", "create", "kranj-editor", "--role", "admin")
    assert twice.returncode == 1
    assert "already exists" in twice.stderr

    revoked = run_cli(fresh_engine, "accounts", "revoke", "kranj-editor")
    assert revoked.returncode == 0
    assert token not in revoked.stdout + revoked.stderr
    after = fresh_client.get(f"/plots/{plot_id}/history", headers=headers)
    assert after.status_code == 401


def test_cli_refuses_an_editor_without_or_with_an_unknown_municipality(fresh_engine):
    without = run_cli(fresh_engine, "accounts", "create", "x", "--role", "municipality")
    assert without.returncode == 1 and "municipality" in without.stderr
    unknown = run_cli(fresh_engine, "accounts", "create", "x", "--role", "municipality",
                      "--municipality", "Atlantis")
    assert unknown.returncode == 1 and "Atlantis" in unknown.stderr
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account WHERE name = 'x'")).scalar_one() == 0


def test_failed_authentications_are_rate_limited_across_app_instances(fresh_engine):
    from api.app import create_app

    plot_id = plot_in(fresh_engine, "Kranj")
    good = make_account(fresh_engine, "admin", "admin")
    bad = {"Authorization": "Bearer guessed-token"}
    # Two app instances on one database stand for two workers behind a load balancer.
    first, second = TestClient(create_app(fresh_engine)), TestClient(create_app(fresh_engine))
    for attempt in range(MAX_AUTH_FAILURES):
        client = first if attempt % 2 else second
        assert client.get(f"/plots/{plot_id}/history", headers=bad).status_code == 401
    limited = first.get(f"/plots/{plot_id}/history", headers=bad)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 600
    # A stranger's bad guesses never lock out the rightful user of that address: tokens are
    # 256-bit random, so a right token is never a guess, and is always let in.
    assert second.get(f"/plots/{plot_id}/history", headers=good).status_code == 200
    # Anonymous reads are not affected.
    assert second.get(f"/plots/{plot_id}").status_code == 200
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM auth_failure")).scalar_one() == MAX_AUTH_FAILURES


def test_tokens_never_reach_the_log(fresh_engine, fresh_client, caplog):
    caplog.set_level(logging.DEBUG)
    headers = make_account(fresh_engine, "admin", "admin")
    token = headers["Authorization"].split()[1]
    plot_id = plot_in(fresh_engine, "Kranj")
    fresh_client.get(f"/plots/{plot_id}/history", headers=headers)
    fresh_client.get(f"/plots/{plot_id}/history", headers={"Authorization": "Bearer wrong-secret"})
    wrong = fresh_client.patch(f"/plots/{plot_id}", json={"status": "x"},
                               headers={"Authorization": "Bearer wrong-secret"})
    assert "wrong-secret" not in wrong.text
    logged = caplog.text
    assert token not in logged
    assert "wrong-secret" not in logged


def test_oversized_request_bodies_are_refused_before_anything_is_written(
    fresh_engine, monkeypatch
):
    from api.app import create_app

    # A file upload: its own limit (LOCATIONS_MAX_UPLOAD_BYTES) applies.
    monkeypatch.setenv("LOCATIONS_MAX_UPLOAD_BYTES", "1000")
    get_settings.cache_clear()
    try:
        client = TestClient(create_app(fresh_engine))
    finally:
        monkeypatch.delenv("LOCATIONS_MAX_UPLOAD_BYTES")
        get_settings.cache_clear()
    headers = make_account(fresh_engine, "admin", "admin")
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    with fresh_engine.connect() as conn:
        reference = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                                 {"id": plot_id}).scalar_one()
    csv = "cadastral_ref,status,note\n" + f"{reference},reserved,{'x' * 2000}\n"
    response = client.post("/imports/plot-updates", files={"file": ("big.csv", csv, "text/csv")},
                           headers=headers)
    assert response.status_code == 413
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM plot WHERE id = :id"),
                            {"id": plot_id}).scalar_one() == "available"
