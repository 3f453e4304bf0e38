"""The sign-in form, the invitation's set-a-password form and the admin's accounts page.

Every value reaches the page through the template engine's escaping; the pages need no
script. Forms carry the session's form token (``_csrf.html``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from locations.sign_in import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Invitation
from locations.vocabulary import ROLE
from maps.i18n import Translator
from maps.page import PageContext, render_page


def password_message(t: Translator, problem: str) -> str:
    """A password's problem (``sign_in.password_problem``) in words."""
    n = MIN_PASSWORD_LENGTH if problem == "too_short" else MAX_PASSWORD_LENGTH
    return t(f"password_{problem}", n=n)


def build_sign_in_page(page: PageContext, *, csrf: str, next_url: str | None,
                       name: str = "", problem: str | None = None,
                       signed_out: bool = False) -> str:
    return render_page("sign_in.html", page, [], csrf=csrf, next=next_url, name=name,
                       problem=problem, signed_out=signed_out)


def build_invitation_page(page: PageContext, *, invitation: Invitation | None, csrf: str = "",
                          action: str = "", problem: str | None = None) -> str:
    """The set-a-password form of a live ``invitation``; None: the link no longer works."""
    return render_page("invitation.html", page, [], invitation=invitation, csrf=csrf,
                       action=action, problem=problem, min_length=MIN_PASSWORD_LENGTH,
                       max_length=MAX_PASSWORD_LENGTH)


def build_accounts_page(
    page: PageContext,
    *,
    csrf: str,
    me: str,
    accounts: Sequence[Mapping[str, Any]],
    municipalities: Sequence[Mapping[str, Any]],
    regions: Sequence[Mapping[str, Any]],
    invitation: Mapping[str, Any] | None = None,
    notice: str | None = None,
    problem: str | None = None,
    typed: Mapping[str, Any] | None = None,
) -> str:
    """The accounts with their actions and the form to create one.

    ``invitation`` (``name``, ``link``, ``expires``) is a link just made, shown this once;
    ``typed`` is the create form as sent when it was refused with ``problem``.
    """
    t = page.t
    by_region: dict[str, list[Mapping[str, Any]]] = {}
    for municipality in municipalities:
        by_region.setdefault(municipality["region_name"], []).append(municipality)
    if invitation is not None:
        expires = invitation["expires"]
        invitation = {**invitation,
                      "expires": t.date(expires) + f" {expires:%H:%M}"
                      if isinstance(expires, dt.datetime) else str(expires)}
    return render_page(
        "admin_accounts.html", page, [], csrf=csrf, me=me, accounts=accounts,
        municipalities_by_region=by_region, regions=regions, roles=ROLE.codes,
        invitation=invitation, notice=notice, problem=problem, typed=typed or {},
    )
