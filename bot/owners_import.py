"""Importing the owner lists a programme office already has (from training sign-ups, the city's
UMKM data, a previous programme).

`umkm-bot owners import FILE --source "..."` and the dashboard's import page check every row first
and write nothing when any row is wrong; each error names its line. An owner is known by their
WhatsApp number, normalised with `phonenumbers` to the form the WhatsApp channel stores (+62...), so
an imported owner who writes later is the same owner: registration only asks for consent and for
what the list did not have, never for everything again. Importing the same file twice never
duplicates anyone. What the owner told the bot themselves is never overwritten by a list.

Imported owners get no message at all until they write first or the list records their WhatsApp
opt-in (the `opt_in` column "ya" with its source and date), which WhatsApp requires for messages
the owner did not ask for. Columns (English or Indonesian header names, any order; `,` `;` or tab):

    name       nama                       required
    phone      whatsapp, wa, hp, telepon  required  08..., 628..., +62...
    business   usaha, nama usaha          optional
    sector     sektor                     optional  food/makanan, cosmetics/kosmetik, herbal/jamu, other/lainnya
    products   produk                     optional  separated by | ; or ,
    kecamatan  wilayah, kota              optional  a Jakarta kecamatan or city area
    permits    izin                       optional  nib, pirt, bpom, halal, pkp (| ; ,) or "belum"
    opt_in     setuju wa, optin           optional  ya/tidak: did the owner agree to WhatsApp messages?
    opt_in_source  sumber opt in          required when opt_in is ya, e.g. "formulir pelatihan"
    opt_in_date    tanggal opt in         required when opt_in is ya: 2026-10-01 or 01/10/2026
    lang       bahasa                     optional  id (default) or en
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timezone

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import locations
from bot.clock import utcnow
from bot.content import Content
from bot.csvtable import fold, lookup, parse_date, read_table
from bot.handoff.roster import NO_WORDS, SECTOR_WORDS, YES_WORDS
from storage.models import Owner

CHANNEL = "whatsapp"
COLUMNS = {
    "name": ("name", "nama", "nama pemilik", "pemilik"),
    "phone": ("phone", "whatsapp", "wa", "hp", "no hp", "telepon", "nomor", "no wa"),
    "business": ("business", "usaha", "nama usaha", "business name"),
    "sector": ("sector", "sektor", "bidang"),
    "products": ("products", "produk", "product"),
    "kecamatan": ("kecamatan", "wilayah", "kota", "area"),
    "permits": ("permits", "izin", "perizinan"),
    "opt_in": ("opt in", "optin", "setuju wa", "persetujuan wa"),
    "opt_in_source": ("opt in source", "sumber opt in", "sumber persetujuan"),
    "opt_in_date": ("opt in date", "tanggal opt in", "tanggal persetujuan"),
    "lang": ("lang", "bahasa", "language"),
}
REQUIRED = ("name", "phone")
PERMIT_WORDS = {
    "nib": ("nib", "nomor induk berusaha", "oss"),
    "pirt": ("pirt", "p irt", "spp irt", "sppirt"),
    "bpom": ("bpom", "md", "ml", "na", "tr", "izin edar", "notifikasi"),
    "halal": ("halal", "sertifikat halal"),
    "pkp": ("pkp", "sertifikat pkp"),
}
NONE_WORDS = ("belum", "belum ada", "tidak ada", "none", "-")
SECTORS = {**SECTOR_WORDS, "other": ("other", "lainnya", "lain")}
_SPLIT = re.compile(r"\s*[|;,/]\s*")
MAX_PRODUCTS = 10


@dataclass
class OwnerRow:
    line: int
    name: str
    address: str
    business: str | None = None
    sector: str | None = None
    products: list[str] = field(default_factory=list)
    city: str | None = None
    district: str | None = None
    permits: list[str] | None = None
    opt_in_at: datetime | None = None
    opt_in_source: str | None = None
    lang: str = "id"


@dataclass
class OwnerImportReport:
    errors: list[str] = field(default_factory=list)
    created: list[int] = field(default_factory=list)  # line numbers
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def normalise_phone(raw: str) -> str | None:
    """+62... (E.164) for a valid Indonesian or international number, else None."""
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _read_row(line: int, cell: dict[str, str], content: Content, errors: list[str]) -> OwnerRow | None:
    name = " ".join(cell.get("name", "").split())
    if not name:
        errors.append("name is empty")
    elif len(name) > 120:
        errors.append("name is longer than 120 characters")
    raw_phone = cell.get("phone", "")
    address = normalise_phone(raw_phone) if raw_phone else None
    if not raw_phone:
        errors.append("phone is empty")
    elif address is None:
        errors.append(f"phone {raw_phone!r} is not a valid phone number")
    row = OwnerRow(line, name, address or "")
    business = " ".join(cell.get("business", "").split())
    if len(business) > 160:
        errors.append("business is longer than 160 characters")
    row.business = business or None
    if cell.get("sector"):
        row.sector = lookup(SECTORS, cell["sector"])
        if row.sector is None:
            errors.append(f"sector {cell['sector']!r}: use food/makanan, cosmetics/kosmetik, herbal/jamu or lainnya")
    row.products = [p for p in _SPLIT.split(cell.get("products", "")) if p][:MAX_PRODUCTS]
    if cell.get("kecamatan"):
        kec = locations.match_kecamatan(cell["kecamatan"], content)
        area = None if kec else locations.match_area(cell["kecamatan"], content)
        if kec is not None:
            row.city, row.district = kec.area_key, kec.key
        elif area is not None:
            row.city = area.key
        else:
            errors.append(f"kecamatan {cell['kecamatan']!r} is not a Jakarta kecamatan or city area")
    if cell.get("permits"):
        if fold(cell["permits"]) in NONE_WORDS:
            row.permits = []
        else:
            row.permits = []
            for part in (p for p in _SPLIT.split(cell["permits"]) if p):
                permit = lookup(PERMIT_WORDS, part)
                if permit is None:
                    errors.append(f"permit {part!r}: use nib, pirt, bpom, halal, pkp or belum")
                elif permit not in row.permits:
                    row.permits.append(permit)
    opt_in = fold(cell.get("opt_in", ""))
    if opt_in in YES_WORDS:
        source = " ".join(cell.get("opt_in_source", "").split())
        when = parse_date(cell.get("opt_in_date", ""))
        if not source:
            errors.append("opt_in is ya, so opt_in_source must say where the owner agreed (e.g. 'formulir pelatihan')")
        elif len(source) > 160:
            errors.append("opt_in_source is longer than 160 characters")
        if when is None:
            errors.append("opt_in is ya, so opt_in_date must give the day the owner agreed (2026-10-01 or 01/10/2026)")
        elif when > utcnow().date():
            errors.append(f"opt_in_date {cell['opt_in_date']!r} is in the future")
        if source and when:
            row.opt_in_source = source
            row.opt_in_at = datetime.combine(when, time(0), tzinfo=timezone.utc)
    elif opt_in and opt_in not in NO_WORDS:
        errors.append(f"opt_in {cell['opt_in']!r}: use ya or tidak")
    lang = (cell.get("lang") or "id").lower()
    if lang not in ("id", "en"):
        errors.append(f"lang {cell['lang']!r}: use id or en")
    row.lang = lang
    return None if errors else row


def parse_owners(data: bytes | str, content: Content) -> tuple[list[OwnerRow], list[str]]:
    """Rows and line-numbered errors. Rows are only trustworthy when errors is empty."""
    table = read_table(data, COLUMNS, REQUIRED)
    if table.errors and not table.rows:
        return [], table.errors
    errors = list(table.errors)
    rows: list[OwnerRow] = []
    seen: dict[str, int] = {}
    for line, cell in table.rows:
        row_errors: list[str] = []
        row = _read_row(line, cell, content, row_errors)
        if row is not None:
            if row.address in seen:
                row_errors.append(f"phone {cell['phone']!r} is already used on line {seen[row.address]}")
            else:
                seen[row.address] = line
        errors.extend(f"line {line}: {message}" for message in row_errors)
        if row is not None and not row_errors:
            rows.append(row)
    if not rows and not errors:
        errors.append(f"line {table.header_line}: the header has no owner rows below it")
    return rows, errors


def _fill(owner: Owner, row: OwnerRow) -> bool:
    """Fill what the owner has not told the bot themselves; True when anything changed."""
    changed = False
    for attr, value in (("name", row.name), ("business_name", row.business), ("sector", row.sector),
                        ("city", row.city), ("district", row.district)):
        if value and not getattr(owner, attr):
            setattr(owner, attr, value)
            changed = True
    if row.products and not owner.products:
        owner.products = list(row.products)
        changed = True
    if row.permits is not None and owner.has_permits is None:
        owner.has_permits = list(row.permits)
        changed = True
    if row.city and owner.in_jakarta is None:
        owner.in_jakarta = True
        changed = True
    if row.opt_in_at and owner.opt_in_at is None and owner.opted_out_at is None:
        owner.opt_in_at, owner.opt_in_source = row.opt_in_at, row.opt_in_source
        changed = True
    return changed


def import_owners(session: Session, data: bytes | str, content: Content, source: str,
                  dry_run: bool = False) -> OwnerImportReport:
    """Check the whole file, then create or fill every owner in it, or change nothing."""
    report = OwnerImportReport()
    source = " ".join((source or "").split())[:120]
    if not source:
        report.errors.append("say where the list comes from (--source), e.g. 'Dinas PPKUKM Jakarta Timur 2026'")
        return report
    rows, report.errors = parse_owners(data, content)
    if report.errors:
        return report
    addresses = [row.address for row in rows]
    existing = {
        owner.address: owner
        for owner in session.scalars(select(Owner).where(Owner.channel == CHANNEL, Owner.address.in_(addresses)))
    }
    now = utcnow()
    for row in rows:
        owner = existing.get(row.address)
        if owner is None:
            report.created.append(row.line)
            if dry_run:
                continue
            owner = Owner(channel=CHANNEL, address=row.address, lang=row.lang, products=[], created_at=now,
                          imported_at=now, import_source=source)
            _fill(owner, row)
            session.add(owner)
            continue
        if dry_run:
            (report.updated if _would_fill(owner, row) else report.unchanged).append(row.line)
            continue
        changed = _fill(owner, row)
        if owner.imported_at is None:
            owner.imported_at, owner.import_source = now, source
        (report.updated if changed else report.unchanged).append(row.line)
    if not dry_run:
        session.flush()
    return report


def _would_fill(owner: Owner, row: OwnerRow) -> bool:
    probe = Owner(name=owner.name, business_name=owner.business_name, sector=owner.sector, city=owner.city,
                  district=owner.district, products=list(owner.products or []), has_permits=owner.has_permits,
                  in_jakarta=owner.in_jakarta, opt_in_at=owner.opt_in_at, opted_out_at=owner.opted_out_at)
    return _fill(probe, row)
