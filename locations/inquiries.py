"""Investors' inquiries about a plot: checked, stored, e-mailed to the zone manager, read by
the people who keep the plot, and deleted after the retention period or on request.

Storing comes first and sending second, each in its own step: a mail server that is down
never loses an inquiry, the row says whether the mail went out (``notification``), and
``locations inquiries send`` tries again. No mail ever goes to the address typed into the
form, so the form cannot relay text to arbitrary people.
"""

from __future__ import annotations

import email.errors
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import Connection, Engine, text

from locations import mail
from locations.accounts import Account, failure_key
from locations.errors import Forbidden, NotFound
from locations.settings import Settings, get_settings
from locations.values import text_problem

#: The fields of the form, in order, and the most characters each may hold.
LIMITS = {"name": 200, "company": 200, "email": 254, "phone": 40, "message": 5000}
OPTIONAL = frozenset({"phone"})
#: Fields of one line: they go into mail headers, where a line break would start a new one.
SINGLE_LINE = frozenset({"name", "company", "email", "phone"})
_LINE_BREAKS = re.compile(r"[\t\r\n\u2028\u2029]")

#: An address as people type it: a dot-atom local part (RFC 5322, ASCII) and a domain of
#: at least two labels; the domain may be international (stored as IDNA).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")
#: Digits with the usual separators, and an optional leading +.
_PHONE = re.compile(r"\+?[0-9 ()./-]+")

#: Inquiries accepted from one client address (an IPv6 /64 counts as one) per hour.
MAX_PER_HOUR = 5
WINDOW_SECONDS = 3600

#: The roles that read inquiries: each within its scope (see ``_scope``).
READER_ROLES = ("municipality", "agency", "admin")


@dataclass(frozen=True)
class Problem:
    """Why a field was refused: a code the page words in its language, and a bound."""

    code: str  # required, too_long, email, phone, control, consent
    limit: int | None = None


def check_submission(form: Mapping[str, str]) -> tuple[dict[str, str | None], dict[str, Problem]]:
    """The form's values cleaned (trimmed, line breaks as \\n), and a problem per bad field."""
    values: dict[str, str | None] = {}
    problems: dict[str, Problem] = {}
    for field, limit in LIMITS.items():
        raw = str(form.get(field) or "")
        value = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
        values[field] = value or None
        if not value:
            if field not in OPTIONAL:
                problems[field] = Problem("required")
            continue
        if text_problem(value) or (field in SINGLE_LINE and _LINE_BREAKS.search(value)):
            problems[field] = Problem("control")
        elif len(value) > limit:
            problems[field] = Problem("too_long", limit)
        elif field == "email":
            address = normalise_email(value)
            if address is None:
                problems[field] = Problem("email")
            else:
                values[field] = address
        elif field == "phone" and not (_PHONE.fullmatch(value)
                                       and 5 <= sum(c.isdigit() for c in value) <= 20):
            problems[field] = Problem("phone")
    if form.get("consent") != "yes":
        problems["consent"] = Problem("consent")
    return values, problems


def normalise_email(value: str) -> str | None:
    """``value`` as local@domain with the domain lower-case (IDNA), or None when it is not
    an address mail can be sent to."""
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        return None
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        return None
    return f"{local}@{domain}"


# -- the plot asked about ---------------------------------------------------------------------

def inquiry_target(conn: Connection, plot_id: int) -> dict[str, Any]:
    """The live plot ``plot_id`` with its zone, zone manager and municipality.

    Raises:
        NotFound: no such plot, or a retired one.
    """
    row = conn.execute(text(
        """
        SELECT p.id, p.cadastral_ref, p.country, p.area_m2, p.status,
               z.id AS zone_id, z.name AS zone_name, z.manager_name, z.manager_email,
               m.id AS municipality_id, m.name AS municipality_name, m.region_id
        FROM plot p
        JOIN zone z ON z.id = p.zone_id
        JOIN municipality m ON m.id = z.municipality_id
        WHERE p.id = :id AND p.retired_at IS NULL
        """), {"id": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"no plot {plot_id} to ask about")
    return dict(row)


# -- the rate limit -----------------------------------------------------------------------------

def admit(conn: Connection, client: str) -> int:
    """Count one submission from ``client`` and return 0, or the seconds it must wait
    when it sent ``MAX_PER_HOUR`` within the hour (and then count nothing).

    Counted in the database, under a lock per client, so that parallel requests and
    several workers agree. Run it in the transaction that stores the inquiry.
    """
    key = failure_key(client)
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('inquiry_attempt'), hashtext(:k))"),
                 {"k": key})
    # Addresses are personal data too: nobody's is kept longer than the window.
    conn.execute(text("DELETE FROM inquiry_attempt "
                      "WHERE occurred_at < clock_timestamp() - make_interval(secs => :w)"),
                 {"w": WINDOW_SECONDS})
    count, wait = conn.execute(text(
        """
        SELECT count(*),
               ceil(extract(epoch FROM min(occurred_at) + make_interval(secs => :w)
                                       - clock_timestamp()))::int
        FROM inquiry_attempt WHERE client = :k
        """), {"k": key, "w": WINDOW_SECONDS}).one()
    if count >= MAX_PER_HOUR:
        return max(int(wait or 1), 1)
    conn.execute(text("INSERT INTO inquiry_attempt (client) VALUES (:k)"), {"k": key})
    return 0


# -- storing and sending ----------------------------------------------------------------------

def store(conn: Connection, target: Mapping[str, Any], values: Mapping[str, str | None],
          lang: str, consent_text: str, settings: Settings | None = None) -> int:
    """Store a checked inquiry about ``target``; its id. Whether a mail is due is decided
    here: none without a mail server, none to a zone without a manager's address."""
    settings = settings or get_settings()
    if not settings.smtp_url:
        notification = "off"
    elif not target.get("manager_email"):
        notification = "no_recipient"
    else:
        notification = "pending"
    return conn.execute(text(
        """
        INSERT INTO inquiry (plot_id, lang, name, company, email, phone, message, consent_text,
                             notify_to, notification)
        VALUES (:plot_id, :lang, :name, :company, :email, :phone, :message, :consent_text,
                :notify_to, :notification)
        RETURNING id
        """), {"plot_id": target["id"], "lang": lang, **{f: values.get(f) for f in LIMITS},
               "consent_text": consent_text, "notify_to": target.get("manager_email"),
               "notification": notification}).scalar_one()


def notify(engine: Engine, inquiry_id: int, settings: Settings | None = None) -> str:
    """E-mail the inquiry to the zone manager, if due; record and return what became of it
    (``sent``, ``failed``, or the state it was in when no mail was due)."""
    settings = settings or get_settings()
    with engine.connect() as conn:
        row = conn.execute(text(
            f"SELECT {_COLUMNS} {_JOINS} WHERE i.id = :id"), {"id": inquiry_id}).mappings().first()
    if row is None or row["notification"] not in ("pending", "failed") or not settings.smtp_url:
        return row["notification"] if row is not None else "gone"
    error = None
    try:
        mail.send(settings.smtp_url, notification_message(dict(row), settings))
    except (mail.MailNotSent, ValueError, email.errors.MessageError) as exc:
        # Besides the server's refusal: a manager's address or a sender the mail library
        # cannot take. Either way the inquiry stays, marked failed with the reason.
        error = str(exc)[:1000]
    with engine.begin() as conn:
        conn.execute(text(
            """
            UPDATE inquiry SET notification = :state, notification_error = :error,
                               notified_at = CASE WHEN :state = 'sent' THEN now() END
            WHERE id = :id
            """), {"id": inquiry_id, "state": "failed" if error else "sent", "error": error})
    return "failed" if error else "sent"


def send_unsent(engine: Engine, settings: Settings | None = None) -> dict[str, int]:
    """Try again every inquiry whose mail is pending or failed; counts by outcome."""
    settings = settings or get_settings()
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM inquiry WHERE notification IN ('pending', "
                                "'failed') ORDER BY id")).scalars().all()
    outcome = {"sent": 0, "failed": 0}
    for inquiry_id in ids:
        state = notify(engine, inquiry_id, settings)
        outcome[state] = outcome.get(state, 0) + 1
    return outcome


#: The zone manager's mail, in the language of the plot's country.
MAIL_TEXTS = {
    "en": {
        "subject": "Inquiry about plot {cadastral_ref} in {zone_name}",
        "intro": "{name} ({company}) asks about plot {cadastral_ref} in {zone_name}, "
                 "{municipality_name}, through the business-location platform.",
        "name": "Name", "company": "Company", "email": "E-mail", "phone": "Phone",
        "language": "Language of the inquiry", "message": "Message",
        "outro": "Reply to this e-mail to answer. The inquiry is no. {id} on the platform "
                 "(GET /inquiries/{id}); its personal data are deleted after {days} days.",
    },
    "sl": {
        "subject": "Povpraševanje za zemljišče {cadastral_ref} v coni {zone_name}",
        "intro": "{name} ({company}) prek platforme poslovnih lokacij sprašuje o zemljišču "
                 "{cadastral_ref} v coni {zone_name}, občina {municipality_name}.",
        "name": "Ime", "company": "Podjetje", "email": "E-pošta", "phone": "Telefon",
        "language": "Jezik povpraševanja", "message": "Sporočilo",
        "outro": "Za odgovor odgovorite na to sporočilo. Povpraševanje ima na platformi "
                 "številko {id} (GET /inquiries/{id}); osebni podatki se izbrišejo po {days} dneh.",
    },
    "de": {
        "subject": "Anfrage zum Grundstück {cadastral_ref} im Gebiet {zone_name}",
        "intro": "{name} ({company}) fragt über die Standortplattform nach dem Grundstück "
                 "{cadastral_ref} im Gebiet {zone_name}, Gemeinde {municipality_name}.",
        "name": "Name", "company": "Unternehmen", "email": "E-Mail", "phone": "Telefon",
        "language": "Sprache der Anfrage", "message": "Nachricht",
        "outro": "Antworten Sie auf diese E-Mail, um zu antworten. Die Anfrage hat auf der "
                 "Plattform die Nr. {id} (GET /inquiries/{id}); ihre personenbezogenen Daten "
                 "werden nach {days} Tagen gelöscht.",
    },
}
_MAIL_LANGUAGE_BY_COUNTRY = {"SI": "sl", "AT": "de"}
_LANGUAGE_NAMES = {"en": "English", "sl": "slovenščina", "de": "Deutsch"}


def notification_message(row: Mapping[str, Any], settings: Settings) -> EmailMessage:
    """The zone manager's mail about the inquiry ``row`` (a row of ``_COLUMNS``): plain
    text, Reply-To the investor, so that answering is one click."""
    words = MAIL_TEXTS[_MAIL_LANGUAGE_BY_COUNTRY.get(row["country"], "en")]
    facts = {**row, "days": settings.inquiry_retention_days}
    message = EmailMessage()
    message["Subject"] = words["subject"].format(**facts)
    message["From"] = settings.smtp_from
    message["To"] = row["notify_to"]
    local, _, domain = row["email"].rpartition("@")
    message["Reply-To"] = Address(display_name=row["name"], username=local, domain=domain)
    message["Date"] = format_datetime(row["received_at"])
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    lines = [words["intro"].format(**facts), ""]
    for field in ("name", "company", "email", "phone"):
        if row[field]:
            lines.append(f"{words[field]}: {row[field]}")
    lines += [f"{words['language']}: {_LANGUAGE_NAMES[row['lang']]}", "",
              f"{words['message']}:", row["message"], "", "-- ", words["outro"].format(**facts)]
    message.set_content("\n".join(lines))
    return message


# -- reading ----------------------------------------------------------------------------------

_COLUMNS = """
    i.id, i.received_at, i.lang, i.name, i.company, i.email, i.phone, i.message,
    i.consent_text, i.notify_to, i.notification, i.notified_at, i.notification_error,
    i.status, p.id AS plot_id, p.cadastral_ref, p.country, z.id AS zone_id, z.name AS zone_name,
    m.id AS municipality_id, m.name AS municipality_name, r.code AS region_code
"""
_JOINS = """
    FROM inquiry i
    JOIN plot p ON p.id = i.plot_id
    JOIN zone z ON z.id = p.zone_id
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region r ON r.id = m.region_id
"""


def _scope(account: Account) -> tuple[str, dict[str, Any]]:
    """Which inquiries ``account`` reads, as SQL over ``m`` (the plot's municipality):
    an editor's municipalities, an analyst's regions, every one for an admin.

    Raises:
        Forbidden: a role that reads no inquiries (investors).
    """
    if account.role not in READER_ROLES:
        raise Forbidden(f"role {account.role!r} may not read inquiries; needs one of: "
                        f"{', '.join(READER_ROLES)}")
    if account.role == "admin":
        return "TRUE", {}
    if account.role == "municipality":
        return "m.id = ANY (:scope)", {"scope": sorted(account.municipality_ids)}
    return "m.id = ANY (:scope)", {"scope": sorted(account.analysed_municipality_ids)}


def _inquiry(row: Mapping[str, Any]) -> dict[str, Any]:
    item = {k: row[k] for k in ("id", "received_at", "lang", "name", "company", "email",
                                "phone", "message", "consent_text", "status")}
    item["plot"] = {"id": row["plot_id"], "cadastral_ref": row["cadastral_ref"],
                    "zone_id": row["zone_id"], "zone_name": row["zone_name"],
                    "municipality_id": row["municipality_id"],
                    "municipality_name": row["municipality_name"],
                    "region_code": row["region_code"]}
    item["notification"] = {"state": row["notification"], "to": row["notify_to"],
                            "sent_at": row["notified_at"], "error": row["notification_error"]}
    return item


def list_inquiries(conn: Connection, account: Account, *, plot_id: int | None = None,
                   before: int | None = None, limit: int = 50,
                   status: str | None = None) -> list[dict[str, Any]]:
    """The inquiries ``account`` reads, newest first; ``before`` an id to page on from,
    ``status`` where they stand in the inbox (new, answered, closed; None: all)."""
    scope, params = _scope(account)
    rows = conn.execute(text(
        f"""
        SELECT {_COLUMNS} {_JOINS}
        WHERE {scope}
          AND (CAST(:plot AS bigint) IS NULL OR i.plot_id = :plot)
          AND (CAST(:before AS bigint) IS NULL OR i.id < :before)
          AND (CAST(:status AS text) IS NULL OR i.status = :status)
        ORDER BY i.id DESC LIMIT :limit
        """), {**params, "plot": plot_id, "before": before, "limit": limit,
               "status": status}).mappings()
    return [_inquiry(row) for row in rows]


def get_inquiry(conn: Connection, account: Account, inquiry_id: int) -> dict[str, Any]:
    """One inquiry ``account`` reads.

    Raises:
        Forbidden: a role that reads no inquiries.
        NotFound: no such inquiry, or one outside the account's scope (which is not told
            apart: whether somebody asked about another municipality's plot is its business).
    """
    scope, params = _scope(account)
    row = conn.execute(text(f"SELECT {_COLUMNS} {_JOINS} WHERE i.id = :id AND {scope}"),
                       {**params, "id": inquiry_id}).mappings().first()
    if row is None:
        raise NotFound(f"no inquiry {inquiry_id}")
    return _inquiry(row)


# -- privacy ----------------------------------------------------------------------------------

def purge(conn: Connection, retention_days: int) -> int:
    """Delete the inquiries received more than ``retention_days`` days ago; how many."""
    return conn.execute(text(
        "DELETE FROM inquiry WHERE received_at < now() - make_interval(days => :d)"),
        {"d": retention_days}).rowcount


def delete_by_email(conn: Connection, email: str) -> int:
    """Delete every inquiry sent with the address ``email`` (any case); how many."""
    address = normalise_email(email.strip()) or email.strip()
    return conn.execute(text("DELETE FROM inquiry WHERE lower(email) = lower(:e)"),
                        {"e": address}).rowcount
