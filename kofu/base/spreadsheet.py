"""Text that goes into a CSV file staff open in a spreadsheet.

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (and a leading tab or carriage return can hide one), so a name or an
address typed as ``=HYPERLINK(…)`` would run when the file is opened: CSV injection
(OWASP). Such a cell gets a leading apostrophe, which the spreadsheet shows as text.
"""

from __future__ import annotations

from typing import Final

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a cell no spreadsheet runs as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
