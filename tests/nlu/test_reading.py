"""Slots and the kind of sentence, from the whole message (bot/nlu/reading.py, bot/nlu/scoring.py)."""
from __future__ import annotations

import pytest

from bot.nlu.reading import read_text
from bot.nlu.understand import interpret


@pytest.mark.parametrize("text, act", [
    ("cpotb itu apa", "question"),
    ("cek cpotb saya", "command"),
    ("kalau notifikasi sudah terbit, berlaku sampai kapan", "question"),
    ("nib saya sudah jadi", "report"),
    ("pirt bayar gak", "question"),
    ("cara dapat md", "question"),
])
def test_question_command_or_report_from_the_whole_sentence(content, text, act):
    assert read_text(text, content).act == act


@pytest.mark.parametrize("text, label", [
    ("cpotb itu apa", "faq"),
    ("cek cpotb saya", "gmp_check"),
    ("kalau notifikasi sudah terbit, berlaku sampai kapan", "faq"),
    ("apa yang harus ada di label sambal saya", "faq"),  # the label question, not the sambal route
    ("sambel botol perlu izin apa", "product_question"),
    ("sudah dapat NIB 1234567890123", "permit_report"),
    ("jangan kirim pengingat cek dapur lagi", "reminder"),
    ("jangan kirim pesan lagi", "stop"),
    ("makasih ya bu", "thanks"),
    ("bisa pinjam modal buat usaha?", "out_of_scope"),
])
def test_the_question_asked_wins_over_a_word_in_it(content, text, label):
    assert interpret(text, content).label == label


def test_suffixes_are_stripped_only_to_known_words(content):
    reading = read_text("pirtnya berlaku brp lama, nibne juga", content)
    assert "pirt" in reading.words and "nib" in reading.words
    assert read_text("saya punya pirtnya", content).words == ["saya", "punya", "pirt"]


def test_ordinary_words_next_to_a_permit_word_are_no_unknown_product(content):
    reading = read_text("harganya pirt berapa", content)
    assert reading.unknown == [] and "product" not in reading.slots
    assert interpret("harganya pirt berapa", content).label == "faq"


def test_an_unknown_product_is_said_kindly_as_outside(content):
    understanding = interpret("jual sepatu perlu izin apa", content)
    assert understanding.label == "out_of_scope"
    assert understanding.best.slots["unknown"] == "sepatu"


@pytest.mark.parametrize("text, place", [
    ("saya di bekasi bisa ikut pelatihan?", "bodetabek:bekasi"),
    ("usaha saya di Tangerang Selatan", "bodetabek:tangerang"),
    ("dari depok", "bodetabek:depok"),
    ("pelatihan di jakarta timur", "jakarta-timur"),
    ("dapur saya di kebon jeruk", "kebon-jeruk"),
])
def test_places_including_the_areas_around_jakarta(content, text, place):
    assert read_text(text, content).slots.get("place") == place


def test_bogor_is_never_a_jakarta_kecamatan(content):
    slots = read_text("saya tinggal di bogor", content).slots
    assert slots["place"] == "bodetabek:bogor"


@pytest.mark.parametrize("text, negated", [
    ("jangan kirim lagi", True),
    ("gak usah diingetin", True),
    ("tidak tahu", False),
    ("saya tidak tahu syaratnya", False),
    ("pirt berapa lama", False),
])
def test_negation(content, text, negated):
    assert read_text(text, content).negated is negated


def test_product_permit_and_number_slots(content):
    slots = read_text("kripik singkong perlu izin apa", content).slots
    assert slots["product"] == "keripik"
    slots = read_text("sdh dpt nomor pirt 2123175010123-27", content).slots
    assert slots["permit"] == "pirt" and slots["number"].startswith("2123175010123")


def test_common_words_are_not_fuzzed_into_products(content):
    for text in ("sudah digoreng", "harganya berapa", "saya tidak tahu"):
        assert "product" not in read_text(text, content).slots, text


def test_gibberish_gets_no_guess(content):
    assert interpret("xkcd qwerty", content).decision == "none"


def test_clarification_only_when_two_are_close(content):
    close = interpret("izin mana yang duluan", content)
    if close.decision == "clarify":
        assert 2 <= len(close.chosen) <= 3
        assert len({c.name for c in close.chosen}) == len(close.chosen)
    clear = interpret("berapa lama pirt berlaku", content)
    assert clear.decision == "take" and clear.label == "faq"


def test_decide_asks_only_between_close_real_options_and_never_offers_one(content):
    from bot.nlu.rules import RULES_BY_NAME
    from bot.nlu.understand import Candidate, decide

    def c(name, score):
        return Candidate(RULES_BY_NAME[name], score)

    decision, chosen = decide([c("faq", 0.50), c("product_question", 0.46), c("gmp_check", 0.10)], content)
    assert decision == "clarify" and [x.name for x in chosen] == ["faq", "product_question"]
    decision, chosen = decide([c("faq", 0.80), c("product_question", 0.30)], content)
    assert (decision, [x.name for x in chosen]) == ("take", ["faq"])
    # a close runner-up that cannot be offered as an option (small talk) never makes a one-option menu
    decision, chosen = decide([c("faq", 0.50), c("thanks", 0.48)], content)
    assert decision == "take" and [x.name for x in chosen] == ["faq"]
    decision, chosen = decide([c("faq", 0.15), c("product_question", 0.14)], content)
    assert decision == "none" and chosen == []


def test_a_goodbye_is_no_yes_and_senin_besok_is_the_coming_monday(content):
    from datetime import datetime, timezone

    from bot.nlu.answers import yes_no
    from bot.nlu.dates import parse_when

    assert yes_no("udh dulu ya nak, makasih bnyk", content) is None
    assert yes_no("udah", content) == "yes"
    thursday = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)
    assert parse_when("ingetin hr senin bsk jam 10", thursday).strftime("%a %d %H:%M") == "Mon 30 10:00"
    assert parse_when("ingetin besok jam 10", thursday).strftime("%a %d %H:%M") == "Fri 27 10:00"
