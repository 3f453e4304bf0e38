"""Turn folium maps and page facts into one HTML page with the platform's layout, links and language."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import folium
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from maps import folium_templates
from maps.assets import inline_text, localise, page_assets
from maps.i18n import LANGUAGES, Translator

# folium recompiles every rendered fragment as a Jinja template: half a plot page's CPU.
folium_templates.install()

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Visitor:
    """The person signed in, as the page header shows them, with the form token of the
    header's sign-out button."""

    name: str
    role: str
    csrf: str


#: Set per request by ``api.sessions``: a function giving the person signed in, or None.
#: Called only when a page is rendered, so that other requests never look the session up.
VISITOR: ContextVar[Callable[[], Visitor | None] | None] = ContextVar("visitor", default=None)


@dataclass(frozen=True)
class RenderedMap:
    """A folium map split into what goes in the page's head, body and closing script."""

    header: Markup
    html: Markup
    script: Markup
    assets: list[str]


@dataclass(frozen=True)
class PageContext:
    """Where the page lives: its language, its own path and query (for the language switch)."""

    t: Translator
    path: str = "/"
    query: dict[str, str | list[str]] = field(default_factory=dict)
    #: Prefix for links to other pages: "" when served, the server's URL in a standalone file.
    base_url: str = ""
    #: A standalone file inlines every asset instead of linking to /static.
    standalone: bool = False

    def url(self, path: str, **query: object) -> str:
        """A link to another page of the platform, keeping the language."""
        params = {"lang": self.t.lang, **{k: v for k, v in query.items() if v not in (None, "")}}
        return f"{self.base_url}{path}?{urlencode(params, doseq=True)}"

    def here(self) -> str:
        """This page's path and query, without the language: where signing in comes back to."""
        return self.path + (f"?{urlencode(self.query, doseq=True)}" if self.query else "")

    def language_links(self) -> dict[str, str]:
        links = {}
        for lang in LANGUAGES:
            params = {**self.query, "lang": lang}
            links[lang] = f"{self.base_url}{self.path}?{urlencode(params, doseq=True)}"
        return links


def render_map(folium_map: folium.Map) -> RenderedMap:
    """Render ``folium_map`` with local assets only."""
    root = folium_map.get_root()
    assets = localise(root)
    # Rendering the figure lets every element put its parts in the figure's head, body and script.
    root.render()
    # folium's own viewport tag forbids zooming (user-scalable=no), which fails WCAG 1.4.4;
    # base.html has the page's viewport tag.
    header = re.sub(r'<meta name="viewport"[^>]*>', "", root.header.render())
    return RenderedMap(
        header=Markup(header),
        html=Markup(root.html.render()),
        script=Markup(root.script.render()),
        assets=assets,
    )


def render_page(template: str, page: PageContext, maps: list[RenderedMap], *,
                extra_assets: tuple[str, ...] = (), **context: object) -> str:
    """The HTML of ``template`` around ``maps``, with assets linked (served) or inlined
    (standalone); ``extra_assets`` are further assets the page itself needs."""
    names = [name for rendered in maps for name in rendered.assets] + list(extra_assets)
    assets = page_assets(list(dict.fromkeys(names)))
    # A file saved for later shows nobody's name; a page served shows who is signed in.
    who = VISITOR.get()
    visitor = who() if who is not None and not page.standalone else None
    return TEMPLATES.get_template(template).render(
        page=page,
        t=page.t,
        lang=page.t.lang,
        maps=maps,
        assets=assets,
        inline=(lambda asset: Markup(inline_text(asset))) if page.standalone else None,
        visitor=visitor,
        **context,
    )
