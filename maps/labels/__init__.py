"""Page labels of each family of pages (workspace, dashboard, ...), one module per family.

Each module holds ``LABELS = {"en": {...}, "sl": {...}, "de": {...}}``; ``maps.i18n``
merges them into its own catalogue, and a key may be defined only once across them all
(``tests/test_labels.py``).
"""

from __future__ import annotations

import importlib
import pkgutil


def catalogues() -> dict[str, dict[str, dict[str, str]]]:
    """Every family's labels, by module name."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[info.name] = module.LABELS
    return found
