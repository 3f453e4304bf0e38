"""Files kept between their preview and their application: a bulk update's sheet checked by a
dry run, an import file whose dry run is read before it is started.

The file stays on the server, in the database (so any of several servers can apply it),
under a random token whose hash is stored, bound to the account and to the browser
session that sent it: another person, or the same person in another session, cannot
apply it, and the rows applied are read again from the very file previewed, never from
anything the browser sends back. A staged file lives ``STAGED_UPLOAD_HOURS`` at most.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import Connection, text

from locations.accounts import Account
from locations.errors import InvalidInput, NotFound
from locations.limits import MAX_STAGED_BYTES, STAGED_UPLOAD_HOURS

PURPOSES = ("plot_updates", "import")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def purge(conn: Connection) -> int:
    """Delete the staged files older than ``STAGED_UPLOAD_HOURS``; how many."""
    return conn.execute(text("DELETE FROM staged_upload "
                             "WHERE created_at < now() - make_interval(hours => :h)"),
                        {"h": STAGED_UPLOAD_HOURS}).rowcount


def stage(conn: Connection, account: Account, session_key: str, purpose: str, file_name: str,
          content: bytes, options: dict[str, Any] | None = None,
          job_id: int | None = None) -> str:
    """Keep ``content`` for ``account`` in the session of ``session_key``; its token.

    Raises:
        InvalidInput: larger than ``MAX_STAGED_BYTES``.
    """
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    if len(content) > MAX_STAGED_BYTES:
        raise InvalidInput("file", f"the file has {len(content) / 1024 / 1024:.0f} MB; a page "
                                   f"keeps at most {MAX_STAGED_BYTES // 1024 // 1024} MB for its "
                                   "preview: send larger files with POST /imports or "
                                   "'locations import'")
    purge(conn)
    token = secrets.token_urlsafe(32)
    conn.execute(text(
        """
        INSERT INTO staged_upload (token_hash, purpose, account_id, session_hash, file_name,
                                   options, content, job_id)
        VALUES (:token, :purpose, :account, :session, :name, CAST(:options AS jsonb),
                :content, :job)
        """), {"token": _hash(token), "purpose": purpose, "account": account.id,
               "session": _hash(session_key), "name": file_name,
               "options": json.dumps(options or {}), "content": content, "job": job_id})
    return token


_EXPIRED = ("the file is no longer kept (after {hours} hour(s), or in another session, or "
            "already applied): upload it again")


def _find(conn: Connection, condition: str, params: dict[str, Any], account: Account,
          session_key: str, purpose: str) -> dict[str, Any]:
    row = conn.execute(text(
        f"""
        SELECT id, file_name, options, content, job_id FROM staged_upload
        WHERE {condition} AND purpose = :purpose AND account_id = :account
          AND session_hash = :session
          AND created_at >= now() - make_interval(hours => :h)
        FOR UPDATE
        """), {**params, "purpose": purpose, "account": account.id,
               "session": _hash(session_key), "h": STAGED_UPLOAD_HOURS}).mappings().first()
    if row is None:
        raise NotFound(_EXPIRED.format(hours=STAGED_UPLOAD_HOURS))
    return {**row, "content": bytes(row["content"])}


def take(conn: Connection, account: Account, session_key: str, purpose: str,
         token: str) -> dict[str, Any]:
    """The staged file of ``token`` (``file_name``, ``options``, ``content``), locked for
    the caller's transaction; ``discard`` it there once applied.

    Raises:
        NotFound: no such token for this account and session, or expired.
    """
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound(_EXPIRED.format(hours=STAGED_UPLOAD_HOURS))
    return _find(conn, "token_hash = :token", {"token": _hash(token)}, account, session_key,
                 purpose)


def for_job(conn: Connection, account: Account, session_key: str, job_id: int,
            ) -> dict[str, Any] | None:
    """The import file staged with the dry-run job ``job_id`` in this session, or None."""
    try:
        return _find(conn, "job_id = :job", {"job": job_id}, account, session_key, "import")
    except NotFound:
        return None


def discard(conn: Connection, staged_id: int) -> None:
    conn.execute(text("DELETE FROM staged_upload WHERE id = :id"), {"id": staged_id})
