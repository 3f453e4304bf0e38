"""A municipality's inquiry inbox: where each inquiry stands (new, answered, closed), who
changed it and when, and the answer to the investor, by the editor's own mail program
(a prepared ``mailto:`` link) or through the platform's mail server when one is set.

Reading follows ``locations.inquiries`` (editors their municipalities', analysts their
regions', admins all); changing is for the plot's municipality editors and admins only:
an agency reads and changes nothing. The answer's text is sent, never stored: only the
change of status is recorded (``inquiry_event``), as the inquiry's personal data are
deleted with it after the retention period.
"""

from __future__ import annotations

import email.errors
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, text

from locations import inquiries, mail
from locations.accounts import Account, authorise
from locations.errors import Conflict, InvalidInput, NotFound
from locations.inquiries import get_inquiry
from locations.settings import Settings, get_settings
from locations.values import text_problem
from locations.vocabulary import INQUIRY_STATUS

#: How a status changed: on the page (a button), with the platform's mail, or after
#: answering through a mailto: link.
VIA = ("page", "mail", "mailto")
#: The longest answer: a mail, not a document.
MAX_REPLY_CHARS = 10_000
#: A mailto: link longer than this is cut by some mail programs: the quote is shortened.
MAX_MAILTO_CHARS = 1_800

#: The answer's prepared text, in the language the investor wrote in.
REPLY_TEXTS = {
    "en": {"subject": "Re: your inquiry about plot {cadastral_ref} in {zone_name}",
           "greeting": "Dear {name},", "thanks": "thank you for your inquiry about plot "
           "{cadastral_ref} in {zone_name}, {municipality_name}.",
           "closing": "Kind regards,", "quote": "You wrote:"},
    "sl": {"subject": "Re: vaše povpraševanje za zemljišče {cadastral_ref} v coni {zone_name}",
           "greeting": "Spoštovani {name},", "thanks": "hvala za vaše povpraševanje za "
           "zemljišče {cadastral_ref} v coni {zone_name}, občina {municipality_name}.",
           "closing": "Lep pozdrav,", "quote": "Napisali ste:"},
    "de": {"subject": "Re: Ihre Anfrage zum Grundstück {cadastral_ref} im Gebiet {zone_name}",
           "greeting": "Sehr geehrte/r {name},", "thanks": "vielen Dank für Ihre Anfrage zum "
           "Grundstück {cadastral_ref} im Gebiet {zone_name}, Gemeinde {municipality_name}.",
           "closing": "Mit freundlichen Grüßen", "quote": "Sie schrieben:"},
}


def _facts(inquiry: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": inquiry["name"], **{k: inquiry["plot"][k] for k in
                                        ("cadastral_ref", "zone_name", "municipality_name")}}


def reply_subject(inquiry: Mapping[str, Any]) -> str:
    return REPLY_TEXTS[inquiry["lang"]]["subject"].format(**_facts(inquiry))


def reply_draft(inquiry: Mapping[str, Any], signature: str, quote_chars: int | None = None,
                ) -> str:
    """The answer as prepared for the editor to complete: greeting, thanks, room for the
    answer, closing with ``signature``, and the investor's message quoted."""
    words = REPLY_TEXTS[inquiry["lang"]]
    message = inquiry["message"]
    if quote_chars is not None and len(message) > quote_chars:
        message = message[:quote_chars].rstrip() + " […]"
    quoted = "\n".join("> " + line for line in message.splitlines())
    facts = _facts(inquiry)
    return "\n".join([words["greeting"].format(**facts), "", words["thanks"].format(**facts),
                      "", "", "", words["closing"], signature, "", words["quote"], quoted])


def mailto_link(inquiry: Mapping[str, Any], signature: str) -> str:
    """A ``mailto:`` link that opens the editor's mail program with the answer prepared."""
    subject = quote(reply_subject(inquiry), safe="")
    for limit in (2_000, 800, 300, 0):
        body = quote(reply_draft(inquiry, signature, quote_chars=limit).replace("\n", "\r\n"),
                     safe="")
        link = f"mailto:{quote(inquiry['email'], safe='@')}?subject={subject}&body={body}"
        if len(link) <= MAX_MAILTO_CHARS or limit == 0:
            return link
    return link


def writable_inquiry(conn: Connection, account: Account, inquiry_id: int) -> dict[str, Any]:
    """Inquiry ``inquiry_id`` if ``account`` may change it.

    Raises:
        NotFound: no such inquiry. Forbidden: it is another municipality's, or the
            account's role changes none (agencies, investors).
    """
    authorise(account, "answer")
    row = conn.execute(text(
        """
        SELECT m.id, m.name FROM inquiry i JOIN plot p ON p.id = i.plot_id
        JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id
        WHERE i.id = :id
        """), {"id": inquiry_id}).first()
    if row is None:
        raise NotFound(f"no inquiry {inquiry_id}")
    authorise(account, "answer", municipality_id=row[0], municipality_name=row[1],
              what=f"the plot of inquiry {inquiry_id}")
    return get_inquiry(conn, account, inquiry_id)


def set_status(conn: Connection, account: Account, inquiry_id: int, status: str,
               via: str = "page") -> bool:
    """Move inquiry ``inquiry_id`` to ``status`` and record who did it; whether it moved
    (False: it was there already).

    Raises:
        InvalidInput: not a status, or an unknown ``via``. NotFound, Forbidden: see
            ``writable_inquiry``.
    """
    # Who asks first: someone else's inquiry is refused as such, whatever was sent.
    writable_inquiry(conn, account, inquiry_id)
    if status not in INQUIRY_STATUS:
        raise InvalidInput("status", f"unknown status {status!r}; known: "
                                     f"{', '.join(INQUIRY_STATUS.codes)}")
    if via not in VIA:
        raise InvalidInput("via", f"unknown {via!r}; known: {', '.join(VIA)}")
    old = conn.execute(text("SELECT status FROM inquiry WHERE id = :id FOR UPDATE"),
                       {"id": inquiry_id}).scalar_one()
    if old == status:
        return False
    conn.execute(text("UPDATE inquiry SET status = :status WHERE id = :id"),
                 {"status": status, "id": inquiry_id})
    conn.execute(text(
        """
        INSERT INTO inquiry_event (inquiry_id, account_id, actor, old_status, new_status, via)
        VALUES (:id, :account, :actor, :old, :new, :via)
        """), {"id": inquiry_id, "account": account.id, "actor": account.name, "old": old,
               "new": status, "via": via})
    return True


def events(conn: Connection, inquiry_id: int) -> list[dict[str, Any]]:
    """The status changes of inquiry ``inquiry_id``, oldest first (the caller has read it)."""
    return [dict(row) for row in conn.execute(text(
        "SELECT occurred_at, actor, old_status, new_status, via FROM inquiry_event "
        "WHERE inquiry_id = :id ORDER BY id"), {"id": inquiry_id}).mappings()]


def counts(conn: Connection, account: Account) -> dict[str, int]:
    """How many inquiries ``account`` reads stand at each status."""
    scope, params = inquiries._scope(account)
    found = dict(conn.execute(text(
        f"""
        SELECT i.status, count(*) FROM inquiry i JOIN plot p ON p.id = i.plot_id
        JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id
        WHERE {scope} GROUP BY i.status
        """), params).all())
    return {status: int(found.get(status, 0)) for status in INQUIRY_STATUS.codes}


def check_reply(body: str) -> str:
    """The answer's text, trimmed.

    Raises:
        InvalidInput: empty, too long, or with control characters.
    """
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise InvalidInput("reply", "the answer is empty")
    if len(body) > MAX_REPLY_CHARS:
        raise InvalidInput("reply", f"{len(body):,} characters; at most {MAX_REPLY_CHARS:,}")
    if (problem := text_problem(body)) is not None:
        raise InvalidInput("reply", problem)
    return body


def reply_message(inquiry: Mapping[str, Any], body: str, settings: Settings) -> EmailMessage:
    """The answer as mail: from the platform's sender, to the investor, answers going to the
    zone manager (who keeps the conversation), threaded under the inquiry's subject."""
    message = EmailMessage()
    message["Subject"] = reply_subject(inquiry)
    message["From"] = settings.smtp_from
    local, _, domain = inquiry["email"].rpartition("@")
    message["To"] = Address(display_name=inquiry["name"], username=local, domain=domain)
    if inquiry["notification"]["to"]:
        message["Reply-To"] = inquiry["notification"]["to"]
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send_reply(engine: Engine, account: Account, inquiry_id: int, body: str,
               settings: Settings | None = None) -> None:
    """Mail ``body`` to the investor through LOCATIONS_SMTP_URL, then mark the inquiry
    answered. Nothing is recorded unless the mail server took the message.

    Raises:
        Conflict: no mail server is set, or it refused the message (the reason said).
        InvalidInput, NotFound, Forbidden: see ``check_reply`` and ``writable_inquiry``.
    """
    settings = settings or get_settings()
    # Who asks first: someone else's inquiry is refused as such, whatever the mail set-up.
    with engine.connect() as conn:
        inquiry = writable_inquiry(conn, account, inquiry_id)
    body = check_reply(body)
    if not settings.smtp_url:
        raise Conflict("no mail server is set (LOCATIONS_SMTP_URL): answer from your own "
                       "mail program instead")
    try:
        mail.send(settings.smtp_url, reply_message(inquiry, body, settings))
    except (mail.MailNotSent, ValueError, email.errors.MessageError) as exc:
        raise Conflict(f"the mail server did not take the answer: {exc}") from None
    with engine.begin() as conn:
        set_status(conn, account, inquiry_id, "answered", via="mail")

