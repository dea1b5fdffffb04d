"""What a question asks about a permit (its cost, a claim, the kitchen...) picks the FAQ topic
among the permit's topics: content/legality/matching.yaml `aspect_words` and each topic's `aspects`."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot.content import Content
from bot.legality import faq
from bot.nlu.reading import read_text
from bot.nlu.scoring import faq_topic


def _topic(content, text: str) -> str | None:
    status, topics = faq_topic(read_text(text, content), content)
    return topics[0] if status == "answer" else None


def test_cost_words_pick_the_cost_topic_of_the_permit_named(content):
    assert _topic(content, "nib sy hrs keluar duit ga") == "nib_cost"
    assert _topic(content, "daftar pirt mahal gak, sy pensiunan") == "pirt_cost"
    assert _topic(content, "notifikasi kosmetik ada tarifnya?") == "cosmetics_cost"
    # "pirtne" (Javanese suffix) still names the P-IRT
    assert _topic(content, "pirtne gratis to") == "pirt_cost"


def test_claim_words_pick_jamu_or_food_claims_by_the_product(content):
    assert _topic(content, "jamu sy boleh ditulis bisa mengobati pegal?") == "herbal_claims"
    assert _topic(content, "keripik boleh ditulis menyehatkan di labelnya?") == "label_claims"


def test_the_aspect_bonus_is_what_tells_cost_from_other_topics(content):
    matcher = faq.matcher(content)
    _, scored = matcher.scores("pirt bayar ga, duit sy pas pasan")
    by_key = {t.key: s for t, s in scored}
    assert scored[0][0].key == "pirt_cost"
    assert by_key["pirt_cost"] - by_key["pirt_per_product"] >= matcher.aspect_bonus


def test_content_check_names_an_unknown_aspect(tmp_path: Path):
    root = Path(__file__).resolve().parents[2] / "content"
    copy = tmp_path / "content"
    shutil.copytree(root, copy)
    kitchen = copy / "faq" / "kitchen.yaml"
    data = yaml.safe_load(kitchen.read_text(encoding="utf-8"))
    data["entries"][0]["aspects"] = ["kitchn"]
    kitchen.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    errors = faq.faq_aspects_are_known(Content(copy))
    assert errors == ["faq: kitchen_home: unknown aspect 'kitchn' (add it to legality/matching.yaml aspect_words)"]
