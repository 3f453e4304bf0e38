"""The page a person's browser gets when a page or form is refused (403, 404, ...), in the
page's language, with the platform's header: a script asking the same gets JSON."""

from __future__ import annotations

from maps.page import PageContext, render_page

#: Each status's title and explanation, as label keys.
TEXTS = {
    400: ("error_title", "error_400_text"),
    401: ("signin_title", "error_401_text"),
    403: ("forbidden_title", "error_403_text"),
    404: ("error_404_title", "error_404_text"),
    409: ("error_title", "error_409_text"),
}


def build_error_page(page: PageContext, status: int, detail: str, *,
                     stale_form: bool = False) -> str:
    """``detail`` is the platform's own message (English), shown below the explanation;
    ``stale_form``: a form refused for its missing or old token."""
    title, text = TEXTS.get(status, ("error_title", "error_400_text"))
    if stale_form:
        text = "error_stale_form"
    return render_page("error.html", page, [], title=page.t(title), text=page.t(text),
                       detail=detail)
