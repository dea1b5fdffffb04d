"""Which permits a product needs, from the owner's own words (rules in content/legality/products.yaml).

Two parts:
- `find_products(text)`: the products named in free text. Aliases are matched word by word after
  normalising informal Indonesian; long words tolerate a typo ("kripik", "nuget", "sambel").
  The longest alias wins; two different products matching equally well is reported, never guessed.
- `decide(product, facts)`: reads the sector's rules top to bottom. A rule that depends on an unknown
  fact makes the bot ask that fact's yes/no question, but only if the answer changes the outcome
  (checked by trying both answers), and never more than `max_questions` in all.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.content import Content
from bot.legality import rules as legality_rules
from bot.normalize import normalize

HALAL = "halal"  # the placeholder in a route's steps, replaced by the halal route's step

# A word of the owner's matches an alias word when equal, or close enough for its length.
# Short words must be exact: "teh"/"tek", "madu"/"mahu" are different things.
_TYPO_CUTOFF_BY_LENGTH = ((7, 80.0), (6, 80.0), (5, 88.0))
# "tidak tahu" is not tofu: a one-word alias right after one of these words is no product.
_NOT_A_PRODUCT_AFTER = {"tahu": {"tidak", "belum", "kurang", "mau", "ingin", "pengen", "biar", "supaya", "sudah", "cari"}}


@dataclass(frozen=True)
class ProductMatch:
    key: str
    alias: str
    words: int  # how many words of the alias matched
    similarity: float  # 0-100, mean over the alias words
    start: int
    end: int


@dataclass
class Decision:
    """The outcome of classification so far.

    status: "decided" (route known), "ask" (ask `question`), "outside" (named outside the rules or
    not recognised: offer a mentor), "undecided" (too many questions would be needed: offer a mentor).
    """

    status: str
    product_key: str | None
    sector: str
    route: str | None = None
    reason: str | None = None
    halal_route: str | None = None
    halal_reason: str | None = None
    question: str | None = None
    facts: dict[str, bool] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    verify: bool = False

    @property
    def decided(self) -> bool:
        return self.status == "decided"


# --- matching ------------------------------------------------------------------------------------
class _Index:
    def __init__(self, content: Content):
        data = legality_rules.products(content)
        self.aliases: list[tuple[str, tuple[str, ...]]] = []
        for product in data.get("products") or []:
            for alias in product.get("aliases") or []:
                words = tuple(normalize(str(alias), content).split())
                if words:
                    self.aliases.append((product["key"], words))
        # Words the owner may use that are words in their own right (an alias word, or a common
        # word such as "kering", "goreng", "bawang"): never taken for a typo of another word.
        self.known_words: set[str] = {w for _key, words in self.aliases for w in words}
        # "Bu Endang", "pak Darto": a name after a form of address is never a typo of a product
        # ("endang" is no rendang). Exact product words still count ("bu, rengginang saya...").
        self.honorifics = frozenset(normalize(str(w), content) for w in
                                    ((content.data("names.yaml") or {}).get("honorifics") or {}))
        self.sold_at_words = frozenset(normalize(str(w), content) for w in data.get("sold_at_words") or [])
        self.shop_products = frozenset(str(key) for key in data.get("shop_products") or [])
        for word in data.get("common_words") or []:
            self.known_words.update(normalize(str(word), content).split())
        # And every word of the owner-style examples the understanding step learns from (products
        # there are written {produk}): "kenapa" is no kelapa, "sambil" no sambal, "jangan" no rajangan.
        from bot.nlu.model import example_words

        alias_words = {w for _key, words in self.aliases for w in words}
        self.known_words.update(w for w in example_words(content) if w not in alias_words)
        self.modifiers: list[tuple[tuple[str, ...], dict, dict | None]] = []
        for modifier in data.get("modifiers") or []:
            negated = modifier.get("when_negated")
            for word in modifier.get("words") or []:
                self.modifiers.append((tuple(normalize(str(word), content).split()), dict(modifier["facts"]),
                                       dict(negated) if negated else None))
        # Longest phrases first, so "tidak tahan lama" is read before "tahan lama".
        self.modifiers.sort(key=lambda m: len(m[0]), reverse=True)
        self.negations: set[str] = {normalize(str(w), content) for w in data.get("negation_words") or []}
        self.shelf_life: dict = dict(data.get("shelf_life_words") or {})


_indexes: dict[int, _Index] = {}
_index_lock = threading.Lock()


def _index(content: Content) -> _Index:
    key = id(legality_rules.products(content))
    with _index_lock:
        if key not in _indexes:
            _indexes[key] = _Index(content)
        return _indexes[key]


def word_similarity(owner_word: str, alias_word: str) -> float:
    if owner_word == alias_word:
        return 100.0
    if len(owner_word) < 5:
        return 0.0  # "beda" is not a typo of "bedak"
    for length, cutoff in _TYPO_CUTOFF_BY_LENGTH:
        if len(alias_word) >= length:
            score = fuzz.ratio(owner_word, alias_word)
            return score if score >= cutoff else 0.0
    return 0.0


def _word_score(owner_word: str, alias_word: str, index: _Index) -> float:
    """Like `word_similarity`, but a word the index knows in its own right is never a typo."""
    if owner_word != alias_word and owner_word in index.known_words:
        return 0.0  # "kering" is not "katering", "goreng" not "gorengan", "bawang" not "bakwan"
    return word_similarity(owner_word, alias_word)


def _matches(words: list[str], index: _Index) -> list[ProductMatch]:
    found: list[ProductMatch] = []
    for key, alias in index.aliases:
        n = len(alias)
        for start in range(0, len(words) - n + 1):
            scores = [_word_score(words[start + i], alias[i], index) for i in range(n)]
            if min(scores) <= 0:
                continue
            if scores[0] < 100 and start > 0 and words[start - 1] in index.honorifics:
                continue
            if n == 1 and start > 0 and words[start - 1] in _NOT_A_PRODUCT_AFTER.get(alias[0], ()):
                continue
            found.append(ProductMatch(key, " ".join(alias), n, sum(scores) / n, start, start + n))
    return found


def _rank(match: ProductMatch) -> tuple:
    return (match.words, match.similarity, len(match.alias))


def find_products(text: str, content: Content) -> list[list[ProductMatch]]:
    """Products named in the text, in order of appearance. Each item lists the best matches for one
    place in the text: one match normally, several when different products fit equally well."""
    words = normalize(text, content).split()
    candidates = sorted(_matches(words, _index(content)), key=_rank, reverse=True)
    taken: set[int] = set()
    groups: list[list[ProductMatch]] = []
    for match in candidates:
        span = set(range(match.start, match.end))
        if span & taken:
            # An equally good match of another product on the same words is a tie, not a loser.
            for group in groups:
                best = group[0]
                if (best.start, best.end) == (match.start, match.end) and _rank(best)[:2] == _rank(match)[:2] \
                        and match.key not in {m.key for m in group}:
                    group.append(match)
            continue
        taken |= span
        groups.append([match])
    groups.sort(key=lambda g: g[0].start)
    return without_shops(groups, words, content)


def without_shops(groups: list[list[ProductMatch]], words: list[str], content: Content) -> list[list[ProductMatch]]:
    """"jual jamu ke warung", "titip kue di warung": a shop named where another product is sold is
    no product of the owner's (content/legality/products.yaml `shop_products`, `sold_at_words`)."""
    index = _index(content)
    sold_at = [g for g in groups if g[0].key in index.shop_products and g[0].start > 0
               and words[g[0].start - 1] in index.sold_at_words]
    return [g for g in groups if g not in sold_at] if sold_at and len(sold_at) < len(groups) else groups


def modifier_facts(text: str, content: Content) -> dict[str, bool]:
    """The product facts an owner's message already gives ("nuget beku", "cuma awet 3 hari",
    "buatan rumah", "tanpa klaim khasiat"), so the follow-up questions skip them.

    A phrase right after a negation word ("tidak", "bukan", "tanpa"...) gives its `when_negated`
    facts instead, or nothing when it has none. Each word is read by the longest phrase that covers it.
    """
    index = _index(content)
    words = normalize(text, content).split()
    facts: dict[str, bool] = {}
    used: set[int] = set()
    for phrase, adds, negated in index.modifiers:
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) != phrase or used & set(range(i, i + n)):
                continue
            used |= set(range(i, i + n))
            if _negated(words, i, index):
                if negated:
                    facts.update(negated)
            else:
                facts.update(adds)
    days = shelf_life_days(words, index)
    if days is not None:
        facts["shelf_life"] = days > int(index.shelf_life.get("more_than_days", 7))
    return facts


def _negated(words: list[str], start: int, index: _Index, window: int = 2) -> bool:
    return any(w in index.negations for w in words[max(0, start - window):start])


def shelf_life_days(words: list[str], index: _Index) -> int | None:
    """Days the owner says the product keeps ("awet 3 hari", "tahan seminggu", "kuat 2 bulan"),
    counted only next to a keeping word, so "buka 3 hari seminggu" is no shelf life."""
    spec = index.shelf_life
    keep_words = set(spec.get("keep") or [])
    units = {str(k): int(v) for k, v in (spec.get("units") or {}).items()}
    numbers = {str(k): int(v) for k, v in (spec.get("numbers") or {}).items()}
    whole = {str(k): int(v) for k, v in (spec.get("whole") or {}).items()}
    more = set(spec.get("more") or [])
    for i, word in enumerate(words):
        days = None
        start = i
        if word in whole:
            days = whole[word]
        elif word in units and i > 0:
            count = words[i - 1]
            if count.isdecimal():
                days = int(count) * units[word]
            elif count in numbers:
                days = numbers[count] * units[word]
            start = i - 1
        if days is None:
            continue
        before = words[max(0, start - 4):start]
        if not keep_words & set(before):
            continue
        if more & set(before[-2:]):
            days += 1  # "lebih dari seminggu"
        return days
    return None


# --- deciding ------------------------------------------------------------------------------------
def product_entry(content: Content, key: str) -> dict | None:
    for product in legality_rules.products(content).get("products") or []:
        if product.get("key") == key:
            return product
    return None


def base_facts(content: Content, key: str) -> tuple[str, dict[str, bool]]:
    """A product's sector and the facts its category and entry give (None = unknown, left out)."""
    data = legality_rules.products(content)
    product = product_entry(content, key)
    if product is None:
        return "outside", {}
    category = (data.get("categories") or {}).get(product.get("category")) or {}
    facts: dict[str, Any] = dict(category.get("facts") or {})
    facts.update(product.get("facts") or {})
    return category.get("sector", "outside"), {k: v for k, v in facts.items() if v is not None}


def _derive(facts: dict[str, bool], derive: dict) -> dict[str, bool]:
    """Facts that follow from others. `all_of`: true when every part is, false when one is not;
    `any_of`: true when one part is, false when none is. An answer to the combined question
    settles the parts it can: all_of true -> every part true; any_of false -> every part false."""
    facts = dict(facts)
    for target, spec in (derive or {}).items():
        if target not in facts:
            continue
        if "all_of" in spec and facts[target] is True:
            for part in spec["all_of"]:
                facts.setdefault(part, True)
        if "any_of" in spec and facts[target] is False:
            for part in spec["any_of"]:
                facts.setdefault(part, False)
    for target, spec in (derive or {}).items():
        if target in facts:
            continue
        if "any_of" in spec:
            values = [facts.get(p) for p in spec["any_of"]]
            if any(v is True for v in values):
                facts[target] = True
            elif values and all(v is False for v in values):
                facts[target] = False
            continue
        parts = spec.get("all_of") or []
        values = [facts.get(p) for p in parts]
        if any(v is False for v in values):
            facts[target] = False
        elif values and all(v is True for v in values):
            facts[target] = True
    return facts


def _first_match(rule_list: list[dict], facts: dict[str, bool]) -> tuple[str, str] | None:
    for rule in rule_list:
        if all(facts.get(k) == v for k, v in (rule.get("when") or {}).items()):
            return rule["route"], rule["reason"]
    return None


def _unknowns(rule_list: list[dict], facts: dict[str, bool]) -> list[str]:
    names: list[str] = []
    for rule in rule_list:
        for name in rule.get("when") or {}:
            if name not in facts and name not in names:
                names.append(name)
    return names


def _outcomes(rule_list: list[dict], facts: dict[str, bool], unknown: list[str]) -> set:
    results = set()
    for values in itertools.product((True, False), repeat=len(unknown)):
        match = _first_match(rule_list, {**facts, **dict(zip(unknown, values))})
        results.add(match[0] if match else None)
    return results


def _resolve(rule_list: list[dict], facts: dict[str, bool]) -> tuple[tuple[str, str] | None, str | None]:
    """(route, reason) when the known facts settle it; else (None, the fact whose answer matters)."""
    unknown = _unknowns(rule_list, facts)
    outcomes = _outcomes(rule_list, facts, unknown)
    if len(outcomes) == 1 and None not in outcomes:
        route = next(iter(outcomes))
        # The reason is the one the facts we know give, when they give one; else that of the
        # first rule with this route that the known facts allow.
        known = _first_match(rule_list, facts)
        if known and known[0] == route:
            return known, None
        for rule in rule_list:
            when = rule.get("when") or {}
            if rule["route"] == route and all(facts.get(k, v) == v for k, v in when.items()):
                return (route, rule["reason"]), None
        return (route, ""), None
    for name in unknown:
        if _outcomes(rule_list, {**facts, name: True}, [u for u in unknown if u != name]) != \
                _outcomes(rule_list, {**facts, name: False}, [u for u in unknown if u != name]):
            return None, name
    return None, None


def _question_for(fact: str, facts: dict[str, bool], data: dict) -> str:
    """The question to ask for a needed fact: a derived fact asks its first unknown part when some
    parts are known, its own combined question when none is."""
    derive = data.get("derive") or {}
    # A fact asked together with others ("beku atau dikalengkan?") while none of them is known.
    for target, spec in derive.items():
        parts = spec.get("any_of") or spec.get("all_of") or []
        if spec.get("ask_together") and fact in parts and target not in facts \
                and not any(p in facts for p in parts):
            return target
    spec = derive.get(fact)
    if spec:
        parts = spec.get("all_of") or spec.get("any_of") or []
        if any(p in facts for p in parts):
            for part in parts:
                if part not in facts:
                    return part
    return fact


def decide(content: Content, product_key: str | None, facts: dict[str, bool] | None = None,
           asked: list[str] | None = None) -> Decision:
    """Classify a product given what is known (`facts`: modifiers and answers so far)."""
    data = legality_rules.products(content)
    asked = list(asked or [])
    max_questions = int(data.get("max_questions", 3))
    if product_key is None:
        return Decision("outside", None, "outside", route="outside", reason="unknown", asked=asked)
    sector, known = base_facts(content, product_key)
    product = product_entry(content, product_key) or {}
    known.update(facts or {})
    known = _derive(known, data.get("derive") or {})
    decision = Decision("ask", product_key, sector, facts=dict(known), asked=asked,
                        verify=bool(product.get("verify")))
    route_rules = (data.get("rules") or {}).get(sector) or []
    resolved, need = _resolve(route_rules, known)
    if resolved is None:
        return _ask_or_give_up(decision, need, known, data, max_questions)
    decision.route, decision.reason = resolved
    if product.get("reason"):
        decision.reason = product["reason"]
    if decision.route == "outside":
        decision.status = "outside"
        return decision
    halal_rules = (data.get("halal_rules") or {}).get(sector) or []
    halal_resolved, halal_need = _resolve(halal_rules, known)
    if halal_resolved is None:
        return _ask_or_give_up(decision, halal_need, known, data, max_questions)
    decision.halal_route, decision.halal_reason = halal_resolved
    decision.status = "decided"
    decision.steps = route_steps(content, decision.route, decision.halal_route)
    verify_reasons = set(data.get("verify_reasons") or [])
    decision.verify = decision.verify or bool({decision.reason, decision.halal_reason} & verify_reasons)
    return decision


def _ask_or_give_up(decision: Decision, need: str | None, known: dict, data: dict, max_questions: int) -> Decision:
    if need is None or len(decision.asked) >= max_questions:
        decision.status = "undecided"
        return decision
    decision.question = _question_for(need, known, data)
    if decision.question not in (data.get("questions") or {}):
        decision.status = "undecided"
        decision.question = None
    return decision


def fact_in_words(content: Content, fact: str, said: dict[str, bool]) -> bool | None:
    """The value of `fact` that facts read from the owner's words settle ("cuma awet 3 hari" answers
    the shelf-life question; "dijual beku" answers "beku atau dikalengkan?"), or None."""
    return _derive(dict(said), legality_rules.products(content).get("derive") or {}).get(fact)


def answer(content: Content, decision: Decision, yes: bool) -> Decision:
    """The owner's yes/no to `decision.question`: decide again with it."""
    assert decision.question, "answer() needs a decision that asked something"
    return decide(content, decision.product_key, {**decision.facts, decision.question: yes},
                  decision.asked + [decision.question])


def route_steps(content: Content, route: str, halal_route: str | None) -> list[str]:
    routes = legality_rules.products(content).get("routes") or {}
    out: list[str] = []
    for key in (routes.get(route) or {}).get("steps") or []:
        if key == HALAL:
            if halal_route and halal_route != "none":
                out.append(halal_route)
        else:
            out.append(key)
    return out


def classify_text(text: str, content: Content) -> tuple[Decision, list[ProductMatch]]:
    """Classify the first product named in `text`. Ties come back as status "choose" with the
    candidate matches, so the caller asks which product was meant."""
    groups = find_products(text, content)
    if not groups:
        return decide(content, None), []
    group = groups[0]
    if len({m.key for m in group}) > 1:
        sector, _ = base_facts(content, group[0].key)
        return Decision("choose", None, sector), group
    return decide(content, group[0].key, modifier_facts(text, content)), group


# --- content check -----------------------------------------------------------------------------
def exhaustive_problems(content: Content, product_key: str, max_paths: int = 256) -> list[str]:
    """Try every yes/no path for a product; each must decide (or name it outside) in time."""
    problems: list[str] = []
    stack = [decide(content, product_key)]
    paths = 0
    while stack and paths < max_paths:
        decision = stack.pop()
        if decision.status == "ask":
            stack.append(answer(content, decision, True))
            stack.append(answer(content, decision, False))
            continue
        paths += 1
        if decision.status == "undecided":
            trail = ", ".join(f"{q}" for q in decision.asked) or "no answers"
            problems.append(f"cannot decide after asking {trail} (facts {decision.facts})")
    return problems
