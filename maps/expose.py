"""A plot's printable exposé: an A4 PDF of at most two pages, made by WeasyPrint from the
property sheet's facts, with two maps drawn on the server by matplotlib (no browser).

WeasyPrint would fetch whatever a document names (``file://`` anywhere, any URL). The
exposé's HTML is the platform's own template, and data reaches it escaped, but the fetcher
is the last word: it reads ``data:`` URIs and files under ``maps/static`` and refuses all
else, so no value in the database can make the server read its files or call another host.

Imported only when an exposé is asked for (WeasyPrint and matplotlib take a while to load).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import geopandas as gpd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from locations.attachments import MEDIA_TYPES
from maps.assets import STATIC_DIR
from maps.i18n import Translator
from maps.page import TEMPLATES
from maps.plot_page import (
    CONSTRAINT_COLOURS,
    INFRASTRUCTURE_COLOURS,
    OTHER_INFRASTRUCTURE_COLOUR,
    THIS_PLOT_COLOUR,
    PlotSheet,
    constraint_legend,
    sheet_context,
)
from maps.style import INFRASTRUCTURE_SYMBOLS, STATUS_COLOURS

#: Metres: ETRS89-LAEA, the storage CRS, true to scale across Slovenia and Austria.
MAP_CRS = "EPSG:3035"
INK = "#1f2933"
#: Surroundings: from the plot out to its nearest junction and station, within these bounds (m).
SURROUNDINGS_MIN_M = 2_500
SURROUNDINGS_MAX_M = 12_000
#: Labels on the maps are cut to this many characters (a name is data: it may be any length).
LABEL_CHARS = 28
#: The web maps' symbol shapes (maps.style.INFRASTRUCTURE_SYMBOLS) as matplotlib markers,
#: so the exposé draws a junction as the plot's page does.
MARKERS = {kind: {"circle": "o", "square": "s", "diamond": "D", "triangle": "^"}[shape]
           for kind, (_colour, shape) in INFRASTRUCTURE_SYMBOLS.items()}


class RefusedFetch(ValueError):
    """A URL the exposé may not read."""


class PlatformFetcher(URLFetcher):
    """WeasyPrint's URL fetcher for the exposé: ``data:`` URIs and files under ``root``
    (``maps/static``) only; anything else, remote or local, is refused."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        # The parent class opens only data: URIs; files are read here after the path check.
        super().__init__(allowed_protocols=("data",), allow_redirects=False)
        self.root = root.resolve()

    def static_file(self, url: str) -> Path:
        """The file under ``root`` that a ``file:`` URL names.

        Raises:
            RefusedFetch: not a local file URL, or a file outside ``root`` (also by ``..``
                or a symbolic link), or no such file.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise RefusedFetch(f"not a local file URL: {url[:100]!r}")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise RefusedFetch(f"only the platform's own files under {self.root} are read, "
                               f"not {str(path)[:100]!r}")
        return path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self.static_file(url)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})
        raise RefusedFetch(f"the exposé reads only data: URIs and the platform's own files, "
                           f"not {url[:100]!r}")


#: An exposé is at most this many pages.
MAX_PAGES = 2


def render(html: str) -> Document:
    """``html`` laid out in pages; relative URLs resolve under maps/static, and only there."""
    return HTML(string=html, base_url=STATIC_DIR.as_uri() + "/",
                url_fetcher=PlatformFetcher()).render()


# ---- maps ------------------------------------------------------------------------------------


def _frame(collections: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    features = [f for c in collections for f in c.get("features", []) if f.get("geometry")]
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326").to_crs(MAP_CRS)


def _infrastructure(sheet: PlotSheet) -> gpd.GeoDataFrame:
    items = sheet.infrastructure
    return gpd.GeoDataFrame(
        {"kind": [i["kind"] for i in items], "name": [i["name"] for i in items]},
        geometry=gpd.points_from_xy([i["lon"] for i in items], [i["lat"] for i in items]),
        crs="EPSG:4326").to_crs(MAP_CRS)


def _figure() -> tuple[Figure, Axes]:
    # A Figure of its own, not pyplot: no global state, safe in the server's worker threads.
    figure = Figure(figsize=(3.5, 3.0), dpi=200)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_facecolor("#f5f7f5")
    return figure, axes


def _limits(axes: Axes, bounds: tuple[float, float, float, float], pad: float) -> None:
    """Show ``bounds`` padded by ``pad`` (share), widened to the panel's shape (no stretch)."""
    xmin, ymin, xmax, ymax = bounds
    width, height = max(xmax - xmin, 50.0), max(ymax - ymin, 50.0)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    width, height = width * (1 + 2 * pad), height * (1 + 2 * pad)
    aspect = 3.5 / 3.0
    if width / height < aspect:
        width = height * aspect
    else:
        height = width / aspect
    axes.set_xlim(cx - width / 2, cx + width / 2)
    axes.set_ylim(cy - height / 2, cy + height / 2)
    axes.set_aspect("equal")


def _label(axes: Axes, x: float, y: float, text: str, **options: Any) -> None:
    if len(text) > LABEL_CHARS:
        text = text[:LABEL_CHARS - 1] + "…"
    # parse_math=False: a name with "$" is a name, never matplotlib's math markup.
    axes.annotate(text, (x, y), xytext=(5, 3), textcoords="offset points", fontsize=5.5,
                  color=INK, parse_math=False, annotation_clip=True,
                  path_effects=[patheffects.withStroke(linewidth=2, foreground="white")],
                  **options)


def _scale_bar(axes: Axes, t: Translator) -> None:
    xmin, xmax = axes.get_xlim()
    ymin, ymax = axes.get_ylim()
    target = (xmax - xmin) / 4
    steps = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
    length = max((s for s in steps if s <= target), default=steps[0])
    x0, y0 = xmin + (xmax - xmin) * 0.05, ymin + (ymax - ymin) * 0.05
    axes.plot([x0, x0 + length], [y0, y0], color=INK, linewidth=2, solid_capstyle="butt")
    label = f"{length} m" if length < 1_000 else f"{t.number(length / 1_000)} km"
    axes.text(x0 + length / 2, y0 + (ymax - ymin) * 0.02, label, ha="center", va="bottom",
              fontsize=6, color=INK, parse_math=False,
              path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])


def _draw_infrastructure(axes: Axes, sheet: PlotSheet, size: float) -> None:
    if not sheet.infrastructure:
        return
    points = _infrastructure(sheet)
    xmin, xmax = axes.get_xlim()
    ymin, ymax = axes.get_ylim()
    for kind, group in points.groupby("kind"):
        group.plot(ax=axes, marker=MARKERS.get(kind, "o"), markersize=size,
                   color=INFRASTRUCTURE_COLOURS.get(kind, OTHER_INFRASTRUCTURE_COLOUR),
                   edgecolor="white", linewidth=0.6, zorder=5)
        for point, name in zip(group.geometry, group["name"], strict=True):
            if xmin <= point.x <= xmax and ymin <= point.y <= ymax:
                _label(axes, point.x, point.y, str(name))


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def site_map(sheet: PlotSheet, t: Translator) -> str:
    """The plot among its zone's plots, inside the zone's boundary: a PNG data: URI."""
    figure, axes = _figure()
    zone = _frame([{"features": [sheet.zone]}])
    others = _frame([{"features": [p for p in sheet.zone_plots["features"]
                                   if p["id"] != sheet.plot["id"]]}])
    plot = _frame([{"features": [sheet.plot]}])
    _limits(axes, tuple(zone.total_bounds), pad=0.06)
    if sheet.constraints:
        areas = _frame([{"features": sheet.constraints}])
        for kind, group in areas.groupby("kind"):
            colour = CONSTRAINT_COLOURS.get(kind, "#52606d")
            group.plot(ax=axes, facecolor=colour, alpha=0.18, edgecolor="none")
            group.plot(ax=axes, facecolor="none", edgecolor=colour, linewidth=0.8, hatch="////")
    if len(others):
        others.plot(ax=axes, color=[STATUS_COLOURS.get(s, "#999") for s in others["status"]],
                    alpha=0.45, edgecolor="#52606d", linewidth=0.4)
    plot.plot(ax=axes, color=STATUS_COLOURS.get(sheet.facts["status"], "#999"),
              edgecolor=THIS_PLOT_COLOUR, linewidth=2)
    zone.boundary.plot(ax=axes, color=INK, linewidth=1.1, linestyle=(0, (5, 3)))
    _draw_infrastructure(axes, sheet, size=40)
    _limits(axes, tuple(zone.total_bounds), pad=0.06)
    _scale_bar(axes, t)
    return _png(figure)


def surroundings_map(sheet: PlotSheet, t: Translator, municipality: dict[str, Any]) -> str:
    """The zone in its municipality with the nearest motorway junctions and stations."""
    figure, axes = _figure()
    zone = _frame([{"features": [sheet.zone]}])
    plot = _frame([{"features": [sheet.plot]}])
    centre = shapely.centroid(plot.geometry.iloc[0])
    # Reach out to the nearest junction and station, so the investor sees the way there.
    nearest: dict[str, float] = {}
    for item in sheet.infrastructure:  # nearest first
        if item["kind"] in ("motorway_junction", "rail_station"):
            nearest.setdefault(item["kind"], item["distance_km"] * 1000)
    within = [d for d in nearest.values() if d <= SURROUNDINGS_MAX_M]
    radius = min(max([SURROUNDINGS_MIN_M, *within]) * 1.15, SURROUNDINGS_MAX_M)
    bounds = (centre.x - radius, centre.y - radius, centre.x + radius, centre.y + radius)
    _limits(axes, bounds, pad=0.0)
    if municipality.get("features"):
        _frame([municipality]).boundary.plot(ax=axes, color="#627d98", linewidth=0.9,
                                             linestyle=(0, (1, 1.5)))
    zone.plot(ax=axes, color="#cbd2d9", edgecolor=INK, linewidth=0.8)
    plot.plot(ax=axes, color=THIS_PLOT_COLOUR, edgecolor=THIS_PLOT_COLOUR, linewidth=1)
    axes.scatter([centre.x], [centre.y], marker="*", s=110, color=THIS_PLOT_COLOUR,
                 edgecolor="white", linewidth=0.7, zorder=6)
    _draw_infrastructure(axes, sheet, size=28)
    _limits(axes, bounds, pad=0.0)
    _scale_bar(axes, t)
    return _png(figure)


# ---- the document --------------------------------------------------------------------------


def photo_uris(photos: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The plot's photos (``locations.attachments.images``) as data: URIs with their captions:
    the exposé carries them, WeasyPrint fetches nothing."""
    uris = []
    for photo in photos:
        encoded = base64.b64encode(photo["content"]).decode("ascii")
        uris.append((f"data:{MEDIA_TYPES[photo['kind']]};base64,{encoded}", photo["title"] or ""))
    return uris


def expose_html(t: Translator, *, sheet: PlotSheet, maps: tuple[str, str], today: dt.date,
                page_url: str, compact: bool = False,
                photos: list[tuple[str, str]] | None = None) -> str:
    """The exposé as HTML for WeasyPrint (every value escaped by the template engine);
    ``maps`` are the site and surroundings maps as data: URIs."""
    legend = [("this", THIS_PLOT_COLOUR, t("this_plot")),
              ("zone", INK, t("zone_outline")),
              ("municipality", "#627d98", t("municipality_boundary"))]
    for kind in dict.fromkeys(i["kind"] for i in sheet.infrastructure):
        legend.append(("infra", INFRASTRUCTURE_COLOURS.get(kind, OTHER_INFRASTRUCTURE_COLOUR),
                       t.value("infrastructure", kind)))
    legend += constraint_legend(sheet, t)
    return TEMPLATES.get_template("expose.html").render(
        t=t, lang=t.lang, **sheet_context(sheet, t),
        title=t("expose_title", ref=sheet.facts["cadastral_ref"]),
        site_png=maps[0], surroundings_png=maps[1],
        legend=legend, today=today, page_url=page_url, compact=compact,
        expose_photos=photos or [],
    )


def build_expose(t: Translator, *, sheet: PlotSheet, municipality: dict[str, Any],
                 today: dt.date, page_url: str,
                 photos: list[dict[str, Any]] | None = None) -> bytes:
    """The exposé of ``sheet`` in ``t``'s language as PDF bytes, at most ``MAX_PAGES`` pages,
    with ``photos`` (``locations.attachments.images``) when the plot has some."""
    options = {"sheet": sheet, "today": today, "page_url": page_url,
               "photos": photo_uris(photos or []),
               "maps": (site_map(sheet, t), surroundings_map(sheet, t, municipality))}
    document = render(expose_html(t, **options))
    if len(document.pages) > MAX_PAGES:
        # Long names or many constraint areas: the score follows on without a page break,
        # with smaller maps, rather than spilling onto a third page.
        document = render(expose_html(t, **options, compact=True))
    return document.write_pdf()
