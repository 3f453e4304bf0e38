"""Labels of splitting and merging plots (maps/lineage_page.py) and of the lineage that
plots' histories show (maps/workspace_page.py)."""

from __future__ import annotations

LABELS = {
    "en": {
        "lineage_split_title": "Split plot {ref}",
        "lineage_split_explain": "Draw a line across the plot ({area}): click on the map "
                                 "where it begins, at each bend and where it ends, beginning "
                                 "and ending outside the plot. Or upload the line as a file. "
                                 "The preview shows the parts and their areas; nothing is "
                                 "saved until you split.",
        "lineage_map_label": "Map of the plot: click to draw the split line",
        "lineage_draw_hint": "Click on the map to add the line's points.",
        "lineage_points": "Points",
        "lineage_undo_point": "Remove last point",
        "lineage_clear_line": "Clear the line",
        "lineage_line_file": "Or a line file (GeoJSON, GeoPackage)",
        "lineage_line_file_hint": "One line, in the file's own coordinate system; it replaces "
                                  "a drawn line.",
        "lineage_preview": "Preview the parts",
        "lineage_parts": "Parts: {n}",
        "lineage_part": "Part",
        "lineage_ref_of": "Cadastral reference of part {n}",
        "lineage_reason": "Reason (kept in the history)",
        "lineage_split_save": "Split into {n} plots",
        "lineage_merge_link": "Merge with neighbouring plots",
        "lineage_merge_title": "Merge plot {ref} with its neighbours",
        "lineage_merge_explain": "Tick the plots of zone {zone} to merge into one: each must "
                                 "share an edge with another, and all have the same status. "
                                 "The new plot takes over what they agree on.",
        "lineage_merge_caption": "The zone's plots, those bordering this plot first",
        "lineage_merge_tick": "Merge",
        "lineage_borders": "Borders this plot",
        "lineage_new_ref": "Cadastral reference of the merged plot",
        "lineage_merge_save": "Merge the ticked plots",
        "lineage_split_link": "Split this plot",
        "lineage_problem": "{field}: {reason}",
        "lineage_field_line": "Line",
        "lineage_field_line_file": "Line file",
        "lineage_field_cadastral_refs": "Cadastral references",
        "lineage_field_cadastral_ref": "Cadastral reference",
        "lineage_field_note": "Reason",
        "lineage_field_plots": "Plots",
        "lineage_split_into": "Split into plots",
        "lineage_split_from": "Split from plot",
        "lineage_merged_into": "Merged into plot",
        "lineage_merged_from": "Merged from plots",
    },
    "sl": {
        "lineage_split_title": "Delitev zemljišča {ref}",
        "lineage_split_explain": "Narišite črto čez zemljišče ({area}): kliknite na zemljevid, "
                                 "kjer se začne, na vsakem lomu in kjer se konča; začeti in "
                                 "končati se mora zunaj zemljišča. Lahko pa črto naložite kot "
                                 "datoteko. Predogled pokaže dele in njihove površine; nič ni "
                                 "shranjeno, dokler zemljišča ne razdelite.",
        "lineage_map_label": "Zemljevid zemljišča: s kliki narišite črto delitve",
        "lineage_draw_hint": "S klikom na zemljevid dodajte točke črte.",
        "lineage_points": "Točke",
        "lineage_undo_point": "Odstrani zadnjo točko",
        "lineage_clear_line": "Izbriši črto",
        "lineage_line_file": "Ali datoteka s črto (GeoJSON, GeoPackage)",
        "lineage_line_file_hint": "Ena črta v koordinatnem sistemu datoteke; nadomesti "
                                  "narisano črto.",
        "lineage_preview": "Predogled delov",
        "lineage_parts": "Deli: {n}",
        "lineage_part": "Del",
        "lineage_ref_of": "Parcelna številka dela {n}",
        "lineage_reason": "Razlog (ostane v zgodovini)",
        "lineage_split_save": "Razdeli na {n} zemljišča",
        "lineage_merge_link": "Združi s sosednjimi zemljišči",
        "lineage_merge_title": "Združitev zemljišča {ref} s sosednjimi",
        "lineage_merge_explain": "Označite zemljišča cone {zone}, ki jih želite združiti v eno: "
                                 "vsako mora z drugim mejiti po robu, vsa morajo imeti enako "
                                 "razpoložljivost. Novo zemljišče prevzame podatke, v katerih "
                                 "se ujemajo.",
        "lineage_merge_caption": "Zemljišča cone, najprej tista, ki mejijo na to zemljišče",
        "lineage_merge_tick": "Združi",
        "lineage_borders": "Meji na to zemljišče",
        "lineage_new_ref": "Parcelna številka združenega zemljišča",
        "lineage_merge_save": "Združi označena zemljišča",
        "lineage_split_link": "Razdeli to zemljišče",
        "lineage_problem": "{field}: {reason}",
        "lineage_field_line": "Črta",
        "lineage_field_line_file": "Datoteka s črto",
        "lineage_field_cadastral_refs": "Parcelne številke",
        "lineage_field_cadastral_ref": "Parcelna številka",
        "lineage_field_note": "Razlog",
        "lineage_field_plots": "Zemljišča",
        "lineage_split_into": "Razdeljeno na zemljišča",
        "lineage_split_from": "Nastalo z delitvijo zemljišča",
        "lineage_merged_into": "Združeno v zemljišče",
        "lineage_merged_from": "Nastalo z združitvijo zemljišč",
    },
    "de": {
        "lineage_split_title": "Grundstück {ref} teilen",
        "lineage_split_explain": "Zeichnen Sie eine Linie quer über das Grundstück ({area}): "
                                 "Klicken Sie auf der Karte, wo sie beginnt, an jedem Knick und "
                                 "wo sie endet – Anfang und Ende außerhalb des Grundstücks. "
                                 "Oder laden Sie die Linie als Datei hoch. Die Vorschau zeigt "
                                 "die Teile und ihre Flächen; gespeichert wird erst beim Teilen.",
        "lineage_map_label": "Karte des Grundstücks: Teilungslinie per Klick zeichnen",
        "lineage_draw_hint": "Klicken Sie auf die Karte, um Punkte der Linie zu setzen.",
        "lineage_points": "Punkte",
        "lineage_undo_point": "Letzten Punkt entfernen",
        "lineage_clear_line": "Linie löschen",
        "lineage_line_file": "Oder eine Liniendatei (GeoJSON, GeoPackage)",
        "lineage_line_file_hint": "Eine Linie im Koordinatensystem der Datei; sie ersetzt eine "
                                  "gezeichnete Linie.",
        "lineage_preview": "Teile anzeigen",
        "lineage_parts": "Teile: {n}",
        "lineage_part": "Teil",
        "lineage_ref_of": "Grundstücksnummer von Teil {n}",
        "lineage_reason": "Grund (bleibt in der Historie)",
        "lineage_split_save": "In {n} Grundstücke teilen",
        "lineage_merge_link": "Mit Nachbargrundstücken zusammenlegen",
        "lineage_merge_title": "Grundstück {ref} mit Nachbarn zusammenlegen",
        "lineage_merge_explain": "Wählen Sie die Grundstücke der Zone {zone}, die zu einem "
                                 "zusammengelegt werden: Jedes muss an ein anderes entlang "
                                 "einer Kante grenzen, alle haben denselben Status. Das neue "
                                 "Grundstück übernimmt, worin sie übereinstimmen.",
        "lineage_merge_caption": "Die Grundstücke der Zone, die an dieses grenzenden zuerst",
        "lineage_merge_tick": "Zusammenlegen",
        "lineage_borders": "Grenzt an dieses Grundstück",
        "lineage_new_ref": "Grundstücksnummer des zusammengelegten Grundstücks",
        "lineage_merge_save": "Gewählte Grundstücke zusammenlegen",
        "lineage_split_link": "Dieses Grundstück teilen",
        "lineage_problem": "{field}: {reason}",
        "lineage_field_line": "Linie",
        "lineage_field_line_file": "Liniendatei",
        "lineage_field_cadastral_refs": "Grundstücksnummern",
        "lineage_field_cadastral_ref": "Grundstücksnummer",
        "lineage_field_note": "Grund",
        "lineage_field_plots": "Grundstücke",
        "lineage_split_into": "Geteilt in Grundstücke",
        "lineage_split_from": "Durch Teilung entstanden aus",
        "lineage_merged_into": "Zusammengelegt zu Grundstück",
        "lineage_merged_from": "Zusammengelegt aus",
    },
}
