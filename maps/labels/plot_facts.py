"""Labels of plot facts added after the first catalogue (building height)."""

LABELS = {
    "en": {
        "building_height": "Building height allowed",
        "filter_min_building_height_m": "Building height allowed at least (m)",
    },
    "sl": {
        "building_height": "Dovoljena višina objektov",
        "filter_min_building_height_m": "Dovoljena višina objektov vsaj (m)",
    },
    "de": {
        "building_height": "Zulässige Bauhöhe",
        "filter_min_building_height_m": "Zulässige Bauhöhe mindestens (m)",
    },
}
