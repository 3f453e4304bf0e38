"""Standalone pages (``locations map export``): the pages the server composes
(``maps.composer``), with every asset inlined and no tile layer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from locations.errors import InvalidInput
from maps import composer, queries
from maps.i18n import Translator
from maps.overview import MEASURES
from maps.page import PageContext


class _NoQuery(dict):
    """No search parameters: every plot, as the page without a query string finds them."""

    def getlist(self, name: str) -> list[str]:
        return []


_NO_QUERY = _NoQuery()


def export_page(
    conn: Connection,
    page: str,
    *,
    lang: str = "en",
    zone_id: int | None = None,
    base_url: str = "",
    measure: str = "occupancy",
    query: Any = None,
) -> str:
    """One page as a self-contained HTML file (links to other pages go to ``base_url``);
    ``query``: the search page's query parameters, a multi-dict (``getlist``) as the page
    reads them, so the file finds what the page would.

    Raises:
        InvalidInput: an unknown page or measure, or search filters that cannot hold.
        NotFound: the zone does not exist.
    """
    context = PageContext(t=Translator(lang), path=f"/maps/{page}", base_url=base_url,
                          standalone=True)
    if page == "overview":
        if measure not in MEASURES:
            raise InvalidInput("measure", f"must be one of {', '.join(MEASURES)}")
        return composer.overview_page(conn, context, measure=measure)
    if page == "zone":
        if zone_id is None:
            raise InvalidInput("zone_id", "a zone page needs the zone's id")
        return composer.zone_page(conn, context, zone_id)
    if page == "search":
        profiles = queries.profiles(conn)
        form = queries.read_search_form(query if query is not None else _NO_QUERY,
                                        profiles[0] if profiles else None)
        html = composer.search_page(conn, context, form, profiles)
        for message, parameter in form.errors.values():
            # A file is no form to correct: the first refused filter is the command's error.
            raise InvalidInput(parameter, context.t(message))
        return html
    if page == "compare":
        return composer.comparison_maps_page(conn, context)
    raise InvalidInput("page", "must be overview, zone, search or compare")
