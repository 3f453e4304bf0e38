"""The ``locations accounts`` commands: create an account (its token shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from locations.cli_support import connected_engine, console, reported_errors

accounts_app = typer.Typer(help="Accounts, roles and their bearer tokens.", no_args_is_help=True)


@accounts_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Account name, e.g. kranj-editor")],
    role: Annotated[str, typer.Option(help="investor, municipality, agency or admin")],
    municipality: Annotated[
        list[str] | None, typer.Option(help="Municipality (name or id) a municipality editor keeps; repeatable")
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="Region code an agency analyst reads, e.g. SI042; repeatable")
    ] = None,
) -> None:
    """Create an account and print its bearer token, alone on the last line, this once only."""
    from locations.accounts import create_account

    with reported_errors(), connected_engine().begin() as conn:
        token = create_account(conn, name, role, municipalities=municipality, regions=region)
    console.print(f"Account {name!r} ({role}) created. Its token is shown once only; "
                  "only its hash is stored. Send it as 'Authorization: Bearer <token>'.")
    # Plain echo, not rich: the token must come out byte for byte, alone on its line.
    typer.echo(token)


@accounts_app.command("list")
def list_() -> None:
    """List accounts with their role and scope (never their tokens)."""
    from locations.accounts import list_accounts

    with reported_errors(), connected_engine().connect() as conn:
        accounts = list_accounts(conn)
    table = Table("name", "role", "municipalities", "regions", "created", "revoked")
    for account in accounts:
        table.add_row(
            account["name"], account["role"], account["municipalities"], account["regions"],
            f"{account['created_at']:%Y-%m-%d %H:%M}",
            f"{account['revoked_at']:%Y-%m-%d %H:%M}" if account["revoked_at"] else "",
        )
    console.print(table)


@accounts_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Revoke an account: its token stops working at once, for good."""
    from locations.accounts import revoke_account

    with reported_errors(), connected_engine().begin() as conn:
        revoke_account(conn, name)
    console.print(f"Account {name!r} revoked.")
