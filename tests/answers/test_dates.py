"""Dates and times in owners' own words (bot/nlu/dates.py), with a frozen `now`."""
from __future__ import annotations

from datetime import datetime, time

import pytest

from bot.nlu.dates import JAKARTA, find_when, parse_when, rest_of

# Thursday 26-11-2026, 10:00 WIB
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=JAKARTA)


def at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


@pytest.mark.parametrize("text,expected", [
    ("lusa jam 8 pagi", at(28, 8)),
    ("besok sore", at(27, 16)),
    ("besok pagi", at(27, 8)),
    ("bsk siang", at(27, 12)),
    ("minggu depan", at(3, 9, month=12)),
    ("pekan depan jam 10", at(3, 10, month=12)),
    ("tgl 5", at(5, 9, month=12)),
    ("tanggal 30", at(30, 9)),
    ("tgl 26", at(26, 9)),  # today's date, still today
    ("tgl 20", at(20, 9, month=12)),  # passed this month: next month
    ("5 des", at(5, 9, month=12)),
    ("5 desember 2027", at(5, 9, month=12, year=2027)),
    ("3 jan", at(3, 9, month=1, year=2027)),
    ("20 nov", at(20, 9, month=11, year=2027)),  # passed this year: next year
    ("5/12", at(5, 9, month=12)),
    ("jam 14.30", at(26, 14, 30)),
    ("jam 14:30", at(26, 14, 30)),
    ("pukul 16.00", at(26, 16)),
    ("senin depan", at(30, 9)),
    ("sabtu depan", at(5, 9, month=12)),  # Saturday of next week
    ("sabtu", at(28, 9)),  # the coming Saturday
    ("kamis", at(3, 9, month=12)),  # today is Thursday: the next one
    ("hari senin jam 10", at(30, 10)),
    ("jumat ini", at(27, 9)),
    ("nanti malam", at(26, 19)),
    ("nanti sore jam 3", at(26, 15)),
    ("ntar siang", at(26, 12)),
    ("2 hari lagi", at(28, 9)),
    ("dua hari lagi", at(28, 9)),
    ("dalam 3 hari", at(29, 9)),
    ("seminggu lagi", at(3, 9, month=12)),
    ("sebulan lagi", at(26, 9, month=12)),
    ("2 jam lagi", at(26, 12)),
    ("30 menit lagi", at(26, 10, 30)),
    ("bulan depan", at(26, 9, month=12)),
    ("jam 2 siang", at(26, 14)),
    ("jam 7 malam", at(26, 19)),
    ("jam 3", at(26, 15)),  # 03.00 has passed: this afternoon
    ("jam 8", at(27, 8)),  # 08.00 has passed and 20.00 is night: tomorrow morning
    ("jam 11", at(26, 11)),  # still ahead today
    ("jam setengah 9", at(27, 8, 30)),
    ("besok jam 9an", at(27, 9)),
    ("tomorrow 8am", at(27, 8)),
    ("in 2 days", at(28, 9)),
    ("next week", at(3, 9, month=12)),
    ("BESOK SORE", at(27, 16)),
    ("besok jm 7 mlm", at(27, 19)),
])
def test_owner_phrases(text, expected):
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["ambil sertifikat PKP", "halo", "izin pirt brp lama", "2 kg tepung", "", "nomor 12"])
def test_no_date_no_guess(text):
    assert find_when(text, NOW) is None


def test_what_is_left_is_the_owners_words():
    text = "tolong ingatkan lusa jam 8 pagi ambil sertifikat PKP"
    found = find_when(text, NOW)
    assert found.has_date and found.has_time
    assert rest_of(text, found) == ["tolong", "ingatkan", "ambil", "sertifikat", "PKP"]


def test_date_only_has_no_time_and_takes_the_default():
    found = find_when("besok", NOW)
    assert found.has_date and not found.has_time and found.at == at(27, 9)
    assert parse_when("besok", NOW, default_time=time(7, 30)) == at(27, 7, 30)


def test_result_is_in_jakarta_time_whatever_the_now_zone():
    from datetime import timezone

    now_utc = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)  # 10:00 WIB
    assert parse_when("besok jam 9", now_utc) == at(27, 9)
    assert parse_when("besok jam 9", now_utc).utcoffset().total_seconds() == 7 * 3600


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        find_when("besok", datetime(2026, 11, 26, 10, 0))


def test_end_of_month_and_leap_day():
    end = datetime(2027, 1, 31, 10, 0, tzinfo=JAKARTA)
    assert parse_when("bulan depan", end) == datetime(2027, 2, 28, 9, 0, tzinfo=JAKARTA)
    assert parse_when("tgl 31", datetime(2027, 2, 10, 10, 0, tzinfo=JAKARTA)) is not None
    assert parse_when("29 feb", end) == datetime(2028, 2, 29, 9, 0, tzinfo=JAKARTA)
