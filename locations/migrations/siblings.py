"""Load another migration's module, for a migration that builds on its SQL.

Revision files start with a digit, so they cannot be imported by name; a later
migration that keeps an earlier one's function frame or queries (0013, 0015)
loads the file beside it instead of copying the text.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).resolve().parent / "versions"


def load_migration(filename: str) -> ModuleType:
    """The module of ``versions/filename``."""
    spec = importlib.util.spec_from_file_location(f"migration_{Path(filename).stem}",
                                                  VERSIONS / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
