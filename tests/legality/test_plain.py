"""Plain language: phone-sized messages and a technical word explained the first time."""
from __future__ import annotations

from bot.legality import plain


def test_a_short_message_stays_whole():
    assert plain.split_message("Halo. Ini pendek.") == ["Halo. Ini pendek."]


def test_a_long_answer_is_split_at_paragraphs_then_sentences_and_loses_nothing():
    paragraph = "Kalimat ini cukup panjang untuk diuji pemotongannya. " * 8
    text = f"{paragraph.strip()}\n\n{paragraph.strip()}\n\n{'Satu dua tiga. ' * 60}".strip()
    parts = plain.split_message(text, limit=600)
    assert all(len(p) <= 600 for p in parts) and len(parts) >= 3
    assert parts[0] == paragraph.strip()  # a paragraph that fits is never cut
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_one_unbroken_word_longer_than_a_message_is_cut():
    parts = plain.split_message("x" * 1300, limit=600)
    assert [len(p) for p in parts] == [600, 600, 100]


def test_a_technical_word_is_explained_once_the_first_time(content):
    text, explained = plain.explain_first_use("Ikut PKP dulu. Sertifikat PKP syarat P-IRT.", set(), content)
    assert text == ("Ikut PKP (pelatihan keamanan pangan) dulu. "
                    "Sertifikat PKP syarat P-IRT (izin edar makanan rumahan).")
    assert explained == ["pkp", "pirt"]


def test_words_already_seen_or_already_explained_get_no_brackets(content):
    text, explained = plain.explain_first_use("NIB (Nomor Induk Berusaha) dulu, lalu PKP.", {"pkp"}, content)
    assert text == "NIB (Nomor Induk Berusaha) dulu, lalu PKP."
    assert explained == ["nib"]


def test_short_capital_words_match_only_as_words(content):
    text, explained = plain.explain_first_use("Nama produk dan TR123 di label.", set(), content)
    assert explained == []


def test_a_longer_term_wins_over_a_word_inside_it(content):
    text, explained = plain.explain_first_use("Daftar BPOM MD.", set(), content)
    assert explained == ["bpom_md"] and "BPOM MD (izin edar pangan olahan dari BPOM)" in text
