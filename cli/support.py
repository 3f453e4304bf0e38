"""What every command group of the CLI shares: consoles, error reporting, a checked engine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from locations.errors import LocationsError

#: SQLSTATE of "permission denied": the role of DATABASE_URL lacks a privilege.
INSUFFICIENT_PRIVILEGE = "42501"

console = Console()
err_console = Console(stderr=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """The platform's own errors as one clear line on stderr and exit code 1."""
    try:
        yield
    except LocationsError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    except DBAPIError as exc:
        # A server's own role set up with fewer privileges than the command needs is the
        # user's to fix, not a bug: one line that says so, not a traceback ending in SQL.
        if getattr(exc.orig, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
            raise
        reason = str(exc.orig).strip().splitlines()[0]
        err_console.print(
            f"[bold red]error:[/] database: {reason}. The role of DATABASE_URL needs to read "
            "and write the platform's tables (its owner, which ran `locations db migrate`, "
            "does); see DATABASE_URL in the README.")
        raise typer.Exit(code=1) from None


def explained(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator form of :func:`reported_errors` for whole commands."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reported_errors():
            return command(*args, **kwargs)

    return wrapper


def connected_engine() -> Engine:
    """The configured database's engine, after checking that it answers.

    Raises:
        DatabaseUnavailable: naming the host and what to do.
    """
    from locations.db import check_connection, get_engine

    engine = get_engine()
    check_connection(engine)
    return engine
