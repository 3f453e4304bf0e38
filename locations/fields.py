"""The field catalogue: every field of a plot and of a zone, declared once.

Each entry says what the field is (type, unit, bounds, vocabulary), how people read it
(headings in en, sl and de, a description) and where it goes: into exports and their
data dictionary, into the import layout, into the writes that PATCH, bulk files, the
plot form and the CLI make, and whether only the accounts that keep the plot see it.
The import targets, the field rules of writes, the PATCH schemas, the staging casts and
the data dictionary are derived from here; ``tests/test_fields.py`` checks that the
tables, the search's queryables and those derivations agree with it. A new field is one
entry here and one migration.
"""

from __future__ import annotations

from dataclasses import dataclass

from locations import vocabulary as v
from locations.values import (
    MAX_BUILDING_HEIGHT_M,
    MAX_POWER_MW,
    MAX_PRICE_EUR_M2,
    MIN_BUILDING_HEIGHT_M,
    MIN_PRICE_EUR_M2,
)

#: The types a field may have, and the word the data dictionary uses for each.
DICTIONARY_TYPES = {"text": "text", "enum": "text", "number": "number", "integer": "integer",
                    "bool": "boolean", "date": "date", "uses": "list"}


@dataclass(frozen=True)
class Field:
    """One field of a collection.

    ``kind`` is one of DICTIONARY_TYPES; an ``enum`` takes the codes of ``vocabulary`` (or
    ``values``, for a computed column's few words), ``uses`` a list of uses.
    """

    name: str
    kind: str
    description: str
    #: The heading of exported tables in en, sl and de; None: the code is the heading.
    label: tuple[str, str, str] | None = None
    unit: str | None = None
    vocabulary: v.Vocabulary | None = None
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: Above 0 (a price): "must be greater than 0" before the minimum is judged.
    positive: bool = False
    #: In the exports (and their dictionary).
    exported: bool = True
    #: In the import layout: an export imports back as it is.
    importable: bool = False
    #: The import refuses a row without it.
    required: bool = False
    #: What the import's list of fields says of it, where its description does not fit.
    import_doc: str = ""
    #: Other names a file may give it (an older layout's).
    aliases: tuple[str, ...] = ()
    #: Changed by PATCH, bulk files, the plot form and the CLI (by the editors of its
    #: municipality, as every write is).
    editable: bool = False
    #: An edit may set it to nothing (NULL).
    clearable: bool = True
    #: Characters the API takes at most for a text (its request schema's bound).
    max_chars: int | None = None
    #: Only the accounts that keep or analyse the plot read it.
    internal: bool = False
    #: How an export reads it, as SQL over the search's aliases (``p`` plot, ``z`` zone,
    #: ``m`` municipality, ``r`` region, ``pp`` distances, ``zs`` zone figures); None: the
    #: collection's own column of that name.
    export_sql: str | None = None

    @property
    def choices(self) -> tuple[str, ...]:
        """The codes a value may take (empty: any value of its type)."""
        return self.vocabulary.codes if self.vocabulary is not None else self.values

    @property
    def dictionary_type(self) -> str:
        return DICTIONARY_TYPES[self.kind]

    def label_in(self, lang: str) -> str | None:
        return self.label[v.LANGUAGES.index(lang)] if self.label else None

    def dictionary_entry(self) -> dict:
        """The field as its data dictionary lists it (GET /exports/dictionary/{kind})."""
        entry: dict = {"name": self.name}
        if self.label:
            entry["label"] = dict(zip(v.LANGUAGES, self.label, strict=True))
        entry["type"] = self.dictionary_type
        if self.unit:
            entry["unit"] = self.unit
        entry["import"] = self.importable
        if self.choices:
            entry["values"] = list(self.choices)
        if self.internal:
            entry["internal"] = True
        entry["description"] = self.description
        return entry


@dataclass(frozen=True)
class Collection:
    """A collection's fields in its exports' order, with the table that holds them."""

    name: str
    table: str
    description: str
    fields: tuple[Field, ...]

    def __getitem__(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def editable(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.editable)

    @property
    def importable(self) -> tuple[Field, ...]:
        """The import layout's fields, the geometry aside (a file's own column)."""
        return tuple(f for f in self.fields if f.importable and f.name not in GEOMETRY_COLUMNS)

    @property
    def exported(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.exported)

    def dictionary(self) -> list[dict]:
        return [f.dictionary_entry() for f in self.exported]


#: Columns that CSV and XLSX downloads add for the geometry; GeoPackage and GeoJSON carry
#: it as geometry.
GEOMETRY_COLUMNS = ("lon", "lat", "wkt")


def _geometry(what: str, wkt: str) -> tuple[Field, ...]:
    return (
        Field("lon", "number", f"CSV/XLSX only: longitude of {what} (WGS84).", unit="degree"),
        Field("lat", "number", f"CSV/XLSX only: latitude of {what} (WGS84).", unit="degree"),
        Field("wkt", "text", wkt, importable=True),
    )


def _distance(name: str, label: tuple[str, str, str], description: str) -> Field:
    # To 10 m, in float arithmetic: through numeric it cost a million plots 2 s more.
    return Field(name, "number", description, label=label, unit="km",
                 export_sql=f"round(pp.{name} * 100) / 100")


PLOTS = Collection("plots", "plot", "Plots (parcels or lots) of business zones, one row per plot.", (
    Field("id", "integer", "The platform's plot id.",
          label=("Plot id", "ID parcele", "Grundstücks-ID")),
    Field("cadastral_ref", "text",
          "Cadastral reference: cadastral municipality code and parcel number (Slovenia, e.g. "
          "2105-1234/5) or KG number and Grundstücksnummer (Austria, e.g. 63283-512/3). "
          "Unique within a country.",
          label=("Cadastral reference", "Parcelna številka", "Grundstücksnummer"),
          importable=True, required=True,
          import_doc="cadastral municipality + parcel number (SI) or KG + Gst number (AT)"),
    Field("zone", "text", "Name of the business zone the plot belongs to.",
          label=("Zone", "Cona", "Gebiet"), importable=True, export_sql="z.name",
          import_doc="zone name or id; default: the zone the plot lies in"),
    Field("zone_id", "integer", "The platform's zone id.",
          label=("Zone id", "ID cone", "Gebiets-ID")),
    Field("municipality", "text",
          "Municipality of the zone (tells zones of the same name apart).",
          label=("Municipality", "Občina", "Gemeinde"), importable=True, export_sql="m.name",
          import_doc="municipality name or code, when a zone name is ambiguous"),
    Field("region_code", "text",
          "NUTS-3 style code of the region (SI042 Gorenjska, SI032 Podravska, AT221..AT226 "
          "Styria).", label=("Region", "Regija", "Region"), export_sql="r.code"),
    Field("country", "text", "ISO 3166 country code (SI or AT).",
          label=("Country", "Država", "Staat")),
    Field("area_m2", "number", "Area of the boundary in square metres (computed in EPSG:3035).",
          label=("Area (m²)", "Površina (m²)", "Fläche (m²)"), unit="m²",
          export_sql="round(p.area_m2::numeric, 1)::float"),
    Field("status", "enum", "Availability.", vocabulary=v.PLOT_STATUS,
          label=("Availability", "Razpoložljivost", "Verfügbarkeit"),
          importable=True, editable=True, clearable=False),
    Field("ownership", "enum", "Who owns the plot.", vocabulary=v.OWNERSHIP,
          label=("Ownership", "Lastništvo", "Eigentum"), importable=True, editable=True),
    Field("offer", "enum", "How the plot is offered.", vocabulary=v.OFFER,
          label=("Offer", "Ponudba", "Angebot"), importable=True, editable=True),
    # Stored to the cent: below 0.01 it would be stored as 0, which the table refuses.
    Field("price_eur_m2", "number", "Asking price per square metre.",
          label=("Price (€/m²)", "Cena (€/m²)", "Preis (€/m²)"), unit="EUR/m²",
          minimum=MIN_PRICE_EUR_M2, maximum=MAX_PRICE_EUR_M2, positive=True,
          importable=True, editable=True),
    Field("allowed_uses", "uses", "Uses zoning allows, separated by ';' (or ',').",
          vocabulary=v.USE,
          label=("Allowed uses", "Dovoljene dejavnosti", "Zulässige Nutzungen"),
          importable=True, editable=True, import_doc="comma-separated"),
    Field("readiness", "enum", "Readiness tier.", vocabulary=v.READINESS,
          label=("Readiness", "Pripravljenost", "Baureife"), importable=True, editable=True),
    Field("brownfield", "bool", "Previously developed land.",
          label=("Brownfield", "Degradirano območje", "Brachfläche"),
          importable=True, editable=True, clearable=False),
    Field("power_mw", "number",
          "Electrical power available to this plot (empty means the zone's figure applies).",
          label=("Plot's own power (MW)", "Lastna priključna moč parcele (MW)",
                 "Eigene Anschlussleistung (MW)"),
          unit="MW", minimum=0, maximum=MAX_POWER_MW, importable=True, editable=True),
    Field("power_mw_in_effect", "number",
          "The power the plot has: its own figure, else its zone's (as the pages show it).",
          label=("Power capacity (MW)", "Priključna moč (MW)", "Anschlussleistung (MW)"),
          unit="MW", export_sql="coalesce(p.power_mw, z.power_mw)"),
    Field("power_source", "enum",
          "Whose figure power_mw_in_effect is: the plot's own or its zone's.",
          label=("Power given for", "Moč podana za", "Leistung angegeben für"),
          values=("plot", "zone"),
          export_sql="CASE WHEN p.power_mw IS NOT NULL THEN 'plot' "
                     "WHEN z.power_mw IS NOT NULL THEN 'zone' END"),
    Field("max_building_height_m", "number",
          "Building height the zoning allows on this plot, metres above ground (empty: not "
          "known).",
          label=("Building height allowed (m)", "Dovoljena višina objektov (m)",
                 "Zulässige Bauhöhe (m)"),
          unit="m", minimum=MIN_BUILDING_HEIGHT_M, maximum=MAX_BUILDING_HEIGHT_M,
          importable=True, editable=True, import_doc="permitted building height, metres"),
    Field("available_from", "date", "Date from which the plot can be taken over (YYYY-MM-DD).",
          label=("Available from", "Na voljo od", "Verfügbar ab"),
          importable=True, editable=True),
    Field("last_verified", "date",
          "When the municipality last confirmed the plot's facts (YYYY-MM-DD).",
          label=("Last verified", "Nazadnje preverjeno", "Zuletzt geprüft"), importable=True),
    _distance("motorway_km", ("Motorway junction (km)", "Avtocestni priključek (km)",
                              "Autobahnanschluss (km)"),
              "Straight-line distance from the plot's boundary to the nearest motorway "
              "junction (empty: not yet measured)."),
    _distance("rail_station_km", ("Railway station (km)", "Železniška postaja (km)",
                                  "Bahnhof (km)"),
              "Straight-line distance to the nearest rail station."),
    _distance("rail_freight_km", ("Rail freight terminal (km)",
                                  "Železniški tovorni terminal (km)", "Güterterminal (km)"),
              "Straight-line distance to the nearest rail freight terminal."),
    _distance("airport_km", ("Airport (km)", "Letališče (km)", "Flughafen (km)"),
              "Straight-line distance to the nearest airport."),
    _distance("public_transport_km", ("Public transport (km)", "Javni prevoz (km)",
                                      "Öffentlicher Verkehr (km)"),
              "Straight-line distance to the nearest public transport stop (bus stop or rail "
              "station)."),
    Field("version", "integer",
          "Version of the plot's record; grows by one with every change.",
          label=("Version", "Različica", "Version")),
    Field("score", "number",
          "The plot's current score (0-100) for score_profile; only in downloads of a search "
          "with a scoring profile.", label=("Score", "Ocena", "Bewertung")),
    Field("score_profile", "text", "The scoring profile the score is for.",
          label=("Scoring profile", "Profil ocenjevanja", "Bewertungsprofil")),
    Field("owner_contact", "text",
          "Owner's contact. Only in exports by municipality, agency and admin accounts, and "
          "filled only on the plots the account keeps or analyses (its municipalities, its "
          "regions; all for admins); empty on the others.",
          label=("Owner's contact", "Kontakt lastnika", "Kontakt des Eigentümers"),
          importable=True, editable=True, max_chars=500, internal=True),
    Field("internal_note", "text",
          "Internal note. Shown as owner_contact is: to the accounts that keep or analyse "
          "the plot.", label=("Internal note", "Interna opomba", "Interne Notiz"),
          importable=True, editable=True, max_chars=2000, internal=True),
    *_geometry("the plot's centroid",
               "CSV/XLSX only: the boundary as WKT in CRS84; beside lon and lat, it imports "
               "back without --crs."),
))


def _zone_text(name: str, description: str, max_chars: int) -> Field:
    return Field(name, "text", description, importable=True, editable=True, max_chars=max_chars)


ZONES = Collection("zones", "zone", "Business zones, one row per zone.", (
    Field("id", "integer", "The platform's zone id."),
    Field("name", "text", "Zone name, unique within its municipality.",
          importable=True, required=True),
    Field("municipality", "text", "Municipality name.", importable=True, export_sql="m.name",
          import_doc="name, code or id; default: the municipality it lies in"),
    Field("municipality_code", "text",
          "Municipality code (občina code or Gemeindekennziffer).", export_sql="m.code"),
    Field("region_code", "text", "NUTS-3 style region code.", export_sql="r.code"),
    Field("country", "text", "ISO 3166 country code.", export_sql="m.country"),
    Field("kind", "enum", "Kind of zone.", vocabulary=v.ZONE_KIND,
          importable=True, editable=True, clearable=False),
    Field("lifecycle", "enum", "Stage of development.", vocabulary=v.ZONE_LIFECYCLE,
          importable=True, editable=True, clearable=False),
    Field("allowed_uses", "uses", "Uses zoning allows, separated by ';'.", vocabulary=v.USE,
          importable=True, editable=True),
    Field("brownfield", "bool", "Previously developed land.",
          importable=True, editable=True, clearable=False),
    Field("area_m2", "number", "Area of the boundary (EPSG:3035).", unit="m²",
          export_sql="round(z.area_m2::numeric, 1)::float"),
    Field("power_mw", "number", "Electrical power capacity of the zone.", unit="MW",
          minimum=0, maximum=MAX_POWER_MW, importable=True, editable=True),
    Field("gas", "bool", "Natural gas connection.", importable=True, editable=True),
    Field("water", "bool", "Water supply.", importable=True, editable=True),
    Field("sewage", "enum", "Sewage disposal.", vocabulary=v.SEWAGE,
          importable=True, editable=True),
    Field("broadband", "enum", "Broadband.", vocabulary=v.BROADBAND,
          importable=True, editable=True),
    Field("rail_siding", "bool", "Rail siding in the zone.", importable=True, editable=True),
    Field("district_heating", "bool", "District heating.", importable=True, editable=True),
    _zone_text("manager_name", "Zone manager.", 200),
    _zone_text("manager_email", "Zone manager's e-mail.", 200),
    _zone_text("manager_phone", "Zone manager's phone.", 50),
    _zone_text("description_en", "Description in English.", 5000),
    _zone_text("description_sl", "Description in Slovenian.", 5000),
    _zone_text("description_de", "Description in German.", 5000),
    _zone_text("property_sheet_url", "Link to the zone's property sheet.", 500),
    Field("last_verified", "date", "When the zone's facts were last confirmed.",
          importable=True),
    Field("plot_count", "integer", "Plots in the zone (not retired).",
          export_sql="coalesce(zs.plot_count, 0)"),
    Field("available_area_m2", "number", "Area of available plots.", unit="m²",
          export_sql="round(coalesce(zs.available_area_m2, 0), 1)::float"),
    Field("version", "integer", "Version of the zone's record."),
    *_geometry("the centroid",
               "CSV/XLSX only: the boundary as WKT in CRS84 (import with --crs EPSG:4326)."),
    # Where the zone's facts come from: kept and edited, not exported.
    Field("facts_source", "text", "Where the zone's facts come from.", exported=False,
          editable=True, max_chars=500),
))

COLLECTIONS: dict[str, Collection] = {c.name: c for c in (PLOTS, ZONES)}
