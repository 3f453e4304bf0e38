"""The HTML views of the OGC API documents: plain pages, every value escaped by Jinja2."""

from __future__ import annotations

_BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} - OGC API</title>
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 80rem; }
table { border-collapse: collapse; font-size: .9rem; }
td, th { border: 1px solid #ccc; padding: .2rem .4rem; text-align: left; vertical-align: top; }
nav a { margin-right: .6rem; }
/* A wide table scrolls in its own box: a phone's page does not scroll sideways. */
.table-box { overflow-x: auto; }
</style>
</head>
<body>
<nav><a href="{{ root }}/?f=html">Landing page</a><a href="{{ root }}/collections?f=html">Collections</a><a href="{{ root }}/conformance?f=html">Conformance</a><a href="{{ root }}/">Investor start page</a></nav>
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
{% if links %}
<h2>Links</h2>
<ul>
{% for l in links %}
<li><a href="{{ l.href }}">{{ l.title or l.rel }}</a> ({{ l.rel }}, {{ l.type }})</li>
{% endfor %}
</ul>
{% endif %}
</body>
</html>
"""

_LANDING = """{% extends "base.html" %}
{% block content %}
<p>{{ description }}</p>
<p>GIS clients: open <code>{{ root }}/</code> as an OGC API - Features connection
(QGIS: Layer &rsaquo; Add WFS / OGC API - Features; GDAL: <code>OAPIF:{{ root }}/</code>).</p>
{% endblock %}
"""

_CONFORMANCE = """{% extends "base.html" %}
{% block content %}
<ul>
{% for c in classes %}<li>{{ c }}</li>
{% endfor %}
</ul>
{% endblock %}
"""

_COLLECTIONS = """{% extends "base.html" %}
{% block content %}
<table>
<tr><th>Collection</th><th>Description</th><th>Items</th></tr>
{% for c in collections %}
<tr><td><a href="{{ root }}/collections/{{ c.id }}?f=html">{{ c.title }}</a></td>
<td>{{ c.description }}</td>
<td><a href="{{ root }}/collections/{{ c.id }}/items?f=html">items</a></td></tr>
{% endfor %}
</table>
{% endblock %}
"""

_COLLECTION = """{% extends "base.html" %}
{% block content %}
<p>{{ collection.description }}</p>
<p><a href="{{ root }}/collections/{{ collection.id }}/items?f=html">Browse the items</a></p>
<table>
{% if collection.extent.spatial.bbox %}<tr><th>Extent (lon/lat)</th><td>{{ collection.extent.spatial.bbox[0] | join(", ") }}</td></tr>{% endif %}
{% if collection.extent.temporal %}<tr><th>Last verified</th><td>{{ collection.extent.temporal.interval[0] | join(" to ") }}</td></tr>{% endif %}
<tr><th>Storage CRS</th><td>{{ collection.storageCrs }}</td></tr>
<tr><th>CRS offered</th><td>{{ collection.crs | join(", ") }}</td></tr>
</table>
{% endblock %}
"""

_ITEMS = """{% extends "base.html" %}
{% block content %}
<p>{{ returned }} features{% if matched is not none %} of {{ matched }}{% endif %}.
{% if prev %}<a href="{{ prev }}">Previous page</a>{% endif %}
{% if next %}<a href="{{ next }}">Next page</a>{% endif %}</p>
<div class="table-box"><table>
<tr><th>id</th>{% for name in columns %}<th>{{ name }}</th>{% endfor %}</tr>
{% for f in features %}
<tr><td><a href="{{ root }}/collections/{{ collection_id }}/items/{{ f.id }}?f=html">{{ f.id }}</a></td>
{% for name in columns %}<td>{{ f.properties.get(name) | show }}</td>{% endfor %}</tr>
{% endfor %}
</table></div>
{% endblock %}
"""

_ITEM = """{% extends "base.html" %}
{% block content %}
<table>
<tr><th>geometry</th><td>{{ feature.geometry.type if feature.geometry else "" }}</td></tr>
{% for name, value in feature.properties.items() %}
<tr><th>{{ name }}</th><td>{{ value | show }}</td></tr>
{% endfor %}
</table>
{% endblock %}
"""

#: Template name -> source, for the DictLoader.
TEMPLATES = {"base.html": _BASE, "landing.html": _LANDING, "conformance.html": _CONFORMANCE,
             "collections.html": _COLLECTIONS, "collection.html": _COLLECTION,
             "items.html": _ITEMS, "item.html": _ITEM}
