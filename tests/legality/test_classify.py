"""Product words -> permit route (content/legality/products.yaml), asking only what is needed."""
from __future__ import annotations

import pytest

from bot.legality import classify
from bot.legality import rules as legality_rules


def keys(text, content):
    return [[m.key for m in group] for group in classify.find_products(text, content)]


@pytest.mark.parametrize("text, key", [
    ("kripik", "keripik"),
    ("keripk singkong", "keripik"),
    ("nuget beku", "nugget"),
    ("sambel botol", "sambal"),
    ("SAMBAL BAWANG!!", "sambal"),
    ("izin kopi bubuk apa?", "kopi_bubuk"),
    ("sabun cuci piring", "pembersih_rumah"),  # the longest alias wins over "sabun"
    ("masker medis", "alat_kesehatan"),
    ("jamu gendong", "jamu_gendong"),
    ("minyak urut", "minyak_gosok"),
])
def test_owner_words_with_typos_find_the_product(content, text, key):
    assert keys(text, content) == [[key]]


@pytest.mark.parametrize("text", ["saya tidak tahu", "beda pirt sama md", "halo", "sepatu kulit", "menu"])
def test_words_that_are_no_product_find_nothing(content, text):
    assert keys(text, content) == []


def test_two_products_in_one_message_come_back_in_order(content):
    assert keys("keripik pisang dan sambal bawang", content) == [["keripik"], ["sambal"]]


def test_modifiers_add_facts_from_the_owners_words(content):
    assert classify.modifier_facts("nuget beku", content)["frozen"] is True
    assert classify.modifier_facts("gudeg kaleng", content)["canned"] is True
    assert classify.modifier_facts("sabun bayi", content)["cosm_special"] is True


def run(content, text, answers):
    """Classify `text`, answering each question from `answers` (fact -> bool); return the decision and the questions."""
    decision, _ = classify.classify_text(text, content)
    asked = []
    while decision.status == "ask":
        asked.append(decision.question)
        decision = classify.answer(content, decision, answers[decision.question])
    return decision, asked


def test_dry_home_snack_asks_only_about_tools_and_gets_pirt_and_self_declare(content):
    decision, asked = run(content, "keripik singkong", {"home_tools": True})
    assert asked == ["home_tools"]
    assert (decision.route, decision.halal_route) == ("pirt", "halal_sd")
    assert decision.steps == ["nib", "pkp", "label", "pirt", "halal_sd", "merek"]


def test_frozen_food_is_md_without_asking_about_the_route(content):
    decision, _ = classify.classify_text("nuget beku", content)
    assert decision.route == "md" and decision.reason == "frozen"
    assert decision.question == "halal_simple"  # only halal is still open


@pytest.mark.parametrize("text, answers, route", [
    ("gudeg kaleng", {"home_tools": True}, "md"),
    ("susu kedelai", {"home_tools": True}, "md"),
    ("bubur bayi", {"halal_simple": True}, "md"),
    ("air mineral", {"home_tools": True}, "md_sni"),
    ("dendeng", {"home_tools": True, "halal_ingredients": False}, "pirt"),
    ("ikan asin", {"home_tools": True}, "pirt"),
    ("madu", {"home_tools": False}, "md"),
    ("kue basah", {"halal_simple": True}, "food_none"),
    ("roti", {"shelf_life": True, "home_tools": True, "halal_ingredients": True}, "pirt"),
    ("lulur", {"maklon": False}, "cosmetics"),
    ("sunscreen", {"maklon": False}, "cosmetics_a"),
    ("param", {}, "umot"),
    ("kapsul herbal", {}, "ukot"),
    ("jamu gendong", {}, "herbal_none"),
    ("tablet effervescent", {}, "outside"),
])
def test_routes(content, text, answers, route):
    decision, asked = run(content, text, answers)
    assert decision.route == route
    assert len(asked) <= 3


def test_catering_needs_slhs_and_plans_regular_halal(content):
    decision, asked = run(content, "nasi kotak", {})
    assert (decision.route, decision.halal_route, asked) == ("food_service", "halal_reg", [])
    assert decision.steps == ["nib", "slhs", "halal_reg"] and decision.verify


def test_warung_makan_may_self_declare(content):
    # BPJPH letter 1361/2023: warung makan, kedai and carts may self-declare.
    decision, asked = run(content, "warung makan", {"halal_simple": True})
    assert (decision.route, decision.halal_route, asked) == ("food_service", "halal_sd", ["halal_simple"])


def test_factory_made_food_gets_the_regular_halal_route(content):
    decision, _ = run(content, "keripik", {"home_tools": False})
    assert (decision.route, decision.halal_route) == ("md", "halal_reg")


def test_unknown_product_is_outside_and_never_guessed(content):
    decision, _ = classify.classify_text("sepatu kulit", content)
    assert (decision.status, decision.route, decision.reason, decision.steps) == ("outside", "outside", "unknown", [])


@pytest.mark.parametrize("text, reason", [("sabun cuci piring", "household"), ("masker medis", "medical_device"),
                                          ("hand sanitizer", "pkrt"), ("tuak", "alcohol")])
def test_products_outside_the_rules_are_named_so(content, text, reason):
    decision, _ = classify.classify_text(text, content)
    assert (decision.status, decision.reason) == ("outside", reason)


def test_every_product_decides_in_every_answer_path_within_max_questions(content):
    data = legality_rules.products(content)
    limit = data["max_questions"]
    for product in data["products"]:
        stack = [classify.decide(content, product["key"])]
        while stack:
            decision = stack.pop()
            if decision.status == "ask":
                stack += [classify.answer(content, decision, True), classify.answer(content, decision, False)]
                continue
            assert decision.status in ("decided", "outside"), (product["key"], decision)
            assert len(decision.asked) <= limit, (product["key"], decision.asked)


def test_a_question_whose_answer_changes_nothing_is_not_asked(content):
    # Frozen or canned rendang is MD whatever else holds: its shelf life and tools are not asked.
    decision, asked = run(content, "rendang", {"frozen_or_canned": True, "halal_simple": True})
    assert decision.route == "md" and asked[0] == "frozen_or_canned"
    assert "shelf_life" not in asked and "home_tools" not in asked


def test_the_question_limit_comes_from_content_and_then_a_mentor_decides(content_copy):
    content = content_copy("legality/products.yaml", lambda d: d.update(max_questions=1))
    decision, _ = classify.classify_text("sambel botol", content)
    decision = classify.answer(content, decision, False)
    assert decision.status == "undecided"


@pytest.mark.parametrize("text, key, never", [
    ("mie kering", "mie_kering", "katering"),
    ("kering tempe", "olahan_kering", "katering"),
    ("bawang goreng", "bawang_goreng", "gorengan"),
    ("kecap manis", "kecap", "manisan"),
    ("paru goreng kering", "dendeng", "gorengan"),
    ("minyak telon", "minyak_telon", "minyak_gosok"),
])
def test_common_words_are_never_fuzzed_into_another_product(content, text, key, never):
    found = keys(text, content)
    assert found == [[key]] and never not in found[0]


@pytest.mark.parametrize("word", ["kering", "goreng", "bawang", "manis", "asin", "gurih pedas"])
def test_a_common_word_alone_is_no_product(content, word):
    assert keys(word, content) == []


@pytest.mark.parametrize("text, facts", [
    ("bolu yang cuma awet 3 hari", {"shelf_life": False}),
    ("tahan 2 minggu", {"shelf_life": True}),
    ("awet lebih dari seminggu", {"shelf_life": True}),
    ("kuat sebulan di suhu ruang", {"shelf_life": True}),
    ("nugget tidak beku", {"frozen": False}),
    ("nuget frozen", {"frozen": True}),
    ("gudeg kalengan", {"canned": True}),
    ("dibuat di rumah pakai alat sederhana", {"home_tools": True}),
    ("pakai mesin pabrik", {"home_tools": False}),
    ("bubur untuk bayi", {"for_babies": True}),
    ("bukan untuk bayi", {"for_babies": False}),
    ("tanpa klaim khasiat", {"medicinal_claim": False}),
    ("berkhasiat menurunkan gula darah", {"medicinal_claim": True}),
    ("bahannya halal semua", {"halal_ingredients": True}),
])
def test_facts_in_the_message_are_read_as_slots(content, text, facts):
    found = classify.modifier_facts(text, content)
    assert {k: found.get(k) for k in facts} == facts


def test_buka_tiga_hari_seminggu_is_no_shelf_life(content):
    assert "shelf_life" not in classify.modifier_facts("keripik, buka 3 hari seminggu", content)
