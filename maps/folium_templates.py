"""Render folium maps without compiling the same Jinja templates again on every page.

folium renders each map element to a string and wraps that string in a new
``branca.element.Element``, which compiles it as a Jinja template (lexing, parsing and
Python ``compile``) only to render it back unchanged; some folium elements also compile
their constant templates inside ``render``. At a plot page's few hundred elements that was
about half the CPU time of the page (measured with ``bench/load``: 78 ms of CPU per plot
page before). Two changes, the same HTML:

- an element made from text with no Jinja syntax in it keeps the text as it is, with the
  line endings Jinja's own rendering gives it (newlines made ``\\n``, one trailing newline
  dropped);
- folium's template environment compiles each distinct source once (Jinja templates are
  immutable after compilation and safe to share across threads).

``tests/test_folium_templates.py`` renders pages both ways and compares them byte for byte.
"""

from __future__ import annotations

import re
from functools import lru_cache

import branca.element
import folium.template
from jinja2.lexer import newline_re

#: What makes text a Jinja template under the default delimiters: ``{{``, ``{%``, ``{#``.
_JINJA_SYNTAX = re.compile(r"\{[{%#]")


class VerbatimTemplate:
    """Text that renders as itself, exactly as a Jinja template of that text would."""

    __slots__ = ("text",)

    def __init__(self, source: str) -> None:
        lines = newline_re.split(source)[::2]
        if lines and lines[-1] == "":  # Jinja drops one trailing newline (keep_trailing_newline)
            del lines[-1]
        self.text = "\n".join(lines)

    def render(self, *args: object, **kwargs: object) -> str:
        return self.text


_ORIGINAL_ELEMENT_INIT = branca.element.Element.__init__


def _element_init(self, template: str | None = None, template_name: str | None = None) -> None:
    if template is None or _JINJA_SYNTAX.search(template):
        _ORIGINAL_ELEMENT_INIT(self, template, template_name)
        return
    _ORIGINAL_ELEMENT_INIT(self, None, template_name)
    self._template_str = template
    self._template = VerbatimTemplate(template)


_ORIGINAL_FROM_STRING = folium.template.Environment.from_string


@lru_cache(maxsize=512)
def _compiled(environment, source: str, template_class):
    return _ORIGINAL_FROM_STRING(environment, source, template_class=template_class)


def _from_string(self, source, globals=None, template_class=None):
    if globals or not isinstance(source, str):
        return _ORIGINAL_FROM_STRING(self, source, globals, template_class)
    return _compiled(self, source, template_class)


def install() -> None:
    """Use the fast paths (idempotent); ``uninstall`` restores folium's own, for the test
    that compares both."""
    branca.element.Element.__init__ = _element_init
    folium.template.Environment.from_string = _from_string


def uninstall() -> None:
    branca.element.Element.__init__ = _ORIGINAL_ELEMENT_INIT
    folium.template.Environment.from_string = _ORIGINAL_FROM_STRING
