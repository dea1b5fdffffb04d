"""The classifier behind the understanding step: which interpretation a message reads as.

A character n-gram TF-IDF (which forgives typos, glued words and Javanese/Sundanese spellings) plus a
word TF-IDF, and a linear support vector classifier (scikit-learn), trained at first use from content only:

- content/nlu/examples.yaml: owner-style examples per interpretation;
- the FAQ examples (content/faq/*.yaml) and glossary "what is X" patterns: interpretation `faq`;
- the phrases of content/intents.yaml (global words, flow entries, greetings).

Products, permit numbers and places in the examples are replaced as in a message (bot/nlu/reading.py),
so one example "izin {produk} apa" stands for every product. The model is kept per content object (in
memory: training takes about a second); nothing is fetched at run time.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
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

    vectorisers = [TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                   TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[^\s]+")]
    matrix = hstack([v.fit_transform(texts) for v in vectorisers]).tocsr()
    classifier = LinearSVC(C=1.0, class_weight="balanced").fit(matrix, labels)
    features, offset = [], 0
    for v in vectorisers:
        features.append((_Features(v.build_analyzer(), {g: int(i) for g, i in v.vocabulary_.items()}, v.idf_), offset))
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


_models: dict[tuple[int, str], Model] = {}
_lock = threading.Lock()


def model(content: Content) -> Model:
    return _cached(content, "interpretations", train)


def topic_model(content: Content) -> Model:
    return _cached(content, "topics", train_topics)


def _cached(content: Content, name: str, build) -> Model:
    key = (id(content), name)
    with _lock:
        found = _models.get(key)
    if found is not None:
        return found
    trained = build(content)
    with _lock:
        return _models.setdefault(key, trained)
