"""Reading one message: its words, the kind of sentence, and the slots, from the whole message.

`read_text(text, content)` is pure (no database) and cheap; the understanding step scores every
interpretation from it (bot/nlu/rules.py). What it finds:

- words: normalised (content/lexicon.yaml), with a glued suffix stripped when what is left is a
  word the bot knows ("pirtnya" -> "pirt", Javanese "nibne" -> "nib", "harganya" -> "harga");
- act: question ("cpotb itu apa", "kalau notifikasi sudah terbit, berlaku sampai kapan"), command
  ("cek cpotb saya"), report ("nib saya sudah jadi") or statement;
- negated: "jangan", "gak usah", "tidak" (but "tidak tahu" is no negation);
- slots: product (bot/legality/classify.py's public functions) and its facts, permit kind and
  number (bot/legality/numbers.py), place (a Jakarta area or kecamatan, or Bogor, Depok, Tangerang,
  Bekasi: outside the programme);
- model_text: the words with the product replaced by `_produk_`, a permit number by `_nomor_` and a
  place by `_tempat_`, so "izin keripik apa" and "izin rendang apa" read the same to the classifier.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz, process

from bot.content import Content
from bot.legality import classify, numbers
from bot.legality import rules as legality_rules
from bot.normalize import normalize

VOCABULARY_FILE = "nlu/vocabulary.yaml"
PRODUCT_TOKEN, NUMBER_TOKEN, PLACE_TOKEN = "_produk_", "_nomor_", "_tempat_"
_DIGITS = re.compile(r"^\d{6,}$")
WH_WORDS = frozenset({"apa", "apakah", "apaan", "bagaimana", "berapa", "kapan", "dimana", "kemana", "siapa",
                      "kenapa", "mengapa", "gimana", "piye", "opo", "naon", "kumaha", "sabaraha", "iraha",
                      "ape", "kenape", "berape", "bedanya", "artinya", "maksudnya", "pundi", "pripun", "punapa",
                      "ngapain", "ngapa", "what", "how", "when", "where", "why", "which"})


@dataclass
class Reading:
    text: str
    norm: str
    words: list[str]
    model_text: str
    act: str  # question | command | report | statement
    negated: bool
    slots: dict = field(default_factory=dict)
    media: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)  # the classifier's, per interpretation
    unknown: list[str] = field(default_factory=list)  # words the bot knows nothing of ("sepatu")

    def has(self, *words: str) -> bool:
        return any(w in self.word_set for w in words)

    @property
    def word_set(self) -> frozenset[str]:
        return frozenset(self.words)


class Vocabulary:
    """The word lists of content/nlu/vocabulary.yaml, normalised once per content."""

    def __init__(self, content: Content):
        data = content.data(VOCABULARY_FILE) or {}

        def words(key: str) -> frozenset[str]:
            return frozenset(normalize(str(w), content) for w in data.get(key) or [])

        self.suffixes = tuple(sorted((str(s) for s in data.get("suffixes") or []), key=len, reverse=True))
        self.faq_endings = tuple(sorted((str(s) for s in data.get("faq_endings") or []), key=len, reverse=True))
        self.negation = words("negation")
        self.not_negation_after = words("not_negation_after")
        self.question_words = words("question_words") | WH_WORDS
        self.question_tail = words("question_tail")
        self.command_verbs = words("command_verbs")
        self.fillers = words("fillers")
        self.introduction = words("introduction_words")
        self.ask_verbs = words("ask_verbs")
        self.ask_only_words = words("ask_only_words")
        self.sell_words = words("sell_words")
        self.sale_words = words("sale_words")
        self.have_words = words("have_words")
        self.nothing_words = words("nothing_words")
        self.report_done = words("report_done")
        self.report_not_done = tuple(normalize(str(p), content) for p in data.get("report_not_done") or [])
        self.permit_asking = words("permit_asking_words")
        self.report_progress = words("report_progress")
        self.report_rejected = words("report_rejected")
        self.forgot = words("forgot_words")
        self.other = words("other_words")
        self.places: list[tuple[tuple[str, ...], str]] = []
        for city, names in (data.get("bodetabek") or {}).items():
            for name in names:
                self.places.append((tuple(normalize(str(name), content).split()), f"bodetabek:{city}"))
        from bot import locations

        for area in locations.areas(content):
            for name in (area.name, *area.aliases):
                phrase = tuple(normalize(name, content).split())
                if len(phrase) >= 2 or len(phrase[0]) >= 6:  # "pusat", "jp" alone are too common
                    self.places.append((phrase, area.key))
            for kec in area.kecamatan:
                for name in (kec.name, *kec.aliases):
                    phrase = tuple(normalize(name, content).split())
                    if phrase and (len(phrase) >= 2 or len(phrase[0]) >= 5):
                        self.places.append((phrase, kec.key))
        self.places.sort(key=lambda p: -len(p[0]))
        self.places_by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase, key in self.places:
            self.places_by_first.setdefault(phrase[0], []).append((phrase, key))
        self.kinds_by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase, kind in numbers.kind_words(content):  # longest first
            self.kinds_by_first.setdefault(phrase[0], []).append((phrase, kind))
        self.permit_words = frozenset(w for phrase, _ in numbers.kind_words(content) for w in phrase)
        product_words: set[str] = set()
        for product in legality_rules.products(content).get("products") or []:
            for alias in product.get("aliases") or []:
                product_words.update(normalize(str(alias), content).split())
        self.product_words = frozenset(product_words)
        # Words of the product facts ("pelancar haid", "titip toko"): read as facts, never as an unknown product.
        from bot.legality import classify

        self.fact_words = frozenset(w for phrase, _facts, _negated in classify._index(content).modifiers
                                    for w in phrase)
        self.product_list = sorted(product_words)
        self.known: set[str] = set(self.permit_words) | self.product_words | self.question_words \
            | self.command_verbs | self.fillers | self.report_done | self.report_progress | self.negation
        lexicon = content.data("lexicon.yaml") or {}
        self.abbreviations = {str(k): str(v) for k, v in (lexicon.get("abbreviations") or {}).items()}
        self.known.update(self.abbreviations.values())
        # What a question asks about ("dihukum", "gratisan", "tikus"): never an unknown product.
        # Forms with a glued "-nya" stay out: the reading strips it ("lantainya" -> "lantai").
        matching = content.data("legality/matching.yaml") or {}
        for words in (matching.get("aspect_words") or {}).values():
            self.known.update(w for w in (normalize(str(w), content) for w in words or []) if not w.endswith("nya"))

    def add_known(self, words) -> None:
        self.known.update(words)


_vocabularies: dict[int, Vocabulary] = {}
_lock = threading.Lock()


def vocabulary(content: Content) -> Vocabulary:
    with _lock:
        vocab = _vocabularies.get(id(content))
        if vocab is None:
            vocab = _vocabularies[id(content)] = Vocabulary(content)
            from bot.nlu import model  # the training examples' words are known words too

            vocab.add_known(model.example_words(content))
        return vocab


def _typo_of_known(word: str, vocab: Vocabulary) -> bool:
    """One letter away from a word the bot knows ("prlu" for perlu): a typo, never an unknown product."""
    from rapidfuzz.distance import Levenshtein

    return len(word) >= 4 and process.extractOne(word, vocab.known, scorer=Levenshtein.distance,
                                                 score_cutoff=1) is not None


def strip_suffix(word: str, vocab: Vocabulary) -> str:
    if word in vocab.known or len(word) < 4:
        return word
    squeezed = re.sub(r"(.)\1+$", r"\1", word)  # a drawn-out ending: "pagii", "makasihhh", "haloo"
    if squeezed != word and squeezed in vocab.known:
        return squeezed
    for suffix in vocab.suffixes:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 2:
            stem = vocab.abbreviations.get(stem, stem)  # "ngurusnya" -> "ngurus" -> "urus"
            if stem in vocab.known:
                return stem
    return word


def read_text(text: str, content: Content, media: tuple[str, ...] = ()) -> Reading:
    vocab = vocabulary(content)
    norm = normalize(text, content)
    words = [strip_suffix(w, vocab) for w in norm.split() if w not in ("nya", "nye", "ne")]
    joined = " ".join(words)
    slots: dict = {}
    tokens = list(words)

    groups = _find_products(words, vocab, content)
    if groups:
        keys = [g[0].key for g in groups]
        slots["product"] = keys[0]
        if len(keys) > 1:
            slots["products"] = keys
        for group in groups:
            match = group[0]
            for i in range(match.start, match.end):
                tokens[i] = PRODUCT_TOKEN if i == match.start else ""
        facts = classify.modifier_facts(joined, content)
        if facts:
            slots["facts"] = facts

    kinds = _find_kinds(words, vocab)
    kind = kinds[0] if len(kinds) == 1 else None
    if any(c.isdigit() for c in text):
        report = numbers.parse_report(text, content)  # the number, and a kind its prefix names ("MD 2...")
        kind = kind or report.kind
        if report.raw_number:
            slots["number"] = report.raw_number
    if kind:
        slots["permit"] = kind
    elif len(kinds) > 1 and not any(c.isdigit() for c in text):
        slots["permits"] = kinds  # "sudah punya NIB dan PIRT"
    for i, word in enumerate(tokens):
        if _DIGITS.match(word):
            tokens[i] = NUMBER_TOKEN

    for i, word in enumerate(words):
        for phrase, key in vocab.places_by_first.get(word, ()):
            n = len(phrase)
            if tuple(words[i:i + n]) == phrase and all(tokens[j] == words[j] for j in range(i, i + n)):
                slots.setdefault("place", key)
                tokens[i:i + n] = [PLACE_TOKEN] + [""] * (n - 1)
                break

    negated = any(w in vocab.negation and (i + 1 >= len(words) or words[i + 1] not in vocab.not_negation_after)
                  for i, w in enumerate(words))
    act = _act(text, words, vocab, kind)
    unknown = [w for i, w in enumerate(words) if tokens[i] == w and w not in vocab.known and len(w) >= 3
               and not w.isdigit() and not ("facts" in slots and w in vocab.fact_words) and not _typo_of_known(w, vocab)]
    return Reading(text=text, norm=norm, words=words, model_text=" ".join(t for t in tokens if t), act=act,
                   negated=negated, slots=slots, media=media, unknown=unknown)


def _find_kinds(words: list[str], vocab: Vocabulary) -> list[str]:
    """The permit kinds named (as bot/legality/numbers.find_kinds, from an index)."""
    found: list[str] = []
    i = 0
    while i < len(words):
        for phrase, kind in vocab.kinds_by_first.get(words[i], ()):
            if tuple(words[i:i + len(phrase)]) == phrase:
                if kind not in found:
                    found.append(kind)
                i += len(phrase) - 1
                break
        i += 1
    return found


@lru_cache(maxsize=8192)
def _products_in(run: str, content: Content) -> tuple[tuple[classify.ProductMatch, ...], ...]:
    """classify.find_products on a short run of words; owners name the same products again and again."""
    return tuple(tuple(group) for group in classify.find_products(run, content))


def _find_products(words: list[str], vocab: Vocabulary, content: Content) -> list[list[classify.ProductMatch]]:
    """classify.find_products on the runs of words that are or resemble a product word (each run
    separately, positions mapped back): the same answer, without trying every alias at every word."""
    # A word the bot knows as something else is never fuzzed into a product ("kering", "harga").
    # Sundanese "teh" after a word or before a question word is a particle, not tea ("pirt teh naon").
    particle = [w == "teh" and 0 < i and (words[i - 1] in vocab.permit_words
                                          or (i + 1 < len(words) and words[i + 1] in vocab.question_words))
                for i, w in enumerate(words)]
    honorifics = classify._index(content).honorifics
    near = [not particle[i]
            and (w in vocab.product_words or (len(w) >= 5 and w not in vocab.known
                                              and not (i > 0 and words[i - 1] in honorifics) and process.extractOne(
        w, vocab.product_list, scorer=fuzz.ratio, score_cutoff=80) is not None)) for i, w in enumerate(words)]
    groups: list[list[classify.ProductMatch]] = []
    i = 0
    while i < len(words):
        if not near[i]:
            i += 1
            continue
        j = i
        while j < len(words) and near[j]:
            j += 1
        # One word of context each side: "tahu" after "tidak" is no tofu.
        # (never a particle: "halal teh mayar" is no tea).
        start = i if i == 0 or particle[i - 1] else i - 1
        for group in _products_in(" ".join(words[start:j]), content):
            groups.append([replace(m, start=m.start + start, end=m.end + start) for m in group])
        i = j
    return classify.without_shops(groups, words, content)


# A tag question ending an earlier clause: "kalo pirt itu bayar ga, ibu ga punya duit banyak".
_CLAUSE_TAILS = frozenset({"ga", "gak", "gk", "nggak", "ngga", "enggak", "tidak", "tdk", "kah", "belum", "blm", "ora",
                           "henteu"})


def _clause_asks(text: str, vocab: Vocabulary) -> bool:
    for clause in re.split(r"[,;.!\n]+", text.lower())[:-1]:
        tokens = re.findall(r"[a-z]+", clause)
        if len(tokens) >= 3 and (tokens[-1] in _CLAUSE_TAILS or tokens[-1] in vocab.question_tail) \
                and tokens[-2] not in _CLAUSE_TAILS:
            return True
    return False


def _act(text: str, words: list[str], vocab: Vocabulary, permit: str | None) -> str:
    if not words:
        return "statement"
    content_words = [w for w in words if w not in vocab.fillers]
    first = content_words[0] if content_words else words[0]
    wh = any(w in WH_WORDS for w in words)
    if first in vocab.command_verbs and "?" not in text and not wh:
        return "command"
    if "?" in text or wh or first in vocab.question_words \
            or (len(words) >= 2 and words[-1] in vocab.question_tail) or _clause_asks(text, vocab):
        return "question"
    if permit and vocab.forgot & set(words):
        return "question"  # "udh pny nib cm lupa nomernya": how to find it again
    if permit and any(w in vocab.report_done or w in vocab.report_progress or w in vocab.report_rejected
                      for w in words):
        return "report"
    return "statement"
