"""Page labels in English, Slovenian and German, and numbers and dates written the way each reads them."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from locations.vocabulary import VOCABULARIES

LANGUAGES = ("en", "sl", "de")
DEFAULT_LANGUAGE = "en"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "platform": "Business locations",
        "tagline": "Business zones and plots in Gorenjska, Podravje and Styria",
        "nav_search": "Find a plot",
        "nav_overview": "Overview map",
        "nav_compare": "Compare regions",
        "language": "Language",
        "search_title": "Find a plot for your business",
        "search_intro": "Set what the plot must offer; the results show on a map and in a table.",
        "region": "Region",
        "any_region": "Any region",
        "min_area": "Area at least (m²)",
        "max_area": "Area at most (m²)",
        "status": "Availability",
        "min_power": "Power at least (MW)",
        "max_motorway": "Motorway junction within (km)",
        "profile": "Scoring profile",
        "no_profile": "No scoring",
        "search": "Search",
        "results": "Results",
        "results_count": "{n} plots match",
        "results_capped": "showing the first {n}",
        "download_all": "Download all {n} as",
        "download_too_many": "{n} plots are too many for one download: narrow the search.",
        "no_results": "No plot matches these requirements. Loosen one of them.",
        "overview_title": "Business zones at a glance",
        "colour_by": "Colour zones by",
        "measure_occupancy": "Occupancy (share of plot area sold or occupied)",
        "measure_available": "Available plot area (ha)",
        "measure_score": "Location score",
        "show": "Show",
        "regions": "Regions",
        "municipalities": "Municipalities",
        "zones": "Business zones",
        "plots": "Plots",
        "zone_markers": "Zones (markers)",
        "result_markers": "Results (markers)",
        "infra_motorway_junction": "Motorway junctions",
        "infra_rail": "Railway stations and lines",
        "infra_rail_freight_terminal": "Freight terminals",
        "infra_airport": "Airports",
        "zone": "Zone",
        "municipality": "Municipality",
        "kind": "Kind",
        "lifecycle": "Stage",
        "area": "Area",
        "zone_area": "Zone area",
        "plot_count": "Plots",
        "available_area": "Available plot area",
        "occupancy": "Occupancy",
        "power": "Power capacity",
        "gas": "Gas",
        "water": "Water",
        "sewage": "Sewage",
        "broadband": "Broadband",
        "rail_siding": "Rail siding",
        "district_heating": "District heating",
        "manager": "Zone manager",
        "contact": "Contact",
        "last_verified": "Last verified",
        "open_zone": "Open the zone's page",
        "loading": "Loading…",
        "plot_unavailable": "the plot's details could not be loaded",
        "cadastral_ref": "Cadastral reference",
        "price": "Asking price",
        "readiness": "Readiness",
        "score": "Score",
        "offer": "Offer",
        "available_from": "Available from",
        "motorway_distance": "Motorway junction",
        "yes": "yes",
        "no": "no",
        "unknown": "not known",
        "facts": "Facts",
        "legend_status": "Plot availability",
        "compare_title": "Gorenjska, Podravje and Styria side by side",
        "compare_by": "Shade municipalities by",
        "compare_available": "Available plot area (ha)",
        "compare_score": "Average plot score",
        "plots_by_status": "Plots by availability",
        "zoom_for_plots": "Zoom in to see single plots.",
        "map_no_basemap": "Map without a base map: boundaries, zones and plots only.",
        "region_gorenjska": "Gorenjska",
        "region_podravje": "Podravje",
        "region_styria": "Styria",
    },
    "sl": {
        "platform": "Poslovne lokacije",
        "tagline": "Poslovne cone in zemljišča na Gorenjskem, v Podravju in na Štajerskem",
        "nav_search": "Poišči zemljišče",
        "nav_overview": "Pregledni zemljevid",
        "nav_compare": "Primerjava regij",
        "language": "Jezik",
        "search_title": "Poiščite zemljišče za svoje podjetje",
        "search_intro": "Določite, kaj mora zemljišče ponujati; zadetki so na zemljevidu in v tabeli.",
        "region": "Regija",
        "any_region": "Katera koli regija",
        "min_area": "Površina vsaj (m²)",
        "max_area": "Površina največ (m²)",
        "status": "Razpoložljivost",
        "min_power": "Moč vsaj (MW)",
        "max_motorway": "Avtocestni priključek do (km)",
        "profile": "Profil ocenjevanja",
        "no_profile": "Brez ocene",
        "search": "Išči",
        "results": "Zadetki",
        "results_count": "Ustreza {n} zemljišč",
        "results_capped": "prikazanih je prvih {n}",
        "download_all": "Prenesi vseh {n} kot",
        "download_too_many": "{n} zemljišč je preveč za en prenos: zožite iskanje.",
        "no_results": "Nobeno zemljišče ne ustreza. Omilite katero od zahtev.",
        "overview_title": "Poslovne cone na prvi pogled",
        "colour_by": "Obarvaj cone po",
        "measure_occupancy": "Zasedenost (delež prodane ali zasedene površine)",
        "measure_available": "Prosta površina zemljišč (ha)",
        "measure_score": "Ocena lokacije",
        "show": "Prikaži",
        "regions": "Regije",
        "municipalities": "Občine",
        "zones": "Poslovne cone",
        "plots": "Zemljišča",
        "zone_markers": "Cone (oznake)",
        "result_markers": "Zadetki (oznake)",
        "infra_motorway_junction": "Avtocestni priključki",
        "infra_rail": "Železniške postaje in proge",
        "infra_rail_freight_terminal": "Tovorni terminali",
        "infra_airport": "Letališča",
        "zone": "Cona",
        "municipality": "Občina",
        "kind": "Vrsta",
        "lifecycle": "Faza",
        "area": "Površina",
        "zone_area": "Površina cone",
        "plot_count": "Zemljišča",
        "available_area": "Prosta površina zemljišč",
        "occupancy": "Zasedenost",
        "power": "Priključna moč",
        "gas": "Plin",
        "water": "Voda",
        "sewage": "Kanalizacija",
        "broadband": "Širokopasovni dostop",
        "rail_siding": "Industrijski tir",
        "district_heating": "Daljinsko ogrevanje",
        "manager": "Upravljavec cone",
        "contact": "Kontakt",
        "last_verified": "Nazadnje preverjeno",
        "open_zone": "Odpri stran cone",
        "loading": "Nalagam …",
        "plot_unavailable": "podatkov o parceli ni bilo mogoče naložiti",
        "cadastral_ref": "Parcelna številka",
        "price": "Izklicna cena",
        "readiness": "Pripravljenost",
        "score": "Ocena",
        "offer": "Ponudba",
        "available_from": "Na voljo od",
        "motorway_distance": "Avtocestni priključek",
        "yes": "da",
        "no": "ne",
        "unknown": "ni znano",
        "facts": "Podatki",
        "legend_status": "Razpoložljivost zemljišč",
        "compare_title": "Gorenjska, Podravje in Štajerska drug ob drugem",
        "compare_by": "Obarvaj občine po",
        "compare_available": "Prosta površina zemljišč (ha)",
        "compare_score": "Povprečna ocena zemljišč",
        "plots_by_status": "Zemljišča po razpoložljivosti",
        "zoom_for_plots": "Približajte za posamezna zemljišča.",
        "map_no_basemap": "Zemljevid brez podlage: le meje, cone in zemljišča.",
        "region_gorenjska": "Gorenjska",
        "region_podravje": "Podravje",
        "region_styria": "Štajerska (Avstrija)",
    },
    "de": {
        "platform": "Betriebsstandorte",
        "tagline": "Gewerbegebiete und Grundstücke in Gorenjska, Podravje und der Steiermark",
        "nav_search": "Grundstück finden",
        "nav_overview": "Übersichtskarte",
        "nav_compare": "Regionen vergleichen",
        "language": "Sprache",
        "search_title": "Finden Sie ein Grundstück für Ihr Unternehmen",
        "search_intro": "Legen Sie fest, was das Grundstück bieten muss; die Treffer erscheinen auf "
                        "der Karte und in einer Tabelle.",
        "region": "Region",
        "any_region": "Alle Regionen",
        "min_area": "Fläche mindestens (m²)",
        "max_area": "Fläche höchstens (m²)",
        "status": "Verfügbarkeit",
        "min_power": "Leistung mindestens (MW)",
        "max_motorway": "Autobahnanschluss innerhalb (km)",
        "profile": "Bewertungsprofil",
        "no_profile": "Ohne Bewertung",
        "search": "Suchen",
        "results": "Treffer",
        "results_count": "{n} Grundstücke passen",
        "results_capped": "die ersten {n} werden gezeigt",
        "download_all": "Alle {n} herunterladen als",
        "download_too_many": "{n} Grundstücke sind zu viele für einen Download: grenzen Sie die Suche ein.",
        "no_results": "Kein Grundstück erfüllt diese Anforderungen. Lockern Sie eine davon.",
        "overview_title": "Gewerbegebiete auf einen Blick",
        "colour_by": "Gebiete färben nach",
        "measure_occupancy": "Auslastung (Anteil verkaufter oder belegter Fläche)",
        "measure_available": "Verfügbare Grundstücksfläche (ha)",
        "measure_score": "Standortbewertung",
        "show": "Anzeigen",
        "regions": "Regionen",
        "municipalities": "Gemeinden",
        "zones": "Gewerbegebiete",
        "plots": "Grundstücke",
        "zone_markers": "Gebiete (Markierungen)",
        "result_markers": "Treffer (Markierungen)",
        "infra_motorway_junction": "Autobahnanschlüsse",
        "infra_rail": "Bahnhöfe und Bahnstrecken",
        "infra_rail_freight_terminal": "Güterterminals",
        "infra_airport": "Flughäfen",
        "zone": "Gebiet",
        "municipality": "Gemeinde",
        "kind": "Art",
        "lifecycle": "Stand",
        "area": "Fläche",
        "zone_area": "Gebietsfläche",
        "plot_count": "Grundstücke",
        "available_area": "Verfügbare Grundstücksfläche",
        "occupancy": "Auslastung",
        "power": "Anschlussleistung",
        "gas": "Gas",
        "water": "Wasser",
        "sewage": "Abwasser",
        "broadband": "Breitband",
        "rail_siding": "Anschlussgleis",
        "district_heating": "Fernwärme",
        "manager": "Gebietsmanagement",
        "contact": "Kontakt",
        "last_verified": "Zuletzt geprüft",
        "open_zone": "Seite des Gebiets öffnen",
        "loading": "Wird geladen …",
        "plot_unavailable": "die Angaben zum Grundstück konnten nicht geladen werden",
        "cadastral_ref": "Grundstücksnummer",
        "price": "Angebotspreis",
        "readiness": "Baureife",
        "score": "Bewertung",
        "offer": "Angebot",
        "available_from": "Verfügbar ab",
        "motorway_distance": "Autobahnanschluss",
        "yes": "ja",
        "no": "nein",
        "unknown": "unbekannt",
        "facts": "Fakten",
        "legend_status": "Verfügbarkeit der Grundstücke",
        "compare_title": "Gorenjska, Podravje und die Steiermark im Vergleich",
        "compare_by": "Gemeinden schattieren nach",
        "compare_available": "Verfügbare Grundstücksfläche (ha)",
        "compare_score": "Durchschnittliche Grundstücksbewertung",
        "plots_by_status": "Grundstücke nach Verfügbarkeit",
        "zoom_for_plots": "Hineinzoomen, um einzelne Grundstücke zu sehen.",
        "map_no_basemap": "Karte ohne Hintergrundkarte: nur Grenzen, Gebiete und Grundstücke.",
        "region_gorenjska": "Gorenjska (Oberkrain)",
        "region_podravje": "Podravje (Drauregion)",
        "region_styria": "Steiermark",
    },
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Grouping and decimal separators: Slovenian and German both group with a dot.
_SEPARATORS = {"en": (",", "."), "sl": (".", ","), "de": (".", ",")}


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=`` when it is one we speak, else the best of Accept-Language."""
    if requested and requested.lower() in LANGUAGES:
        return requested.lower()
    candidates: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            candidates.append((-quality, position, primary))
    return min(candidates)[2] if candidates else DEFAULT_LANGUAGE


def format_number(value: float | None, lang: str, decimals: int = 0) -> str:
    """``value`` with the language's grouping and decimal marks (en 12,345.6; sl/de 12.345,6)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    group, decimal = _SEPARATORS.get(lang, _SEPARATORS["en"])
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


def format_date(value: dt.date | str | None, lang: str) -> str:
    """A date as each language writes it: en 1 Oct 2026, sl 1. 10. 2026, de 01.10.2026."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if lang == "sl":
        return f"{value.day}. {value.month}. {value.year}"
    if lang == "de":
        return f"{value.day:02d}.{value.month:02d}.{value.year}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


@dataclass(frozen=True)
class Translator:
    """Labels and formats for one language; ``t("key")`` gives a label."""

    lang: str = DEFAULT_LANGUAGE

    def __call__(self, key: str, **values: object) -> str:
        # Fall back to English, then to the key itself, so a missing label never breaks a page.
        label = LABELS.get(self.lang, {}).get(key) or LABELS["en"].get(key) or key
        return label.format(**values) if values else label

    def value(self, vocabulary: str, code: str | None) -> str:
        """A coded value (status, kind, readiness ...) in words, from the vocabulary."""
        if code is None:
            return self("unknown")
        words = VOCABULARIES.get(vocabulary)
        if words is None or code not in words:
            return code  # an unknown code is shown as it is, never breaks a page
        return words.label(code, self.lang)

    def number(self, value: float | None, decimals: int = 0) -> str:
        return format_number(value, self.lang, decimals)

    def date(self, value: dt.date | str | None) -> str:
        return format_date(value, self.lang)

    def area_m2(self, value: float | None) -> str:
        return "–" if value is None else f"{self.number(value)} m²"

    def area_ha(self, value_m2: float | None) -> str:
        return "–" if value_m2 is None else f"{self.number(value_m2 / 10_000, 1)} ha"

    def percent(self, share: float | None) -> str:
        return "–" if share is None else f"{self.number(share * 100, 0)} %"

    def euro_m2(self, value: float | None) -> str:
        return "–" if value is None else f"{self.number(value, 2)} €/m²"

    def yes_no(self, value: bool | None) -> str:
        return self("unknown") if value is None else self("yes" if value else "no")
