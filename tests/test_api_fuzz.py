"""Schemathesis over the whole OpenAPI document: no input gives a 5xx, every answer is documented.

Every operation (reads and writes) is fuzzed with a token of each role, or none, on a
private copy of the demo database, so writes never reach other tests. Schemathesis
generates the requests (valid and invalid ones) and runs all its default checks on each
answer: no server error, documented status code, content type, headers and body schema,
valid data accepted, invalid data refused, authentication not ignored. The run is
derandomized: CI sees the same few hundred cases every time.

Hypothesis is driven here, one test per operation, rather than through
``schemathesis.pytest.from_fixture``: that loader fails under pytest 9 (schemathesis
4.32 sets ``Function._nodeid``, gone from pytest), and the app needs this module's database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from sqlalchemy import Engine

from locations.accounts import create_account
from tests.conftest import _drop_database, _engine_from_template

#: Examples per operation: 41 operations make some 320 cases (about a minute on 2 cores).
EXAMPLES_PER_OPERATION = 8
#: Who calls: each role's token, and nobody (None).
CALLERS = ("investor", "municipality", "agency", "admin", None)


@pytest.fixture(scope="module")
def fuzz_engine(pg_server: str, template_db: str) -> Iterator[Engine]:
    """A private copy of the demo database for the whole fuzz run."""
    name, engine = _engine_from_template(pg_server, template_db, "locations_test_fuzz")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def tokens(fuzz_engine: Engine) -> dict[str | None, dict[str, str]]:
    """Authorization headers per caller; the scoped roles reach one municipality or region."""
    scopes = {"municipality": {"municipalities": ["Kranj"]}, "agency": {"regions": ["SI042"]}}
    with fuzz_engine.begin() as conn:
        headers: dict[str | None, dict[str, str]] = {None: {}}
        for role in CALLERS[:-1]:
            token = create_account(conn, f"fuzz-{role}", role, **scopes.get(role, {}))
            headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture(scope="module")
def api_schema(fuzz_engine: Engine):
    from api.app import create_app

    # Only the checks' settings apply: the examples are drawn by the Hypothesis tests below.
    config = schemathesis.Config.from_dict({
        "checks": {
            # Relaxed: a schema-valid request may still be refused with 400 (a name no
            # region, municipality or profile has; a tile address beyond 2^z at its zoom; a
            # file's contents; a control character in a path or query parameter, refused
            # app-wide), 412 (a well-formed ETag that is stale) or 428 (a write sent
            # without its optional If-Match): the OpenAPI document cannot state these.
            # 422 stays a failure: schema-valid data must pass request validation.
            "positive_data_acceptance": {"expected-statuses": [
                "2xx", "3xx", "400", "401", "403", "404", "409", "412", "428", "429"]},
        },
    })
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_engine), config=config)


def test_every_operation_conforms_and_never_fails_on_the_server(api_schema, tokens, fuzz_engine):
    failures: list[str] = []
    calls = 0
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        # Valid requests and invalid ones (a wrong type, a value out of bounds, a missing field).
        strategy = st.one_of([operation.as_strategy(generation_mode=mode)
                              for mode in GenerationMode])

        # derandomize: the same examples on every run. The health checks are off because
        # every example is a request to the database, slower than Hypothesis expects.
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                  deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy, caller=st.sampled_from(CALLERS))
        def run(case, caller):
            nonlocal calls
            calls += 1
            try:
                case.call_and_validate(headers=tokens[caller])
            finally:
                # The checks also send invalid tokens, which count towards this client's
                # rate limit; past it every request would be a 429 and test nothing more.
                with fuzz_engine.begin() as conn:
                    conn.exec_driver_sql("DELETE FROM auth_failure")

        try:
            run()
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - all operations, then report
            failures.append(f"{operation.label}: {exc}")
    summary = f"{operations} operations, {calls} cases, {len(failures)} failing operations"
    print(summary)
    assert not failures, summary + "\n\n" + "\n\n".join(failures)
    # Guards the guard: a schema or generator that yields next to nothing would pass above.
    assert operations >= 40 and calls >= 4 * operations, summary
