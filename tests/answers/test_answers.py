"""Yes / no / don't know and option answers in owners' own words (bot/nlu/answers.py, bot/choices.py)."""
from __future__ import annotations

import pytest

from bot.choices import Option, match_option
from bot.nlu.answers import meaningful, yes_no


@pytest.mark.parametrize("text", [
    "ya", "iya silakan", "boleh deh", "ya udah", "yaudah", "gpp", "ga papa", "tidak apa-apa", "nggih", "inggih",
    "monggo", "iyaaa", "Ya betul bu", "oke deh", "siap", "👍", "YA", "iya, boleh", "setuju", "sip lanjut",
    "ya tapi brp biayanya?", "hooh", "mau", "yes please",
])
def test_yes(content, text):
    assert yes_no(text, content) == "yes"


@pytest.mark.parametrize("text", [
    "tidak", "gak, cuma dikukus", "ndak", "mboten", "ora", "nggak", "enggak kok", "belum", "tdk", "no",
    "ga usah", "gak mau", "kagak", "bukan", "TIDAK", "gakkk", "jangan",
])
def test_no(content, text):
    assert yes_no(text, content) == "no"


@pytest.mark.parametrize("text", [
    "tidak tahu", "gak tau", "ga ngerti", "gatau", "nggak tau bu", "kurang tahu", "belum tau", "wah gak tau ya",
    "ndak ngerti", "mboh", "tidak yakin", "bingung", "dont know", "not sure",
])
def test_dont_know_is_never_no(content, text):
    assert yes_no(text, content) == "unknown"
    # where don't-know is no option, it is no answer at all - never a "no"
    assert yes_no(text, content, allow_unknown=False) is None


@pytest.mark.parametrize("text", ["Siti Aminah", "berapa biayanya?", "keripik singkong", "", "nanti saja", "halo"])
def test_not_an_answer(content, text):
    assert yes_no(text, content) is None


def test_fillers_are_set_aside(content):
    assert meaningful("yg cair aja", content) == ["cair"]
    assert meaningful("kosmetik deh kak", content) == ["kosmetik"]


FORMS = [Option("solid", "Padat / kering (keripik, kue kering)"), Option("liquid", "Cair (sirup, minuman)"),
         Option("frozen", "Beku (frozen)")]
SECTORS = [
    Option("food", "Makanan / minuman olahan", ("makanan", "kue", "keripik")),
    Option("cosmetics", "Kosmetik (sabun, lulur, lotion)", ("kosmetik", "sabun")),
    Option("herbal", "Obat tradisional / jamu", ("jamu", "herbal")),
    Option("other", "Lainnya", ("lain",)),
]
START = [Option("start", "Ya, mulai"), Option("later", "Nanti saja")]
CONSENT = [Option("yes", "Setuju"), Option("no", "Tidak setuju")]
YES_NO_UNKNOWN = [Option("yes", "Ya"), Option("no", "Tidak"), Option("unknown", "Tidak tahu")]


@pytest.mark.parametrize("options,text,key", [
    (FORMS, "yg cair aja", "liquid"),
    (FORMS, "cair", "liquid"),
    (FORMS, "yang beku deh", "frozen"),
    (FORMS, "kering", "solid"),
    (SECTORS, "kosmetik deh", "cosmetics"),
    (SECTORS, "yg jamu", "herbal"),
    (START, "iya boleh", "start"),
    (START, "ya udah mulai", "start"),
    (START, "nanti aja", "later"),
    (CONSENT, "iya silakan", "yes"),
    (CONSENT, "nggih", "yes"),
    (CONSENT, "mboten", "no"),
    (YES_NO_UNKNOWN, "gak tau", "unknown"),
    (YES_NO_UNKNOWN, "gak, cuma dikukus", "no"),
])
def test_options_by_words(content, options, text, key):
    choice = match_option(text, options, content)
    assert choice is not None and choice.key == key


@pytest.mark.parametrize("options,text", [
    (CONSENT, "tidak tahu"),  # close to "Tidak setuju" in letters, not in meaning
    (CONSENT, "gak ngerti"),
    (START, "gak tau"),
    (FORMS, "katering"),  # one word is no fuzzy match for another product word
    (SECTORS, "mobil"),
])
def test_no_guess(content, options, text):
    assert match_option(text, options, content) is None


def test_content_check_catches_yaml_booleans_in_the_lexicon():
    from bot.normalize import check_lexicon_words

    class Stub:
        def data(self, name):
            return {"answers": {"no": [True, "tidak"]}, True: ["x"], "fine": ["gpp"]}

    errors = check_lexicon_words(Stub())
    assert any("answers.no has True" in e for e in errors) and any("key True" in e for e in errors)
