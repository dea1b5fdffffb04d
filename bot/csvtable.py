"""Reading the CSV files that staff bring (the mentor roster, an office's owner list).

Offices export from Excel or Google Sheets, so a file may start with a byte-order mark, use `;`, `,`
or tabs, name its columns in English or Indonesian and in any order, and carry blank lines. Every
problem is reported with its line number, so staff can fix the file and import it again whole.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

WIDTH = "__width__"


def fold(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: how a cell or header is compared."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w*\s]", " ", text.lower())).strip()


def lookup(words: dict[str, tuple[str, ...]], text: str) -> str | None:
    norm = fold(text)
    return next((key for key, options in words.items() if norm in options), None)


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    return data.decode("utf-8-sig")


def delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def parse_date(raw: str) -> date | None:
    """A day as offices write it: 2026-10-01, 01/10/2026, 01-10-2026 or 01.10.2026."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw.strip(), pattern).date()
        except ValueError:
            continue
    return None


@dataclass
class Table:
    header_line: int = 0
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, column -> cell)
    errors: list[str] = field(default_factory=list)


def read_header(values: list[str], line: int, columns: dict[str, tuple[str, ...]],
                required: tuple[str, ...]) -> tuple[dict[str, int], list[str]]:
    header: dict[str, int] = {WIDTH: len(values)}
    errors = []
    for index, raw in enumerate(values):
        name = fold(raw).replace("_", " ")
        column = next((col for col, aliases in columns.items()
                       if name in aliases or name.replace(" ", "_") in aliases), None)
        if column is None:
            if name:
                errors.append(f"line {line}: unknown column {raw.strip()!r}; known: {', '.join(columns)}")
            continue
        if column in header:
            errors.append(f"line {line}: column {column!r} appears twice")
        header[column] = index
    for column in required:
        if column not in header:
            errors.append(f"line {line}: the header misses the {column!r} column")
    return header, errors


def read_table(data: bytes | str, columns: dict[str, tuple[str, ...]], required: tuple[str, ...],
               check_header: Callable[[dict[str, int], int], list[str]] | None = None) -> Table:
    """The header and every non-blank row as {column: stripped cell}; errors are line-numbered.

    Rows are only trustworthy when `errors` is empty. A header problem stops the reading at once.
    """
    table = Table()
    try:
        text = decode(data)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 if isinstance(data, bytes) else 1
        table.errors.append(f"line {line}: the file is not UTF-8 text; save it as 'CSV UTF-8' and try again")
        return table
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        table.errors.append(f"line 1: the file is empty; the first line must be the header "
                            f"({','.join(required)},...)")
        return table
    reader = csv.reader(io.StringIO(text), delimiter=delimiter(lines[first]))
    header: dict[str, int] | None = None
    start = 1
    for values in reader:
        line = start
        start = reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if header is None:
            header, errors = read_header(values, line, columns, required)
            if not errors and check_header is not None:
                errors = check_header(header, line)
            table.header_line = line
            if errors:
                table.errors = errors
                return table
            continue
        if len(values) > header[WIDTH]:
            table.errors.append(f"line {line}: {len(values)} values, but the header on line "
                                f"{table.header_line} has {header[WIDTH]} columns")
            continue
        table.rows.append((line, {name: (values[i].strip() if i < len(values) else "")
                                  for name, i in header.items() if name != WIDTH}))
    if header is None:
        table.errors.append("line 1: the file has no header line")
    return table
