"""Accounts, roles and scopes: who may do what, and bearer tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from locations import regions
from locations.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from locations.fields import PLOTS
from locations.vocabulary import ROLE

ROLES = ROLE.codes


@dataclass(frozen=True)
class Account:
    """An authenticated caller. Public (anonymous) callers have no Account at all."""

    id: int
    name: str
    role: str
    municipality_ids: frozenset[int] = field(default_factory=frozenset)
    region_ids: frozenset[int] = field(default_factory=frozenset)
    #: An agency's reach: every municipality in its regions, at whatever level each is.
    analysed_municipality_ids: frozenset[int] = field(default_factory=frozenset)

    def may_edit_municipality(self, municipality_id: int) -> bool:
        """Municipality editors edit their own municipalities' plots and zones; admins all."""
        return may(self, "edit", municipality_id)

    def may_analyse_municipality(self, municipality_id: int) -> bool:
        """Agency analysts analyse every municipality in their regions (of any level)."""
        if self.role == "admin":
            return True
        return self.role == "agency" and municipality_id in self.analysed_municipality_ids

    def may_read_municipality(self, municipality_id: int) -> bool:
        """Audit trail and reminders: the municipality's editors, its region's analysts, admins."""
        return (self.may_edit_municipality(municipality_id)
                or self.may_analyse_municipality(municipality_id))

    @property
    def internal_reach(self) -> InternalReach | None:
        """Whose plots' internal fields this account sees: the plots it may read the audit
        trail of (which holds the same values), none for an investor."""
        if self.role == "admin":
            return EVERYWHERE
        if self.role == "municipality":
            return InternalReach(municipality_ids=self.municipality_ids)
        if self.role == "agency":
            return InternalReach(municipality_ids=self.analysed_municipality_ids)
        return None


@dataclass(frozen=True)
class InternalReach:
    """The plots whose internal fields (owner contact, internal note) a reader sees.

    Owner contacts are often a private person's: a municipality's editors see those of
    their own municipalities' plots, an agency's analysts those of their regions', as for
    the audit trail; the public sees none. Other plots in the same answer carry the
    columns empty, so that a file's layout does not depend on who asked.
    """

    everywhere: bool = False
    municipality_ids: frozenset[int] = field(default_factory=frozenset)

    def columns_sql(self, plot: str = "p", municipality: str = "m") -> str:
        """``owner_contact`` and ``internal_note`` as select-list items, empty outside the
        reach; ``plot`` and ``municipality`` are the query's aliases of those tables."""
        if self.everywhere:
            return ", ".join(f"{plot}.{column}" for column in INTERNAL_COLUMNS)
        # The ids are the account's own integers, so they go into the SQL as literals.
        within = f"{municipality}.id = ANY ('{{{_ids(self.municipality_ids)}}}'::int[])"
        return ", ".join(f"CASE WHEN {within} THEN {plot}.{column} END AS {column}"
                         for column in INTERNAL_COLUMNS)


#: A plot's fields for the people who keep the data, not the public.
INTERNAL_COLUMNS = tuple(f.name for f in PLOTS.fields if f.internal)
#: Admins, and the command line, which runs with the database's own credentials.
EVERYWHERE = InternalReach(everywhere=True)


def _ids(ids: frozenset[int]) -> str:
    return ",".join(str(int(i)) for i in sorted(ids))


# -- who may write or run what, where ---------------------------------------------------------

#: Every kind of write or run, and the roles that may do it at all; ``authorise`` then checks
#: where. Each write route, page form, scoring run and import asks ``authorise`` (or, to
#: decide what to show, ``may``), so that a role's reach is decided here and nowhere else.
ACTION_ROLES = {
    # Plots and zones of one's own municipalities: their fields, outlines, splits and
    # merges, photos and documents, bulk updates.
    "edit": ("municipality", "admin"),
    # Investors' inquiries about one's own municipalities' plots: their status and replies.
    "answer": ("municipality", "admin"),
    # GIS files, row by row within one's scope; which targets: ``IMPORT_TARGETS``.
    "import": ("municipality", "agency", "admin"),
    # The browser's import page, which loads every target, regions and infrastructure too.
    "import anything": ("admin",),
    # Scoring runs, which set the public rankings of every region they cover.
    "score": ("agency", "admin"),
    # Accounts: creating, inviting, resetting and revoking them.
    "manage accounts": ("admin",),
}

#: What each role may import (admins: everything), and so which rows ``reach`` lets in.
IMPORT_TARGETS = {
    "admin": ("regions", "municipalities", "seats", "zones", "plots", "infrastructure",
              "constraints"),
    "agency": ("zones", "plots"),
    "municipality": ("zones", "plots"),
}

#: How a refusal words each action.
_DOING = {"edit": "edit", "answer": "answer for", "import": "import into",
          "import anything": "import", "score": "score", "manage accounts": "manage"}


def reach(account: Account, action: str) -> frozenset[int] | None:
    """The municipalities where ``account`` may ``action``: None for everywhere (admins),
    empty for a role that may not ``action`` at all. Editors act in their own
    municipalities; agencies import and score in every municipality of their regions."""
    if account.role not in ACTION_ROLES[action]:
        return frozenset()
    if account.role == "admin":
        return None
    if account.role == "agency":
        return account.analysed_municipality_ids
    return account.municipality_ids


def may(account: Account | None, action: str, municipality_id: int | None = None) -> bool:
    """Whether ``account`` may ``action`` (in ``municipality_id``): ``authorise`` as a yes
    or no, for pages deciding what to offer."""
    if account is None or account.role not in ACTION_ROLES[action]:
        return False
    where = reach(account, action)
    return where is None or municipality_id is None or municipality_id in where


def authorise(account: Account | None, action: str, *, municipality_id: int | None = None,
              municipality_name: str | None = None, municipality_ids: Iterable[int] | None = None,
              target: str | None = None, what: str = "") -> Account:
    """``account`` if it may ``action`` (see ``ACTION_ROLES``) where it acts; else refuse.

    The one decision for every write and run: who asks (nobody: Unauthenticated), the
    role, then the scope. ``municipality_id`` (named ``municipality_name``) is the
    municipality an edit touches; ``municipality_ids`` every municipality a run or a file
    touches, so a run over all regions passes every municipality there is and needs an
    admin or an account whose regions cover them all. ``target`` is what an import loads
    (``IMPORT_TARGETS``). With none of these, only the role is checked: routes do that
    before reading a body. ``what`` names the thing in the refusal, e.g. "plot 12".

    Raises:
        Unauthenticated: no account. Forbidden: the role or the scope does not allow it.
    """
    if account is None:
        raise Unauthenticated("this needs a signed-in person or a bearer token")
    roles = ACTION_ROLES[action]
    if account.role not in roles:
        raise Forbidden(f"role {account.role!r} may not {action}; needs one of: {', '.join(roles)}")
    if target is not None:
        allowed = IMPORT_TARGETS.get(account.role, ())
        if target not in allowed:
            raise Forbidden(f"role {account.role!r} may not import {target}"
                            + (f"; it may import {', '.join(allowed)}" if allowed else ""))
    where = reach(account, action)
    if where is None:
        return account
    doing = _DOING[action]
    if municipality_id is not None and municipality_id not in where:
        place = municipality_name or f"municipality {municipality_id}"
        raise Forbidden(f"{what or 'it'} belongs to {place}, which account {account.name!r} "
                        f"may not {doing}")
    if municipality_ids is not None and not set(municipality_ids) <= where:
        raise Forbidden(f"account {account.name!r} may not {doing} {what or 'there'}: "
                        "it reaches beyond the account's "
                        + ("regions" if account.role == "agency" else "municipalities"))
    return account


def hash_token(token: str) -> str:
    # Tokens are 256-bit random, so a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    conn: Connection,
    name: str,
    role: str,
    *,
    municipalities: list[str] | None = None,
    regions: list[str] | None = None,
) -> str:
    """Create an account and return its bearer token (shown once, stored only hashed).

    ``municipalities`` are names or ids, ``regions`` are codes.

    Raises:
        InvalidInput: unknown role, missing or unknown scope.
        Conflict: an account of that name exists.
    """
    if role not in ROLES:
        raise InvalidInput("role", f"unknown role {role!r}; allowed: {', '.join(ROLES)}")
    municipalities = municipalities or []
    regions = regions or []
    if role == "municipality" and not municipalities:
        raise InvalidInput("municipality", "a municipality editor needs at least one municipality")
    if role == "agency" and not regions:
        raise InvalidInput("region", "an agency analyst needs at least one region")
    if conn.execute(text("SELECT 1 FROM account WHERE name = :n"), {"n": name}).first():
        raise Conflict(f"an account named {name!r} already exists")
    municipality_ids = [_municipality_id(conn, m) for m in municipalities]
    region_ids = [_region_id(conn, r) for r in regions]
    token = secrets.token_urlsafe(32)
    account_id = conn.execute(
        text("INSERT INTO account (name, role, token_hash) VALUES (:n, :r, :h) RETURNING id"),
        {"n": name, "r": role, "h": hash_token(token)},
    ).scalar_one()
    for municipality_id in municipality_ids:
        conn.execute(
            text("INSERT INTO account_municipality VALUES (:a, :m) ON CONFLICT DO NOTHING"),
            {"a": account_id, "m": municipality_id},
        )
    for region_id in region_ids:
        conn.execute(
            text("INSERT INTO account_region VALUES (:a, :r) ON CONFLICT DO NOTHING"),
            {"a": account_id, "r": region_id},
        )
    return token


def authenticate(conn: Connection, token: str) -> Account | None:
    """The live account holding ``token``, or None."""
    try:
        return _account_where(conn, "a.token_hash = :v", hash_token(token))
    except NotFound:
        return None


def _account_where(conn: Connection, condition: str, value: str) -> Account:
    # ``condition`` is one of two fixed snippets above, never caller input.
    row = conn.execute(
        text(
            f"""
            SELECT a.id, a.name, a.role,
                   coalesce(array_agg(DISTINCT am.municipality_id)
                            FILTER (WHERE am.municipality_id IS NOT NULL), '{{}}') AS municipality_ids,
                   coalesce(array_agg(DISTINCT ar.region_id)
                            FILTER (WHERE ar.region_id IS NOT NULL), '{{}}') AS region_ids,
                   coalesce((SELECT array_agg(DISTINCT mr.municipality_id)
                             FROM account_region own
                             JOIN municipality_region mr ON mr.region_id = own.region_id
                             WHERE own.account_id = a.id), '{{}}') AS analysed_municipality_ids
            FROM account a
            LEFT JOIN account_municipality am ON am.account_id = a.id
            LEFT JOIN account_region ar ON ar.account_id = a.id
            WHERE {condition} AND a.revoked_at IS NULL
            GROUP BY a.id
            """
        ),
        {"v": value},
    ).mappings().first()
    if row is None:
        raise NotFound("no such live account")
    return Account(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        municipality_ids=frozenset(row["municipality_ids"]),
        region_ids=frozenset(row["region_ids"]),
        analysed_municipality_ids=frozenset(row["analysed_municipality_ids"]),
    )


def account_by_name(conn: Connection, name: str) -> Account:
    """The live account called ``name``, for local tools run by someone with database access.

    Raises:
        NotFound: no live account of that name.
    """
    try:
        return _account_where(conn, "a.name = :v", name)
    except NotFound:
        raise NotFound(f"no active account named {name!r}") from None


def revoke_account(conn: Connection, name: str) -> None:
    """Revoke the account for good: its token, password, invitations and browser sessions.

    Raises:
        NotFound: no live account of that name.
    """
    revoked = conn.execute(
        text("UPDATE account SET revoked_at = now(), token_hash = NULL, password_hash = NULL "
             "WHERE name = :n AND revoked_at IS NULL RETURNING id"),
        {"n": name},
    ).first()
    if revoked is None:
        raise NotFound(f"no active account named {name!r}")
    for table in ("account_session", "account_invitation"):
        conn.execute(text(f"DELETE FROM {table} WHERE account_id = :a"), {"a": revoked[0]})


def list_accounts(conn: Connection) -> list[dict]:
    return [
        dict(row)
        for row in conn.execute(
            text(
                """
                SELECT a.id, a.name, a.role, a.created_at, a.revoked_at,
                       a.password_hash IS NOT NULL AS has_password,
                       coalesce(string_agg(DISTINCT m.name, ', '), '') AS municipalities,
                       coalesce(string_agg(DISTINCT r.code, ', '), '') AS regions
                FROM account a
                LEFT JOIN account_municipality am ON am.account_id = a.id
                LEFT JOIN municipality m ON m.id = am.municipality_id
                LEFT JOIN account_region ar ON ar.account_id = a.id
                LEFT JOIN region r ON r.id = ar.region_id
                GROUP BY a.id ORDER BY a.name
                """
            )
        ).mappings()
    ]


def _municipality_id(conn: Connection, name_or_id: str) -> int:
    row = conn.execute(
        text("SELECT id FROM municipality WHERE lower(name) = lower(:v) OR id::text = :v"),
        {"v": str(name_or_id)},
    ).all()
    if len(row) != 1:
        raise InvalidInput("municipality", f"unknown municipality {name_or_id!r}")
    return row[0][0]


def _region_id(conn: Connection, code: str) -> int:
    return regions.resolve(conn, [code]).ids[0]


# -- failed authentications ------------------------------------------------------------------

#: A client address may fail this many times within the window; then its wrong tokens get
#: 429 until the oldest failure ages out. A valid token is accepted whatever its address
#: did (checked first), so nobody can lock another caller out by failing in its name.
MAX_AUTH_FAILURES = 10
AUTH_FAILURE_WINDOW_SECONDS = 600


def failure_key(client: str) -> str:
    """What failures from the address ``client`` are counted under: the address itself, and
    for IPv6 its /64, since one host commonly holds a whole /64 and could otherwise try
    from a fresh address every time. Tokens carry no account id to count by as well."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client  # not an address (e.g. a test client's name): counted as given
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def auth_retry_after(conn: Connection, client: str, limit: int = MAX_AUTH_FAILURES) -> int:
    """Seconds ``client`` must wait before a wrong token is answered 401 again rather than
    429 (0: not limited): once it failed ``limit`` times within the window.

    Counted in the database so every worker and machine behind a load balancer agrees.
    """
    row = conn.execute(
        text(
            """
            SELECT count(*) AS failures, min(occurred_at) AS oldest
            FROM auth_failure
            WHERE client = :c
              AND occurred_at > clock_timestamp() - make_interval(secs => :window)
            """
        ),
        {"c": failure_key(client), "window": AUTH_FAILURE_WINDOW_SECONDS},
    ).mappings().one()
    if row["failures"] < limit:
        return 0
    # Free again when the oldest failure in the window ages out of it.
    wait = conn.execute(
        text("SELECT ceil(extract(epoch FROM :oldest + make_interval(secs => :window) "
             "- clock_timestamp()))::int"),
        {"oldest": row["oldest"], "window": AUTH_FAILURE_WINDOW_SECONDS},
    ).scalar_one()
    return max(int(wait), 1)


def record_auth_failure(conn: Connection, client: str) -> None:
    """Remember one failed authentication from ``client``; old ones are forgotten on the way."""
    conn.execute(
        text("DELETE FROM auth_failure "
             "WHERE occurred_at < clock_timestamp() - make_interval(secs => :window)"),
        {"window": AUTH_FAILURE_WINDOW_SECONDS},
    )
    conn.execute(text("INSERT INTO auth_failure (client) VALUES (:c)"),
                 {"c": failure_key(client)})
