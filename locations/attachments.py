"""A plot's photos and documents (PDF, JPEG, PNG): checked by their content, kept in the database.

A file is what its bytes are, never what its name says: an HTML page renamed ``.png``,
an SVG (which carries script), a GIF or a Word file is refused, as are images that do not
decode to the end and images whose dimensions would unpack to more than
``MAX_IMAGE_PIXELS`` (a decompression bomb: kilobytes on disk, gigabytes in memory). A
PDF must parse, and one with scripts, launch actions or embedded files is refused: the
page offers it for download to people who trust the platform.

Who may attach and remove: the plot's municipality editors and admins (as for every
plot write); everybody sees them on the plot's public page and in its exposé. Each
addition and removal is recorded in the plot's history.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import Connection, text

from locations.accounts import Account, authorise
from locations.errors import Conflict, InvalidInput, NotFound
from locations.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_PLOT, MAX_IMAGE_PIXELS
from locations.plot_updates import _record_plot_event
from locations.values import text_problem
from locations.writes import lock_zone_of_plot

#: The media type each kind is served as.
MEDIA_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
#: The suffix a served file's name gets, whatever it was uploaded as.
SUFFIXES = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}
IMAGE_KINDS = ("jpeg", "png")
#: The first bytes of each kind (PDF: ISO 32000-1 7.5.2; JPEG: SOI and a marker; PNG: RFC 2083).
_SIGNATURES = ((b"%PDF-", "pdf"), (b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"))
#: Other formats people try, by their first bytes, so the refusal can say what was sent.
_OTHER_FORMATS = ((b"GIF8", "a GIF image"), (b"RIFF", "a WebP image or a RIFF file"),
                  (b"PK\x03\x04", "a ZIP archive or an Office document"),
                  (b"\xd0\xcf\x11\xe0", "an old Office document"), (b"BM", "a BMP image"),
                  (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"))
#: PDF names that run or open something when the file is opened.
_ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")
MAX_TITLE_CHARS = 200
MAX_FILE_NAME_CHARS = 200


@dataclass(frozen=True)
class CheckedFile:
    """A file found to be what it claims: its kind, and an image's size in pixels."""

    kind: str
    width: int | None = None
    height: int | None = None


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def check_file(content: bytes) -> CheckedFile:
    """What ``content`` is, checked through.

    Raises:
        InvalidInput: empty, too large, not a PDF, JPEG or PNG by its content, a broken or
            oversized image, an unreadable or active PDF; the reason says which.
    """
    if not content:
        raise InvalidInput("file", "the file is empty")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput("file", f"the file has {_megabytes(len(content))}; at most "
                                   f"{_megabytes(MAX_ATTACHMENT_BYTES)}")
    kind = next((kind for signature, kind in _SIGNATURES if content.startswith(signature)), None)
    if kind is None:
        raise InvalidInput("file", f"the file is {_what(content)}, whatever its name says; "
                                   "only PDF, JPEG and PNG files are accepted")
    if kind == "pdf":
        _check_pdf(content)
        return CheckedFile("pdf")
    return _check_image(content, kind)


def _what(content: bytes) -> str:
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return "an SVG or XML file"
    if head.startswith(b"<"):
        return "an HTML page or other markup"
    for signature, name in _OTHER_FORMATS:
        if content.startswith(signature):
            return name
    return "of an unknown kind"


def _check_image(content: bytes, kind: str) -> CheckedFile:
    from PIL import Image  # Pillow loads only when an image is attached

    expected = {"jpeg": "JPEG", "png": "PNG"}[kind]
    try:
        with warnings.catch_warnings():
            # Pillow warns of a possible bomb above its own limit; ours is stricter and first.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[expected]) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise InvalidInput("file", "the image has no pixels")
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidInput(
                        "file", f"the image claims {width:,} × {height:,} pixels; at most "
                                f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels")
                image.verify()
            # verify() checks the structure; decoding every pixel finds a cut-off file.
            with Image.open(io.BytesIO(content), formats=[expected]) as image:
                image.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput("file", f"the image claims far more than "
                                   f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels (a "
                                   "decompression bomb?)") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InvalidInput("file", f"the {expected} image is broken or cannot be read to "
                                   f"its end ({reason})") from None
    return CheckedFile(kind, width, height)


def _check_pdf(content: bytes) -> None:
    from pypdf import PdfReader

    if _ACTIVE_PDF.search(content):
        raise InvalidInput("file", "the PDF holds scripts, actions or embedded files; "
                                   "save it again as a plain PDF (e.g. print to PDF)")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise InvalidInput("file", "the PDF is password-protected; attach it unprotected")
        pages = len(reader.pages)
        root = reader.trailer["/Root"]
        names = root.get("/Names")
        active = (any(key in root for key in ("/OpenAction", "/AA", "/AcroForm"))
                  or (names is not None and any(key in names.get_object()
                                                for key in ("/JavaScript", "/EmbeddedFiles"))))
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InvalidInput("file", f"the PDF cannot be read ({reason})") from None
    if pages < 1:
        raise InvalidInput("file", "the PDF has no pages")
    if active:
        raise InvalidInput("file", "the PDF opens with actions or holds a form or scripts; "
                                   "save it again as a plain PDF (e.g. print to PDF)")


def clean_file_name(name: str, kind: str) -> str:
    """``name`` without folders, checked, with the suffix of what the file really is."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    if (problem := text_problem(base)) is not None:
        raise InvalidInput("file", f"the file's name: {problem}")
    stem = base.rsplit(".", 1)[0].strip() if "." in base else base
    stem = stem[:MAX_FILE_NAME_CHARS - 5] or kind
    return stem + SUFFIXES[kind]


def _plot(conn: Connection, plot_id: int) -> Mapping[str, Any]:
    row = conn.execute(text(
        """
        SELECT p.id, p.cadastral_ref, p.retired_at, z.municipality_id, m.name AS municipality_name
        FROM plot p JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id
        WHERE p.id = :id
        """), {"id": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"plot {plot_id} does not exist")
    return row


def check_editor(conn: Connection, account: Account, plot_id: int) -> Mapping[str, Any]:
    """The plot ``account`` may attach to or remove from.

    Raises:
        NotFound: no such plot. Forbidden: not the account's municipality (or not an editor).
    """
    plot = _plot(conn, plot_id)
    authorise(account, "edit", municipality_id=plot["municipality_id"],
              municipality_name=plot["municipality_name"], what=f"plot {plot_id}")
    return plot


def add(conn: Connection, account: Account, plot_id: int, content: bytes, file_name: str,
        title: str | None = None) -> int:
    """Attach ``content`` to plot ``plot_id``; its id. Checked whole before anything is written.

    Raises:
        NotFound, Forbidden (see ``check_editor``), Conflict (retired plot, or it has
        ``MAX_ATTACHMENTS_PER_PLOT`` already), InvalidInput (the file or the title).
    """
    plot = check_editor(conn, account, plot_id)
    if plot["retired_at"] is not None:
        raise Conflict(f"plot {plot_id} is retired; it takes no new files")
    checked = check_file(content)
    name = clean_file_name(file_name, checked.kind)
    title = (title or "").strip() or None
    if title is not None:
        if (problem := text_problem(title)) is not None or "\n" in title:
            raise InvalidInput("title", problem or "one line only")
        if len(title) > MAX_TITLE_CHARS:
            raise InvalidInput("title", f"{len(title)} characters; at most {MAX_TITLE_CHARS}")
    # One writer at a time per plot, so two uploads cannot both pass the count; its zone
    # first, as every plot write takes them.
    lock_zone_of_plot(conn, plot_id)
    conn.execute(text("SELECT id FROM plot WHERE id = :id FOR UPDATE"), {"id": plot_id})
    count = conn.execute(text("SELECT count(*) FROM plot_attachment WHERE plot_id = :id"),
                         {"id": plot_id}).scalar_one()
    if count >= MAX_ATTACHMENTS_PER_PLOT:
        raise Conflict(f"plot {plot_id} has {count} files already, the most it may have; "
                       "remove one first")
    attachment_id = conn.execute(text(
        """
        INSERT INTO plot_attachment (plot_id, kind, file_name, title, byte_size, width, height,
                                     sha256, content, account_id, created_by)
        VALUES (:plot, :kind, :name, :title, :size, :width, :height, :sha, :content,
                :account, :actor)
        RETURNING id
        """), {"plot": plot_id, "kind": checked.kind, "name": name, "title": title,
               "size": len(content), "width": checked.width, "height": checked.height,
               "sha": hashlib.sha256(content).hexdigest(), "content": content,
               "account": account.id, "actor": account.name}).scalar_one()
    _record_plot_event(conn, plot_id, account, "update", {"attachment": None},
                       {"attachment": name}, None)
    return attachment_id


def remove(conn: Connection, account: Account, plot_id: int, attachment_id: int) -> None:
    """Remove a file from plot ``plot_id``.

    Raises:
        NotFound: no such plot, or no such file on it. Forbidden: see ``check_editor``.
    """
    check_editor(conn, account, plot_id)
    name = conn.execute(text(
        "DELETE FROM plot_attachment WHERE id = :id AND plot_id = :plot RETURNING file_name"),
        {"id": attachment_id, "plot": plot_id}).scalar_one_or_none()
    if name is None:
        raise NotFound(f"plot {plot_id} has no file {attachment_id}")
    _record_plot_event(conn, plot_id, account, "update", {"attachment": name},
                       {"attachment": None}, None)


_LISTED = "id, plot_id, kind, file_name, title, byte_size, width, height, sha256, created_at"


def list_for_plot(conn: Connection, plot_id: int) -> list[dict[str, Any]]:
    """Plot ``plot_id``'s files without their content, photos first, then oldest first."""
    rows = conn.execute(text(
        f"SELECT {_LISTED} FROM plot_attachment WHERE plot_id = :id "
        "ORDER BY kind = 'pdf', id"), {"id": plot_id}).mappings()
    return [dict(row) for row in rows]


def get(conn: Connection, plot_id: int, attachment_id: int) -> dict[str, Any]:
    """One file of plot ``plot_id`` with its content.

    Raises:
        NotFound: no such file on this plot.
    """
    row = conn.execute(text(
        f"SELECT {_LISTED}, content FROM plot_attachment WHERE id = :id AND plot_id = :plot"),
        {"id": attachment_id, "plot": plot_id}).mappings().first()
    if row is None:
        raise NotFound(f"plot {plot_id} has no file {attachment_id}")
    found = dict(row)
    found["content"] = bytes(found["content"])
    return found


def images(conn: Connection, plot_id: int, limit: int) -> list[dict[str, Any]]:
    """Plot ``plot_id``'s first ``limit`` photos with their content (the exposé's)."""
    rows = conn.execute(text(
        f"SELECT {_LISTED}, content FROM plot_attachment WHERE plot_id = :id "
        "AND kind <> 'pdf' ORDER BY id LIMIT :limit"), {"id": plot_id, "limit": limit}).mappings()
    return [{**row, "content": bytes(row["content"])} for row in rows]
