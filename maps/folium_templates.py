"""Render folium maps without compiling the same Jinja templates again on every page, and
without repeating the same small work once per feature.

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

A plot page's map still cost 21 ms of CPU at a million plots (its zone's 400 plots, each
named in the style and highlight functions' ``switch``): under 32 clients that was most of
the server's time in the load benchmark's mix. Three more fast paths, the same HTML:

- ``|tojson`` of an int (each feature id in those switches) is the int's digits, without
  Jinja's general JSON dumping;
- a layer's style and highlight maps look up the JSON key of a style they met before
  instead of dumping it again for every feature (most features share a few styles);
- an element's JavaScript name (``get_name``) converts its class name once.

``tests/test_folium_templates.py`` renders pages both ways and compares them byte for byte.

One change of meaning, for safety: what a map element renders (its header, HTML and
script, which hold the data: names, cadastral references) is text, and stays text. branca
wrapped it in a new ``Element`` that compiles it as a Jinja template and renders it again,
so a plot's reference "{{ 7*7 }}" was shown as 49, and whatever Jinja can reach from an
element's attributes could be run on the server by anyone who may name a plot.
"""

from __future__ import annotations

import functools
import operator
import re
from functools import lru_cache

import branca.element
import folium.features
import folium.template
from jinja2 import pass_eval_context
from jinja2.lexer import newline_re
from markupsafe import Markup

#: What makes text a Jinja template under the default delimiters: ``{{``, ``{%``, ``{#``.
_JINJA_SYNTAX = re.compile(r"\{[{%#]")


class VerbatimTemplate:
    """Text that renders as itself, exactly as a Jinja template of that text would."""

    __slots__ = ("text",)

    def __init__(self, source: str) -> None:
        # Jinja reads \r\n, \r and \n as line ends; without \r, a plain split is the same.
        lines = newline_re.split(source)[::2] if "\r" in source else source.split("\n")
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
_ORIGINAL_MACRO_RENDER = branca.element.MacroElement.render


class RenderedText(branca.element.Element):
    """An element's rendered part: kept as the text it is, never read as a template again."""

    def __init__(self, text: str) -> None:
        _ORIGINAL_ELEMENT_INIT(self, None)
        self._template_str = text
        self._template = VerbatimTemplate(text)


def _macro_render(self, **kwargs) -> None:
    """``branca.element.MacroElement.render``, each part added as :class:`RenderedText`."""
    figure = self.get_root()
    assert isinstance(figure, branca.element.Figure), (
        "You cannot render this Element if it is not in a Figure.")
    for part, target in (("header", figure.header), ("html", figure.html),
                         ("script", figure.script)):
        macro = self._template.module.__dict__.get(part, None)
        if macro is not None:
            target.add_child(RenderedText(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


@lru_cache(maxsize=512)
def _compiled(environment, source: str, template_class):
    return _ORIGINAL_FROM_STRING(environment, source, template_class=template_class)


def _from_string(self, source, globals=None, template_class=None):
    if globals or not isinstance(source, str):
        return _ORIGINAL_FROM_STRING(self, source, globals, template_class)
    return _compiled(self, source, template_class)


#: folium's template environment (one, shared by every folium template and ours).
_ENVIRONMENT = folium.GeoJson._template.environment
_ORIGINAL_TOJSON = _ENVIRONMENT.filters["tojson"]


@pass_eval_context
def _tojson(eval_ctx, value, indent=None):
    # json.dumps of an int is its decimal digits, and digits need no HTML escaping.
    if type(value) is int and indent is None:
        return Markup(str(value))
    return _ORIGINAL_TOJSON(eval_ctx, value, indent)


_ORIGINAL_CREATE_MAPPING = folium.features.GeoJsonStyleMapper._create_mapping


def _create_mapping(self, func, switch):
    """``GeoJsonStyleMapper._create_mapping`` with each distinct style's key made once."""
    mapping: dict = {}
    keys: dict = {}
    # A style function that hands out the same dict for the same style (maps/plot_page.py's
    # do) is answered by the dict's identity, while it equals what it held when its key was
    # made; the dicts are held here, so no id is reused.
    by_identity: dict[int, tuple[dict, dict, str]] = {}
    fields = self.feature_identifier.split(".")[1:]
    for feature in self.data["features"]:
        content = func(feature)
        known = by_identity.get(id(content))
        if known is not None and known[1] == content:
            feature_id = functools.reduce(operator.getitem, fields, feature)
            assert isinstance(feature_id, (str, int))
            mapping.setdefault(known[2], []).append(feature_id)
            continue
        if switch == "style":
            for key, value in content.items():
                if isinstance(value, branca.element.MacroElement):
                    if value._parent is None:
                        value._parent = self.geojson_obj
                        value.render()
                    content[key] = "{{'" + value.get_name() + "'}}"
        try:
            # With each value's type: 1, 1.0 and True are equal keys but dump differently.
            seen = tuple((k, type(v), v) for k, v in content.items())
            key = keys.get(seen)
            if key is None:
                key = keys[seen] = self._to_key(content)
        except TypeError:  # a value that cannot be a dict key (a list): dumped each time
            key = self._to_key(content)
        by_identity[id(content)] = (content, dict(content), key)
        feature_id = functools.reduce(operator.getitem, fields, feature)
        assert isinstance(feature_id, (str, int))
        mapping.setdefault(key, []).append(feature_id)
    self._set_default_key(mapping)
    return mapping


_ORIGINAL_CAMELIFY = branca.element._camelify
_camelify = lru_cache(maxsize=256)(_ORIGINAL_CAMELIFY)


def install() -> None:
    """Use the fast paths (idempotent); ``uninstall`` restores folium's own, for the test
    that compares both."""
    branca.element.Element.__init__ = _element_init
    folium.template.Environment.from_string = _from_string
    branca.element.MacroElement.render = _macro_render
    _ENVIRONMENT.filters["tojson"] = _tojson
    folium.features.GeoJsonStyleMapper._create_mapping = _create_mapping
    branca.element._camelify = _camelify


def uninstall() -> None:
    branca.element.Element.__init__ = _ORIGINAL_ELEMENT_INIT
    folium.template.Environment.from_string = _ORIGINAL_FROM_STRING
    branca.element.MacroElement.render = _ORIGINAL_MACRO_RENDER
    _ENVIRONMENT.filters["tojson"] = _ORIGINAL_TOJSON
    folium.features.GeoJsonStyleMapper._create_mapping = _ORIGINAL_CREATE_MAPPING
    branca.element._camelify = _ORIGINAL_CAMELIFY
