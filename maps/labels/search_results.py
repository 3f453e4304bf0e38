"""Labels of the search results' table pager: the page lists its first rows, the rest on demand."""

LABELS = {
    "en": {
        "results_rows_shown": "rows 1–{shown} of {n} in the table",
        "results_more_rows": "Show all {n} rows",
    },
    "sl": {
        "results_rows_shown": "v tabeli vrstice 1–{shown} od {n}",
        "results_more_rows": "Pokaži vseh {n} vrstic",
    },
    "de": {
        "results_rows_shown": "Zeilen 1–{shown} von {n} in der Tabelle",
        "results_more_rows": "Alle {n} Zeilen zeigen",
    },
}
