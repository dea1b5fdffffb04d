"""The understanding classifier's disk cache (bot/nlu/model.py): a model loaded from it scores
exactly as a fresh fit does, a changed content file means a fresh fit, an unreadable or foreign
cache file is fitted over, processes starting together on an empty cache all come up with the same
model, and a process whose model comes from the cache never imports scikit-learn."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.content import Content
from bot.legality import faq
from bot.nlu import evaluate, model
from bot.nlu.reading import read_text

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("UMKM_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def heldout():
    return [item["t"] for item in evaluate.load("heldout")]


def _same_numbers(a: model.Model, b: model.Model) -> None:
    assert a.labels == b.labels and a.examples == b.examples and a.temperature == b.temperature
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.intercept, b.intercept)
    for (fa, offset_a), (fb, offset_b) in zip(a.features, b.features, strict=True):
        assert offset_a == offset_b and fa.columns == fb.columns and np.array_equal(fa.idf, fb.idf)


def test_analyzers_cut_texts_exactly_as_scikit_learn_does(content, heldout):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [model._model_text(text, content) for text, _ in model.training_examples(content)]
    texts += [read_text(text, content).model_text for text in heldout]
    texts += [text for text, _ in model.topic_examples(content)]
    texts += ["", "  ", "A", "Izin\tPIRT  brp\n lama??", "ÉCLAIR kue-kue 2x", "a b", "sambel  _produk_ "]
    for kind, low, high in model.VECTORISERS:
        ours = model.analyzer(kind, low, high)
        theirs = TfidfVectorizer(analyzer=kind, ngram_range=(low, high), token_pattern=r"[^\s]+").build_analyzer()
        for text in texts:
            assert ours(text) == theirs(text), (kind, text)


def test_a_cached_model_scores_the_held_out_corpus_exactly_as_a_fresh_fit(content, heldout, cache):
    assert model.load_or_train(content, "interpretations", model.train) is not None  # fits and stores
    assert model.load_or_train(content, "topics", model.train_topics) is not None
    stored = model._load(model.cache_path(content, "interpretations"), model.cache_key(content, "interpretations"))
    stored_topics = model._load(model.cache_path(content, "topics"), model.cache_key(content, "topics"))
    assert stored is not None and stored_topics is not None
    fresh, fresh_topics = model.train(content), model.train_topics(content)  # fitted again, from nothing
    _same_numbers(stored, fresh)
    _same_numbers(stored_topics, fresh_topics)
    matcher = faq.matcher(content)
    for text in heldout:
        model_text = read_text(text, content).model_text
        assert stored.probabilities(model_text) == fresh.probabilities(model_text), text
        prepared = matcher.prepare(text)
        assert stored_topics.probabilities(prepared) == fresh_topics.probabilities(prepared), text


def _counting(build):
    calls = []

    def counted(content):
        calls.append(content)
        return build(content)

    counted.calls = calls
    return counted


def test_a_changed_content_file_invalidates_the_cache(tmp_path, cache):
    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)
    build = _counting(model.train_topics)
    # (each Content kept alive: the FAQ matcher is kept per id() of its content, and a new object
    # may get the id of one that is gone)
    contents = [Content(root), Content(root)]
    first = model.load_or_train(contents[0], "topics", build)
    again = model.load_or_train(contents[1], "topics", build)  # as a new process would: the same files
    assert len(build.calls) == 1
    _same_numbers(first, again)

    faq_file = sorted((root / "faq").glob("*.yaml"))[0]
    data = yaml.safe_load(faq_file.read_text(encoding="utf-8"))
    topic = next(entry for entry in data["entries"] if entry.get("examples"))
    topic["examples"].append("zzqx tanya soal ini dong")
    faq_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    edited = Content(root)
    assert model.cache_key(edited, "topics") != model.cache_key(Content(REPO / "content"), "topics")
    changed = model.load_or_train(edited, "topics", build)
    assert len(build.calls) == 2  # fitted again, on the edited examples
    words = 1  # the word feature space (model.VECTORISERS)
    assert "zzqx" in changed.features[words][0].columns and "zzqx" not in first.features[words][0].columns
    assert len(list((cache / "nlu").glob("topics-*.npz"))) == 2


def test_an_unreadable_or_foreign_cache_file_is_fitted_over(content, cache):
    build = _counting(model.train_topics)
    path = model.cache_path(content, "topics")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 half a file")
    first = model.load_or_train(content, "topics", build)
    assert len(build.calls) == 1
    second = model.load_or_train(content, "topics", build)  # the bad file was replaced
    assert len(build.calls) == 1
    _same_numbers(first, second)

    # a whole, readable file made for another key (copied by hand, another version): not used
    other = model.cache_path(content, "interpretations")
    shutil.copyfile(path, other)
    assert model._load(other, model.cache_key(content, "interpretations")) is None
    # cut short (a full disk): not used either
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert model._load(path, model.cache_key(content, "topics")) is None
    model.load_or_train(content, "topics", build)
    assert len(build.calls) == 2


def test_a_cache_folder_that_cannot_be_written_only_costs_a_fit(content, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("UMKM_CACHE_DIR", str(blocked))
    build = _counting(model.train_topics)
    assert model.load_or_train(content, "topics", build).labels
    assert len(build.calls) == 1


START = """
import hashlib, json, sys, time
from bot.content import Content
from bot.nlu import model
content = Content(sys.argv[1])
start = time.perf_counter()
m = model.load_or_train(content, "topics", model.train_topics)
digest = hashlib.sha256(m.coef.tobytes() + m.intercept.tobytes() + repr(m.labels).encode()).hexdigest()
print(json.dumps({"digest": digest, "sklearn": "sklearn" in sys.modules, "seconds": time.perf_counter() - start}))
"""


def _start(count: int, env: dict) -> list[dict]:
    processes = [subprocess.Popen([sys.executable, "-c", START, str(REPO / "content")], env=env, cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_processes_starting_together_on_an_empty_cache_agree_and_the_next_one_loads(cache):
    env = {**os.environ, "UMKM_CACHE_DIR": str(cache)}
    together = _start(2, env)
    assert len({r["digest"] for r in together}) == 1
    assert not list((cache / "nlu").glob(".*.tmp"))  # no temporary file left behind
    [later] = _start(1, env)
    assert later["digest"] == together[0]["digest"]
    assert not later["sklearn"], "a model from the cache must not need scikit-learn"


def test_files_nothing_loaded_for_a_week_are_removed_when_a_new_one_is_written(content, cache):
    folder = cache / "nlu"
    folder.mkdir(parents=True)
    old, recent = folder / "topics-0123456789abcdef0123456789abcdef.npz", folder / "topics-fedcba9876543210fedcba9876543210.npz"
    old.write_bytes(b"an earlier content's model")
    recent.write_bytes(b"another content's model, loaded yesterday")
    week = model.STALE_DAYS * 86400
    os.utime(old, (old.stat().st_atime - week - 60, old.stat().st_mtime - week - 60))
    os.utime(recent, (recent.stat().st_atime - 86400, recent.stat().st_mtime - 86400))
    model.load_or_train(content, "topics", model.train_topics)
    assert not old.exists() and recent.exists() and model.cache_path(content, "topics").exists()
