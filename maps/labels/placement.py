"""Labels of an import's report on zones and plots across municipality borders, and seats outside."""

LABELS = {
    "en": {
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
