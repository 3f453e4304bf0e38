"""Importing GIS files into the platform: read, map, validate row by row, then load all or nothing.

``import_file`` is the one entry point; the CLI (``locations import``) and the
API (``POST /imports``) both call it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from locations.accounts import Account, authorise, reach
from locations.db import server_message
from locations.errors import InvalidInput
from locations.imports import boundaries, staging
from locations.imports import placement as placements
from locations.imports.crs_hint import crs_hint
from locations.imports.sources import read_source
from locations.imports.staging import Progress, Scope
from locations.imports.targets import target
from locations.mappings import fitting_mappings, load_mapping
from locations.plot_updates import check_effective_date, parse_effective_date


@dataclass
class ImportReport:
    """What an import found and did. ``problems`` are ``(row, field, reason)``, rows from 1."""

    target: str
    file: str
    rows: int
    srid: int | None
    crs_source: str
    mapping: str
    dry_run: bool = False
    skip_invalid: bool = False
    written: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str | None = None  # a CSV's text encoding; a shapefile's when it had to be told
    available_by_default: int = 0  # new plots without a status in the file, made available
    not_brownfield_by_default: int = 0  # new plots without a brownfield value, greenfield
    crs_hint: str | None = None  # most rows outside their regions: the CRS that would fit
    in_no_zone: int = 0  # rows of a cadastral file naming no zone and lying in none: left out
    notes: list[str] = field(default_factory=list)  # mapped fields the file lacks, left out
    #: Regions and municipalities: what the new boundaries do to what depends on them.
    boundary_changes: boundaries.BoundaryReport | None = None
    #: Zones and plots the file's rows put across municipality borders, seats outside.
    placement: placements.PlacementReport | None = None

    @property
    def problem_rows(self) -> list[int]:
        return sorted({row for row, _, _ in self.problems})

    @property
    def rejected(self) -> bool:
        """Refused whole: problems found and nothing written."""
        return bool(self.problems) and not self.written and not self.dry_run

    def describe_problems(self, limit: int = 100) -> str:
        lines = [f"row {row}, {field_}: {reason}" for row, field_, reason in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more")
        return "\n".join(lines)

    def problems_csv(self) -> bytes:
        """Every problem as CSV (UTF-8): ``row,field,reason``, one line each."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["row", "field", "reason"])
        writer.writerows(self.problems)
        return buffer.getvalue().encode("utf-8")

    @property
    def refused(self) -> bool:
        """Refused whole, or, for a dry run, would be: problems and no ``skip_invalid``."""
        return self.rejected or (self.dry_run and bool(self.problems) and not self.skip_invalid)

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        if self.refused:
            outcome = "would be imported" if self.dry_run else "imported"
            return (f"{self.file}: nothing {outcome}; {len(self.problems):,} problem(s) in "
                    f"{len(self.problem_rows):,} of {self.rows:,} row(s)"
                    + (f"; {self.in_no_zone:,} more lie in no business zone and would be left out"
                       if self.in_no_zone else "")
                    + (f". {self.crs_hint}" if self.crs_hint else ""))
        text_ = (f"{self.file}: {self.created:,} {self.target} {verb} created, "
                 f"{self.updated:,} updated, {self.unchanged:,} unchanged")
        if self.problems:
            text_ += f"; {len(self.problem_rows):,} row(s) with problems skipped"
        if self.in_no_zone:
            text_ += (f"; {self.in_no_zone:,} row(s) lie in no business zone and {verb} "
                      "left out")
        if self.available_by_default:
            text_ += (f"; {self.available_by_default:,} new plot(s) had no status and {verb} "
                      "made available (give a status column to say otherwise)")
        if self.not_brownfield_by_default:
            text_ += (f"; {self.not_brownfield_by_default:,} new plot(s) had no brownfield "
                      f"value and {verb} stored as not brownfield")
        changes = self.boundary_changes
        if changes is not None:
            renamed = sum(1 for r in changes.renamed if r.get("accepted"))
            findings = (
                (renamed, f"code(s) {verb} renamed"),
                (len(changes.reassigned), f"{verb} moved by position (reassigned)"),
                (len(changes.missing),
                 "code(s) of the database are not in the file and are kept (merged?)"),
                (len(changes.overlaps), "overlap(s) with other boundaries of that level"),
                (len(changes.area_differences),
                 "official area(s) differ from the boundary's by over 1 %"),
            )
            for count, what in findings:
                if count:
                    text_ += f"; {count:,} {what}"
        found = self.placement
        if found:
            for count, what in (
                    (len(found.zones), "zone(s) lie in several municipalities (shared)"),
                    (found.plots_total, "plot(s) lie across municipality borders"),
                    (len(found.seats_outside), "seat(s) lie outside their municipality")):
                if count:
                    text_ += f"; {count:,} {what}"
        if self.crs_hint:
            text_ += f". {self.crs_hint}"
        return text_

    def as_dict(self, problems_limit: int | None = None) -> dict[str, Any]:
        return {
            "target": self.target, "file": self.file, "rows": self.rows,
            "crs": f"EPSG:{self.srid}" if self.srid else None, "crs_source": self.crs_source,
            "mapping": self.mapping, "dry_run": self.dry_run, "written": self.written,
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "problem_rows": len(self.problem_rows),
            "problems": [{"row": r, "field": f, "reason": m}
                         for r, f, m in self.problems[:problems_limit]],
            "ignored_columns": self.ignored_columns, "encoding": self.encoding,
            "available_by_default": self.available_by_default,
            "not_brownfield_by_default": self.not_brownfield_by_default,
            "crs_hint": self.crs_hint, "in_no_zone": self.in_no_zone,
            "notes": self.notes,
            "boundary_changes": (self.boundary_changes.as_dict() if self.boundary_changes
                                 else None),
            "placement": self.placement.as_dict() if self.placement is not None else None,
            "summary": self.summary(),
        }


def scope_of(account: Account | None, target_name: str) -> Scope:
    """The rows ``account`` may import into ``target_name``; None (the CLI's operator) may do all.

    Raises:
        Forbidden: the role may not import this target at all.
    """
    if account is None:
        return Scope()
    authorise(account, "import", target=target_name)
    where = reach(account, "import")
    return Scope() if where is None else Scope(municipality_ids=frozenset(where))


def _match_field_names(frame: Any, spec: Any, target_name: str) -> Any:
    """Accept fields in any letter case, as Shapefile's 10-character cut (``cadastral_``),
    under their aliases (``area_km2`` for ``official_area_km2``), and as the headings of a
    download in any language ("Cena (€/m²)" is ``price_eur_m2``)."""
    headed = _headings(target_name)
    renames = {}
    for field_spec in spec.fields:
        name = field_spec.name
        if name in frame.columns:
            continue
        for candidate in (name, *field_spec.aliases):
            column = next((c for c in frame.columns if c not in renames and (
                str(c).strip().lower() == candidate
                or (len(candidate) > 10 and str(c).strip().lower() == candidate[:10])
                or (candidate == name and headed.get(str(c).strip().lower()) == name))), None)
            if column is not None:
                renames[column] = name
                break
    return frame.rename(columns=renames) if renames else frame


def _headings(target_name: str) -> dict[str, str]:
    """The headings of ``target_name``'s downloads in every language, lowered, to their codes."""
    from locations.imports.exports import dictionary

    try:
        columns = dictionary(target_name)
    except InvalidInput:  # only plots and zones are downloaded with headings
        return {}
    return {label.strip().lower(): column["name"] for column in columns
            for label in (column.get("label") or {}).values()}


def import_file(
    engine: Engine,
    target_name: str,
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    mapping: str | Path | None = None,
    dry_run: bool = False,
    make_valid: bool = False,
    skip_invalid: bool = False,
    rename: bool = False,
    reassign: bool = False,
    level: str | None = None,
    account: Account | None = None,
    actor: str | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
    effective_date: Any = None,
) -> ImportReport:
    """Import ``path`` into ``target_name`` (regions ... constraints), all or nothing.

    Every row is checked before anything is written. With problems, nothing is
    written unless ``skip_invalid`` (then the good rows load and the rest are
    reported). A dry run checks and counts, then rolls back. ``effective_date``: the day
    the plots' state took effect (their audit events' effective date; default today).

    Regions and municipalities are also judged by what they do to what depends on
    them (``imports.boundaries``): a code whose name would change is refused unless
    ``rename``; zones, plots or municipalities the new boundaries leave outside are
    refused unless ``reassign``, which moves each to where it lies (audited). Those
    refusals hold with ``skip_invalid`` too: they are about the database, not a row.
    ``level`` names the level of every region of the file (over its own level column and
    its mapping's); without any, a region's level is its code's (``locations.regions``).

    Raises:
        InvalidInput: the file cannot be used at all (format, CRS, layer, missing column).
        Forbidden: the account may not import this target.
    """
    spec = target(target_name)
    scope = scope_of(account, target_name)
    chosen = load_mapping(mapping, target_name)
    name = display_name or path.name
    if progress:
        progress("reading", 0, 1)
    source = read_source(path, layer=layer, crs=crs, encoding=encoding,
                         coordinates=chosen.coordinates, name=name)
    frame, keep, mapping_notes = chosen.apply(
        source.attributes, required=tuple(f.name for f in spec.fields if f.required))
    frame = _match_field_names(frame[keep.to_numpy()], spec, target_name)
    if level is not None:
        if target_name != "regions":
            raise InvalidInput("level", f"only regions have a level, not {target_name}")
        frame = frame.assign(level=level)
    wkb = source.wkb[keep.to_numpy()]
    if len(source.attributes) == 0 and len(source.attributes.columns) == 0:
        # A GeoJSON of no features has no columns either: "required column missing" would
        # send its user looking for a column instead of the features.
        raise InvalidInput("file", f"{name} holds no features: nothing to import")
    missing = [f.name for f in spec.fields if f.required and f.name not in frame.columns]
    if missing:
        # A file as published (GURS's OB_*, Statistik Austria's iso/name): name the shipped
        # mapping that reads it, rather than send its user to rename columns by hand.
        fitting = ([] if chosen.fields else fitting_mappings(
            list(source.attributes.columns), target_name,
            tuple(f.name for f in spec.fields if f.required)))
        raise InvalidInput(
            "file",
            f"{name}: required column(s) {', '.join(missing)} missing for {target_name}; the file has "
            f"{', '.join(map(str, source.attributes.columns)) or 'no columns'}"
            + ("" if chosen.fields else
               f"; the shipped mapping {' or '.join(fitting)} reads it (--mapping {fitting[0]})"
               if fitting else "; a mapping (--mapping) may translate its columns"),
        )
    report = ImportReport(
        target=target_name, file=name, rows=len(frame), srid=source.srid,
        crs_source=source.crs_source, mapping=chosen.name, dry_run=dry_run,
        skip_invalid=skip_invalid, encoding=source.encoding, notes=mapping_notes,
        ignored_columns=sorted(
            str(c) for c in frame.columns
            if c not in spec.field_names and c not in chosen.source_columns()
        ),
    )
    kept_rows = set((frame.index + 1).tolist()) if len(frame) != len(source.attributes) else None
    read_problems = [p for p in source.problems if kept_rows is None or p[0] in kept_rows]
    if progress:
        progress("reading", 1, 1)

    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            # Big imports hash-join and sort a million rows: give this transaction room.
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            # Each large statement here runs once: compiling it costs more than it saves
            # (0.3 to 1.2 s a statement at 1M rows).
            conn.execute(text("SET LOCAL jit = off"))
            effective = check_effective_date(conn, None, parse_effective_date(effective_date))
            workspace = staging.open_workspace(conn)
            # The fields are checked (targets.normalise) chunk by chunk as they are staged.
            columns, field_problems = staging.stage(conn, spec, frame, wkb, progress)
            staging.add_problems(conn, field_problems + read_problems)
            if progress:
                progress("checking", 0, 1)
            try:
                report.in_no_zone = staging.resolve(
                    conn, spec, columns, source.srid, make_valid=make_valid, scope=scope)
            except DBAPIError as exc:
                # PROJ refusing a point fails the statement, not a row: the CRS given does
                # not fit the coordinates (lon/lat rows are caught row by row before this).
                message = server_message(exc)
                if not message.startswith("transform:"):
                    raise
                raise InvalidInput("crs", f"{name}: the coordinates cannot be transformed from "
                                          f"EPSG:{source.srid} ({message}): is the CRS right?"
                                   ) from None
            report.problems = staging.problems(conn)
            if report.problems:
                report.crs_hint = crs_hint(conn, source.srid, report.rows, report.problems)
            if progress:
                progress("checking", 1, 1)
            # A boundary file with bad rows still loads its good ones, to be rolled back: what
            # they would do to zones and plots belongs in the report that refuses the file.
            if (report.problems and not skip_invalid
                    and target_name not in boundaries.BOUNDARY_TABLES):
                transaction.rollback()
                return report
            if progress:
                progress("loading", 0, 1)
            who = actor or (account.name if account else "import")
            boundary_report = (boundaries.before_load(conn, target_name, rename=rename)
                               if target_name in boundaries.BOUNDARY_TABLES else None)
            if target_name in placements.TARGETS:
                placements.before_load(conn)
            counts = staging.load(
                conn, spec, columns, actor=who, account_id=account.id if account else None,
                note=f"import of {name}", progress=progress, effective_date=effective,
            )
            if boundary_report is not None:
                before = len(staging.problems(conn))
                boundaries.after_load(conn, target_name, boundary_report, reassign=reassign,
                                      actor=who, account_id=account.id if account else None,
                                      note=f"import of {name}")
                report.boundary_changes = boundary_report
                if len(staging.problems(conn)) > before:
                    report.skip_invalid = False
            if target_name in placements.TARGETS:
                # After any reassignment: where the rows lie as they would be kept.
                report.placement = placements.after_load(conn, target_name)
            if effective_date is not None and target_name == "plots":
                _check_effective_order(conn, effective)
            # Rows a new record could not be created for are problems too.
            report.problems = staging.problems(conn)
            report.created, report.updated, report.unchanged = (
                counts.created, counts.updated, counts.unchanged)
            report.available_by_default = counts.available_by_default
            report.not_brownfield_by_default = counts.not_brownfield_by_default
            if progress:
                progress("loading", 1, 1)
            if dry_run or (report.problems and not report.skip_invalid):
                transaction.rollback()
            else:
                staging.close_workspace(conn, workspace)
                transaction.commit()
                report.written = True
        except BaseException:
            transaction.rollback()
            raise
    return report


def _check_effective_order(conn: Any, effective: Any) -> None:
    """Refuse an effective date before a changed plot's latest recorded change, as for one
    plot (``check_effective_date``): its history would run in another order than told.

    Raises:
        InvalidInput: naming ``effective_date``, the plots and their latest change.
    """
    late = conn.execute(text(
        """
        SELECT p.cadastral_ref, max(e.effective_date) AS latest
        FROM import_written w
        JOIN plot p ON p.id = w.id
        JOIN plot_event e ON e.plot_id = w.id
        WHERE NOT w.created AND e.action <> 'verify' AND e.effective_date > :effective
        GROUP BY p.cadastral_ref
        ORDER BY p.cadastral_ref
        LIMIT 5
        """
    ), {"effective": effective}).all()
    if late:
        plots = ", ".join(f"{row.cadastral_ref} ({row.latest})" for row in late)
        raise InvalidInput("effective_date", f"{effective} is before the latest recorded change "
                                             f"of plot(s) {plots}")
