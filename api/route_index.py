"""Route matching by a path's shape: a request tries only the routers that can match it.

FastAPI's router tries each included router in turn, and each tries its routes in turn,
regular expression by regular expression, with bookkeeping in the request's scope at
every step: an OGC tile, fifteen routers down the list, spent about 0.4 ms of CPU finding
its route before any of its own work began, a zone's items 0.7 ms. A route's template
says what paths it can match: ``/collections/{collection_id}/items`` only paths whose
first segment is ``collections`` and that have three segments (a parameter never spans a
``/`` unless it is a ``:path`` one). Each included router is given the shapes its routes
can match; asked about a path of another shape, it answers "no match" at once, which is
what trying each of its routes would have answered. The order in which routes are tried,
and so which route answers, stays exactly FastAPI's. A router holding a route of no fixed
first segment (``/{name}``, a websocket or frontend route) is tried for every path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute, _IncludedRouter
from starlette.routing import Match, Mount, Route
from starlette.types import Scope

#: A route's shape: its fixed first segment and how many segments it has (None: any
#: number, for a mount or a ``:path`` parameter).
Shape = tuple[str, int | None]


def path_shape(path: str) -> tuple[str, int]:
    """``/collections/plots/items`` -> ``("collections", 3)``; ``/`` -> ``("", 1)``."""
    return path[1:].split("/", 1)[0], path.count("/")


def template_shape(template: str, *, prefix_only: bool = False) -> Shape | None:
    """The shape of the paths a route template (or, ``prefix_only``, a mount's prefix)
    matches; None when its first segment is not fixed."""
    if not template.startswith("/"):
        return None
    segment, depth = path_shape(template)
    if "{" in segment:
        return None
    if prefix_only or ":path}" in template:
        return segment, None
    return segment, depth


def route_shapes(routes: Iterable[object]) -> frozenset[Shape] | None:
    """The shapes of the paths ``routes`` (routes or FastAPI's route contexts) can match;
    None when some may match any path."""
    shapes: set[Shape] = set()
    for route in routes:
        original = getattr(route, "original_route", route)
        starlette_route = getattr(route, "starlette_route", None) or original
        if isinstance(original, APIRoute):
            template = getattr(route, "path_format", None) or original.path_format
            shape = template_shape(template)
        elif isinstance(starlette_route, Mount):
            shape = template_shape(starlette_route.path or "/", prefix_only=True)
        elif isinstance(starlette_route, Route):
            shape = template_shape(starlette_route.path_format)
        else:
            return None  # websocket, frontend group, host: tried for every path
        if shape is None:
            return None
        shapes.add(shape)
    return frozenset(shapes)


def _route_path(scope: Scope) -> str:
    # As Starlette matches: the path below the application's root_path.
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _quick_refusal(matches: Callable[[Scope], tuple[Match, Scope]],
                   shapes: frozenset[Shape]) -> Callable[[Scope], tuple[Match, Scope]]:
    def indexed_matches(scope: Scope) -> tuple[Match, Scope]:
        if scope.get("type") == "http":
            segment, depth = path_shape(_route_path(scope))
            if (segment, depth) not in shapes and (segment, None) not in shapes:
                return Match.NONE, {}
        return matches(scope)

    return indexed_matches


def index_routes(app: FastAPI) -> list[frozenset[Shape] | None]:
    """Have each of ``app``'s included routers refuse at once a path none of its routes can
    match; call once every router is included. Returns each top-level route's shapes in
    order (None: tried for every path), for tests."""
    found: list[frozenset[Shape] | None] = []
    for route in app.router.routes:
        if not isinstance(route, _IncludedRouter):
            found.append(route_shapes([route]))
            continue
        shapes = route_shapes(route.effective_route_contexts())
        found.append(shapes)
        if shapes is not None:
            # An instance attribute: this router alone, FastAPI's class untouched.
            route.matches = _quick_refusal(route.matches, shapes)  # type: ignore[method-assign]
    return found
