"""People signing in: passwords (argon2id), one-time invitations to set them, browser sessions.

An account gets its password through an invitation link whose token is shown once and
stored only as its SHA-256, expires, and works once. A browser session is a random
cookie, likewise stored only hashed, ended by signing out, by an admin's reset or
revocation, after ``session_idle_minutes`` without a request, and ``session_max_hours``
after signing in.

Failed sign-ins are counted (``accounts.record_auth_failure``) under two keys: the client
address alone, shared with wrong API tokens, and the pair (account, address). Either at
its limit refuses further sign-ins from that address, the right password included, since
otherwise the limit would not slow a guesser down. No count is kept per account alone:
a stranger failing in an account's name from elsewhere never locks its owner out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, text

from locations.accounts import (
    MAX_AUTH_FAILURES,
    Account,
    _account_where,
    auth_retry_after,
    failure_key,
    hash_token,
    record_auth_failure,
)
from locations.errors import InvalidInput, NotFound, TooManyRequests

#: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane): some 50 ms on one core,
#: and a few sign-ins at once do not take the server's memory. Hashes carry their own
#: parameters: a hash made with others still verifies and is redone at the next sign-in.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
#: Checked against when the name is unknown, so that the answer takes as long as for a
#: known name and does not tell which names exist.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))

#: NIST SP 800-63B: at least 8 characters, long passphrases welcome; the upper bound only
#: keeps one request from hashing megabytes.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
#: Failed sign-ins as one account from one address before that address must wait (the
#: address as a whole may fail ``MAX_AUTH_FAILURES`` times, over all names and API tokens).
MAX_SIGN_IN_FAILURES = 5
#: Names as typed into the sign-in form are never longer than an account's name can be.
MAX_NAME_LENGTH = 200


# -- passwords ---------------------------------------------------------------------------------

def password_problem(password: str, repeated: str | None = None) -> str | None:
    """Why ``password`` cannot be an account's password (a code: ``too_short``,
    ``too_long``, ``mismatch``), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    if repeated is not None and repeated != password:
        return "mismatch"
    return None


def set_password(conn: Connection, account_id: int, password: str) -> None:
    """Store ``password``'s argon2id hash and end the account's sessions (someone who knew
    the old password is signed out).

    Raises:
        InvalidInput: the password is too short or too long.
    """
    if (problem := password_problem(password)) is not None:
        raise InvalidInput("password", f"the password is {problem.replace('_', ' ')} "
                           f"({MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters)")
    conn.execute(text("UPDATE account SET password_hash = :h WHERE id = :a"),
                 {"h": HASHER.hash(password), "a": account_id})
    end_sessions(conn, account_id)


def _password_matches(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- invitations -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invitation:
    """A live invitation: whose account it sets the password of."""

    id: int
    account_id: int
    account_name: str


def invite(conn: Connection, name: str, hours: int) -> str:
    """A new invitation for the live account ``name``, valid ``hours``: its token (shown
    once, stored hashed). Earlier unused invitations of the account stop working.

    Raises:
        NotFound: no live account of that name.
    """
    account_id = conn.execute(
        text("SELECT id FROM account WHERE name = :n AND revoked_at IS NULL"), {"n": name}
    ).scalar()
    if account_id is None:
        raise NotFound(f"no active account named {name!r}")
    conn.execute(text("DELETE FROM account_invitation WHERE account_id = :a AND used_at IS NULL"),
                 {"a": account_id})
    token = secrets.token_urlsafe(32)
    conn.execute(
        text("INSERT INTO account_invitation (account_id, token_hash, expires_at) "
             "VALUES (:a, :h, now() + make_interval(hours => :hours))"),
        {"a": account_id, "h": hash_token(token), "hours": hours},
    )
    return token


def reset(conn: Connection, name: str, hours: int) -> str:
    """An admin's reset: the password is cleared, every session of the account ends, and
    a new invitation (its token returned) lets the person set a new password.

    Raises:
        NotFound: no live account of that name.
    """
    token = invite(conn, name, hours)
    account_id = conn.execute(
        text("UPDATE account SET password_hash = NULL WHERE name = :n RETURNING id"),
        {"n": name}).scalar_one()
    end_sessions(conn, account_id)
    return token


def open_invitation(conn: Connection, token: str, *, lock: bool = False) -> Invitation:
    """The invitation of ``token`` while it is unused, unexpired and its account live.

    Raises:
        NotFound: no such invitation, or used, expired or of a revoked account (one
            answer for all: the link no longer works, whoever asks).
    """
    row = conn.execute(
        text(
            "SELECT i.id, i.account_id, a.name FROM account_invitation i "
            "JOIN account a ON a.id = i.account_id "
            "WHERE i.token_hash = :h AND i.used_at IS NULL AND i.expires_at > now() "
            "AND a.revoked_at IS NULL" + (" FOR UPDATE OF i" if lock else "")
        ),
        {"h": hash_token(token)},
    ).first()
    if row is None:
        raise NotFound("this invitation link is unknown, used or expired")
    return Invitation(id=row[0], account_id=row[1], account_name=row[2])


def accept_invitation(conn: Connection, token: str, password: str) -> Account:
    """Set the password through the invitation of ``token``, which is used up.

    Raises:
        NotFound: the invitation does not work (any more).
        InvalidInput: the password is refused; the invitation stays usable.
    """
    invitation = open_invitation(conn, token, lock=True)
    set_password(conn, invitation.account_id, password)
    conn.execute(text("UPDATE account_invitation SET used_at = now() WHERE id = :i"),
                 {"i": invitation.id})
    return _account_where(conn, "a.id = CAST(:v AS integer)", str(invitation.account_id))


# -- signing in --------------------------------------------------------------------------------

def _failure_keys(name: str, client: str) -> tuple[str, str]:
    """The address's own key (shared with wrong API tokens) and the (account, address) pair's.
    The pair names the account as typed: an unknown name is counted like a known one."""
    return client, f"sign-in {name.strip().lower()!r} from {failure_key(client)}"


def sign_in_retry_after(conn: Connection, name: str, client: str) -> int:
    """Seconds until ``client`` may try to sign in as ``name`` again (0: now)."""
    address, pair = _failure_keys(name, client)
    return max(auth_retry_after(conn, address, MAX_AUTH_FAILURES),
               auth_retry_after(conn, pair, MAX_SIGN_IN_FAILURES))


def check_password(conn: Connection, name: str, password: str, client: str) -> Account | None:
    """The live account ``name`` if ``password`` is its password, else None (wrong name or
    password, which of them is not said) with the failure counted: the caller commits.

    Raises:
        TooManyRequests: ``client`` failed too often recently (for this name or any);
            nothing is written.
    """
    name = name[:MAX_NAME_LENGTH]
    wait = sign_in_retry_after(conn, name, client)
    if wait:
        raise TooManyRequests(
            f"too many failed sign-ins from this address; retry in {wait} s", wait)
    row = conn.execute(
        text("SELECT id, password_hash FROM account WHERE name = :n AND revoked_at IS NULL"),
        {"n": name},
    ).first()
    if row is not None and _password_matches(row[1], password[:MAX_PASSWORD_LENGTH]):
        if HASHER.check_needs_rehash(row[1]):
            conn.execute(text("UPDATE account SET password_hash = :h WHERE id = :a"),
                         {"h": HASHER.hash(password[:MAX_PASSWORD_LENGTH]), "a": row[0]})
        return _account_where(conn, "a.id = CAST(:v AS integer)", str(row[0]))
    if row is None:
        _password_matches(None, password[:MAX_PASSWORD_LENGTH])  # the same time either way
    for key in _failure_keys(name, client):
        record_auth_failure(conn, key)
    return None


# -- sessions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionLimits:
    """When a session ends by itself: ``idle_minutes`` without a request, ``max_hours``
    after signing in."""

    idle_minutes: int
    max_hours: int

    @classmethod
    def of(cls, settings) -> SessionLimits:
        return cls(settings.session_idle_minutes, settings.session_max_hours)


#: A session's last use is written at most once a minute, not on every request.
TOUCH_SECONDS = 60
_LIVE = ("s.created_at > now() - make_interval(hours => :max_hours) "
         "AND s.last_seen_at > now() - make_interval(mins => :idle)")


def start_session(conn: Connection, account_id: int, limits: SessionLimits) -> str:
    """A new session of the account: its cookie value (stored only hashed). Sessions past
    their limits, of anyone, are deleted on the way."""
    conn.execute(text(f"DELETE FROM account_session s WHERE NOT ({_LIVE})"),
                 {"max_hours": limits.max_hours, "idle": limits.idle_minutes})
    token = secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO account_session (account_id, token_hash) VALUES (:a, :h)"),
                 {"a": account_id, "h": hash_token(token)})
    return token


def session_account(conn: Connection, token: str, limits: SessionLimits) -> Account | None:
    """The live account of the live session ``token``, or None; its last use is noted."""
    row = conn.execute(
        text(f"""UPDATE account_session s SET last_seen_at = now()
                 WHERE s.token_hash = :h AND {_LIVE}
                   AND s.last_seen_at < now() - make_interval(secs => :touch)
                 RETURNING s.account_id"""),
        {"h": hash_token(token), "max_hours": limits.max_hours, "idle": limits.idle_minutes,
         "touch": TOUCH_SECONDS},
    ).first() or conn.execute(
        text(f"SELECT s.account_id FROM account_session s WHERE s.token_hash = :h AND {_LIVE}"),
        {"h": hash_token(token), "max_hours": limits.max_hours, "idle": limits.idle_minutes},
    ).first()
    if row is None:
        return None
    try:
        return _account_where(conn, "a.id = CAST(:v AS integer)", str(row[0]))
    except NotFound:
        return None  # revoked meanwhile


def end_session(conn: Connection, token: str) -> None:
    """Sign out: the session of ``token`` ends (nothing happens for an unknown one)."""
    conn.execute(text("DELETE FROM account_session WHERE token_hash = :h"),
                 {"h": hash_token(token)})


def end_sessions(conn: Connection, account_id: int) -> None:
    """Every session of the account ends (reset, revocation, new password)."""
    conn.execute(text("DELETE FROM account_session WHERE account_id = :a"), {"a": account_id})
