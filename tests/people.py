"""People in the browser tests: an account created and invited as an admin would, its
password set through the invitation page and signed in, as the person would."""

from __future__ import annotations

from sqlalchemy import Engine

from locations.accounts import create_account
from locations.sign_in import invite

#: Every test person's password (long enough for the platform's rule).
PASSWORD = "correct horse battery staple"


def invitation_link(engine: Engine, base_url: str, name: str, role: str, *,
                    municipalities: list[str] | None = None,
                    regions: list[str] | None = None) -> str:
    """A new account ``name`` of ``role`` and its invitation link on ``base_url``."""
    with engine.begin() as conn:
        create_account(conn, name, role, municipalities=municipalities, regions=regions)
        token = invite(conn, name, hours=1)
    return f"{base_url}/maps/invitations/{token}"


def set_password_and_sign_in(page, link: str, password: str = PASSWORD) -> None:
    """Open the invitation ``link`` in ``page``, set ``password``: signed in afterwards."""
    page.goto(link)
    page.fill("#invitation-password", password)
    page.fill("#invitation-repeat", password)
    with page.expect_navigation():
        page.click("form.person-form button[type=submit]")
    assert page.locator("header.site nav.account .person").count() == 1, page.content()


def invite_and_sign_in(page_or_context, base_url: str, engine: Engine, name: str, role: str,
                       municipalities: list[str] | None = None,
                       regions: list[str] | None = None, password: str = PASSWORD) -> str:
    """Create the account ``name``, set its password through its invitation in the browser
    and sign in: the page (or the context, through a page of its own, closed afterwards)
    holds the session cookie. Returns the password."""
    link = invitation_link(engine, base_url, name, role, municipalities=municipalities,
                           regions=regions)
    if hasattr(page_or_context, "goto"):
        set_password_and_sign_in(page_or_context, link, password)
    else:
        page = page_or_context.new_page()
        try:
            set_password_and_sign_in(page, link, password)
        finally:
            page.close()
    return password
