"""What every OGC API answer shares: JSON or HTML by ``f`` or Accept, absolute links, pages."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import DictLoader, Environment
from starlette.datastructures import URL

from api.ogc.html import TEMPLATES
from locations.errors import InvalidInput

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"

#: Autoescaping on for every template: property values are whatever municipalities typed.
ENVIRONMENT = Environment(loader=DictLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                          lstrip_blocks=True)


def _show(value: Any) -> str:
    """A property value as table text (escaped afterwards by autoescaping)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


ENVIRONMENT.filters["show"] = _show


def _quality(accept: str, media_type: str) -> float:
    """The q Accept gives ``media_type`` by name (wildcards do not count: ``*/*`` is what
    curl sends and says nothing)."""
    for part in accept.split(","):
        name, *parameters = [piece.strip() for piece in part.split(";")]
        if name.lower() != media_type:
            continue
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip() == "q":
                try:
                    return float(value)
                except ValueError:
                    return 0.0
        return 1.0
    return 0.0


def accept_prefers_html(accept: str) -> bool:
    return _quality(accept, HTML) > max(_quality(accept, JSON), _quality(accept, GEOJSON))


def accept_prefers_json(accept: str) -> bool:
    return max(_quality(accept, JSON), _quality(accept, GEOJSON)) > _quality(accept, HTML)


def wants_html(request: Request) -> bool:
    """HTML for ``f=html`` or a browser's Accept; JSON otherwise (``f=json``, GDAL, curl).

    Raises:
        InvalidInput: an ``f`` other than json or html.
    """
    fmt = request.query_params.get("f")
    if fmt is not None:
        if fmt not in ("json", "html"):
            raise InvalidInput("f", "must be json or html")
        return fmt == "html"
    return accept_prefers_html(request.headers.get("accept", ""))


def base_url(request: Request) -> str:
    """The API's root as the client reached it, without the trailing slash."""
    return str(request.base_url).rstrip("/")


def link(href: str, rel: str, media_type: str, title: str | None = None,
         **extra: Any) -> dict[str, Any]:
    entry = {"href": href, "rel": rel, "type": media_type}
    if title:
        entry["title"] = title
    return entry | extra


class QueryLinks:
    """The request's own address with one parameter given anew, written as Starlette's
    ``URL.include_query_params`` writes it (that parameter's values left out, the new one
    last), with the query parsed and each pair encoded once for all the links an answer
    gives: each link parsed and encoded a CQL2 filter again, some 0.1 ms apiece."""

    def __init__(self, url: URL) -> None:
        self._components = url.components
        self._pairs = [(name, f"{quote_plus(name)}={quote_plus(value)}")
                       for name, value in parse_qsl(url.query, keep_blank_values=True)]

    def including(self, name: str, value: Any) -> str:
        pairs = [encoded for given, encoded in self._pairs if given != name]
        pairs.append(f"{quote_plus(name)}={quote_plus(str(value))}")
        return self._components._replace(query="&".join(pairs)).geturl()


def self_links(request: Request, html: bool, json_type: str = JSON,
               query: QueryLinks | None = None) -> list[dict[str, Any]]:
    """``self`` in the format answered and ``alternate`` in the other (``query``: the
    request's, when the caller makes further links of it)."""
    query = query or QueryLinks(request.url)
    as_html = query.including("f", "html")
    if html:
        as_json = query.including("f", "json")
        return [link(as_html, "self", HTML, "This document"),
                link(as_json, "alternate", json_type, "This document as JSON")]
    return [link(str(request.url), "self", json_type, "This document"),
            link(as_html, "alternate", HTML, "This document as HTML")]


#: JSON and HTML come from the same URL by Accept: caches must keep them apart.
VARY = {"Vary": "Accept"}


def json_answer(content: Any, media_type: str = JSON,
                headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(content, media_type=media_type, headers=VARY | (headers or {}))


def html_answer(template: str, headers: dict[str, str] | None = None,
                **context: Any) -> HTMLResponse:
    page = ENVIRONMENT.get_template(template).render(**context)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", **VARY, **(headers or {})})
