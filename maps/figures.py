"""The dashboard's figures as sections, each a chart and its table, for one region or several
side by side: the one arrangement the pages, the PDF report and the workbook all show, so
they can never disagree. Values stay numbers here; ``Section.cell`` writes them for a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from locations.dashboard import UNKNOWN_READINESS
from locations.vocabulary import PLOT_STATUS, READINESS
from maps.charts import Chart, bar_chart
from maps.i18n import Translator
from maps.plot_page import profile_name
from maps.style import STATUS_COLOURS

#: How a column's numbers are written: hectares, counts, shares, scores, m² per inhabitant,
#: years.
HA, COUNT, SHARE, SCORE, M2, YEARS = "ha", "count", "share", "score", "m2", "years"
READINESS_COLOURS = {"registered": "#9fb3c8", "serviced": "#4a90c2", "shovel_ready": "#1f5f99",
                     UNKNOWN_READINESS: "#d5dbe1"}


@dataclass
class Section:
    """One figure of the dashboard: its chart and its table (rows by columns of numbers)."""

    key: str
    title: str
    columns: list[str]
    #: How each column's numbers are written (HA, COUNT ...).
    kinds: list[str]
    rows: list[tuple[str, list[float | int | None]]]
    chart: Chart | None = None
    note: str | None = None
    #: Rows whose unit differs from their column's (e.g. a median among counts).
    row_kinds: dict[int, str] = field(default_factory=dict)

    def kind(self, row: int, column: int) -> str:
        return self.row_kinds.get(row, self.kinds[column])


def write(t: Translator, kind: str, value: Any) -> str:
    """A number as a page writes it."""
    if value is None:
        return "–"
    if kind == HA:
        return f"{t.number(value / 10_000, 1)} ha"
    if kind == SHARE:
        return t.percent(value)
    if kind == SCORE:
        return t.number(value, 1)
    if kind == M2:
        return f"{t.number(value, 2)} m²"
    if kind == YEARS:
        return t("supply_years_value", n=t.number(value, 1))
    return t.number(value)


def region_name(t: Translator, figures: dict[str, Any]) -> str:
    """A region's name: the platform's word for it in the page's language where it has one
    (AT22: Styria, all of it), else the region's own name, else its code."""
    key = f"nuts_{figures['region']}"
    named = t(key)
    if named != key:
        return named
    return figures.get("name") or figures["region"]


def _readiness(figures: dict[str, Any], tier: str, what: str = "area_m2") -> float:
    return next(r[what] for r in figures["available_by_readiness"] if r["readiness"] == tier)


def _status(figures: dict[str, Any], status: str, what: str) -> float:
    return next(r[what] for r in figures["by_status"] if r["status"] == status)


def _readiness_label(t: Translator, tier: str) -> str:
    return t("dash_readiness_unknown") if tier == UNKNOWN_READINESS else t.value("readiness", tier)


def sections(t: Translator, regions: list[dict[str, Any]]) -> list[Section]:
    """The dashboard's sections for ``regions`` (one: its dashboard; two to four: side by side)."""
    names = [region_name(t, f) for f in regions]
    single = len(regions) == 1
    found: list[Section] = []

    # Key figures: a table only (each is drawn in a section below).
    key_rows: list[tuple[str, list]] = [
        (t("dash_zones"), [f["zones"] for f in regions]),
        (t("dash_plots"), [f["plots"] for f in regions]),
        (t("dash_plot_area"), [f["plot_area_m2"] for f in regions]),
        (t("dash_available_area"), [f["available_area_m2"] for f in regions]),
        (t("dash_shovel_ready_area"), [_readiness(f, "shovel_ready") for f in regions]),
        (t("dash_occupancy"), [f["occupancy_share"] for f in regions]),
        (t("dash_brownfield_available"),
         [f["brownfield"]["share_of_available_area"] for f in regions]),
        (t("dash_fresh_share"), [f["freshness"]["share"] for f in regions]),
        (t("dash_population"), [f["population"] for f in regions]),
        (t("dash_available_per_inhabitant"),
         [f["per_inhabitant"]["available_area_m2"] if f["per_inhabitant"] else None
          for f in regions]),
    ]
    row_kinds = {0: COUNT, 1: COUNT, 2: HA, 3: HA, 4: HA, 5: SHARE, 6: SHARE, 7: SHARE,
                 8: COUNT, 9: M2}
    unknown = [name for name, f in zip(names, regions, strict=True) if not f["population"]]
    found.append(Section(
        key="key_figures", title=t("dash_key_figures"), columns=names,
        kinds=[COUNT] * len(regions), rows=key_rows, row_kinds=row_kinds,
        note=t("dash_population_unknown", regions=", ".join(unknown)) if unknown else None))

    # Available land by readiness tier.
    tiers = [*READINESS.codes, UNKNOWN_READINESS]
    tier_labels = [_readiness_label(t, tier) for tier in tiers]
    if single:
        f = regions[0]
        rows = [(label, [_readiness(f, tier, "plots"), _readiness(f, tier)])
                for label, tier in zip(tier_labels, tiers, strict=True)]
        columns, kinds = [t("dash_plots"), t("dash_area")], [COUNT, HA]
    else:
        rows = [(label, [_readiness(f, tier) for f in regions])
                for label, tier in zip(tier_labels, tiers, strict=True)]
        columns, kinds = names, [HA] * len(regions)
    series = [(name, [_readiness(f, tier) for tier in tiers]) for name, f in zip(names, regions, strict=True)]
    found.append(Section(
        key="readiness", title=t("dash_by_readiness"), columns=columns, kinds=kinds, rows=rows,
        chart=bar_chart("chart-readiness", t("dash_by_readiness"), tier_labels, series,
                        [[write(t, HA, v) for v in values] for _, values in series],
                        colours=[READINESS_COLOURS[tier] for tier in tiers])))

    # Plots and area by status.
    statuses = list(PLOT_STATUS.codes)
    status_labels = [t.value("status", s) for s in statuses]
    if single:
        f = regions[0]
        rows = [(label, [_status(f, s, "plots"), _status(f, s, "area_m2")])
                for label, s in zip(status_labels, statuses, strict=True)]
        columns, kinds = [t("dash_plots"), t("dash_area")], [COUNT, HA]
    else:
        rows = [(label, [_status(f, s, "area_m2") for f in regions])
                for label, s in zip(status_labels, statuses, strict=True)]
        columns, kinds = names, [HA] * len(regions)
    series = [(name, [_status(f, s, "area_m2") for s in statuses]) for name, f in zip(names, regions, strict=True)]
    found.append(Section(
        key="status", title=t("dash_by_status"), columns=columns, kinds=kinds, rows=rows,
        chart=bar_chart("chart-status", t("dash_by_status"), status_labels, series,
                        [[write(t, HA, v) for v in values] for _, values in series],
                        colours=[STATUS_COLOURS[s] for s in statuses])))

    # Occupancy, brownfield and freshness: shares side by side.
    share_rows = [
        (t("dash_occupancy"), [f["occupancy_share"] for f in regions]),
        (t("dash_brownfield_plot_area"), [f["brownfield"]["share_of_plot_area"] for f in regions]),
        (t("dash_brownfield_available"),
         [f["brownfield"]["share_of_available_area"] for f in regions]),
        (t("dash_fresh_share"), [f["freshness"]["share"] for f in regions]),
    ]
    series = [(name, [row[1][i] for row in share_rows]) for i, name in enumerate(names)]
    found.append(Section(
        key="shares", title=t("dash_shares"), columns=names, kinds=[SHARE] * len(regions),
        rows=share_rows,
        chart=bar_chart("chart-shares", t("dash_shares"), [row[0] for row in share_rows],
                        series, [[write(t, SHARE, v) for v in values] for _, values in series]),
        note=t("dash_fresh_note", months=regions[0]["freshness"]["months"],
               since=t.date(regions[0]["freshness"]["since"]))))

    found.append(_supply_section(t, regions, names))

    # The score distribution of each profile.
    for index, score in enumerate(regions[0]["scores"]):
        profile = score["profile"]
        per_region = [f["scores"][index] for f in regions]
        bands = [f"{band['from']}–{band['to']}" for band in score["distribution"]]
        rows = [(band, [s["distribution"][i]["plots"] for s in per_region])
                for i, band in enumerate(bands)]
        rows += [(t("dash_ranked_plots"), [s["ranked_plots"] for s in per_region]),
                 (t("dash_median"), [s["median"] for s in per_region]),
                 (t("dash_best"), [s["best"] for s in per_region])]
        title = t("dash_scores", profile=profile_name(t, profile))
        series = [(name, [s["distribution"][i]["plots"] for i in range(len(bands))])
                  for name, s in zip(names, per_region, strict=True)]
        found.append(Section(
            key=f"scores_{profile}", title=title, columns=names if not single else [t("dash_plots")],
            kinds=[COUNT] * len(regions), rows=rows,
            row_kinds={len(bands) + 1: SCORE, len(bands) + 2: SCORE},
            chart=bar_chart(f"chart-scores-{profile}", title, bands, series,
                            [[write(t, COUNT, v) for v in values] for _, values in series]),
            note=t("dash_scores_note", standard=score["standard"]["name"],
                   version=score["standard"]["version"])))
    return found


def _supply_section(t: Translator, regions: list[dict[str, Any]], names: list[str]) -> Section:
    """Land supply over time (``locations.land_supply``): for one region, per calendar year of
    the period, the stock at the year's end, new supply and take-up; for several, each one's
    figures of the last twelve months and its years of supply."""
    series = [f["land_supply"] for f in regions]
    reasons = [(name, s["summary"]["years_of_supply_reason"]) for name, s in zip(names, series, strict=True)
               if s["summary"]["years_of_supply"] is None]
    notes = [t("supply_note", start=series[0]["start"][:7], end=series[0]["end"][:7])]
    if reasons:
        notes.append(t("supply_not_determinable", regions=", ".join(
            f"{name} ({t('supply_reason_' + (reason or 'no_data'))})" for name, reason in reasons)))
    if len(regions) == 1:
        years: dict[str, dict[str, float]] = {}
        for month in series[0]["months"]:
            year = years.setdefault(month["month"][:4], {"new": 0.0, "take_up": 0.0})
            year["new"] += month["new_supply_m2"]
            year["take_up"] += month["take_up_m2"]
            year["stock"] = month["available_total_m2"]
        labels = list(years)
        rows = [(label, [years[label]["stock"], years[label]["new"], years[label]["take_up"]])
                for label in labels]
        summary = series[0]["summary"]
        rows += [(t("supply_average_take_up"), [None, None, summary["average_annual_take_up_m2"]]),
                 (t("supply_years"), [summary["years_of_supply"], None, None])]
        chart_series = [(t("supply_new"), [years[y]["new"] for y in labels]),
                        (t("supply_take_up"), [years[y]["take_up"] for y in labels])]
        return Section(
            key="land_supply", title=t("supply_title"),
            columns=[t("supply_stock"), t("supply_new"), t("supply_take_up")],
            kinds=[HA, HA, HA], rows=rows, row_kinds={len(rows) - 1: YEARS},
            chart=bar_chart("chart-land-supply", t("supply_title"), labels, chart_series,
                            [[write(t, HA, v) for v in values] for _, values in chart_series]),
            note=" ".join(notes))
    measures = [
        ("supply_stock_now", "available_total_m2", HA),
        ("supply_on_market", "on_market_m2", HA),
        ("supply_new_12", "new_supply_last_12_months_m2", HA),
        ("supply_take_up_12", "take_up_last_12_months_m2", HA),
        ("supply_average_take_up", "average_annual_take_up_m2", HA),
        ("supply_years", "years_of_supply", YEARS),
    ]
    rows = [(t(label), [s["summary"][key] for s in series]) for label, key, _ in measures]
    chart_rows = rows[2:5]
    chart_series = [(name, [row[1][i] for row in chart_rows]) for i, name in enumerate(names)]
    return Section(
        key="land_supply", title=t("supply_title"), columns=names, kinds=[HA] * len(regions),
        rows=rows, row_kinds={len(rows) - 1: YEARS},
        chart=bar_chart("chart-land-supply", t("supply_title"), [row[0] for row in chart_rows],
                        chart_series,
                        [[write(t, HA, v) for v in values] for _, values in chart_series]),
        note=" ".join(notes))


def difference_sentences(t: Translator, comparison: dict[str, Any]) -> list[str]:
    """The comparison's differences that matter, each in one sentence of the page's language."""
    names = {f["region"]: region_name(t, f) for f in comparison["regions"]}
    sentences = []
    for item in comparison["differences"]:
        measure = item["measure"]
        higher, lower = names[item["higher"]], names[item["lower"]]
        if measure == "median_score":
            sentences.append(t("diff_median_score", higher=higher, lower=lower,
                               profile=profile_name(t, item["profile"]), points=t.number(item["points"], 1),
                               high=t.number(item["values"][0], 1),
                               low=t.number(item["values"][1], 1)))
        elif item["kind"] == "only":
            sentences.append(t(f"diff_{measure}_only", higher=higher, lower=lower,
                               high=write(t, HA, item["values"][0])))
        elif item["kind"] == "ratio":
            kind = M2 if measure == "available_per_inhabitant" else HA
            sentences.append(t(f"diff_{measure}", higher=higher, lower=lower,
                               ratio=t.number(item["ratio"], 1),
                               high=write(t, kind, item["values"][0]),
                               low=write(t, kind, item["values"][1])))
        else:
            sentences.append(t(f"diff_{measure}", higher=higher, lower=lower,
                               points=t.number(item["points"], 0),
                               high=t.percent(item["values"][0]),
                               low=t.percent(item["values"][1])))
    return sentences
