"""How spreadsheets in Slovenia and Austria write a file: its encoding, decimal commas, dates,
title rows above the header.

Excel on a Slovenian or Austrian Windows saves "CSV" in Windows-1250 with ``;`` as the
separator, numbers with a decimal comma and dates as ``1. 03. 2027`` or ``01.03.2027``;
a municipality's sheet often has a title and a blank row above its header.
A municipality that exports its plots, edits them in Excel and sends the file back must
not be refused for that. The importer and the bulk plot updates read files through here.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Callable

import pandas as pd

from locations.errors import InvalidInput

#: Tried in this order. UTF-8 refuses text in any other encoding with near certainty, so
#: it goes first; Windows-1250 is what Excel writes on a Slovenian Windows, and it agrees
#: with Windows-1252 (Austria's) on every German letter (ä, ö, ü, ß, Ä, Ö, Ü).
ENCODINGS = (("utf-8-sig", "UTF-8"), ("cp1250", "Windows-1250"))

#: A day-first date: "1.3.2027", "01.03.2027", "1. 03. 2027" (Slovenian Excel's short date).
DAY_FIRST = re.compile(r"^\s*(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})\s*$")

DATE_FORMATS = "YYYY-MM-DD or DD.MM.YYYY"


def codec_of(encoding: str) -> str:
    """Python's name for an encoding a user names ("Windows-1250", "iso-8859-2", "cp1250").

    Raises:
        InvalidInput: Python knows no such encoding.
    """
    try:
        return codecs.lookup(encoding.strip()).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise InvalidInput("encoding", f"{encoding!r} is not an encoding Python knows; e.g. "
                                       "utf-8, cp1250 (Windows-1250), iso-8859-2") from None


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a CSV file and the name of the encoding it was read in: ``encoding`` when
    given, else UTF-8 or, when the text is not UTF-8, Windows-1250.

    Raises:
        InvalidInput: the text is not in the ``encoding`` given.
    """
    if encoding:
        codec = codec_of(encoding)
        try:
            return raw.decode("utf-8-sig" if codec == "utf-8" else codec), encoding
        except UnicodeDecodeError as exc:
            raise InvalidInput("encoding", f"the file is not {encoding}: byte "
                                           f"{raw[exc.start]:#04x} at {exc.start}") from None
    for codec, name in ENCODINGS[:-1]:
        try:
            return raw.decode(codec), name
        except UnicodeDecodeError:
            continue
    codec, name = ENCODINGS[-1]
    # Windows-1250 leaves five bytes undefined; such a byte is no letter of any language here.
    return raw.decode(codec, errors="replace"), name


def number_text(text: str) -> str:
    """``text`` with a decimal comma made a point ("95,50" -> "95.50"), as ``numbers`` reads it."""
    return text.replace(",", ".")


def numbers(column: pd.Series) -> pd.Series:
    """A column of numbers written as text (decimal comma or point) or as numbers, as
    floats; NaN where a cell is no number. Column-wise: a file has a million of them."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    return pd.to_numeric(column.astype("string").str.replace(",", ".", regex=False),
                         errors="coerce").astype(float)


def parse_date(text: str) -> dt.date | None:
    """An ISO date (a timestamp's date part too) or a day-first one; None when it is neither."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    day_first = DAY_FIRST.match(text)
    if day_first:
        day, month, year = (int(part) for part in day_first.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return None


#: How far down a sheet its header is looked for.
HEADER_WITHIN_ROWS = 20


def with_header(cells: pd.DataFrame, is_header: Callable[[set[str]], bool]) -> pd.DataFrame:
    """A sheet read without a header (``header=None``) with its header row found: the first
    of its top rows whose lower-cased names ``is_header`` accepts (rows above it, a title,
    are dropped), else its first row, as a reader would take it."""
    def names(row: pd.Series) -> list[str]:
        return ["" if pd.isna(value) else str(value).strip() for value in row]

    found = next((index for index in range(min(HEADER_WITHIN_ROWS, len(cells)))
                  if is_header({name.lower() for name in names(cells.iloc[index])})), 0)
    if len(cells) == 0:
        return cells
    header: list[str] = []
    for number, name in enumerate(names(cells.iloc[found])):
        name = name or f"column {number + 1}"
        # A name given twice gets a suffix, as pandas gives it: a column is one column.
        header.append(name if name not in header else f"{name}.{header.count(name)}")
    table = cells.iloc[found + 1:].reset_index(drop=True)
    table.columns = header
    return table
