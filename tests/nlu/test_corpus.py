"""The labelled corpus (tests/nlu/): its size, its held-out part kept out of content, and the
understanding step's accuracy on it, as `umkm-bot nlu eval` reports it."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.nlu import evaluate, model
from bot.normalize import normalize

HELD_OUT_MIN_ACCURACY = 0.95


@pytest.fixture(scope="module")
def heldout():
    return evaluate.load("heldout")


@pytest.fixture(scope="module")
def dev():
    return evaluate.load("dev")


def test_corpus_is_large_and_every_message_is_labelled(heldout, dev, content):
    assert len(heldout) >= 300
    assert len(heldout) + len(dev) >= 800
    rules = {"stop", "start", "menu", "back", "cancel", "help", "language", "my_data", "delete_data", "reminder",
             "permit_report", "product_question", "faq", "gmp_check", "legality", "events", "mentor", "registration",
             "thanks", "greeting", "out_of_scope", "ask", "nothing_yet"}
    for item in heldout + dev:
        assert item["t"].strip() and item["i"] in rules, item
    texts = [normalize(item["t"], content) for item in heldout + dev]
    assert len(set(texts)) == len(texts), "a message is in the corpus twice"


def test_no_held_out_message_is_a_matching_example(heldout, content):
    """The held-out part measures unseen wordings: none of it may be in content/ (examples, FAQ
    examples, intents phrases), not even after normalising."""
    examples = {normalize(text.replace("{produk}", " "), content) for text, _ in model.training_examples(content)}
    leaked = [item["t"] for item in heldout if normalize(item["t"], content) in examples]
    assert leaked == []


@pytest.mark.parametrize("part", ["fresh", "sealed"])
def test_unseen_corpora_stay_out_of_content_and_above_85_percent(part, content):
    """The fresh and sealed corpora were written by helpers who never saw our rules; the sealed one is
    no matching example (the fresh one has been a development set since it was first measured; one
    of its lines, "hapus data sy semua", was already an example), and the understanding step keeps at
    least 85% of each (88-89% on 2026-11-26)."""
    items = evaluate.load(part)
    assert len(items) >= 150
    if part == "sealed":
        examples = {normalize(text.replace("{produk}", " "), content) for text, _ in model.training_examples(content)}
        assert [item["t"] for item in items if normalize(item["t"], content) in examples] == []
    report = evaluate.evaluate(items, content)
    assert report.accuracy >= 0.85, evaluate.render(report, part)


def test_held_out_accuracy_is_at_least_95_percent(heldout, content):
    report = evaluate.evaluate(heldout, content)
    assert report.accuracy >= HELD_OUT_MIN_ACCURACY, evaluate.render(report, "heldout", show_errors=40)


def test_every_opt_out_wording_is_honoured_and_reminder_cancels_are_not(heldout, dev, content):
    from bot.nlu.understand import interpret

    for item in heldout + dev:
        label = interpret(item["t"], content).label
        if item["i"] == "stop":
            assert label == "stop", item["t"]
        else:
            assert label != "stop", item["t"]


def test_eval_command_prints_precision_recall_confusions_and_slots(tmp_path):
    result = CliRunner().invoke(main, ["nlu", "eval", "--min-accuracy", str(HELD_OUT_MIN_ACCURACY)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("heldout: ")
    assert "precision" in out and "recall" in out and "top confusions" in out and "slot accuracy" in out
    assert "\nstop " in out and "\nfaq " in out


def test_eval_command_fails_below_the_bar(tmp_path):
    (tmp_path / "heldout.yaml").write_text(
        "messages:\n- {t: 'izin keripik apa', i: stop}\n- {t: 'makasih', i: faq}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["nlu", "eval", "--corpus", str(tmp_path), "--min-accuracy", "0.95", "-e", "5"])
    assert result.exit_code == 1
    assert "0/2" in result.output and "[stop -> product_question] izin keripik apa" in result.output
