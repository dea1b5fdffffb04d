"""The mentor roster: reading it from CSV and writing it to the database.

`umkm-bot mentors import FILE` checks every row first and writes nothing when any row is wrong, so
the roster is never half-imported. Each error names its line. A mentor is known by `code` (the
programme's own id): importing the same file twice updates rows and never duplicates them.

Columns (header names in English or Indonesian, any order; `;`, `,` or tab separated):

    code      kode      required  programme id, e.g. JO-0001 (letters, digits, . _ -)
    name      nama      required
    telegram            one of    numeric Telegram chat id (the mentor chat uses it)
    whatsapp  wa        these two WhatsApp number, 08... or +62...
    kecamatan wilayah   required  kecamatan or city areas, separated by | ; , or /
                                  ("Kebon Jeruk | Palmerah", "Jakarta Timur", "semua" = all Jakarta)
    sectors   sektor    optional  food/makanan, cosmetics/kosmetik, herbal/jamu; empty = all
    role      peran     optional  mentor/pendamping (default) or supervisor/koordinator
    active    aktif     optional  ya/tidak (default ya)
    lang      bahasa    optional  id (default) or en
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot import locations
from bot.clock import utcnow
from bot.content import Content
from bot.csvtable import fold, lookup, read_table
from bot.normalize import normalize
from storage.models.handoff import Mentor, MentorArea

COLUMNS = {
    "code": ("code", "kode", "id"),
    "name": ("name", "nama"),
    "telegram": ("telegram", "telegram_chat_id", "telegram chat id", "tg"),
    "whatsapp": ("whatsapp", "wa", "phone", "telepon", "hp", "no hp"),
    "kecamatan": ("kecamatan", "wilayah", "areas", "area"),
    "sectors": ("sectors", "sector", "sektor"),
    "role": ("role", "peran"),
    "active": ("active", "aktif", "status"),
    "lang": ("lang", "bahasa", "language"),
}
REQUIRED = ("code", "name", "kecamatan")

SECTOR_WORDS = {
    "food": ("food", "makanan", "pangan", "minuman", "mamin", "makanan minuman"),
    "cosmetics": ("cosmetics", "cosmetic", "kosmetik", "kosmetika"),
    "herbal": ("herbal", "jamu", "obat tradisional", "ot", "traditional medicine"),
}
ALL_WORDS = ("semua", "all", "*", "dki", "dki jakarta", "jakarta", "seluruh jakarta")
ROLE_WORDS = {
    "mentor": ("mentor", "pendamping", "jakofficer", "jak officer"),
    "supervisor": ("supervisor", "koordinator", "spv", "korwil"),
}
YES_WORDS = ("ya", "y", "yes", "true", "1", "aktif", "active")
NO_WORDS = ("tidak", "t", "no", "n", "false", "0", "nonaktif", "non aktif", "inactive")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_TELEGRAM = re.compile(r"^-?\d{4,20}$")
_LIST_SPLIT = re.compile(r"[|;,/\n]")


@dataclass
class RosterRow:
    line: int
    code: str
    name: str
    telegram: str | None
    whatsapp: str | None
    areas: list[tuple[str, str]]  # (city key, kecamatan key or "" for the whole city)
    sectors: list[str]
    role: str
    active: bool
    lang: str


@dataclass
class ImportReport:
    errors: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Places:
    """Exact names, keys and aliases of Jakarta's areas and kecamatan, then the owners' fuzzy match."""

    def __init__(self, content: Content):
        self.content = content
        self.areas = locations.areas(content)
        self.exact_area: dict[str, str] = {}
        self.exact_kec: dict[str, tuple[str, str]] = {}
        for area in self.areas:
            for phrase in (area.key, area.name, *area.aliases):
                self.exact_area.setdefault(normalize(phrase, content), area.key)
            for kec in area.kecamatan:
                for phrase in (kec.key, kec.name, *kec.aliases):
                    self.exact_kec.setdefault(normalize(phrase, content), (area.key, kec.key))

    def resolve(self, text: str) -> list[tuple[str, str]] | None:
        norm = normalize(text, self.content)
        if fold(text) in ALL_WORDS:
            return [(area.key, "") for area in self.areas]
        if norm in self.exact_kec:
            return [self.exact_kec[norm]]
        if norm in self.exact_area:
            return [(self.exact_area[norm], "")]
        kec = locations.match_kecamatan(text, self.content)
        if kec is not None:
            return [(kec.area_key, kec.key)]
        area = locations.match_area(text, self.content)
        if area is not None:
            return [(area.key, "")]
        return None


def _check_header(header: dict[str, int], line: int) -> list[str]:
    if "telegram" not in header and "whatsapp" not in header:
        return [f"line {line}: the header needs a 'telegram' or a 'whatsapp' column"]
    return []


def parse_roster(data: bytes | str, content: Content) -> tuple[list[RosterRow], list[str]]:
    """Rows and line-numbered errors. Rows are only trustworthy when errors is empty."""
    table = read_table(data, COLUMNS, REQUIRED, _check_header)
    if table.errors and not table.rows:
        return [], table.errors
    errors = list(table.errors)
    rows: list[RosterRow] = []
    seen: dict[str, dict[str, int]] = {"code": {}, "telegram": {}, "whatsapp": {}}
    places = _Places(content)
    for line, cell in table.rows:
        row_errors: list[str] = []
        row = _read_row(line, cell, places, row_errors)
        for key in ("code", "telegram", "whatsapp"):
            value = getattr(row, key) if row else cell.get(key)
            if not value:
                continue
            folded = value.lower()
            if folded in seen[key]:
                row_errors.append(f"{key} {value!r} is already used on line {seen[key][folded]}")
            else:
                seen[key][folded] = line
        errors.extend(f"line {line}: {message}" for message in row_errors)
        if row is not None and not row_errors:
            rows.append(row)
    if not rows and not errors:
        errors.append(f"line {table.header_line}: the header has no mentor rows below it")
    return rows, errors


def _read_row(line: int, cell: dict[str, str], places: _Places, errors: list[str]) -> RosterRow | None:
    code = cell.get("code", "")
    if not code:
        errors.append("code is empty")
    elif not _CODE.match(code):
        errors.append(f"code {code!r}: use up to 32 letters, digits, '.', '_' or '-'")
    name = " ".join(cell.get("name", "").split())
    if not name:
        errors.append("name is empty")
    elif len(name) > 120:
        errors.append("name is longer than 120 characters")
    telegram = cell.get("telegram", "") or None
    if telegram and not _TELEGRAM.match(telegram):
        errors.append(f"telegram {telegram!r}: write the numeric chat id (the bot cannot message a @username)")
    whatsapp = None
    raw_wa = cell.get("whatsapp", "")
    if raw_wa:
        try:
            number = phonenumbers.parse(raw_wa, "ID")
            if not phonenumbers.is_valid_number(number):
                raise phonenumbers.NumberParseException(0, "invalid")
            whatsapp = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            errors.append(f"whatsapp {raw_wa!r} is not a valid phone number")
    if not telegram and not raw_wa:
        errors.append("give a telegram chat id or a whatsapp number")
    areas: list[tuple[str, str]] = []
    raw_areas = [p.strip() for p in _LIST_SPLIT.split(cell.get("kecamatan", "")) if p.strip()]
    if not raw_areas:
        errors.append("kecamatan is empty (write a kecamatan, a city area such as 'Jakarta Timur', or 'semua')")
    for part in raw_areas:
        found = places.resolve(part)
        if found is None:
            errors.append(f"kecamatan {part!r} is not a Jakarta kecamatan or city area")
        else:
            areas.extend(a for a in found if a not in areas)
    sectors: list[str] = []
    sector_parts = [p.strip() for p in _LIST_SPLIT.split(cell.get("sectors", "")) if p.strip()]
    for part in sector_parts:
        sector = None if fold(part) in ALL_WORDS else lookup(SECTOR_WORDS, part)
        if sector is None and fold(part) not in ALL_WORDS:
            errors.append(f"sector {part!r}: use food/makanan, cosmetics/kosmetik or herbal/jamu")
        elif sector and sector not in sectors:
            sectors.append(sector)
    if any(fold(p) in ALL_WORDS for p in sector_parts):
        sectors = []  # "semua" means every sector, whatever else the cell lists
    role = "mentor"
    if cell.get("role"):
        role = lookup(ROLE_WORDS, cell["role"]) or ""
        if not role:
            errors.append(f"role {cell['role']!r}: use mentor/pendamping or supervisor/koordinator")
    active = True
    if cell.get("active"):
        word = fold(cell["active"])
        if word in YES_WORDS:
            active = True
        elif word in NO_WORDS:
            active = False
        else:
            errors.append(f"active {cell['active']!r}: use ya or tidak")
    lang = (cell.get("lang") or "id").lower()
    if lang not in ("id", "en"):
        errors.append(f"lang {cell['lang']!r}: use id or en")
    if errors:
        return None
    return RosterRow(line, code, name, telegram, whatsapp, areas, sectors, role, active, lang)


def import_roster(session: Session, data: bytes | str, content: Content, dry_run: bool = False,
                  deactivate_missing: bool = False) -> ImportReport:
    """Check the whole file, then create or update every mentor in it, or change nothing."""
    report = ImportReport()
    rows, report.errors = parse_roster(data, content)
    if report.errors:
        return report
    existing = {
        m.code.lower(): m
        for m in session.scalars(select(Mentor).options(selectinload(Mentor.areas))).all()
    }
    in_file = {row.code.lower() for row in rows}
    # An address may move between mentors inside the file, but not away from a mentor the file
    # does not mention: that mentor would silently lose their chat.
    for row in rows:
        for column in ("telegram", "whatsapp"):
            value = getattr(row, column)
            if not value:
                continue
            holder = next((m for m in existing.values() if getattr(m, column) == value), None)
            if holder is not None and holder.code.lower() != row.code.lower() and holder.code.lower() not in in_file:
                report.errors.append(
                    f"line {row.line}: {column} {value!r} already belongs to mentor {holder.code}, who is not in this file"
                )
    if report.errors or dry_run:
        if dry_run and not report.errors:
            for row in rows:
                (report.updated if row.code.lower() in existing else report.created).append(row.code)
        return report
    now = utcnow()
    # Clear the addresses of every mentor in the file first, so swaps never hit the unique index.
    touched = [existing[row.code.lower()] for row in rows if row.code.lower() in existing]
    old = {m.id: (m.telegram, m.whatsapp) for m in touched}
    for mentor in touched:
        mentor.telegram = None
        mentor.whatsapp = None
    session.flush()
    for row in rows:
        mentor = existing.get(row.code.lower())
        if mentor is None:
            mentor = Mentor(code=row.code, created_at=now)
            session.add(mentor)
            report.created.append(row.code)
            before = None
        else:
            before = (mentor.name, old[mentor.id], mentor.role, mentor.active, list(mentor.sectors or []),
                      mentor.lang, sorted((a.city, a.kecamatan) for a in mentor.areas))
        mentor.name = row.name
        mentor.telegram = row.telegram
        mentor.whatsapp = row.whatsapp
        mentor.role = row.role
        mentor.active = row.active
        mentor.sectors = row.sectors
        mentor.lang = row.lang
        wanted = set(row.areas)
        for area in list(mentor.areas):
            if (area.city, area.kecamatan) not in wanted:
                mentor.areas.remove(area)
        have = {(a.city, a.kecamatan) for a in mentor.areas}
        for city, kecamatan in row.areas:
            if (city, kecamatan) not in have:
                mentor.areas.append(MentorArea(city=city, kecamatan=kecamatan))
        if before is not None:
            after = (mentor.name, (mentor.telegram, mentor.whatsapp), mentor.role, mentor.active,
                     list(mentor.sectors), mentor.lang, sorted(row.areas))
            if after == before:
                report.unchanged.append(row.code)
            else:
                mentor.updated_at = now
                report.updated.append(row.code)
    if deactivate_missing:
        for key, mentor in existing.items():
            if key not in in_file and mentor.active:
                mentor.active = False
                mentor.updated_at = now
                report.deactivated.append(mentor.code)
    session.flush()
    return report


def mentor_by_address(session: Session, channel: str, address: str, active_only: bool = True) -> Mentor | None:
    """The mentor writing from this chat, if any (Telegram chat id or WhatsApp number).

    An inactive mentor gets no new cases but may still finish the ones they hold."""
    if channel == "telegram":
        condition = Mentor.telegram == address
    elif channel == "whatsapp":
        condition = Mentor.whatsapp == address
    else:
        return None
    query = select(Mentor).where(condition)
    if active_only:
        query = query.where(Mentor.active.is_(True))
    return session.scalars(query).first()


def mentor_by_code(session: Session, code: str) -> Mentor | None:
    return session.scalars(select(Mentor).where(func.lower(Mentor.code) == code.strip().lower())).first()


