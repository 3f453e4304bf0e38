"""Imports run one way: cli -> api -> maps -> locations (and api -> locations). The core
imports none of the layers above it, the pages never the API, and nothing imports the
command line: a module that reached upwards, even inside a function or through importlib,
fails here by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Each package and the packages above it, which it may not import.
ABOVE = {"locations": {"maps", "api", "cli"}, "maps": {"api", "cli"}, "api": {"cli"}}
#: The command line's former address (``python -m locations.cli``), an entry point that
#: nothing in the core imports.
ENTRY_POINTS = {Path("locations/cli.py")}


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_module_imports_a_layer_above_its_own(package):
    upward = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative in ENTRY_POINTS or "node_modules" in relative.parts:
            continue
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if name.split(".")[0] in ABOVE[package]:
                upward.append(f"{relative} imports {name}")
    assert not upward
