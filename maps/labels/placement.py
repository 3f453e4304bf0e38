"""Labels of an import's report on boundaries: what new boundaries change, zones and plots across
municipality borders, seats outside their municipality."""

LABELS = {
    "en": {
        "boundaries_kind_zone": "zone",
        "boundaries_kind_plot": "plot",
        "boundaries_kind_municipality": "municipality",
        "boundaries_title": "What the new boundaries change",
        "boundaries_renamed": "{code}: named {old} here, {new} in the file; renamed.",
        "boundaries_rename_refused": "{code}: named {old} here, {new} in the file; not renamed (codes are matched, not names).",
        "boundaries_moved": "Moved by position: {what}, from {old} to {new}.",
        "boundaries_missing": "{code} {name} lies within the file's area but is not in it (merged or renamed?): kept, not deleted.",
        "boundaries_overlap": "{code} {name} overlaps {other} by {km2} km² ({share} of the smaller).",
        "boundaries_area": "{code} {name}: official area {official} km², {computed} km² from the boundary ({share}).",
        "placement_title": "Across municipality borders",
        "placement_hint": "Nothing here refuses the import: a zone stays with its own "
                          "municipality and is shared with the others; the editors of the "
                          "municipality holding most of a plot keep it.",
        "placement_zones": "Business zones lying in several municipalities ({n})",
        "placement_plots": "Plots lying across municipality borders ({n})",
        "placement_what": "Zone or plot",
        "placement_shares": "Share of its area in each municipality",
        "placement_kept_by": "Kept by",
        "placement_new": "newly shared",
        "placement_more_plots": "… and {n} more plots.",
        "placement_seats": "Seats outside their municipality ({n})",
        "placement_seat_outside": "The seat of {name} ({code}) lies {distance} m outside its "
                                  "boundary.",
    },
    "sl": {
        "boundaries_kind_zone": "cona",
        "boundaries_kind_plot": "zemljišče",
        "boundaries_kind_municipality": "občina",
        "boundaries_title": "Kaj spremenijo nove meje",
        "boundaries_renamed": "{code}: tu {old}, v datoteki {new}; preimenovano.",
        "boundaries_rename_refused": "{code}: tu {old}, v datoteki {new}; ni preimenovano (ujemajo se šifre, ne imena).",
        "boundaries_moved": "Premaknjeno po legi: {what}, iz {old} v {new}.",
        "boundaries_missing": "{code} {name} leži na območju datoteke, a ga v njej ni (združeno ali preimenovano?): ohranjeno, ne izbrisano.",
        "boundaries_overlap": "{code} {name} se prekriva z {other} na {km2} km² ({share} manjšega).",
        "boundaries_area": "{code} {name}: uradna površina {official} km², po meji {computed} km² ({share}).",
        "placement_title": "Čez meje občin",
        "placement_hint": "Nič od tega ne zavrne uvoza: cona ostane pri svoji občini in si "
                          "jo deli z drugimi; zemljišče urejajo uredniki občine, v kateri "
                          "leži njegov večji del.",
        "placement_zones": "Poslovne cone, ki ležijo v več občinah ({n})",
        "placement_plots": "Zemljišča čez meje občin ({n})",
        "placement_what": "Cona ali zemljišče",
        "placement_shares": "Delež površine v posamezni občini",
        "placement_kept_by": "Ureja",
        "placement_new": "na novo deljena",
        "placement_more_plots": "… in še {n} zemljišč.",
        "placement_seats": "Sedeži zunaj svoje občine ({n})",
        "placement_seat_outside": "Sedež občine {name} ({code}) leži {distance} m zunaj "
                                  "njene meje.",
    },
    "de": {
        "boundaries_kind_zone": "Zone",
        "boundaries_kind_plot": "Grundstück",
        "boundaries_kind_municipality": "Gemeinde",
        "boundaries_title": "Was die neuen Grenzen ändern",
        "boundaries_renamed": "{code}: hier {old}, in der Datei {new}; umbenannt.",
        "boundaries_rename_refused": "{code}: hier {old}, in der Datei {new}; nicht umbenannt (verglichen werden Kennziffern, nicht Namen).",
        "boundaries_moved": "Nach Lage verschoben: {what}, von {old} nach {new}.",
        "boundaries_missing": "{code} {name} liegt im Gebiet der Datei, fehlt aber in ihr (zusammengelegt oder umbenannt?): behalten, nicht gelöscht.",
        "boundaries_overlap": "{code} {name} überlappt {other} um {km2} km² ({share} der kleineren).",
        "boundaries_area": "{code} {name}: amtliche Fläche {official} km², {computed} km² aus der Grenze ({share}).",
        "placement_title": "Über Gemeindegrenzen hinweg",
        "placement_hint": "Nichts davon lehnt den Import ab: Eine Zone bleibt bei ihrer "
                          "Gemeinde und wird mit den anderen geteilt; ein Grundstück "
                          "bearbeitet die Gemeinde, in der sein größter Teil liegt.",
        "placement_zones": "Betriebsgebiete in mehreren Gemeinden ({n})",
        "placement_plots": "Grundstücke über Gemeindegrenzen hinweg ({n})",
        "placement_what": "Zone oder Grundstück",
        "placement_shares": "Flächenanteil je Gemeinde",
        "placement_kept_by": "Bearbeitet von",
        "placement_new": "neu geteilt",
        "placement_more_plots": "… und {n} weitere Grundstücke.",
        "placement_seats": "Gemeindesitze außerhalb ihrer Gemeinde ({n})",
        "placement_seat_outside": "Der Sitz von {name} ({code}) liegt {distance} m außerhalb "
                                  "ihrer Grenze.",
    },
}
