"""The inquiry form of a plot and its confirmation, in the page's language.

A refused field is named with its problem next to it and in a list above the form, and
the form comes back with what was typed. Every value reaches the page through the
template engine's escaping; the page needs no script at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from locations.inquiries import LIMITS, OPTIONAL, Problem
from maps.i18n import Translator
from maps.page import PageContext, render_page

#: The label of each field of the form.
FIELD_LABELS = {"name": "inquiry_name", "company": "inquiry_company", "email": "inquiry_email",
                "phone": "inquiry_phone", "message": "inquiry_message",
                "consent": "inquiry_consent"}
#: The honeypot: a field people never see (moved off screen, out of the tab order, hidden
#: from screen readers) and form-filling bots fill in.
TRAP_FIELD = "website"


def consent_text(t: Translator, retention_days: int) -> str:
    """The consent as the investor reads it; stored with the inquiry as what they agreed to."""
    return t("inquiry_consent", days=retention_days)


def problem_text(t: Translator, field: str, problem: Problem) -> str:
    """``field``'s problem in words, naming the field: "E-pošta: to ni veljaven ..."."""
    label = t("inquiry_consent_short" if field == "consent" else FIELD_LABELS[field])
    return f"{label}: {t('problem_' + problem.code, n=t.number(problem.limit))}"


def build_inquiry_page(
    t: Translator,
    page: PageContext,
    *,
    plot: Mapping[str, Any],
    retention_days: int,
    values: Mapping[str, str | None] | None = None,
    problems: Mapping[str, Problem] | None = None,
    general: str | None = None,
    sent: bool = False,
) -> str:
    """The form (``sent`` False: empty, or as typed with ``problems`` and a ``general``
    message), or the confirmation with a summary of what was sent (``sent`` True)."""
    values = dict(values or {})
    messages = {field: problem_text(t, field, problem)
                for field, problem in (problems or {}).items()}
    labels = {field: t(key) for field, key in FIELD_LABELS.items()}
    return render_page(
        "inquiry.html", page, [], plot=plot, values=values, problems=messages,
        general=general, sent=sent, labels=labels, limits=LIMITS, optional=OPTIONAL,
        consent=consent_text(t, retention_days), retention_days=retention_days,
        trap_field=TRAP_FIELD, summary_fields=[f for f in LIMITS if values.get(f)],
    )
