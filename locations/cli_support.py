"""What every command group of the CLI shares: consoles, error reporting, a checked engine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from locations.errors import LocationsError

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
