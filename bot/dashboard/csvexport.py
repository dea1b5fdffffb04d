"""CSV downloads of the dashboard's tables, safe to open in a spreadsheet.

A cell an owner typed could start with "=" and run as a formula in Excel; such cells get a
leading apostrophe. A UTF-8 byte-order mark makes Excel read Indonesian names correctly.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from starlette.responses import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
