"""An import's stages in PostgreSQL, in the order they run, all in the caller's one
transaction, so that an import either lands whole or, refused or killed, leaves the
database as it was:

1. ``workspace``: the import's own tables, and the file's rows copied in by COPY;
2. ``validation``: every row checked set-based in PostGIS, every problem with its row;
3. ``loading``: the good rows upserted by natural key, with ``audit`` events and, for a
   first load of many plots, the indexes rebuilt after it (``bulk_rebuild``).

This module names each stage's entry points where the importer has always found them.
"""

from __future__ import annotations

from locations.imports.loading import COLUMN_CASTS, LOAD_STEPS, LoadCounts, load
from locations.imports.validation import (
    BEYOND_LONLAT,
    EXTENT_MARGIN_M,
    LIES_IN_NONE,
    NO_ZONE,
    OUTSIDE_EXTENT,
    Scope,
    problems,
    resolve,
)
from locations.imports.workspace import (
    Progress,
    add_problems,
    close_workspace,
    open_workspace,
    stage,
    work_table,
)

__all__ = ["BEYOND_LONLAT", "COLUMN_CASTS", "EXTENT_MARGIN_M", "LIES_IN_NONE", "LOAD_STEPS",
           "NO_ZONE", "OUTSIDE_EXTENT", "LoadCounts", "Progress", "Scope", "add_problems",
           "close_workspace", "load", "open_workspace", "problems", "resolve", "stage",
           "work_table"]
