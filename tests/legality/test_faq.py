"""Matching free-text legality questions to FAQ topics: normalising, threshold, margin."""
from __future__ import annotations

import pytest

from bot.legality import faq

# Informal, typo-laden questions and their topic. Many differ from every example in content/faq.
QUESTIONS = [
    ("berapa lama pirt berlaku", "pirt_validity"),
    ("pirt brp lama?", "pirt_validity"),
    ("izin pirt brp thn sih", "pirt_validity"),
    ("masa berlaku p-irt sampe kapan ya kak", "pirt_validity"),
    ("how long is pirt valid", "pirt_validity"),
    ("gmn cara bikin nib?", "nib_how"),
    ("nib bayar gk?", "nib_cost"),
    ("perlu npwp ga buat nib", "nib_requirements"),
    ("nib berlaku brp lama", "nib_validity"),
    ("apa itu nib", "glossary:nib"),
    ("pkp itu apa sih", "glossary:pkp"),
    ("jadwal pkp kpn ya", "pkp_how"),
    ("syarat pirt apa sj", "pirt_requirements"),
    ("bikin pirt bayar gak", "pirt_cost"),
    ("urus pirt dmn", "pirt_where"),
    ("pirt sy udh mau habis gmn", "pirt_renewal"),
    ("nomer pirt artinya apa", "pirt_number"),
    ("pindah rumah pirt msh berlaku?", "pirt_move"),
    ("beda pirt sama md apa", "md_when"),
    ("biaya bpom brp", "md_cost"),
    ("syarat self declare apa", "halal_self_declare_rules"),
    ("halal gratis ga", "halal_cost"),
    ("sertifkat halal berlaku brp lama", "halal_validity"),
    ("apa itu sehati", "glossary:sehati"),
    ("cari pendamping pph dmn", "halal_pph"),
    ("kapan blh pasang logo halal", "halal_logo"),
    ("halal dulu ato pirt dulu", "halal_parallel"),
    ("label kemasan hrs ada apa", "label_contents"),
    ("ngurus izin kemana", "where_to_go"),
    ("biaya notifikasi kosmetik brp", "cosmetics_cost"),
    ("no telp bpom brp", "halobpom"),
]


@pytest.mark.parametrize("question, topic", QUESTIONS)
def test_informal_questions_find_their_topic(content, question, topic):
    result = faq.matcher(content).match(question)
    assert (result.status, result.best.key) == ("answer", topic), result.candidates


@pytest.mark.parametrize("text", ["halo", "menu", "terima kasih", "ya", "tidak", "resep sambal", "besok hujan ga",
                                  "keripik saya enak", "1"])
def test_chat_that_is_no_legality_question_is_left_alone(content, text):
    assert faq.matcher(content).match(text).status == "none"


def test_a_question_naming_no_permit_asks_which_topic(content):
    result = faq.matcher(content).match("berlaku berapa lama")
    assert result.status == "choose"
    assert {"pirt_validity", "md_validity", "nib_validity"} & {t.key for t, _ in result.candidates}
    assert 2 <= len(result.candidates) <= 3


def test_the_permit_named_decides_between_look_alike_topics(content):
    matcher = faq.matcher(content)
    assert matcher.match("berapa lama nib berlaku").best.key == "nib_validity"
    assert matcher.match("berapa lama halal berlaku").best.key == "halal_validity"


def test_typos_are_corrected_only_towards_words_of_the_faq(content):
    matcher = faq.matcher(content)
    assert "sertifikat" in matcher.prepare("sertifkat halal")
    assert "sambal" in matcher.prepare("resep sambal")  # a real word, not a typo of "sambil"


def test_threshold_and_margin_come_from_content(content_copy):
    strict = content_copy("legality/matching.yaml", lambda d: d.update(threshold=150))
    result = faq.FaqMatcher(strict).match("berapa lama pirt berlaku")
    assert result.status == "choose" and result.best.key == "pirt_validity"
