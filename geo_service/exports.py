"""Text cells of the CSV files the service writes, safe to open in a spreadsheet.

A cell starting with ``= + - @``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (CSV injection, OWASP): such text cells get a
leading ``'``. Numbers are never changed; the csv module quotes separators and quotes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: The first characters a spreadsheet reads as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns pass through `safe_cell`."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_object_dtype(out[c]) or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(safe_cell)
    return out
