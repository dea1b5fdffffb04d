"""Reading informal answers: digits, number words, typos, abbreviations, places."""
from __future__ import annotations

import pytest

from bot import locations
from bot.choices import Option, match_option, number_of
from bot.normalize import looks_like_question, normalize

SECTORS = [
    Option("food", "Makanan / minuman olahan", ("makanan", "kue", "keripik")),
    Option("cosmetics", "Kosmetik (sabun, lulur, lotion)", ("kosmetik", "sabun")),
    Option("herbal", "Obat tradisional / jamu", ("jamu", "herbal")),
    Option("other", "Lainnya", ("lain",)),
]


@pytest.mark.parametrize("text,expected", [
    ("2", "cosmetics"), ("2.", "cosmetics"), ("no 3", "herbal"), ("dua", "cosmetics"), ("Tiga", "herbal"),
    ("three", "herbal"), ("jammu", "herbal"), ("kosmetk", "cosmetics"), ("makanan", "food"),
    ("lainya", "other"), ("KERIPIK", "food"),
])
def test_option_matching(content, text, expected):
    choice = match_option(text, SECTORS, content)
    assert choice is not None and choice.key == expected


@pytest.mark.parametrize("text", ["9", "0", "sembilan", "mobil", "", "🙂"])
def test_no_guess_for_non_answers(content, text):
    assert match_option(text, SECTORS, content) is None


def test_number_words(content):
    assert number_of("satu", content) == 1
    assert number_of("dua belas", content) == 12
    assert number_of("halo", content) is None


def test_normalize_expands_informal_words(content):
    assert normalize("Gmn cara dpt izin PIRT sy??", content) == "bagaimana cara dapat izin pirt saya"
    assert normalize("P-IRT 👍", content) == "pirt oke"  # a thumbs-up acknowledges (and still answers yes)


def test_questions_are_recognised(content):
    assert looks_like_question("brp biaya pirt", content)
    assert looks_like_question("izin keripik apa?", content)
    assert not looks_like_question("Siti Aminah", content)


@pytest.mark.parametrize("text,key", [
    ("kb jeruk", "kebon-jeruk"), ("Kebon Jerok", "kebon-jeruk"), ("duren sawit", "duren-sawit"),
    ("priok", "tanjung-priok"), ("pasming", "pasar-minggu"), ("kby lama", "kebayoran-lama"),
])
def test_kecamatan_matching(content, text, key):
    found = locations.match_kecamatan(text, content)
    assert found is not None and found.key == key


@pytest.mark.parametrize("text,key", [
    ("jaktim", "jakarta-timur"), ("Jakarta tmur", "jakarta-timur"), ("jaksel", "jakarta-selatan"),
    ("jkt pusat", "jakarta-pusat"), ("kep seribu", "kepulauan-seribu"),
])
def test_area_matching(content, text, key):
    found = locations.match_area(text, content)
    assert found is not None and found.key == key


def test_all_44_kecamatan_are_reachable_by_name(content):
    names = [k for a in locations.areas(content) for k in a.kecamatan]
    assert len(names) == 44
    for kec in names:
        assert locations.match_kecamatan(kec.name.lower(), content).key == kec.key


MENU = [
    Option("gmp", "Cek kebersihan & cara produksi"),
    Option("legality", "Izin usaha saya (NIB, P-IRT, BPOM, halal)"),
    Option("mentor", "Bicara dengan pendamping"),
    Option("my_data", "Lihat data saya"),
]


@pytest.mark.parametrize("text", ["hasil cek", "temuan saya", "saya"])
def test_one_shared_word_is_no_pick_of_a_long_label(content, text):
    assert match_option(text, MENU, content) is None


@pytest.mark.parametrize("text,expected", [
    ("bicara pendamping", "mentor"), ("cek kebersihan", "gmp"), ("lihat data", "my_data"),
    ("iya bicara dengan pendamping", "mentor"),
])
def test_part_of_a_label_or_the_label_in_a_short_answer_picks_it(content, text, expected):
    choice = match_option(text, MENU, content)
    assert choice is not None and choice.key == expected
