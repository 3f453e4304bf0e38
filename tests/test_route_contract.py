"""Every route's address holds: its method and path, and for the API its OpenAPI operation
id, summary and tags (clients generate code from them); for the pages the handler's name.

The routes are listed in ``tests/routes.txt``, one a line. Moving a route to another module
must leave its line as it was; a listed route that changes or goes fails here by name. A
new route is welcome: add its line (``python -m tests.test_route_contract`` prints them all)
to hold it too.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute
from sqlalchemy import create_engine

from tests.test_page_injection import _routes

LISTED = Path(__file__).with_name("routes.txt")


def route_lines() -> list[str]:
    """One line per route and method: the API's from its OpenAPI document, the pages and
    other routes outside it from the router."""
    from api.app import create_app

    # The document is built from the routes alone: the engine is never connected.
    app = create_app(create_engine("postgresql+psycopg2://unused@localhost/unused"))
    lines = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            lines.append(f"{method.upper()} {path} api {operation['operationId']} "
                         f"tags={','.join(operation.get('tags', []))} | {operation.get('summary', '')}")
    for route in _routes(app.routes):
        if isinstance(route, APIRoute) and not route.include_in_schema:
            for method in sorted(route.methods):
                lines.append(f"{method} {route.path} page {route.name}")
    return sorted(lines)


def test_every_listed_route_keeps_its_address_and_operation():
    served = set(route_lines())
    listed = [line for line in LISTED.read_text(encoding="utf-8").splitlines() if line.strip()]
    changed = [line for line in listed if line not in served]
    assert not changed, "listed routes changed or gone:\n" + "\n".join(changed)


def test_the_list_names_each_route_once():
    listed = [line for line in LISTED.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(listed) == len(set(listed))
    # "GET /" is served twice: the OGC landing page to JSON clients, the start page to the rest.
    addresses = [" ".join(line.split()[:3]) for line in listed]
    assert len(addresses) == len(set(addresses)), "a method, path and kind listed twice"


if __name__ == "__main__":
    print("\n".join(route_lines()))
