"""The investor's map pages composed once: each function reads what its page shows and renders
it, for the HTTP route and ``locations map export`` alike. A standalone file
(``PageContext.standalone``) carries in itself what a served page fetches from the server:
the zones instead of their tiles, the countries instead of their URL, every asset inlined."""

from __future__ import annotations

from sqlalchemy import Connection

from locations import features, zone_search
from locations.errors import InvalidInput
from locations.tiles import scores_available
from maps import queries
from maps.compare import build_compare_page
from maps.overview import build_overview
from maps.page import PageContext
from maps.search_page import build_search_page
from maps.style import bounds_of
from maps.zone_page import build_zone_page


def _context(conn: Connection, page: PageContext, frame=None, **kwargs) -> queries.MapContext:
    return queries.map_context(conn, page.t, frame, standalone=page.standalone,
                               base_url=page.base_url, **kwargs)


def overview_page(conn: Connection, page: PageContext, *, measure: str = "occupancy",
                  profile: str | None = None) -> str:
    """Every zone shaded by ``measure`` (occupancy, available or score); by score, of
    ``profile`` or else the first scored profile."""
    profiles = queries.profiles(conn)
    if measure == "score" and not profile and profiles:
        profile = profiles[0]
    if page.standalone:
        # No plot tiles: a file has no server behind it; zones, boundaries and
        # infrastructure suffice.
        return build_overview(
            page.t, page, zones=queries.zones(conn, profile), context=_context(conn, page),
            infrastructure=queries.infrastructure(conn), measure=measure, profile=profile,
            profiles=profiles, tiles_url=None)
    # Zones and plots come from vector tiles: the page carries a few numbers, not the zones.
    return build_overview(
        page.t, page,
        scale=queries.zone_scale(conn, measure, profile if measure == "score" else None),
        context=_context(conn, page), infrastructure=queries.infrastructure(conn),
        measure=measure, profile=profile, profiles=profiles)


def zone_page(conn: Connection, page: PageContext, zone_id: int, *,
              focus_plot: int | None = None, profile: str | None = None) -> str:
    """A zone and its plots, scored by ``profile`` or else the first scored profile.

    Raises:
        NotFound: the zone does not exist.
    """
    zone = features.get_zone(conn, zone_id)
    if profile is None and scores_available(conn):
        profile = next(iter(queries.profiles(conn)), None)
    plots = queries.zone_plots(conn, zone_id, profile)
    # Framed by the zone: its plots lie within it, and the frame has a margin besides.
    context = _context(conn, page, bounds_of([{"features": [zone]}]))
    return build_zone_page(page.t, page, zone=zone, plots=plots, focus_plot=focus_plot,
                           context=context)


def search_page(conn: Connection, page: PageContext, form: queries.SearchForm,
                profiles: list[str]) -> str:
    """The plots ``form`` finds on a map and in a table. A value the search refuses is kept
    in ``form.errors`` beside the form field that fills it, and nothing is searched."""
    if form.profile and form.profile not in profiles:
        form.errors["profile"] = ("error_choice", "profile")
    results: dict = {"type": "FeatureCollection", "features": []}
    total = 0
    if not form.errors:
        try:
            results, total = queries.search_plots(conn, form)
        except InvalidInput as exc:
            # The search names its own parameter; the form shows it beside the field that fills it.
            field = next((name for name, target in queries.HECTARE_FIELDS.items()
                          if target == exc.field), exc.field)
            form.errors[field] = (queries.SEARCH_ERRORS.get(exc.field, "error_invalid"), exc.field)
    return build_search_page(
        page.t, page, filters=form, results=results, total=total, regions=queries.regions(conn),
        profiles=profiles, municipalities=queries.municipality_names(conn),
        context=_context(conn, page, bounds_of([results])))


def comparison_maps_page(conn: Connection, page: PageContext, *, measure: str = "available",
                         profile: str | None = None) -> str:
    """Three maps of the municipalities on one colour scale, with every zone: the standalone
    comparison (the served one, /maps/compare, compares chosen regions from tiles)."""
    return build_compare_page(page.t, page, municipalities=queries.municipality_supply(conn),
                              zones=zone_search.search_zones(
                                  conn, zone_search.ZoneFilter()).collection(),
                              measure=measure, profile=profile,
                              context=_context(conn, page, municipalities=False))
