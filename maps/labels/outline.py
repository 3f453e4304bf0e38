"""Labels of replacing a plot's outline from a file (maps/outline_page.py)."""

from __future__ import annotations

LABELS = {
    "en": {
        "outline_title": "Replace the outline of plot {ref}",
        "outline_link": "Replace the outline",
        "outline_explain": "Upload the new outline as a file: a GeoPackage, a zipped Shapefile "
                           "or a GeoJSON holding one polygon, in any coordinate system the file "
                           "declares. The preview shows the current and the new outline and "
                           "both areas; nothing is saved until you replace the outline.",
        "outline_map_label": "Map of the plot: the current outline (solid) and the new one (dashed)",
        "outline_areas": "Areas of the current and the new outline",
        "outline_which": "Outline",
        "outline_current": "Current outline",
        "outline_new": "New outline (dashed)",
        "outline_file": "File with the new outline",
        "outline_file_hint": "GeoPackage (.gpkg), zipped Shapefile (.zip) or GeoJSON (.geojson, .json)",
        "outline_preview": "Preview",
        "outline_reason": "Reason (kept in the history)",
        "outline_save": "Replace the outline",
        "outline_problem": "{field}: {reason}",
        "outline_field_outline_file": "File",
        "outline_field_note": "Reason",
    },
    "sl": {
        "outline_title": "Zamenjava oboda zemljišča {ref}",
        "outline_link": "Zamenjaj obod",
        "outline_explain": "Naložite novi obod kot datoteko: GeoPackage, stisnjen Shapefile (zip) "
                           "ali GeoJSON z enim poligonom, v katerem koli koordinatnem sistemu, ki "
                           "ga datoteka navaja. Predogled pokaže sedanji in novi obod ter obe "
                           "površini; nič se ne shrani, dokler oboda ne zamenjate.",
        "outline_map_label": "Zemljevid zemljišča: sedanji obod (polna črta) in novi (črtkano)",
        "outline_areas": "Površini sedanjega in novega oboda",
        "outline_which": "Obod",
        "outline_current": "Sedanji obod",
        "outline_new": "Novi obod (črtkano)",
        "outline_file": "Datoteka z novim obodom",
        "outline_file_hint": "GeoPackage (.gpkg), stisnjen Shapefile (.zip) ali GeoJSON (.geojson, .json)",
        "outline_preview": "Predogled",
        "outline_reason": "Razlog (ostane v zgodovini)",
        "outline_save": "Zamenjaj obod",
        "outline_problem": "{field}: {reason}",
        "outline_field_outline_file": "Datoteka",
        "outline_field_note": "Razlog",
    },
    "de": {
        "outline_title": "Umriss des Grundstücks {ref} ersetzen",
        "outline_link": "Umriss ersetzen",
        "outline_explain": "Laden Sie den neuen Umriss als Datei hoch: ein GeoPackage, ein "
                           "gezipptes Shapefile oder ein GeoJSON mit einem Polygon, in jedem "
                           "Koordinatensystem, das die Datei angibt. Die Vorschau zeigt den "
                           "bisherigen und den neuen Umriss mit beiden Flächen; gespeichert wird "
                           "erst, wenn Sie den Umriss ersetzen.",
        "outline_map_label": "Karte des Grundstücks: bisheriger Umriss (durchgezogen) und neuer (gestrichelt)",
        "outline_areas": "Flächen des bisherigen und des neuen Umrisses",
        "outline_which": "Umriss",
        "outline_current": "Bisheriger Umriss",
        "outline_new": "Neuer Umriss (gestrichelt)",
        "outline_file": "Datei mit dem neuen Umriss",
        "outline_file_hint": "GeoPackage (.gpkg), gezipptes Shapefile (.zip) oder GeoJSON (.geojson, .json)",
        "outline_preview": "Vorschau",
        "outline_reason": "Grund (bleibt in der Historie)",
        "outline_save": "Umriss ersetzen",
        "outline_problem": "{field}: {reason}",
        "outline_field_outline_file": "Datei",
        "outline_field_note": "Grund",
    },
}
