"""The OGC answers' links to themselves and their next pages are written as Starlette's
``URL.include_query_params`` writes them (api.ogc.common.QueryLinks parses the query once
for all of an answer's links): the same addresses for any query string a client sends."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from starlette.datastructures import URL

from api.ogc.common import QueryLinks

QUERIES = [
    "",
    "limit=50",
    "f=json&limit=5",
    "f=html&limit=2&f=json",
    "a=&b&=c&&d=1",
    "limit=50&filter-lang=cql2-json&filter="
    + quote(json.dumps({"op": "=", "args": [{"property": "zone_id"}, 25]})),
    "filter=name%20LIKE%20%27%C5%BDaga%25%27&bbox=15.5,46.5,15.7,46.6",
    "q=a+b%2Bc&q=%26%3D%3F%23&cursor=abc",
    "cursor=eyJzIjoiaWQifQ%3D%3D&limit=3&cursor=def&offset=9",
    "x=1;y=2&z=%E2%80%A8%00",
    "name=%ZZ&other=%",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("base", ["http://127.0.0.1:8000/collections/plots/items",
                                  "https://example.org/api/collections/zones/items"])
def test_links_are_starlettes_include_query_params(base: str, query: str) -> None:
    url = URL(f"{base}?{query}" if query else base)
    links = QueryLinks(url)
    for name, value in (("f", "html"), ("f", "json"), ("cursor", "eyJzIjoiaWQiLCJrIjoiNSJ9"),
                        ("offset", 100), ("offset", 0)):
        assert links.including(name, value) == str(url.include_query_params(**{name: value}))
