"""The platform's words, each defined once: coded values with their labels in en, sl and de.

Plot statuses (and which may follow which), zone kinds and stages, uses, readiness
and broadband tiers (ordered, least first), offers, ownership, sewage, infrastructure
and constraint kinds, account roles, and the coordinate reference systems. Every
module, the pages' labels and the database's CHECK constraints take them from here
(``tests/test_vocabulary.py`` compares the constraints with this module).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

LANGUAGES = ("en", "sl", "de")


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of codes, in their order, with a label per language for each."""

    name: str
    labels: dict[str, tuple[str, str, str]]  # code -> (en, sl, de)
    #: Ordered tiers: "at least X" means X and every later code.
    ordered: bool = False
    codes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", tuple(self.labels))

    def __contains__(self, code: object) -> bool:
        return code in self.labels

    def __iter__(self):
        return iter(self.codes)

    def label(self, code: str, lang: str = "en") -> str:
        return self.labels[code][LANGUAGES.index(lang)]

    def code_for(self, word: str) -> str | None:
        """The code ``word`` names: a code itself, or its label in en, sl or de, in any case,
        with ``-``, ``_`` and spaces alike, and without its accents ("Rezervirano",
        "in verhandlung", "mesano"); None when it names none, or several (then only the
        exact spelling counts, never a guess)."""
        if word in self.labels:
            return word
        exact, folded = _spellings(self)
        key = _key(word)
        if len(exact.get(key, ())) == 1:
            return next(iter(exact[key]))
        found = folded.get(_fold(key), set())
        return next(iter(found)) if len(found) == 1 else None

    def at_least(self, code: str) -> tuple[str, ...]:
        """``code`` and every better tier (only for ordered vocabularies)."""
        if not self.ordered:
            raise TypeError(f"{self.name} has no order")
        return self.codes[self.codes.index(code):]


def _key(word: str) -> str:
    """``word`` as spellings are compared: lower case, separators one space."""
    return re.sub(r"[\s_-]+", " ", unicodedata.normalize("NFC", str(word)).casefold()).strip()


def _fold(key: str) -> str:
    """``key`` without accents (č -> c, ö -> o, ß stays): a keyboard without them."""
    return "".join(c for c in unicodedata.normalize("NFD", key)
                   if not unicodedata.combining(c))


_SPELLINGS: dict[str, tuple[dict[str, set[str]], dict[str, set[str]]]] = {}


def _spellings(vocab: Vocabulary) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Every code and label of ``vocab`` by its compared spelling, and by its folded one."""
    if vocab.name not in _SPELLINGS:
        exact: dict[str, set[str]] = {}
        folded: dict[str, set[str]] = {}
        for code, labels in vocab.labels.items():
            for spelling in (code, *labels):
                exact.setdefault(_key(spelling), set()).add(code)
                folded.setdefault(_fold(_key(spelling)), set()).add(code)
        _SPELLINGS[vocab.name] = (exact, folded)
    return _SPELLINGS[vocab.name]


PLOT_STATUS = Vocabulary("status", {
    "available": ("available", "prosto", "verfügbar"),
    "reserved": ("reserved", "rezervirano", "reserviert"),
    "under_negotiation": ("under negotiation", "v pogajanjih", "in Verhandlung"),
    "sold": ("sold", "prodano", "verkauft"),
    "occupied": ("occupied", "zasedeno", "belegt"),
    "not_for_sale": ("not for sale", "ni naprodaj", "nicht zu verkaufen"),
})

#: The allowed next statuses of each status. Why each edge exists:
#: - an offer is reserved, negotiated or sold directly, and any of these can fall through
#:   back to available;
#: - a reservation can turn into negotiation and negotiation back into a reservation
#:   (e.g. waiting for a permit);
#: - a sold plot is built on (occupied) or the sale is reversed (available again);
#: - an occupied plot only becomes available when the company leaves (vacated);
#: - a plot taken off the market (not_for_sale) comes back as available, never straight
#:   into a deal, so that the offer is published before it is negotiated.
STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "available": ("reserved", "under_negotiation", "sold", "not_for_sale"),
    "reserved": ("available", "under_negotiation", "sold"),
    "under_negotiation": ("available", "reserved", "sold"),
    "sold": ("occupied", "available"),
    "occupied": ("available",),
    "not_for_sale": ("available",),
}
#: Statuses whose plot area counts as taken (occupancy).
TAKEN_STATUSES = ("sold", "occupied")

ZONE_KIND = Vocabulary("kind", {
    "industrial": ("industrial", "industrijska", "Industrie"),
    "business": ("business", "poslovna", "Gewerbe"),
    "logistics": ("logistics", "logistična", "Logistik"),
    "technology": ("technology", "tehnološka", "Technologie"),
    "mixed": ("mixed", "mešana", "gemischt"),
})

ZONE_LIFECYCLE = Vocabulary("lifecycle", {
    "planned": ("planned", "načrtovana", "geplant"),
    "developing": ("being developed", "v izgradnji", "in Erschließung"),
    "operational": ("operational", "delujoča", "in Betrieb"),
})

USE = Vocabulary("use", {
    "manufacturing": ("manufacturing", "proizvodnja", "Produktion"),
    "logistics": ("logistics", "logistika", "Logistik"),
    "services": ("services", "storitve", "Dienstleistungen"),
    "technology": ("technology", "tehnologija", "Technologie"),
    "retail": ("retail", "trgovina", "Handel"),
    "mixed": ("mixed", "mešano", "gemischt"),
})

READINESS = Vocabulary("readiness", {
    "registered": ("registered", "vpisano", "eingetragen"),
    "serviced": ("serviced", "komunalno opremljeno", "erschlossen"),
    "shovel_ready": ("shovel-ready", "pripravljeno za gradnjo", "sofort bebaubar"),
}, ordered=True)

BROADBAND = Vocabulary("broadband", {
    "none": ("none", "ni", "keines"),
    "basic": ("basic", "osnovni", "Basis"),
    "fast": ("fast", "hitri", "schnell"),
    "ftth": ("fibre to the building", "optika do stavbe", "Glasfaser bis ins Gebäude"),
}, ordered=True)

OFFER = Vocabulary("offer", {
    "sale": ("for sale", "naprodaj", "zu verkaufen"),
    "lease": ("for lease", "v najem", "zu pachten"),
    "sale_or_lease": ("for sale or lease", "naprodaj ali v najem", "Kauf oder Pacht"),
})

OWNERSHIP = Vocabulary("ownership", {
    "public": ("public", "javna", "öffentlich"),
    "private": ("private", "zasebna", "privat"),
    "several": ("several owners", "več lastnikov", "mehrere Eigentümer"),
})

SEWAGE = Vocabulary("sewage", {
    "treated": ("to a treatment plant", "na čistilno napravo", "an eine Kläranlage"),
    "other": ("other", "drugo", "andere"),
    "none": ("none", "ni", "keine"),
})

INFRASTRUCTURE_KIND = Vocabulary("infrastructure", {
    "motorway_junction": ("motorway junction", "avtocestni priključek", "Autobahnanschluss"),
    "rail_station": ("railway station", "železniška postaja", "Bahnhof"),
    "rail_freight_terminal": ("rail freight terminal", "tovorni terminal",
                              "Güterterminal"),
    "airport": ("airport", "letališče", "Flughafen"),
    "port": ("port", "pristanišče", "Hafen"),
    "substation": ("substation", "razdelilna postaja", "Umspannwerk"),
    "broadband_node": ("broadband node", "širokopasovno vozlišče", "Breitbandknoten"),
    "university": ("university", "univerza", "Universität"),
    "border_crossing": ("border crossing", "mejni prehod", "Grenzübergang"),
    "bus_stop": ("bus stop", "avtobusna postaja", "Bushaltestelle"),
})

CONSTRAINT_KIND = Vocabulary("constraint", {
    "flood_risk": ("flood risk", "poplavna ogroženost", "Hochwassergefahr"),
    "natura2000": ("Natura 2000", "Natura 2000", "Natura 2000"),
    "water_protection": ("water protection", "vodovarstveno območje", "Wasserschutzgebiet"),
})

SEVERITY = Vocabulary("severity", {
    "high": ("high", "visoka", "hoch"),
    "medium": ("medium", "srednja", "mittel"),
    "low": ("low", "nizka", "niedrig"),
})

#: What a municipality's point is: the seat (its town, as a map labels it) or, where no
#: seat is known, the official centroid of its polygon (GURS's CEN_E/CEN_N).
SEAT_KIND = Vocabulary("seat_kind", {
    "seat": ("seat", "sedež občine", "Gemeindesitz"),
    "centroid": ("centroid", "centroid", "Schwerpunkt"),
})

ROLE = Vocabulary("role", {
    "investor": ("investor", "investitor", "Investor"),
    "municipality": ("municipality editor", "urednik občine", "Gemeinde-Redaktion"),
    "agency": ("agency analyst", "analitik agencije", "Agentur-Analyse"),
    "admin": ("administrator", "skrbnik", "Administration"),
})

#: Where an investor's inquiry stands in its municipality's inbox.
INQUIRY_STATUS = Vocabulary("inquiry_status", {
    "new": ("new", "novo", "neu"),
    "answered": ("answered", "odgovorjeno", "beantwortet"),
    "closed": ("closed", "zaprto", "erledigt"),
})

#: What a plot's attached file is, told by its content (never by its name).
ATTACHMENT_KIND = Vocabulary("attachment", {
    "pdf": ("PDF document", "dokument PDF", "PDF-Dokument"),
    "jpeg": ("photo (JPEG)", "fotografija (JPEG)", "Foto (JPEG)"),
    "png": ("image (PNG)", "slika (PNG)", "Bild (PNG)"),
})

#: Levels of the region hierarchy, coarsest first: a region's parent is of an earlier level.
#: NUTS levels carry Eurostat's codes (a country is NUTS-0, its ISO code); national levels
#: finer than NUTS-3 carry ``<country>-<tag>-<national code>`` (``AT-D-601``), whose hyphen
#: can never be read as a NUTS prefix. Slovenia's statistical regions are NUTS-3.
REGION_LEVEL = Vocabulary("region_level", {
    "country": ("country", "država", "Staat"),
    "nuts1": ("NUTS 1 (major region)", "NUTS 1 (makroregija)", "NUTS 1 (Großregion)"),
    "nuts2": ("NUTS 2 (region)", "NUTS 2 (kohezijska regija)", "NUTS 2 (Bundesland)"),
    "nuts3": ("NUTS 3 (region)", "NUTS 3 (statistična regija)", "NUTS 3 (Region)"),
    "district": ("district", "okraj", "politischer Bezirk"),
}, ordered=True)
#: The letter of each national level in its codes (``AT-D-601``: Austrian district 601).
REGION_CODE_TAGS: dict[str, str] = {"district": "D"}
#: The level whose regions are scoring's yardsticks (the regional median price).
YARDSTICK_LEVEL = "nuts3"

#: Every vocabulary by the prefix pages use for its labels (``t.value("status", code)``).
VOCABULARIES: dict[str, Vocabulary] = {v.name: v for v in (
    PLOT_STATUS, ZONE_KIND, ZONE_LIFECYCLE, USE, READINESS, BROADBAND, OFFER, OWNERSHIP,
    SEWAGE, INFRASTRUCTURE_KIND, CONSTRAINT_KIND, SEVERITY, ROLE, INQUIRY_STATUS,
    ATTACHMENT_KIND, SEAT_KIND, REGION_LEVEL)}

#: Where each vocabulary is enforced in the database: (table, column) pairs whose CHECK
#: constraint must allow exactly these codes.
DATABASE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "status": (("plot", "status"),),
    "kind": (("zone", "kind"),),
    "lifecycle": (("zone", "lifecycle"),),
    "use": (("plot", "allowed_uses"), ("zone", "allowed_uses")),
    "readiness": (("plot", "readiness"),),
    "broadband": (("zone", "broadband"),),
    "offer": (("plot", "offer"),),
    "ownership": (("plot", "ownership"),),
    "sewage": (("zone", "sewage"),),
    "infrastructure": (("infrastructure", "kind"),),
    "constraint": (("constraint_area", "kind"),),
    "severity": (("constraint_area", "severity"),),
    "role": (("account", "role"),),
    "inquiry_status": (("inquiry", "status"), ("inquiry_event", "old_status"),
                       ("inquiry_event", "new_status")),
    "attachment": (("plot_attachment", "kind"),),
    "seat_kind": (("municipality", "seat_kind"),),
    "region_level": (("region", "level"), ("municipality_region", "level")),
}

#: Geometry is stored in ETRS89-LAEA (metres, equal area across Slovenia and Austria).
STORAGE_SRID = 3035
#: Web maps and vector tiles.
WEB_MERCATOR_SRID = 3857
#: GeoJSON (RFC 7946) and the lon/lat of forms.
WGS84_SRID = 4326
#: Slovenia's national grid (D96/TM) and Austria's MGI Gauß-Krüger zones.
SLOVENIA_SRID = 3794
AUSTRIA_SRIDS = (31254, 31255, 31256, 31257, 31258, 31259)
