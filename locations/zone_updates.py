"""Authorised changes to a zone's facts, infrastructure and manager contact, each with its
audit event in the caller's transaction (``locations.writes`` guards the version)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

from locations.accounts import Account, authorise
from locations.field_rules import ZONE_FIELDS, _text, changed_fields, parse_fields
from locations.writes import check_version, guarded_update, row_for_write, set_clause


def zone_for_write(conn: Connection, zone_id: int) -> Mapping[str, Any]:
    """The zone a write starts from (its own or a new plot's), with its municipality."""
    return row_for_write(conn, "zone", zone_id, f"""
        SELECT z.id, z.version, z.municipality_id, m.name AS municipality_name, m.country,
               {", ".join("z." + field for field in ZONE_FIELDS)}
        FROM zone z JOIN municipality m ON m.id = z.municipality_id
        WHERE z.id = :id
        """)


def update_zone(
    conn: Connection,
    account: Account,
    zone_id: int,
    expected_version: int,
    values: Mapping[str, Any],
    *,
    note: str | None = None,
) -> int:
    """Change a zone's facts, infrastructure or manager contact; returns its new version.

    Raises:
        NotFound, Forbidden, PreconditionFailed, InvalidInput.
    """
    current = zone_for_write(conn, zone_id)
    authorise(account, "edit", municipality_id=current["municipality_id"],
              municipality_name=current["municipality_name"], what=f"zone {zone_id}")
    check_version("zone", current["version"], expected_version)
    parsed = parse_fields(values, ZONE_FIELDS)
    changes = changed_fields(current, parsed)
    if not changes:
        return current["version"]
    new_version = guarded_update(
        conn, "zone", zone_id, expected_version,
        set_clause(list(changes)) + "last_verified = current_date, ",
        {field: parsed[field] for field in changes},
    )
    conn.execute(
        text(
            """
            INSERT INTO zone_event (zone_id, actor, account_id, action, old_values, new_values, note)
            VALUES (:zone, :actor, :account, 'update', CAST(:old AS jsonb), CAST(:new AS jsonb), :note)
            """
        ),
        {
            "zone": zone_id, "actor": account.name, "account": account.id,
            "old": json.dumps({field: old for field, (old, _) in changes.items()}),
            "new": json.dumps({field: new for field, (_, new) in changes.items()}),
            "note": _text("note", note),
        },
    )
    return new_version
