"""The ``locations inquiries`` commands: deleting investors' personal data after the retention
period and on request, and sending the zone managers' mail that did not go out."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.support import connected_engine, console, explained

inquiries_app = typer.Typer(help="Investors' inquiries: retention, deletion, resending.",
                            no_args_is_help=True)


@inquiries_app.command("purge")
@explained
def purge(
    days: Annotated[int | None, typer.Option(
        min=1, help="Keep this many days (default LOCATIONS_INQUIRY_RETENTION_DAYS)")] = None,
) -> None:
    """Delete the inquiries older than the retention period (run it daily, e.g. from cron)."""
    from locations.inquiries import purge as purge_older
    from locations.settings import get_settings

    days = days or get_settings().inquiry_retention_days
    with connected_engine().begin() as conn:
        deleted = purge_older(conn, days)
    console.print(f"Deleted {deleted} inquiries received more than {days} days ago.")


@inquiries_app.command("delete")
@explained
def delete(
    email: Annotated[str, typer.Option(help="The inquirer's e-mail address (any case)")],
) -> None:
    """Delete every inquiry sent with EMAIL: an investor asking for their data to be erased."""
    from locations.inquiries import delete_by_email

    with connected_engine().begin() as conn:
        deleted = delete_by_email(conn, email)
    console.print(f"Deleted {deleted} inquiries sent with that address.")


@inquiries_app.command("send")
@explained
def send() -> None:
    """Send the zone managers' mail of the inquiries whose mail is pending or failed."""
    from locations.inquiries import send_unsent
    from locations.settings import get_settings

    if not get_settings().smtp_url:
        console.print("LOCATIONS_SMTP_URL is not set: no mail is sent.")
        raise typer.Exit(code=1)
    outcome = send_unsent(connected_engine())
    console.print(f"Sent {outcome['sent']}, failed {outcome['failed']} (the reason is in "
                  "GET /inquiries).")
    if outcome["failed"]:
        raise typer.Exit(code=1)
