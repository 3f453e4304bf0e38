"""A plot's page, the property sheet: every fact, the constraint areas it touches, the five
distances, the score for a profile with each criterion's part, completeness, a map of the
plot in its zone with nearby infrastructure, and the zone manager's contact.

The same reads and wording feed the printable exposé (``maps/expose.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import folium
from markupsafe import Markup
from sqlalchemy import Connection, text

from locations import attachments, features, score_explanations, scoring
from locations.errors import NotFound
from locations.geojson import feature_collection, geometry_sql
from locations.standard import find_standard
from locations.vocabulary import CONSTRAINT_KIND
from maps import queries
from maps.context import MapContext
from maps.folium_templates import written_collection
from maps.i18n import LABELS, Translator
from maps.page import PageContext, render_map, render_page
from maps.style import (
    BOUNDARY_STYLES,
    INFRASTRUCTURE_SYMBOLS,
    OTHER_INFRASTRUCTURE_SYMBOL,
    STATUS_COLOURS,
    TOWN_SYMBOL,
    TextTooltip,
    base_map,
    bounds_of,
    infrastructure_layer,
    line_svg,
    popup_from_facts,
    popup_html,
    symbol_svg,
)

#: The five distances of ``plot_proximity``, in the order the sheet lists them.
DISTANCES = ("motorway_km", "rail_station_km", "rail_freight_km", "airport_km",
             "public_transport_km")

#: How far around the plot infrastructure is drawn, and how many of each kind at most
#: (bus stops can number hundreds within that radius; junctions must not be crowded out).
NEARBY_RADIUS_M = 15_000
NEARBY_PER_KIND = 5
#: At most this many of the zone's plots are drawn around the plot, nearest first.
NEIGHBOURS = 400
#: Nearby infrastructure within this distance widens the map's first view to show it.
FRAME_RADIUS_KM = 1.0
#: Constraint areas are drawn this far (m) around the zone's box.
CONSTRAINT_CLIP_M = 1_000
#: Constraint areas on the maps, by kind.
# Natura 2000 in brown, not its usual green: green on these maps is an available plot.
CONSTRAINT_COLOURS = {"flood_risk": "#2b7bb9", "natura2000": "#8c510a",
                      "water_protection": "#7a5cc0"}

#: How each kind of infrastructure is drawn (fill colour), here and in the exposé.
INFRASTRUCTURE_COLOURS = {kind: colour for kind, (colour, _shape) in INFRASTRUCTURE_SYMBOLS.items()}
OTHER_INFRASTRUCTURE_COLOUR = OTHER_INFRASTRUCTURE_SYMBOL[0]
#: The plot itself stands out from its neighbours, coloured by status.
THIS_PLOT_COLOUR = "#0b3d91"

#: Which vocabulary words a categorical measure of the standard (locations/standard.py).
MEASURE_VOCABULARY = {"broadband": "broadband", "sewage": "sewage", "ownership": "ownership",
                      "readiness": "readiness"}


@dataclass
class PlotSheet:
    """Everything the sheet and the exposé show of one plot."""

    plot: dict[str, Any]
    zone: dict[str, Any]
    #: The zone's live plots nearest the plot first (the plot among them), each with its
    #: outline as GeoJSON text (``_zone_plot_rows``); ``zone_plots`` has them as features.
    neighbours: list[Any]
    #: Constraint areas the plot touches (Features, outlines cut to the zone's surroundings);
    #: None when the database holds none at all (unknown).
    constraints: list[dict[str, Any]] | None
    infrastructure: list[dict[str, Any]]
    profile: str | None
    #: The total as the search table shows it (one decimal, rounded by PostgreSQL).
    score: float | None
    #: ``score_explanations.explain_plot`` for the profile, None when the plot has no score for it.
    breakdown: dict[str, Any] | None
    #: Criterion id -> measure, from the standard the score was made with.
    measures: dict[str, str]
    #: The plot's photos and documents, without their content (``locations.attachments``).
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def facts(self) -> dict[str, Any]:
        return self.plot["properties"]

    @cached_property
    def zone_plots(self) -> dict[str, Any]:
        """The neighbours as a FeatureCollection (the exposé's map draws them)."""
        return _feature_collection(self.neighbours)

    @property
    def zone_facts(self) -> dict[str, Any]:
        return self.zone["properties"]


def default_profile(conn: Connection) -> str | None:
    """The profile a page scores by when none is asked for: the first profile with a finished
    run, as the zone page and the overview choose it (the search page shows no score at all
    until a profile is picked, and then links here with that profile)."""
    return next(iter(queries.profiles(conn)), None)


def read_plot_sheet(conn: Connection, plot_id: int, profile: str | None, *,
                    surroundings: bool = True) -> PlotSheet:
    """The sheet of ``plot_id`` scored by ``profile`` (None: no score shown); without
    ``surroundings``, only its facts, zone and score (what the shortlist compares): no
    neighbours, constraint areas, infrastructure or files, which the map and the exposé
    show (the zone's 400 nearest plots were half of a shortlist's time at a million plots).

    Raises:
        NotFound: no plot has this id.
        InvalidInput: a profile no standard or run knows.
    """
    if profile:
        scoring.check_profile(conn, profile)
    row = conn.execute(text(f"""
        SELECT {features.PLOT_PUBLIC_COLUMNS}, p.retired_at,
               p.power_mw AS own_power_mw, z.power_mw AS zone_power_mw,
               z.allowed_uses AS zone_uses, z.brownfield AS zone_brownfield,
               z.last_verified AS zone_last_verified,
               {", ".join(f"pp.{name}" for name in DISTANCES)},
               {geometry_sql("p.boundary")} AS geometry
        {features.PLOT_JOINS}
        LEFT JOIN plot_proximity pp ON pp.plot_id = p.id
        WHERE p.id = :id
    """), {"id": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"plot {plot_id} does not exist")
    plot = features.feature(row)
    zone = features.get_zone(conn, plot["properties"]["zone_id"])

    constraints = None
    if surroundings and conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM constraint_area)")).scalar_one():
        # Each area's outline only around the zone: a flood plain may follow a whole river.
        clipped = ("ST_CollectionExtract(ST_Intersection(c.boundary, "
                   f"ST_Expand(z.boundary, {CONSTRAINT_CLIP_M})), 3)")
        constraints = [features.feature(c) for c in conn.execute(text(f"""
            SELECT c.id, c.kind, c.name, c.severity,
                   ST_Area(ST_Intersection(c.boundary, p.boundary)) / p.area_m2 AS share,
                   {geometry_sql(clipped)} AS geometry
            FROM plot p
            JOIN zone z ON z.id = p.zone_id
            JOIN constraint_area c ON ST_Intersects(c.boundary, p.boundary)
            WHERE p.id = :id
            ORDER BY c.kind, share DESC, c.name
        """), {"id": plot_id}).mappings()]

    infrastructure = [] if not surroundings else [dict(i) for i in conn.execute(text("""
        SELECT id, kind, name, code, distance_km, lat, lon FROM (
            SELECT i.id, i.kind, i.name, i.code,
                   ST_Distance(i.geom, p.boundary) / 1000 AS distance_km,
                   ST_Y(pt) AS lat, ST_X(pt) AS lon,
                   row_number() OVER (PARTITION BY i.kind
                                      ORDER BY ST_Distance(i.geom, p.boundary), i.id) AS nth
            FROM plot p
            JOIN infrastructure i ON ST_DWithin(i.geom, p.boundary, :radius)
            CROSS JOIN LATERAL ST_Transform(ST_ClosestPoint(i.geom, p.boundary), 4326) AS pt
            WHERE p.id = :id
        ) nearby
        WHERE nth <= :per_kind
        ORDER BY distance_km, id
    """), {"id": plot_id, "radius": NEARBY_RADIUS_M, "per_kind": NEARBY_PER_KIND}).mappings()]

    score, breakdown, measures = None, None, {}
    if profile:
        # The very query behind the search table's score column, so both show the same figure.
        score = queries._plot_scores(conn, [plot_id], profile).get(plot_id)
        try:
            breakdown = score_explanations.explain_plot(conn, plot_id, profile)
        except NotFound:
            breakdown = None
        if breakdown is not None:
            measures = _measures(breakdown["standard"]["name"], breakdown["standard"]["version"])
    if not surroundings:
        return PlotSheet(plot=plot, zone=zone, neighbours=[], constraints=None, infrastructure=[], profile=profile, score=score,
                         breakdown=breakdown, measures=measures)
    # The zone's other live plots, nearest first: a large zone's far end adds nothing here.
    return PlotSheet(plot=plot, zone=zone, neighbours=_zone_plot_rows(conn, plot_id),
                     constraints=constraints,
                     infrastructure=infrastructure, profile=profile, score=score,
                     breakdown=breakdown, measures=measures,
                     files=attachments.list_for_plot(conn, plot_id))


def _zone_plot_rows(conn: Connection, plot_id: int) -> list[Any]:
    """The zone's live plots around ``plot_id`` (itself among them), nearest first: id,
    cadastral reference, status, area and the outline as GeoJSON text. The page splices
    the outlines' text into its map (``_neighbour_data``): up to 400 on every plot page."""
    return conn.execute(text(f"""
        SELECT o.id, o.cadastral_ref, o.status, round(o.area_m2::numeric, 1)::float AS area_m2,
               {geometry_sql("o.boundary")} AS geometry
        FROM plot p JOIN plot o ON o.zone_id = p.zone_id AND o.retired_at IS NULL
        WHERE p.id = :id
        ORDER BY o.boundary <-> p.boundary, o.id
        LIMIT :limit
    """), {"id": plot_id, "limit": NEIGHBOURS}).all()


def _zone_plots(conn: Connection, plot_id: int) -> dict[str, Any]:
    """``_zone_plot_rows`` as the FeatureCollection ``locations.geojson.feature_collection``
    makes of the same rows."""
    return _feature_collection(_zone_plot_rows(conn, plot_id))


def _feature_collection(rows: list[Any]) -> dict[str, Any]:
    # The outlines parsed in one ``json.loads`` and the features built directly (ids, texts
    # and floats need no ``jsonable``): a third of the CPU of the generic row-by-row path.
    outlines = json.loads("[" + ",".join(row.geometry or "null" for row in rows) + "]")
    features = [{"type": "Feature", "id": plot, "geometry": outline,
                 "properties": {"id": plot, "cadastral_ref": ref, "status": status,
                                "area_m2": area}}
                for (plot, ref, status, area, _), outline in zip(rows, outlines, strict=True)]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


def _measures(name: str, version: str) -> dict[str, str]:
    try:
        standard = find_standard(name, version)
    except NotFound:  # a standard known only from a stored run: values shown as numbers
        return {}
    return {cid: criterion.measure for cid, criterion in standard.criteria.items()}


def municipality_outline(conn: Connection, municipality_id: int) -> dict[str, Any]:
    """The plot's municipality boundary (simplified to 10 m: a frame, not a survey)."""
    return feature_collection(conn.execute(text(f"""
        SELECT m.id, m.name,
               {geometry_sql("ST_SimplifyPreserveTopology(m.boundary, 10)")} AS geometry
        FROM municipality m WHERE m.id = :id AND m.boundary IS NOT NULL
    """), {"id": municipality_id}).mappings())


# ---- wording shared by the page and the exposé ------------------------------------------------


def named(t: Translator, prefix: str, key: str, fallback: str | None = None) -> str:
    """A standard's word (criterion, group, gate, profile) in the page's language.

    The label is used only while its English text is the standard's own, so a later
    standard that gives an id another meaning shows its own name, not a wrong translation.
    """
    label_key = f"{prefix}_{key}"
    english = LABELS["en"].get(label_key)
    if english is None or (fallback is not None and english != fallback):
        return fallback or key
    return t(label_key)


def profile_name(t: Translator, profile: str | None) -> str:
    return named(t, "profile", profile) if profile else t("no_profile")


def area_texts(t: Translator, areas: list[float | None]) -> list[str]:
    """``area_text`` of each of ``areas``, the numbers written together (a plot page's
    400 neighbours)."""
    hectares = t.numbers([None if a is None else a / 10_000 for a in areas], 1, " ha")
    metres = t.numbers(areas, 0, t.M2)
    unknown = t("unknown")
    return [unknown if area is None else f"{ha} ({m2})"
            for area, ha, m2 in zip(areas, hectares, metres, strict=True)]


def _from_zone(t: Translator, value: str) -> str:
    return f"{value} ({t('source_zone')})"


def _km(t: Translator, value: float | None) -> str:
    return "–" if value is None else f"{t.number(value, 1)} km"


def area_text(t: Translator, area_m2: float | None) -> str:
    """Hectares first (what an investor asks for), square metres beside."""
    if area_m2 is None:
        return t("unknown")
    return f"{t.area_ha(area_m2)} ({t.area_m2(area_m2)})"


def fact_sections(sheet: PlotSheet, t: Translator) -> list[tuple[str, list[tuple[str, str]]]]:
    """The plot's facts and its zone's utilities, as (heading, [(label, value)])."""
    plot, zone = sheet.facts, sheet.zone_facts
    price = plot.get("price_eur_m2")
    price_text = t.euro_m2(price) if price is not None else t("unknown")
    if price is not None and plot.get("area_m2"):
        price_text += " · " + t("total_price", amount=f"{t.number(price * plot['area_m2'])} €")
    if plot.get("own_power_mw") is not None:
        power = f"{t.number(plot['own_power_mw'], 1)} MW"
    elif plot.get("zone_power_mw") is not None:
        power = _from_zone(t, f"{t.number(plot['zone_power_mw'], 1)} MW")
    else:
        power = t("unknown")
    if plot.get("allowed_uses"):
        uses = ", ".join(t.value("use", use) for use in plot["allowed_uses"])
    elif plot.get("zone_uses"):
        uses = _from_zone(t, ", ".join(t.value("use", use) for use in plot["zone_uses"]))
    else:
        uses = t("unknown")
    if plot.get("brownfield") or not plot.get("zone_brownfield"):
        brownfield = t.yes_no(plot.get("brownfield"))
    else:
        brownfield = _from_zone(t, t("yes"))
    if plot.get("last_verified"):
        verified = t.date(plot["last_verified"])
    elif plot.get("zone_last_verified"):
        verified = _from_zone(t, t.date(plot["zone_last_verified"]))
    else:
        verified = t("unknown")
    plot_rows = [
        (t("cadastral_ref"), plot["cadastral_ref"]),
        (t("area"), area_text(t, plot.get("area_m2"))),
        (t("status"), t.value("status", plot["status"])),
        (t("price"), price_text),
        (t("offer"), t.value("offer", plot.get("offer"))),
        (t("available_from"), t.date(plot["available_from"]) if plot.get("available_from")
         else t("unknown")),
        (t("readiness"), t.value("readiness", plot.get("readiness"))),
        (t("uses"), uses),
        (t("building_height"), t("unknown") if plot.get("max_building_height_m") is None
         else f"{t.number(plot['max_building_height_m'], 1)} m"),
        (t("ownership"), t.value("ownership", plot.get("ownership"))),
        (t("brownfield"), brownfield),
        (t("last_verified"), verified),
    ]
    utility_rows = [
        (t("power"), power),
        (t("gas"), t.yes_no(zone.get("gas"))),
        (t("water"), t.yes_no(zone.get("water"))),
        (t("sewage"), t.value("sewage", zone.get("sewage"))),
        (t("broadband"), t.value("broadband", zone.get("broadband"))),
        (t("rail_siding"), t.yes_no(zone.get("rail_siding"))),
    ]
    return [(t("section_plot"), plot_rows), (t("section_utilities"), utility_rows)]


def distance_rows(sheet: PlotSheet, t: Translator) -> list[tuple[str, str]]:
    return [(t(f"distance_{name.removesuffix('_km')}"), _km(t, sheet.facts.get(name)))
            for name in DISTANCES]


def constraint_rows(sheet: PlotSheet, t: Translator) -> list[tuple[str, str]]:
    """Each kind of constraint area: the ones the plot touches with their share, or none."""
    rows = []
    for kind in CONSTRAINT_KIND.codes:
        if sheet.constraints is None:
            rows.append((t.value("constraint", kind), t("constraints_unknown")))
            continue
        touched = [c["properties"] for c in sheet.constraints
                   if c["properties"]["kind"] == kind]
        if not touched:
            rows.append((t.value("constraint", kind), t("constraints_none")))
            continue
        parts = []
        for area in touched:
            severity = f", {t.value('severity', area['severity'])}" if area.get("severity") else ""
            parts.append(f"{area['name']}{severity}: "
                         f"{t('constraint_share', share=_share(t, area['share']))}")
        rows.append((t.value("constraint", kind), "; ".join(parts)))
    return rows


def _share(t: Translator, share: float | None) -> str:
    if share is None:
        return "–"
    if 0 < share < 0.001:
        return f"< {t.number(0.1, 1)} %"
    return f"{t.number(share * 100, 1 if share < 0.1 else 0)} %"


def raw_text(t: Translator, measure: str | None, unit: str, raw: Any) -> str:
    """A criterion's measured value as the sheet writes it."""
    if raw is None:
        return t("unknown")
    if isinstance(raw, bool):
        return t.yes_no(raw)
    if isinstance(raw, str):
        vocabulary = MEASURE_VOCABULARY.get(measure or "")
        return t.value(vocabulary, raw) if vocabulary else raw
    if unit == "share":
        return _share(t, raw)
    if unit in ("km", "MW"):
        return f"{t.number(raw, 1)} {unit}"
    if unit == "ha":
        return f"{t.number(raw, 2)} ha"
    if unit == "months":
        return f"{t.number(raw, 1)} {t('unit_months')}"
    if unit == "persons":
        return f"{t.number(raw)} {t('unit_persons')}"
    if unit == "ratio":
        return t.number(raw, 2)
    return t.number(raw, 0 if float(raw).is_integer() else 2)


@dataclass(frozen=True)
class CriterionBar:
    """One criterion in the chart: its points out of its weight, and the bar's two widths."""

    id: str
    name: str
    measured: str
    points: str
    #: The criterion's weight as a share of the heaviest one's (the bar's track), 0-100.
    track_pct: float
    #: The score 0-100 (how much of the track is filled).
    fill_pct: float
    missing: bool


@dataclass(frozen=True)
class ScoreGroup:
    name: str
    points: str
    criteria: list[CriterionBar]


def score_groups(sheet: PlotSheet, t: Translator) -> list[ScoreGroup]:
    """The breakdown grouped as the standard groups it, each criterion with its bar."""
    if sheet.breakdown is None:
        return []
    criteria = sheet.breakdown["criteria"]
    heaviest = max((c["weight"] for c in criteria), default=0) or 1
    groups: dict[str, list[dict[str, Any]]] = {}
    for criterion in criteria:
        groups.setdefault(criterion["group"], []).append(criterion)
    result = []
    for group, members in groups.items():
        bars = [CriterionBar(
            id=c["id"], name=named(t, "criterion", c["id"], c["name"]),
            measured=raw_text(t, sheet.measures.get(c["id"]), c["unit"], c["raw"]),
            points=t("points_of", points=t.number(c["contribution"], 1),
                     weight=t.number(c["weight"], 1)),
            track_pct=round(100 * c["weight"] / heaviest, 1),
            fill_pct=round(max(0.0, min(100.0, c["score"])), 1),
            missing=c["id"] in sheet.breakdown["missing"],
        ) for c in members if c["weight"] > 0]
        if not bars:
            continue
        points = sum(c["contribution"] for c in members)
        weight = sum(c["weight"] for c in members)
        result.append(ScoreGroup(
            name=named(t, "group", group),
            points=t("points_of", points=t.number(points, 1), weight=t.number(weight, 0)),
            criteria=bars))
    return result


def gate_text(sheet: PlotSheet, t: Translator) -> str | None:
    """Whether the plot is ranked, and which must-haves it fails if not."""
    if sheet.breakdown is None:
        return None
    failed = [named(t, "gate", g["id"], g["name"]) for g in sheet.breakdown["gates"]
              if not g["passed"]]
    return t("gates_failed", gates="; ".join(failed)) if failed else t("gates_passed")


def missing_facts(sheet: PlotSheet, t: Translator) -> list[str]:
    """The facts an investor asks for that nobody has given for this plot."""
    plot, zone = sheet.facts, sheet.zone_facts
    checks = [
        (t("price"), plot.get("price_eur_m2")),
        (t("offer"), plot.get("offer")),
        (t("available_from"), plot.get("available_from")),
        (t("readiness"), plot.get("readiness")),
        (t("ownership"), plot.get("ownership")),
        (t("power"), plot.get("power_mw")),
        (t("building_height"), plot.get("max_building_height_m")),
        (t("gas"), zone.get("gas")),
        (t("water"), zone.get("water")),
        (t("sewage"), zone.get("sewage")),
        (t("broadband"), zone.get("broadband")),
        (t("rail_siding"), zone.get("rail_siding")),
        (t("last_verified"), plot.get("last_verified") or zone.get("last_verified")),
        (t("manager"), zone.get("manager_email") or zone.get("manager_phone")),
    ]
    return [label for label, value in checks if value is None]


def missing_criteria(sheet: PlotSheet, t: Translator) -> list[str]:
    if sheet.breakdown is None:
        return []
    names = {c["id"]: c["name"] for c in sheet.breakdown["criteria"]}
    return [named(t, "criterion", cid, names.get(cid)) for cid in sheet.breakdown["missing"]]


def sheet_context(sheet: PlotSheet, t: Translator) -> dict[str, Any]:
    """What both templates (page and exposé) show, worded in ``t``'s language."""
    zone = sheet.zone_facts
    return {
        "plot": sheet.facts,
        "zone": zone,
        "sections": fact_sections(sheet, t),
        "distances": distance_rows(sheet, t),
        "constraints": constraint_rows(sheet, t),
        "profile": sheet.profile,
        "profile_label": profile_name(t, sheet.profile),
        "score": sheet.score,
        "breakdown": sheet.breakdown,
        "groups": score_groups(sheet, t),
        "gates": gate_text(sheet, t),
        "completeness": None if sheet.breakdown is None
        else t.percent(sheet.breakdown["completeness"]),
        "missing_criteria": missing_criteria(sheet, t),
        "missing_facts": missing_facts(sheet, t),
        "description": zone.get(f"description_{t.lang}") or zone.get("description_en"),
        "status_colour": STATUS_COLOURS.get(sheet.facts["status"], "#999"),
        "photos": [f for f in sheet.files if f["kind"] in attachments.IMAGE_KINDS],
        "documents": [f for f in sheet.files if f["kind"] not in attachments.IMAGE_KINDS],
    }


# ---- the page ------------------------------------------------------------------------------


def _plot_map(sheet: PlotSheet, t: Translator, page: PageContext,
              context: MapContext | None) -> folium.Map:
    """The plot in its zone: the zone's outline, its other plots by status, the plot outlined,
    and infrastructure around it; framed on the zone and what lies within a few km."""
    near = [i for i in sheet.infrastructure if i["distance_km"] <= FRAME_RADIUS_KM]
    frame = {"features": [{"geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]}}
                          for i in near]}
    folium_map = base_map(bounds_of([{"features": [sheet.zone, sheet.plot]}, frame]), context)
    folium.GeoJson(
        sheet.zone, name=t("zone"),
        style_function=lambda f: {"color": "#1f2933", "weight": 2.5, "fill": False,
                                  "dashArray": "6 4", "interactive": False},
    ).add_to(folium_map)
    if sheet.constraints:
        areas = []
        for area in sheet.constraints:
            props = area["properties"]
            props["label"] = f"{t.value('constraint', props['kind'])}: {props['name']}"
            areas.append(area)
        folium.GeoJson(
            {"type": "FeatureCollection", "features": areas}, name=t("constraints"),
            style_function=lambda f: {
                "color": CONSTRAINT_COLOURS.get(f["properties"]["kind"], "#52606d"),
                "fillOpacity": 0.18, "weight": 1.5, "dashArray": "2 4",
                "className": "constraint"},
            tooltip=TextTooltip(["label"]),
        ).add_to(folium_map)
    others = _neighbour_data(sheet, t, page)
    styles = {status: {"fillColor": STATUS_COLOURS.get(status, "#999"), "fillOpacity": 0.45,
                       "color": "#52606d", "weight": 1, "className": f"plot plot-{status}"}
              for status in dict.fromkeys(f["properties"]["status"] for f in others["features"])}
    if others["features"]:
        highlight = {"weight": 2.5}
        folium.GeoJson(
            others, name=t("other_plots"),
            # The same dict for the same status: folium makes each style's key once.
            style_function=lambda f: styles[f["properties"]["status"]],
            highlight_function=lambda f: highlight,
            tooltip=TextTooltip(["cadastral_ref"]),
            on_each_feature=popup_from_facts([t("area"), t("status")], t("open_plot")),
        ).add_to(folium_map)
    this = {"type": "Feature", "id": sheet.plot["id"], "geometry": sheet.plot["geometry"],
            "properties": {"cadastral_ref": sheet.facts["cadastral_ref"],
                           "status": sheet.facts["status"]}}
    folium.GeoJson(
        this, name=t("this_plot"),
        style_function=lambda f: {
            "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#999"),
            "fillOpacity": 0.85, "color": THIS_PLOT_COLOUR, "weight": 4,
            "className": "plot plot-this"},
        tooltip=TextTooltip(["cadastral_ref"]),
    ).add_to(folium_map)
    for kind in dict.fromkeys(i["kind"] for i in sheet.infrastructure):
        items = []
        for item in sheet.infrastructure:
            if item["kind"] != kind:
                continue
            items.append({**item, "popup": popup_html(
                item["name"], [(t.value("infrastructure", kind), _km(t, item["distance_km"]))])})
        infrastructure_layer(items, t.value("infrastructure", kind), kind).add_to(folium_map)
    return folium_map


def _neighbour_data(sheet: PlotSheet, t: Translator, page: PageContext):
    """The zone's other plots for the map, each with the texts the browser builds its popup
    from (``maps.style.popup_from_facts``), their outlines spliced in as PostGIS wrote them
    (``maps.folium_templates.written_collection``): the same script as folium's dumping of
    the parsed outlines, without parsing 400 of them and writing them again."""
    # What is the same for all of them is worked out once (the link's query, the label,
    # each status's word), the same text as per plot.
    link = page.url("/maps/plots/0", profile=sheet.profile).partition("?")[2]
    ref_label = t("cadastral_ref")
    status_words: dict[str, str] = {}
    others = [row for row in sheet.neighbours if row[0] != sheet.plot["id"]]
    features = []
    for (plot, ref, status, area, _), area_words in zip(
            others, area_texts(t, [row[3] for row in others]), strict=True):
        if status not in status_words:
            status_words[status] = t.value("status", status)
        features.append({"type": "Feature", "id": plot, "geometry": None, "properties": {
            "id": plot, "cadastral_ref": ref, "status": status, "area_m2": area,
            "name": f"{ref_label} {ref}", "facts": [area_words, status_words[status]],
            "link": f"{page.base_url}/maps/plots/{plot}?{link}"}})
    return written_collection(features, [row[4] for row in others])


def map_legend(sheet: PlotSheet, t: Translator) -> list[tuple[str, str, str, Markup | None]]:
    """(css class, colour, label, symbol) of what the map draws, for a legend beside it in the
    page; infrastructure shows its symbol (maps.style), the rest a swatch of its colour."""
    items = [("this", THIS_PLOT_COLOUR, t("this_plot"), None),
             ("zone", "#1f2933", t("zone_outline"), None)]
    if len(sheet.neighbours) > 1:
        items.append(("others", "#9aa5b1", t("other_plots"), None))
    items += [(*item, None) for item in constraint_legend(sheet, t)]
    for kind in dict.fromkeys(i["kind"] for i in sheet.infrastructure):
        items.append(("infra", INFRASTRUCTURE_COLOURS.get(kind, OTHER_INFRASTRUCTURE_COLOUR),
                      t.value("infrastructure", kind), Markup(symbol_svg(kind))))
    # The context around the zone (maps.context): its municipality's border and the towns.
    items += [("municipality", BOUNDARY_STYLES["municipality"]["color"],
               t("key_municipality_border"), Markup(line_svg("municipality"))),
              ("town", "#1f2933", t("key_town"), Markup(TOWN_SYMBOL))]
    return items


def constraint_legend(sheet: PlotSheet, t: Translator) -> list[tuple[str, str, str]]:
    kinds = dict.fromkeys(c["properties"]["kind"] for c in sheet.constraints or [])
    return [("constraint", CONSTRAINT_COLOURS.get(kind, "#52606d"), t.value("constraint", kind))
            for kind in kinds]


def build_plot_page(t: Translator, page: PageContext, *, sheet: PlotSheet, profiles: list[str],
                    context: MapContext | None = None, editable: bool = False) -> str:
    """The property sheet's HTML, its map over ``context`` (borders, towns, countries);
    ``editable``: with a link to the plot's form."""
    folium_map = _plot_map(sheet, t, page, context)
    plot_id = sheet.plot["id"]
    return render_page(
        "plot.html", page, [render_map(folium_map)], **sheet_context(sheet, t),
        profiles=[(p, profile_name(t, p)) for p in profiles],
        legend=map_legend(sheet, t),
        expose_url=page.url(f"/maps/plots/{plot_id}/expose.pdf", profile=sheet.profile),
        zone_url=page.url(f"/maps/zones/{sheet.facts['zone_id']}", plot=plot_id,
                          profile=sheet.profile),
        map_label=t("map_label", ref=sheet.facts["cadastral_ref"]),
        inquiry_url=page.url(f"/maps/plots/{plot_id}/inquiry"),
        history_url=page.url(f"/maps/plots/{plot_id}/history"),
        edit_url=page.url(f"/maps/my/plots/{plot_id}") if editable else None,
    )
