"""The classifier behind the understanding step: which interpretation a message reads as.

A character n-gram TF-IDF (which forgives typos, glued words and Javanese/Sundanese spellings) plus a
word TF-IDF, and a linear support vector classifier (scikit-learn), trained at first use from content only:

- content/nlu/examples.yaml: owner-style examples per interpretation;
- the FAQ examples (content/faq/*.yaml) and glossary "what is X" patterns: interpretation `faq`;
- the phrases of content/intents.yaml (global words, flow entries, greetings).

Products, permit numbers and places in the examples are replaced as in a message (bot/nlu/reading.py),
so one example "izin {produk} apa" stands for every product. Nothing is fetched at run time.

Training costs a few seconds of CPU (reading 1,200 examples, importing scikit-learn, fitting), which
every process paid at start-up. The fitted numbers are therefore kept on disk (`UMKM_CACHE_DIR`, else
`<UMKM_DATA_DIR>/cache`, else `var/cache`), keyed by a hash of everything training reads: the files of
the content folder, the bot's own source (how examples are read), the versions of scikit-learn and the
libraries under it. A start with an unchanged key loads them instead of training (tens of ms): the same
numbers, so the same scores (tests/nlu/test_model_cache.py). A changed file means a new key and a fresh
fit; a cache file that cannot be read or was made for another key is ignored and written again, by
writing a temporary file and renaming it, so processes starting together never read half a file.
In memory the model is kept per content object.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from bot.content import Content
from bot.normalize import normalize

if TYPE_CHECKING:
    import numpy as np

EXAMPLES_FILE = "nlu/examples.yaml"
# intents.yaml global words -> interpretation
GLOBAL_LABELS = {"english": "language", "indonesian": "language"}
FLOW_LABELS = {"reminders": "reminder"}
NOT_TRAINED = {"ask"}  # entry phrases only (flows/entry.py): "tanya izin" opens the question prompt
# The two feature spaces joined: character n-grams inside words (typos, glued words) and words and
# word pairs, each TF-IDF weighted with a sublinear term frequency.
VECTORISERS = (("char_wb", 2, 5), ("word", 1, 2))
# Fixed, so that fitting the same examples twice gives the same numbers (liblinear shuffles the
# examples in its solver; with a random seed two fits differed by up to 1e-4 in a weight).
SOLVER_SEED = 0

log = logging.getLogger(__name__)


def training_examples(content: Content) -> list[tuple[str, str]]:
    """(example as typed, interpretation) from content; {produk} stands for any product."""
    from bot.legality import rules as legality_rules

    pairs: list[tuple[str, str]] = []
    data = content.data(EXAMPLES_FILE) or {}
    for label, examples in (data.get("labels") or {}).items():
        pairs.extend((str(e), label) for e in examples or [])
    for entry in legality_rules.faq_entries(content):
        pairs.extend((str(e), "faq") for e in entry.get("examples") or [])
    patterns = (content.data("legality/matching.yaml") or {}).get("glossary_patterns") or []
    for term in legality_rules.glossary(content).values():
        for form in (term.get("forms") or [])[:2]:
            pairs.extend((p.format(term=form), "faq") for p in patterns[:4])
    intents = content.data("intents.yaml") or {}
    for word, phrases in (intents.get("global") or {}).items():
        if word in ("back", "cancel", "start"):
            continue  # "0", "balik", "batal": answers in a flow more often than requests
        pairs.extend((str(p), GLOBAL_LABELS.get(word, word)) for p in phrases)
    for flow, phrases in (intents.get("flows") or {}).items():
        if flow in NOT_TRAINED:
            continue
        pairs.extend((str(p), FLOW_LABELS.get(flow, flow)) for p in phrases)
    pairs.extend((str(p), "greeting") for p in intents.get("greetings") or [])
    return pairs


def example_words(content: Content) -> set[str]:
    words: set[str] = set()
    for text, _ in training_examples(content):
        words.update(normalize(text.replace("{produk}", " "), content).split())
    return words


_WHITE_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"[^\s]+")


def analyzer(kind: str, min_n: int, max_n: int) -> Callable[[str], list[str]]:
    """The n-grams of a text, exactly as scikit-learn's TfidfVectorizer(analyzer=kind, ngram_range=
    (min_n, max_n), token_pattern=r"[^\\s]+") builds them (lowercased; tests/nlu/test_model_cache.py
    compares the two on every example and corpus message). Written out so that a process whose model
    comes from the cache never imports scikit-learn (a second of CPU at start-up)."""
    if kind == "char_wb":
        def char_wb(text: str) -> list[str]:
            grams: list[str] = []
            for word in _WHITE_SPACES.sub(" ", text.lower()).split():
                word = f" {word} "
                length = len(word)
                for n in range(min_n, max_n + 1):
                    offset = 0
                    grams.append(word[:n])
                    while offset + n < length:
                        offset += 1
                        grams.append(word[offset:offset + n])
                    if offset == 0:  # a word shorter than n counts once
                        break
            return grams
        return char_wb
    if kind == "word":
        def words(text: str) -> list[str]:
            tokens = _TOKEN.findall(text.lower())
            grams = list(tokens) if min_n == 1 else []
            for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
                grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
            return grams
        return words
    raise ValueError(f"unknown analyzer {kind!r}")


@dataclass
class _Features:
    """One fitted TF-IDF vectoriser, applied by hand: sklearn's per-call checks cost ~5 ms a message."""

    analyzer: Callable[[str], list[str]]
    columns: dict[str, int]
    idf: "np.ndarray"

    def weights(self, text: str) -> tuple[list[int], "np.ndarray"]:
        import numpy as np

        counts: dict[int, int] = {}
        for gram in self.analyzer(text):
            column = self.columns.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return [], np.zeros(0)
        columns = list(counts)
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float))) * self.idf[columns]
        return columns, values / np.linalg.norm(values)


@dataclass
class Model:
    labels: list[str]
    features: list[tuple[_Features, int]]  # (vectoriser, first column in the joined feature space)
    coef: "np.ndarray"  # labels x features
    intercept: "np.ndarray"
    examples: frozenset[str]  # the normalised training texts (the held-out check reads these)
    temperature: float = 6.0  # content/nlu/settings.yaml `temperature`

    def probabilities(self, model_text: str) -> dict[str, float]:
        """A score per interpretation, summing to 1 (a softmax of the linear decision values)."""
        import numpy as np

        decision = self.intercept.copy()
        for vectoriser, offset in self.features:
            columns, values = vectoriser.weights(model_text)
            if columns:
                decision += self.coef[:, [offset + c for c in columns]] @ values
        exp = np.exp(self.temperature * (decision - decision.max()))
        probs = exp / exp.sum()
        return dict(zip(self.labels, (float(p) for p in probs)))


def _model_text(text: str, content: Content) -> str:
    from bot.nlu.reading import PRODUCT_TOKEN, read_text

    if "{produk}" in text:
        parts = [read_text(part, content).model_text for part in text.split("{produk}")]
        return f" {PRODUCT_TOKEN} ".join(parts).strip()
    return read_text(text, content).model_text


def _fit(texts: list[str], labels: list[str], content: Content) -> Model:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    analyzers = [analyzer(*spec) for spec in VECTORISERS]
    vectorisers = [TfidfVectorizer(analyzer=a, sublinear_tf=True) for a in analyzers]
    matrix = hstack([v.fit_transform(texts) for v in vectorisers]).tocsr()
    classifier = LinearSVC(C=1.0, class_weight="balanced", random_state=SOLVER_SEED).fit(matrix, labels)
    features, offset = [], 0
    for a, v in zip(analyzers, vectorisers):
        features.append((_Features(a, {g: int(i) for g, i in v.vocabulary_.items()}, v.idf_), offset))
        offset += len(v.vocabulary_)
    temperature = float((content.data("nlu/settings.yaml") or {}).get("temperature", 6.0))
    return Model([str(c) for c in classifier.classes_], features, classifier.coef_, classifier.intercept_,
                 frozenset(), temperature)


def _product_question_only(model_text: str, product_words: set[str]) -> bool:
    """A FAQ example that, its product replaced, says nothing a product question does not say."""
    from bot.nlu.reading import PRODUCT_TOKEN

    words = model_text.split()
    return PRODUCT_TOKEN in words and all(w == PRODUCT_TOKEN or w in product_words for w in words)


def train(content: Content) -> Model:
    """Fit on the content's examples. A FAQ example naming a product ("jamu gendong perlu izin") reads,
    product replaced, as a product question ("_produk_ perlu izin"): labelled `faq` it would teach that
    every product's permit question is a FAQ. Such examples stay with the FAQ's topic model (which
    reads product names) and are left out here; FAQ examples with words of their own ("jamu campur
    bko", "warung makan bisa self declare") are kept."""
    texts, labels = [], []
    product_words: set[str] = set()
    for text, label in training_examples(content):
        texts.append(_model_text(text, content))
        labels.append(label)
        if label == "product_question":
            product_words.update(texts[-1].split())
    kept = [i for i, (t, l) in enumerate(zip(texts, labels))
            if not (l == "faq" and _product_question_only(t, product_words))]
    pairs = training_examples(content)
    trained = _fit([texts[i] for i in kept], [labels[i] for i in kept], content)
    trained.examples = frozenset(normalize(t, content) for t, _ in pairs)
    return trained


def topic_examples(content: Content) -> list[tuple[str, str]]:
    """(example, FAQ topic key): the FAQ's examples and titles, the glossary's "what is X" patterns."""
    from bot.legality import faq

    pairs = []
    for topic in faq.matcher(content).topics:
        pairs.extend((e, topic.key) for e in topic.examples)
        pairs.extend((str(t), topic.key) for t in (topic.title or {}).values())
    return pairs


def train_topics(content: Content) -> Model:
    """Which FAQ topic a message asks about; helps the FAQ matcher when its match is not clear."""
    pairs = topic_examples(content)
    return _fit([normalize(t, content) for t, _ in pairs], [k for _, k in pairs], content)


# Per content object (not per id(): a new Content may get the id of one that is gone).
_models: "weakref.WeakKeyDictionary[Content, dict[str, Model]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def model(content: Content) -> Model:
    return _cached(content, "interpretations", train)


def topic_model(content: Content) -> Model:
    return _cached(content, "topics", train_topics)


def _cached(content: Content, name: str, build) -> Model:
    with _lock:
        found = _models.get(content, {}).get(name)
    if found is not None:
        return found
    trained = load_or_train(content, name, build)
    with _lock:
        return _models.setdefault(content, {}).setdefault(name, trained)


# --- the fitted numbers on disk ------------------------------------------------------------------
CACHE_FORMAT = 1  # raise when what is stored changes
_LIBRARIES = ("scikit-learn", "scipy", "numpy", "rapidfuzz", "PyYAML")
_BOT_SOURCE = Path(__file__).resolve().parents[1]  # the `bot` package: how examples are read
_sources: "weakref.WeakKeyDictionary[Content, str]" = weakref.WeakKeyDictionary()  # what training reads


def cache_dir() -> Path:
    explicit = os.environ.get("UMKM_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit)
    data = os.environ.get("UMKM_DATA_DIR", "").strip()
    if data:
        return Path(data) / "cache"
    from bot.config import REPO_ROOT

    return REPO_ROOT / "var" / "cache"


def _hash_files(digest, root: Path, pattern: str) -> None:
    for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")


def cache_key(content: Content, name: str) -> str:
    """A hash of everything a fit of `name` on this content reads."""
    with _lock:
        sources = _sources.get(content)
    if sources is None:
        from importlib.metadata import version

        digest = hashlib.sha256()
        digest.update(f"{CACHE_FORMAT} python {sys.version_info[0]}.{sys.version_info[1]}\0".encode())
        for library in _LIBRARIES:
            digest.update(f"{library} {version(library)}\0".encode())
        digest.update(repr((VECTORISERS, SOLVER_SEED)).encode())
        _hash_files(digest, Path(content.root), "*")
        digest.update(b"\0bot\0")
        _hash_files(digest, _BOT_SOURCE, "*.py")
        sources = digest.hexdigest()
        with _lock:
            _sources[content] = sources
    return hashlib.sha256(f"{sources} {name}".encode()).hexdigest()


def cache_path(content: Content, name: str) -> Path:
    return cache_dir() / "nlu" / f"{name}-{cache_key(content, name)[:32]}.npz"


def load_or_train(content: Content, name: str, build) -> Model:
    """The model `build(content)` would fit, from the disk cache when it holds one for this key."""
    key = cache_key(content, name)
    path = cache_path(content, name)
    found = _load(path, key)
    if found is not None:
        try:
            os.utime(path)  # in use: never pruned as stale
        except OSError:
            pass
        return found
    trained = build(content)
    _save(path, key, trained)
    _prune(path, name)
    return trained


STALE_DAYS = 7


def _prune(kept: Path, name: str) -> None:
    """Remove the files of earlier contents or versions that nothing has loaded for a week."""
    import time

    cutoff = time.time() - STALE_DAYS * 86400
    try:
        for path in kept.parent.glob(f"{name}-*.npz"):
            if path != kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
    except OSError:
        pass


def _load(path: Path, key: str) -> Model | None:
    import numpy as np

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key or int(stored["format"]) != CACHE_FORMAT:
                return None
            features, offset = [], 0
            for i, spec in enumerate(VECTORISERS):
                vocabulary = [str(g) for g in stored[f"vocabulary{i}"]]
                columns = {g: c for c, g in enumerate(vocabulary)}
                idf = stored[f"idf{i}"]
                if len(idf) != len(vocabulary) or len(columns) != len(vocabulary):
                    return None
                features.append((_Features(analyzer(*spec), columns, idf), offset))
                offset += len(vocabulary)
            labels = [str(label) for label in stored["labels"]]
            coef, intercept = stored["coef"], stored["intercept"]
            if coef.shape != (len(labels), offset) and not (len(labels) == 2 and coef.shape == (1, offset)):
                return None
            loaded = Model(labels, features, coef, intercept, frozenset(str(e) for e in stored["examples"]),
                           float(stored["temperature"]))
    except Exception as exc:  # a half-written, truncated or foreign file: fit again
        log.info("nlu model cache %s unreadable (%s); training", path.name, type(exc).__name__)
        return None
    return loaded


def _save(path: Path, key: str, trained: Model) -> None:
    import numpy as np

    arrays = {"key": np.array(key), "format": np.array(CACHE_FORMAT), "labels": np.array(trained.labels),
              "coef": trained.coef, "intercept": trained.intercept, "temperature": np.array(trained.temperature),
              "examples": np.array(sorted(trained.examples), dtype=str)}
    for i, (features, _offset) in enumerate(trained.features):
        arrays[f"vocabulary{i}"] = np.array(sorted(features.columns, key=features.columns.__getitem__), dtype=str)
        arrays[f"idf{i}"] = features.idf
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(temporary, path)  # atomic: a reader sees the old file or the whole new one
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:  # a read-only or full disk: this process keeps its model, the next trains
        log.warning("nlu model cache %s not written: %s", path, exc)
