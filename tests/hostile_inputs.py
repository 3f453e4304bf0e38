"""Hostile inputs, kept in one place: each was a 500, a poisoned row or a silent misreading.

Every one must be answered with a 4xx that names the field (or a harmless empty answer
where a search merely finds nothing), and nothing may be written. Used by
tests/test_hostile_input.py; add a value here when a new one is found.
"""

from __future__ import annotations

#: Text that no text field, query parameter or path segment may carry: (value, why).
TEXT = [
    ("\x00", "NUL: PostgreSQL stores none in text, psycopg2 refuses it before sending (a 500)"),
    ("Kranj\x00", "NUL after a real name: a check of the first character alone passes it"),
    ("\x1b[2J\x1b[H", "ANSI escape: clears the terminal of whoever prints the audit trail"),
    ("paid\x08\x08\x08\x08free", "backspaces: what a terminal or log shows is not what is stored"),
    ("\x07", "BEL: rings on every terminal that prints it"),
    ("\x7f", "DEL"),
    ("\x85", "NEL, a C1 control: a line break to some readers, not to others"),
    ("\x9b2J", "CSI, the 8-bit form of the terminal escape"),
    ("\ud800", "a lone surrogate: no UTF-8 can carry it (encoding it for PostgreSQL fails)"),
    ("1234\u202e6/5", ("RIGHT-TO-LEFT OVERRIDE: the reference shows as 12345/6, another "
                       "plot's (Trojan Source); file names hide their kind the same way")),
    ("\u2067Kranj", "RIGHT-TO-LEFT ISOLATE: text displayed in another order than stored"),
]

#: Integers as a query string or path carries them: ids and filters. (value, why)
INTEGERS = [
    ("2147483648", "integer's maximum + 1: overflowed the zone and municipality filters (a 500)"),
    ("9223372036854775808", "bigint's maximum + 1: overflowed a plot id"),
    ("-9223372036854775809", "below bigint's minimum"),
    ("1" + "0" * 100, "a googol: any integer column overflows"),
    ("²", "superscript two: str.isdigit() says digit, int() refuses it (a 500)"),
    ("١", "Arabic-Indic one: str.isdigit() says digit and int() reads 1, another id"),
    ("１", "fullwidth one: as above"),
    ("1_000", "int() accepts digit separators, PostgreSQL does not"),
    ("0x1F", "hexadecimal"),
    ("1e3", "a float's notation"),
    ("-0", "negative zero"),
    ("", "empty"),
]

#: Prices in EUR per m² that no plot can have: (value, why).
PRICES = [
    (1e9, "overflowed numeric(10,2) mid-write (a 500)"),
    (100_000.01, "just above what the database keeps (CHECK plot_price_plausible)"),
    (1e300, "far beyond"),
    (float("inf"), "infinity (JSON has none; Python's json writes Infinity)"),
    (float("nan"), "not a number"),
    (0.001, "stored to the cent it becomes 0.00, which the database refuses"),
    (0, "a price is above 0"),
    (-3, "negative"),
]

#: Power in MW that no plot or zone can have: (value, why).
POWERS = [
    (1e300, "was accepted for a zone, then overflowed every scoring sum of its region"),
    (10_000.5, "just above what the database keeps (CHECK *_power_plausible)"),
    (float("inf"), "infinity"),
    (-1, "negative"),
]

#: What a coordinate of a real outline becomes: (how, why). Applied to every coordinate.
COORDINATES = [
    (str, "the number as a string: PostGIS read \"15.6\" as 15.6, so it was stored unnoticed"),
    (lambda x: x > 0, "a boolean"),
    (lambda x: None, "null"),
    (lambda x: float("nan"), "NaN (Python's json writes it)"),
    (lambda x: 1e308, "beyond any CRS"),
    (lambda x: [x], "an array where a number belongs"),
]

#: File names as an upload (a plot's photo or document) may carry them: (name, why). Each is
#: stored with no folder, no control, the suffix of what the file is, or refused; it never
#: breaks the header it is served in (tests/test_hostile_pages.py).
FILE_NAMES = [
    ("../../../etc/passwd", "climbs folders (POSIX)"),
    ("..\\..\\windows\\win.ini", "climbs folders (Windows)"),
    ("/tmp/site.png", "an absolute path"),
    ("%2e%2e%2fsite.png", "URL-encoded dots: kept as text, never decoded into a path"),
    ('site".png', "a quote that would end the header's filename=\"...\""),
    ("site\r\nSet-Cookie: locations_session=x.png", "a line break that would start a header"),
    ("site.png\x00.html", "NUL: the name ends here for C, not for Python"),
    ("invoice\u202egnp.exe", "RIGHT-TO-LEFT OVERRIDE: shows as invoiceexe.png"),
    ("a" * 5000 + ".png", "far longer than any name"),
    ("", "no name at all"),
]

#: OGC API sortby values (zones and plots), each refused with 400 naming ``sortby`` or
#: answered: (value, why).
OGC_SORTBY = [
    ("name;DROP TABLE zone", "SQL after a property's name"),
    ("name DESC NULLS FIRST", "SQL's own words after the direction"),
    ("--name", "two signs"),
    ("+-name", "both signs"),
    ("name,", "a trailing comma"),
    ("   ", "blanks only"),
    ("name" + ",name" * 500, "one name 501 times"),
    ("n" * 10_000, "a name far longer than any property's"),
    ('"name"', "a quoted identifier"),
    ("properties.name", "a dotted path"),
    ("geometry", "the outline"),
    ("ｎａｍｅ", "fullwidth letters that NFKC folds to a property's name"),
    ("name\u200b", "a zero-width space after a name"),
    ("id,name", "id sorts alone"),
    ("-score_median", "a ranking's column, without the profile that adds it"),
]

#: OGC API CQL2 filters (text unless JSON), each refused with 400 naming ``filter`` or
#: answered: (value, why). Most were written for the zones' filter of the last session.
OGC_FILTERS = [
    ("name = 'unterminated", "a string never closed"),
    ("(" * 300 + "name = 'x'" + ")" * 300, "nested 300 deep: a recursive parser's stack"),
    ("NOT " * 2_000 + "name = 'x'", "2,000 NOTs"),
    ("name = 'x'" + " OR name = 'x'" * 2_000, "2,001 alternatives"),
    ("available_area_m2 > 1e309", "beyond a double"),
    ("available_area_m2 > -1e309", "below a double"),
    ("plot_count > 99999999999999999999999", "beyond a bigint"),
    ("plot_count > 1.5e2147483648", "an exponent beyond any integer"),
    ("plot_count > " + "7" * 5_000, "5,000 digits: past what int() reads"),
    ("name LIKE '" + "%_" * 2_000 + "'", "a pattern of 4,000 wildcards"),
    ("name LIKE 'x\\'", "a pattern ending in its escape character"),
    ("S_INTERSECTS(geometry, POLYGON((14 46, 15 47, 14 47, 15 46, 14 46)))",
     "a polygon crossing itself"),
    ("S_INTERSECTS(geometry, POLYGON((14 46, 15 46, 15 47)))", "a ring never closed"),
    ("S_INTERSECTS(geometry, POLYGON((1e308 1e308, 1e308 -1e308, -1e308 0, 1e308 1e308)))",
     "coordinates beyond any CRS"),
    ("S_INTERSECTS(geometry, POINT(NaN NaN))", "not a number as a coordinate"),
    ("S_INTERSECTS(geometry, BBOX(15, 47, 14, 46))", "a box turned inside out"),
    ("S_INTERSECTS(geometry, BBOX(14, 46, 15))", "a box of three numbers"),
    ("kind IN ()", "an empty list"),
    ("kind = kind", "a property compared to itself"),
    ("name = 1", "a number where text belongs"),
    ("last_verified > DATE('2026-02-30')", "a day no calendar has"),
    ("last_verified > TIMESTAMP('99999-01-01T00:00:00Z')", "a year of five digits"),
    ("nope = 'x'", "a property no zone has"),
    ("name = 'x' AND", "an operator without its second side"),
    ("", "nothing at all"),
    ('{"op": "=", "args": [{"property": "name"}, "x"]', "JSON cut short (cql2-json)"),
    ('{"op": "and", "args": []}', "an AND of nothing (cql2-json)"),
    ('{"op": "=", "args": [{"property": "name"}, {"property": "name"}, "x"]}',
     "three sides to an equality (cql2-json)"),
    ("[]", "a JSON list (cql2-json)"),
    ('"' + "[" * 2_000 + '"', "brackets in a string, as deep as the nesting above (cql2-json)"),
]

#: Values of LOCATIONS_MAX_ACTIVE_REQUESTS (the admission limit) the settings refuse when
#: the server starts, naming the setting: (value, why).
ADMISSION_LIMITS = [
    ("-1", "below no limit (0)"),
    ("1001", "above what a process can serve at once"),
    ("eight", "a word"),
    ("8.5", "a fraction"),
    ("1e3", "a float's notation"),
    ("", "empty"),
    ("9" * 40, "far beyond any integer"),
]
