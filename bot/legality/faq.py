"""Answering short legality questions from content/faq/*.yaml and content/glossary.yaml.

The question is normalised (content/lexicon.yaml: "brp" -> "berapa", "pirt" ...), filler words are
dropped, and words that are a typo of a word the FAQ uses are corrected ("sertifkat"). Each topic is
scored by rapidfuzz against its example questions, plus or minus points when the question names the
topic's permit or only other permits (so "berapa lama NIB berlaku" never answers about P-IRT), plus
points when the question asks what the topic answers (its `aspects`: "bayar", "duit", "mahal" ask
about cost, so "pirt bayar ga" is the P-IRT cost, not any P-IRT topic).

The bot answers only when the best topic clears `threshold` AND leads the runner-up by `margin`
(both in content/legality/matching.yaml). Otherwise it asks which of the top topics was meant, or,
when nothing is close, lets the rest of the bot handle the message.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.content import Content, content_check
from bot.legality import rules as legality_rules
from bot.normalize import normalize

MATCHING_FILE = "legality/matching.yaml"
_TYPO_MIN_LENGTH = 4
_TYPO_CUTOFF = 82.0
SCORED_CACHE = 4096  # prepared questions whose scores are kept (emptied when full)


@dataclass
class Topic:
    key: str  # FAQ id, or "glossary:<term>"
    kind: str  # faq | glossary
    title: dict
    about: frozenset[str]
    examples: list[str]
    entry: dict
    aspects: frozenset[str] = frozenset()  # what the topic answers about its permit: cost, ...


@dataclass
class FaqResult:
    """status: "answer" (best is clear), "choose" (ask which of `candidates`), "none"."""

    status: str
    best: Topic | None = None
    score: float = 0.0
    candidates: list[tuple[Topic, float]] = field(default_factory=list)
    query: str = ""


def settings(content: Content) -> dict:
    return content.data(MATCHING_FILE) or {}


class FaqMatcher:
    def __init__(self, content: Content):
        self.content = content
        self._scored: dict[str, tuple[tuple[Topic, float], ...]] = {}
        cfg = settings(content)
        self.threshold = float(cfg.get("threshold", 74))
        self.margin = float(cfg.get("margin", 6))
        self.ask_floor = float(cfg.get("ask_floor", 55))
        self.ask_top = int(cfg.get("ask_top", 3))
        self.entity_bonus = float(cfg.get("entity_bonus", 8))
        self.entity_penalty = float(cfg.get("entity_penalty", 25))
        self.definition_penalty = float(cfg.get("definition_penalty", 0))
        self.aspect_bonus = float(cfg.get("aspect_bonus", 0))
        self.aspect_penalty = float(cfg.get("aspect_penalty", 0))
        self.aspect_words = {aspect: frozenset(normalize(str(w), content) for w in words)
                             for aspect, words in (cfg.get("aspect_words") or {}).items()}
        self.not_definition = frozenset(normalize(str(w), content) for w in cfg.get("not_definition_words") or [])
        self.fillers = frozenset(normalize(str(w), content) for w in cfg.get("fillers") or [])
        lexicon = content.data("lexicon.yaml") or {}
        self.signals = frozenset(normalize(str(w), content) for w in
                                 list(cfg.get("signal_words") or []) + list(lexicon.get("question_words") or []))
        # Entity phrases: glossary forms and extra words -> glossary keys.
        self.entities: dict[tuple[str, ...], set[str]] = {}
        terms = legality_rules.glossary(content)
        for key, term in terms.items():
            for form in term.get("forms") or []:
                self._add_entity(form, key)
        for key, words in (cfg.get("entity_words") or {}).items():
            for word in words:
                self._add_entity(word, key)
        self._entity_order = sorted(self.entities, key=len, reverse=True)
        self.topics: list[Topic] = []
        for entry in legality_rules.faq_entries(content):
            examples = [self.prepare(str(e), correct=False) for e in entry.get("examples") or []]
            self.topics.append(Topic(entry["id"], "faq", entry.get("title") or {},
                                     frozenset(entry.get("about") or []), [e for e in examples if e], entry,
                                     frozenset(entry.get("aspects") or [])))
        patterns = cfg.get("glossary_patterns") or ["apa itu {term}"]
        for key, term in terms.items():
            examples = []
            for form in term.get("forms") or []:
                for pattern in patterns:
                    prepared = self.prepare(pattern.format(term=form), correct=False)
                    if prepared and prepared not in examples:
                        examples.append(prepared)
            title = {lang: f"{(term.get('forms') or [key])[0]}: {text}" for lang, text in (term.get("short") or {}).items()}
            self.topics.append(Topic(f"glossary:{key}", "glossary", title, frozenset({key}), examples, term))
        self.vocabulary = sorted({w for t in self.topics for e in t.examples for w in e.split()})
        # Words that are right as typed, though no FAQ example uses them: never "correct" them
        # ("sambal" is no typo of "sambil").
        known = set(self.vocabulary)
        for product in legality_rules.products(content).get("products") or []:
            for alias in product.get("aliases") or []:
                known.update(normalize(str(alias), content).split())
        known.update(str(v) for v in (lexicon.get("abbreviations") or {}).values())
        for words in self.aspect_words.values():
            known.update(words)
        self._vocab_set = frozenset(self.vocabulary)
        # Words that ask something particular about a permit (its cost, where, how long, selling online):
        # a permit question about a named product with none of them asks which permit the product needs.
        # Only the aspects listed in `particular_aspects` count (all, if none is listed): a place or a
        # word of time ("tempat", "nunggu") beside a product still asks which permit it needs.
        particular = cfg.get("particular_aspects") or list(self.aspect_words)
        self.particular_words = self.not_definition.union(*(self.aspect_words.get(a, ()) for a in particular))
        self.topic_ids = frozenset(t.key for t in self.topics)
        self._known = frozenset(known)
        # A word used by few topics says more about the topic than "pirt" or "apa" do.
        topic_words = [frozenset(w for e in t.examples for w in e.split()) for t in self.topics]
        total = len(topic_words)
        self.idf = {w: math.log(1 + total / sum(1 for words in topic_words if w in words)) for w in self.vocabulary}
        self._unknown_idf = math.log(1 + total)
        # Each example once with its word set and weight, so scoring a question stays cheap.
        self._prepared = [[(e, frozenset(e.split()), self._weight(e.split())) for e in t.examples]
                          for t in self.topics]

    def _add_entity(self, phrase: str, key: str) -> None:
        words = tuple(normalize(str(phrase), self.content).split())
        if words:
            self.entities.setdefault(words, set()).add(key)

    # --- preparing text ------------------------------------------------------------------------
    def prepare(self, text: str, correct: bool = True) -> str:
        words = [w for w in normalize(text, self.content).split() if w not in self.fillers]
        if correct:
            words = [self._correct(w) for w in words]
        return " ".join(words)

    def _correct(self, word: str) -> str:
        if len(word) < _TYPO_MIN_LENGTH or word in self._known or word.isdigit():
            return word
        best = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
        return best[0] if best else word

    def entities_in(self, prepared: str) -> set[str]:
        words = prepared.split()
        found: set[str] = set()
        used: set[int] = set()
        for phrase in self._entity_order:
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if tuple(words[i:i + n]) == phrase and not (set(range(i, i + n)) & used):
                    used |= set(range(i, i + n))
                    found |= self.entities[phrase]
        return found

    # --- scoring -------------------------------------------------------------------------------
    def _weight(self, words) -> float:
        return sum(self.idf.get(w, self._unknown_idf) for w in words)

    def similarity(self, query: str, example: str) -> float:
        """0-100: half string similarity (rapidfuzz), half shared words weighted by how telling they are."""
        q, e = frozenset(query.split()), frozenset(example.split())
        return self._similarity(query, q, self._weight(q), example, e, self._weight(e))

    def _similarity(self, query: str, q: frozenset, q_weight: float, example: str, e: frozenset,
                    e_weight: float) -> float:
        # token_set forgives extra or missing words ("izin pirt brp lama"); token_sort keeps a
        # one-word question from matching every long example that contains the word.
        fuzzy = 0.3 * fuzz.token_set_ratio(query, example) + 0.7 * fuzz.token_sort_ratio(query, example)
        shared = self._weight(q & e) if q_weight and e_weight else 0.0
        if shared == 0:
            return 0.5 * fuzzy
        precision, recall = shared / q_weight, shared / e_weight
        return 0.5 * fuzzy + 0.5 * 100.0 * 2 * precision * recall / (precision + recall)

    def aspects_in(self, words: frozenset[str]) -> set[str]:
        words = words | {w[:-3] for w in words if w.endswith("nya")}  # "tarifnya", "biayanya"
        return {aspect for aspect, aspect_words in self.aspect_words.items() if words & aspect_words}

    def scores(self, text: str) -> tuple[str, list[tuple[Topic, float]]]:
        query = self.prepare(text)
        if not query:
            return query, []
        # Owners ask the same few questions in the same words: each prepared question is scored once.
        scored = self._scored.get(query)
        if scored is None:
            if len(self._scored) >= SCORED_CACHE:
                self._scored.clear()
            scored = self._scored[query] = tuple(self._score(query))
        return query, list(scored)

    def _score(self, query: str) -> list[tuple[Topic, float]]:
        named = self.entities_in(query)
        q_words = frozenset(query.split())
        asked = self.aspects_in(q_words)
        q_weight = self._weight(q_words)
        scored: list[tuple[Topic, float]] = []
        for topic, examples in zip(self.topics, self._prepared):
            best = max((self._similarity(query, q_words, q_weight, e, words, weight) for e, words, weight in examples),
                       default=0.0)
            if named and topic.about:
                best += self.entity_bonus if named & topic.about else -self.entity_penalty
            if topic.kind == "glossary" and q_words & self.not_definition:
                best -= self.definition_penalty
            if asked & topic.aspects:
                best += self.aspect_bonus
            elif asked and topic.aspects:
                best -= self.aspect_penalty  # it answers another side of the permit than the one asked
            scored.append((topic, best))
        scored.sort(key=lambda pair: pair[1], reverse=True)
        return scored

    def looks_like_legality_question(self, text: str) -> bool:
        words = normalize(text, self.content).split()
        return bool(set(words) & self.signals) or bool(self.entities_in(" ".join(words))) \
            or bool(self.aspects_in(frozenset(words)))

    def match(self, text: str) -> FaqResult:
        query, scored = self.scores(text)
        if not scored or not self.looks_like_legality_question(text):
            return FaqResult("none", query=query)
        best, best_score = scored[0]
        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        if best_score >= self.threshold and best_score - runner_up >= self.margin:
            return FaqResult("answer", best, best_score, scored[:1], query)
        close = [(t, s) for t, s in scored[: self.ask_top] if s >= self.ask_floor]
        if close:
            return FaqResult("choose", best, best_score, close, query)
        return FaqResult("none", best, best_score, [], query)


_matchers: dict[int, FaqMatcher] = {}
_lock = threading.Lock()


def matcher(content: Content) -> FaqMatcher:
    key = id(content)
    with _lock:
        if key not in _matchers:
            _matchers[key] = FaqMatcher(content)
        return _matchers[key]


def topic_by_key(content: Content, key: str) -> Topic | None:
    return next((t for t in matcher(content).topics if t.key == key), None)


@content_check
def faq_aspects_are_known(content: Content) -> list[str]:
    """Each FAQ topic's `aspects` are named in content/legality/matching.yaml `aspect_words`."""
    known = settings(content).get("aspect_words") or {}
    return [f"faq: {entry.get('id')}: unknown aspect {aspect!r} (add it to {MATCHING_FILE} aspect_words)"
            for entry in legality_rules.faq_entries(content) for aspect in entry.get("aspects") or []
            if aspect not in known]
