"""Labels of plot facts and downloads added after the first catalogue (building height, the shortlist's PDF)."""

LABELS = {
    "en": {
        "building_height": "Building height allowed",
        "filter_min_building_height_m": "Building height allowed at least (m)",
        "shortlist_pdf": "Download the exposés (PDF)",
    },
    "sl": {
        "building_height": "Dovoljena višina objektov",
        "filter_min_building_height_m": "Dovoljena višina objektov vsaj (m)",
        "shortlist_pdf": "Prenesi eksposeje (PDF)",
    },
    "de": {
        "building_height": "Zulässige Bauhöhe",
        "filter_min_building_height_m": "Zulässige Bauhöhe mindestens (m)",
        "shortlist_pdf": "Exposés herunterladen (PDF)",
    },
}
