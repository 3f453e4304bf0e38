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

A layer's data may also arrive written (:class:`WrittenJson`): the JSON text ``|tojson``
would make of it, spliced from the outlines PostGIS wrote, so that a plot page's 400
outlines are neither parsed into Python nor dumped again (7 of its 30 ms of CPU).

``tests/test_folium_templates.py`` renders pages both ways and compares them byte for byte.

One change of meaning, for safety: what a map element renders (its header, HTML and
script, which hold the data: names, cadastral references) is text, and stays text. branca
wrapped it in a new ``Element`` that compiles it as a Jinja template and renders it again,
so a plot's reference "{{ 7*7 }}" was shown as 49, and whatever Jinja can reach from an
element's attributes could be run on the server by anyone who may name a plot.
"""

from __future__ import annotations

import functools
import json
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


class WrittenJson(dict):
    """A layer's data as folium reads it in Python (its features' ids and properties, for
    the style maps and the tooltip's fields; no geometry) with ``text``, what Jinja's
    ``|tojson`` writes of the whole data, geometries included: the script carries ``text``.
    ``whole()`` parses it back (for the comparison with folium's own rendering)."""

    def __init__(self, content: dict, text: str) -> None:
        super().__init__(content)
        self.text = text

    def whole(self) -> object:
        return json.loads(self.text)  # the \u escapes of <, >, & and ' read back as themselves


#: An outline as ST_AsGeoJSON writes it, with its coordinates as json.dumps would write
#: them once parsed: digits only, no exponent, no trailing zero, no minus zero.
_POSTGIS_OUTLINE = re.compile(r'\{"type":"(Polygon|MultiPolygon)","coordinates":([-\d.,\[\]]+)\}\Z')
_NOT_AS_PYTHON_WRITES = re.compile(r"\.\d*0(?![\d.])|-0(?![\d.])|(?<![\d.])0\d")
#: Stands for each feature's geometry in the dumped text until the outline's text goes there.
_GEOMETRY_SLOT = "\0"
_SLOT_TEXT = json.dumps(_GEOMETRY_SLOT)


def _outline_text(written: str | None, checked: bool = False) -> str:
    """PostGIS's GeoJSON text of an outline as ``json.dumps(..., sort_keys=True)`` writes
    the parsed outline: keys sorted, ", " and ": " between items. Anything not a plain
    polygon's text is parsed and dumped. ``checked``: its numbers are known to be written
    as Python writes them."""
    if written is None:
        return "null"
    found = _POSTGIS_OUTLINE.match(written)
    if found is None or (not checked and _NOT_AS_PYTHON_WRITES.search(found[2])):
        return json.dumps(json.loads(written), sort_keys=True)
    return f'{{"coordinates": {found[2].replace(",", ", ")}, "type": "{found[1]}"}}'


def written_collection(features: list[dict], outlines: list[str | None]) -> WrittenJson:
    """A FeatureCollection of ``features`` (their geometry None: folium's Python side reads
    only ids and properties) with each one's outline from ``outlines`` (GeoJSON text from
    PostGIS's ST_AsGeoJSON, or None), written as Jinja's ``|tojson`` writes the whole: keys
    sorted, then ``<``, ``>``, ``&`` and ``'`` escaped."""
    if len(features) != len(outlines):
        raise ValueError("one outline per feature")
    collection = {"type": "FeatureCollection", "features": features}
    dumped = json.dumps({"type": "FeatureCollection",
                         "features": [{**feature, "geometry": _GEOMETRY_SLOT}
                                      for feature in features]}, sort_keys=True)
    pieces = dumped.split(_SLOT_TEXT)
    if len(pieces) == len(features) + 1:
        # Their numbers checked in one pass (the usual case), else each outline alone. The
        # separators keep any number from running on into the next outline's.
        checked = not _NOT_AS_PYTHON_WRITES.search("\n".join(o for o in outlines if o))
        text = pieces[0] + "".join(_outline_text(outline, checked) + piece
                                   for outline, piece in zip(outlines, pieces[1:], strict=True))
    else:  # a NUL in a text (PostgreSQL's text cannot hold one): every outline parsed
        text = json.dumps({"type": "FeatureCollection", "features": [
            {**feature, "geometry": None if outline is None else json.loads(outline)}
            for feature, outline in zip(features, outlines, strict=True)]}, sort_keys=True)
    return WrittenJson(collection, text.replace("<", "\\u003c").replace(">", "\\u003e")
                       .replace("&", "\\u0026").replace("'", "\\u0027"))


@pass_eval_context
def _tojson(eval_ctx, value, indent=None):
    # json.dumps of an int is its decimal digits, and digits need no HTML escaping.
    if type(value) is int and indent is None:
        return Markup(str(value))
    if type(value) is WrittenJson and indent is None:
        return Markup(value.text)
    return _ORIGINAL_TOJSON(eval_ctx, value, indent)


@pass_eval_context
def _tojson_of_whole(eval_ctx, value, indent=None):
    """Jinja's own ``|tojson``, of written data's whole: what the fast path must equal."""
    if isinstance(value, WrittenJson):
        value = value.whole()
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
    # Written data is parsed whole and dumped by Jinja, as folium would dump it.
    _ENVIRONMENT.filters["tojson"] = _tojson_of_whole
    folium.features.GeoJsonStyleMapper._create_mapping = _ORIGINAL_CREATE_MAPPING
    branca.element._camelify = _ORIGINAL_CAMELIFY
