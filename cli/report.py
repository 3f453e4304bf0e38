"""``locations report``: a region's or a comparison's report as a PDF or a workbook (XLSX)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.support import connected_engine, console, err_console, explained

report_app = typer.Typer(help="Reports for councils: a region's figures, or regions compared, "
                              "as PDF (charts and tables) or XLSX (the figures behind them).",
                         no_args_is_help=True)

Output = Annotated[Path, typer.Option("--output", "-o",
                                      help="File to write: .pdf, or .xlsx for the workbook")]
From = Annotated[str | None, typer.Option("--from", help="First month of the period, 2025-01")]
To = Annotated[str | None, typer.Option("--to", help="Last month of the period (default: now)")]
Lang = Annotated[str, typer.Option(help="Language: en, sl or de")]


def _write(codes: list[str], output: Path, start: str | None, end: str | None, lang: str) -> None:
    from locations import dashboard

    suffix = output.suffix.lower().lstrip(".")
    if suffix not in ("pdf", "xlsx"):
        err_console.print("[bold red]error:[/] --output must end in .pdf or .xlsx")
        raise typer.Exit(code=2)
    if lang not in ("en", "sl", "de"):
        err_console.print("[bold red]error:[/] --lang must be en, sl or de")
        raise typer.Exit(code=2)
    first, last = dashboard.parse_period(start, end)
    # Imported when the command runs: the PDF's libraries would slow every other command.
    from maps import report
    from maps.i18n import Translator

    translator = Translator(lang)
    with connected_engine().connect() as conn:
        made = report.make_report(conn, translator, codes, start=first, end=last)
    build = report.build_pdf if suffix == "pdf" else report.build_xlsx
    body = build(translator, made)
    output.write_bytes(body)
    console.print(f"Wrote {output} ({len(body) / 1024:.0f} KiB)")


@report_app.command("region")
@explained
def region(
    code: Annotated[str, typer.Argument(help="Region code or NUTS prefix: SI042, AT22 ...")],
    output: Output = Path("report.pdf"),
    start: From = None,
    end: To = None,
    lang: Lang = "en",
) -> None:
    """One region's dashboard: land by status and readiness, occupancy, brownfield share,
    freshness and score distributions, with the standard version they are by."""
    _write([code], output, start, end, lang)


@report_app.command("compare")
@explained
def compare(
    codes: Annotated[list[str], typer.Argument(help="2 to 4 region codes or NUTS prefixes")],
    output: Output = Path("report.pdf"),
    start: From = None,
    end: To = None,
    lang: Lang = "en",
) -> None:
    """Two to four regions side by side, with the differences that matter in words."""
    _write(codes, output, start, end, lang)
