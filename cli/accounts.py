"""The ``locations accounts`` commands: create an account (its invitation link and token
shown once), list, reset (a new invitation), revoke."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.support import connected_engine, console, reported_errors

accounts_app = typer.Typer(help="Accounts, roles, their sign-in and bearer tokens.",
                           no_args_is_help=True)


def _ask_password() -> str:
    """A new password typed twice (never echoed), refused until it is acceptable."""
    from locations.sign_in import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem

    while True:
        password = typer.prompt("Password", hide_input=True)
        repeated = typer.prompt("Password again", hide_input=True)
        problem = password_problem(password, repeated)
        if problem is None:
            return password
        console.print(f"[red]The password is refused ({problem.replace('_', ' ')}); it needs "
                      f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, typed the "
                      "same twice.[/red]")


def _invitation_link(token: str) -> str:
    from locations.settings import get_settings

    return f"{get_settings().site_url}/maps/invitations/{token}"


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
    password: Annotated[
        bool, typer.Option("--password", help="Type the password here (asked twice, hidden) "
                                               "instead of printing an invitation link")
    ] = False,
) -> None:
    """Create an account; print the invitation link where its person sets a password (or
    ask for the password with --password), then its bearer token for scripts, alone on the
    last line. Both are shown this once only; only their hashes are stored."""
    from locations.accounts import account_by_name, create_account
    from locations.settings import get_settings
    from locations.sign_in import invite, set_password

    typed = _ask_password() if password else None
    with reported_errors(), connected_engine().begin() as conn:
        token = create_account(conn, name, role, municipalities=municipality, regions=region)
        if typed is not None:
            set_password(conn, account_by_name(conn, name).id, typed)
        else:
            invitation = invite(conn, name, get_settings().invitation_hours)
    console.print(f"Account {name!r} ({role}) created.")
    if typed is None:
        console.print(f"Send this invitation link to the person; it works once, for "
                      f"{get_settings().invitation_hours} hours, to set a password:")
        typer.echo(_invitation_link(invitation))
    else:
        console.print("Its password is set: sign in at /maps/sign-in.")
    console.print("Its API token for scripts (send it as 'Authorization: Bearer <token>'):")
    # Plain echo, not rich: the token must come out byte for byte, alone on its line.
    typer.echo(token)


@accounts_app.command("list")
def list_() -> None:
    """List accounts with their role, scope and whether a password is set (never their
    tokens or passwords)."""
    from locations.accounts import list_accounts

    with reported_errors(), connected_engine().connect() as conn:
        accounts = list_accounts(conn)
    table = Table("name", "role", "municipalities", "regions", "password", "created", "revoked")
    for account in accounts:
        table.add_row(
            account["name"], account["role"], account["municipalities"], account["regions"],
            "set" if account["has_password"] else "",
            f"{account['created_at']:%Y-%m-%d %H:%M}",
            f"{account['revoked_at']:%Y-%m-%d %H:%M}" if account["revoked_at"] else "",
        )
    console.print(table)


@accounts_app.command("reset")
def reset(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Print a new invitation link for the account: its password is cleared and it is
    signed out everywhere until the person sets a new password through the link (its API
    token keeps working)."""
    from locations.settings import get_settings
    from locations.sign_in import reset as reset_account

    with reported_errors(), connected_engine().begin() as conn:
        token = reset_account(conn, name, get_settings().invitation_hours)
    console.print(f"Account {name!r}: password cleared, signed out everywhere. Send this "
                  f"invitation link to the person; it works once, for "
                  f"{get_settings().invitation_hours} hours:")
    typer.echo(_invitation_link(token))


@accounts_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Revoke an account: its token, password and sessions stop working at once, for good."""
    from locations.accounts import revoke_account

    with reported_errors(), connected_engine().begin() as conn:
        revoke_account(conn, name)
    console.print(f"Account {name!r} revoked.")
