"""Labels for a write PostgreSQL cancelled for another's at the same moment
(``locations.transactions``): the form comes back as it was sent, nothing saved."""

LABELS = {
    "en": {
        "ws_saved_at_once": "Another change to this plot or its zone was being saved at the "
                            "same moment, so yours could not be saved. Nothing was changed: "
                            "please save again.",
    },
    "sl": {
        "ws_saved_at_once": "V istem trenutku se je shranjevala druga sprememba tega zemljišča "
                            "ali njegove cone, zato vaše ni bilo mogoče shraniti. Nič ni bilo "
                            "spremenjeno: prosimo, shranite znova.",
    },
    "de": {
        "ws_saved_at_once": "Im selben Moment wurde eine andere Änderung an diesem Grundstück "
                            "oder seiner Zone gespeichert, deshalb konnte Ihre nicht gespeichert "
                            "werden. Es wurde nichts geändert: Bitte speichern Sie erneut.",
    },
}
