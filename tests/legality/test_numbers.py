"""Permit numbers: formats from content/legality/steps.yaml, kind corrections, expiry dates."""
from __future__ import annotations

from datetime import date

import pytest

from bot.legality import numbers

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("kind, raw, canonical", [
    ("nib", "1234567890123", "1234567890123"),
    ("pirt", "2.06.3271.01.0123-31", "206327101012331"),
    ("md", "MD 123456789012", "MD123456789012"),
    ("md", "234567890123456", "MD234567890123456"),
    ("notif", "NA18230100123", "NA18230100123"),
    ("tr", "TR 123456789", "TR123456789"),
])
def test_valid_numbers_are_accepted_and_written_one_way(content, kind, raw, canonical):
    check = numbers.check_number(kind, raw, content, today=TODAY)
    assert check.ok and check.canonical == canonical


def test_pirt_number_carries_its_expiry_year(content):
    assert numbers.check_number("pirt", "206327101012331", content, today=TODAY).expiry_year == 2031


@pytest.mark.parametrize("kind, raw, problem, suggested", [
    ("nib", "206327101012331", "wrong_length", "pirt"),  # 15 digits: a P-IRT number, not an NIB
    ("pirt", "1234567890123", "wrong_length", "nib"),
    ("nib", "12345678", "wrong_length", None),
    ("md", "NA18230100123", "wrong_prefix", "notif"),
    ("tr", "MD123456789012", "wrong_prefix", "md"),
    ("pirt", "206327101012399", "bad_year", None),  # a P-IRT never runs to 2099
    ("nib", "", "missing", None),
])
def test_wrong_numbers_get_a_kind_correction(content, kind, raw, problem, suggested):
    check = numbers.check_number(kind, raw, content, today=TODAY)
    assert not check.ok
    assert (check.problem, check.suggested_kind) == (problem, suggested)


@pytest.mark.parametrize("text, kind, digits, issued", [
    ("sudah dapat NIB 1234567890123", "nib", "1234567890123", None),
    ("sdh dpt pirt 2063271010123-31 tgl 02-11-2026", "pirt", "206327101012331", date(2026, 11, 2)),
    ("udah dapet spp-irt 206327101012331", "pirt", "206327101012331", None),
    ("alhamdulillah BPOM MD 234567890123456 keluar", "md", "234567890123456", None),
    ("NA18230100123", "notif", "18230100123", None),
    ("sudah dapat sertifikat halal", "halal", None, None),
])
def test_reports_are_read_from_informal_messages(content, text, kind, digits, issued):
    report = numbers.parse_report(text, content)
    assert (report.kind, report.raw_number, report.issued_on) == (kind, digits, issued)


def test_a_free_format_number_is_kept_as_typed(content):
    report = numbers.parse_report("sudah dapat sertifikat halal ID31110000123450123", content)
    check = numbers.check_number("halal", report.raw_number, content, report.prefix, TODAY, report.as_typed)
    assert check.ok and check.canonical == "ID31110000123450123"


def test_expiry_pirt_five_years_notification_three_nib_none(content):
    assert numbers.expiry_date("pirt", TODAY, content) == date(2031, 11, 23)
    assert numbers.expiry_date("notif", TODAY, content) == date(2029, 11, 23)
    assert numbers.expiry_date("nib", TODAY, content) is None
    assert numbers.expiry_date("halal", TODAY, content) is None


def test_pirt_expiry_year_printed_in_the_number_wins(content):
    # Reported today, but the number says it ends in 2028: it was issued in 2023.
    assert numbers.expiry_date("pirt", TODAY, content, number_year=2028) == date(2028, 11, 23)


def test_expiry_of_a_leap_day_permit_falls_on_28_february(content):
    assert numbers.expiry_date("notif", date(2024, 2, 29), content) == date(2027, 2, 28)


def test_renewal_starts_months_before_expiry(content):
    assert numbers.renew_from("pirt", date(2031, 11, 23), content) == date(2031, 5, 23)
