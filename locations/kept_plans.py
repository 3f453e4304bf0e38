"""Statements whose plans the database keeps: PL/pgSQL functions run by the hot reads.

Planning is a fixed cost of every statement, and for the smallest reads the largest one:
a page of one zone's plots spent 0.5-0.8 ms of its 1.5 ms of database time planning the
joins and JSON of its features, a z16 tile about as long planning as making it. Prepared
statements would plan once, but production reaches the primary through PgBouncer in
transaction mode (deploy/docker-compose.production.yml; tests/test_pgbouncer.py), where a prepared statement does
not outlive the transaction that made it. A PL/pgSQL function is prepared inside the
server session instead: each of its static statements is planned on first use and the plan
kept for that session (SPI's plan cache), whichever client the pooler hands it to next.

How to keep a statement's plan this way (``locations/sql/functions``, applied by a
migration like any function; see ``plot_search_features`` and ``plot_tile_fresh``):

- Write the statement static, its varying parts as the function's arguments. Declare the
  function STABLE (it then reads with the calling statement's snapshot) and
  ``SET plan_cache_mode = force_generic_plan``: left to itself PL/pgSQL plans the first
  five calls for their values and then keeps replanning whenever the plan made for any
  value looks costlier, which is most of the time for a statement whose values narrow it
  down (a tile's box). A generic plan is chosen without the values, so only statements
  whose best plan does not depend on them belong here (rows found by key, by a spatial
  index): a zone's plots in id order, say, would be planned for an average zone and sort
  a large one's plots whole.
- Work out what depends on the arguments alone into variables first (a tile's envelope):
  in a generic plan an expression of the arguments is evaluated again for every row.
- Hold the plan with ``inner_plans`` (a test, as superuser: it loads auto_explain) for the
  arguments that differ most (the largest zone and an empty one, a dense tile and an empty
  one), and hold the answers to the statement written in Python where one is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from locations.db import _driver_sql

_EXPLAIN_SETTINGS = ("auto_explain.log_min_duration = 0",
                     "auto_explain.log_nested_statements = on",
                     "auto_explain.log_analyze = on", "auto_explain.log_timing = off",
                     "auto_explain.log_format = json", "client_min_messages = log")


def inner_plans(conn: Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The plans ``sql`` ran with, the statements inside the functions it called included,
    as EXPLAIN (ANALYZE, FORMAT JSON) gives them: ``{"Query Text": ..., "Plan": ...}`` each,
    innermost first. Run in ``conn``'s transaction (the settings are local to it); needs a
    superuser, who may load auto_explain."""
    driver = conn.connection.dbapi_connection
    with driver.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        for setting in _EXPLAIN_SETTINGS:
            cursor.execute(f"SET LOCAL {setting}")
        del driver.notices[:]
        cursor.execute(_driver_sql(sql), params)
        cursor.fetchall()
        cursor.execute("SET LOCAL client_min_messages = notice")
    plans = []
    for notice in driver.notices:
        if "plan:" in notice and "{" in notice:
            plans.append(json.loads(notice[notice.index("{"):]))
    return plans


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan (``inner_plans``' ``Plan``), the node itself first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)
