"""Text cells of the CSV files we write, safe to open in a spreadsheet.

A cell that begins with `=`, `@`, `+` or `-` (or a tab or carriage return) is read as a
formula by Excel, WPS and LibreOffice: a member named `=HYPERLINK(…)` in an export would
run when finance opens it (CSV injection, OWASP). Such text is written with a leading `'`,
which spreadsheets show as plain text; numbers and phone numbers (`-5`, `+8613812345678`)
are left alone. `plain` undoes it when our own files are read back (the members import).
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-][\d\s.,]*")
ESCAPE = "'"


def safe(text: str) -> str:
    """`text` as a cell a spreadsheet shows, never evaluates."""
    if text.startswith(_FORMULA_START) or (
            text[:1] in ("+", "-") and not _SIGNED_NUMBER.fullmatch(text)):
        return ESCAPE + text
    return text


def plain(text: str) -> str:
    """The text `safe` was given: our escape removed, anything else as it is."""
    if text.startswith(ESCAPE) and safe(text[1:]) == text:
        return text[1:]
    return text
