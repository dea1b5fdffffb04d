"""Short legality questions, answered from content: "izin keripik apa?", "berapa lama pirt berlaku".

Purpose: give a direct answer to a free-text question, also to an owner who has not registered.
The understanding step (bot/nlu/rules.py) calls these when it reads a message as:
  - a product question ("izin keripik apa?", "sambel botol perlu izin apa"): the product's route
    from content/legality/products.yaml; when one yes/no decides it, both answers are given
    ("bila dibuat di rumah dengan alat sederhana: P-IRT; bila dengan mesin pabrik: BPOM MD");
    when more are needed, the legality flow asks them;
  - the FAQ and glossary (bot/legality/faq.py): answered when the match is clear (threshold and
    margin in content/legality/matching.yaml); when two or three topics are close, the owner picks
    one (or a mentor); mid-flow, only clear answers are given, so the flow's question stays simple.
Entry (this flow): the menu item "Tanya soal izin".
Steps: question -> answer (then the flow ends).

    Owner: berapa lama pirt berlaku
    Bot:   P-IRT (izin edar makanan rumahan) berlaku 5 tahun. Tahun habisnya ada di 2 angka terakhir ...
    Owner: brp lama berlaku
    Bot:   Maksud Anda yang mana?  1. Masa berlaku P-IRT  2. Masa berlaku BPOM MD  3. ...  4. Tanya pendamping
"""
from __future__ import annotations

from bot import globals as global_words
from bot.choices import Option
from bot.legality import classify, faq, pathway
from bot.legality.rules import lang_text
from bot.normalize import normalize
from bot.turn import Turn
from flows import legality
from flows.base import NOT_UNDERSTOOD, Flow, Step

CHOICES_KEY = "faq_choices"
# Words that make a product mention a permit question ("izin keripik", "keripik perlu apa").
PERMIT_QUESTION_WORDS = ("izin", "perlu", "butuh", "wajib", "harus", "daftar", "urus", "permit", "license", "pirt",
                         "bpom", "md", "halal", "legal", "legalitas")


# --- answering ------------------------------------------------------------------------------------
def answer_topic(turn: Turn, topic: faq.Topic) -> None:
    entry = topic.entry
    if topic.key == "marketing_first" and turn.owner.consent_at is not None \
            and pathway.legality_done(turn.session, turn.owner, turn.content):
        turn.say("legality.all_done")
        return
    text = lang_text(entry.get("explain") if topic.kind == "glossary" else entry.get("answer"), turn.lang)
    if entry.get("verify"):
        text += "\n\n" + legality.caveat(turn, entry)
    term = topic.key.split(":", 1)[1] if topic.kind == "glossary" else None
    if term and turn.owner.consent_at is not None:
        # The word is explained in full here: no bracket explanation for it after this.
        pathway.mark_terms_seen(turn.session, turn.owner, [term], turn.now)
    legality.send(turn, text, defining=term)
    from bot.nlu import act
    from bot.nlu.scoring import about_of

    about = list(entry.get("about") or []) if topic.kind == "faq" else [term]
    act.remember_topic(turn, about_of(about, turn.content))  # "itu ngurusnya dimana?" is about it


def _choice_options(turn: Turn) -> list[Option]:
    options = []
    for key in turn.data.get(CHOICES_KEY) or []:
        topic = faq.topic_by_key(turn.content, key)
        if topic is not None:
            options.append(Option(key, lang_text(topic.title, turn.lang)))
    options.append(turn.option("mentor", "legality.option_mentor", ["pendamping", "mentor"]))
    return options


def handle_choice(turn: Turn) -> bool:
    """The owner's pick after "Maksud Anda yang mana?" (an interrupt over any flow)."""
    choice = turn.choose(_choice_options(turn))
    turn.data.pop(CHOICES_KEY, None)
    if choice is None:
        return False
    if choice.key == "mentor":
        turn.start_flow("mentor")
        return True
    topic = faq.topic_by_key(turn.content, choice.key)
    if topic is not None:
        answer_topic(turn, topic)
    return True


global_words.INTERRUPTS["faq_choose"] = handle_choice


def _offer_mentor(turn: Turn) -> None:
    """A mentor offer in words: a one-option menu is no choice."""
    turn.say("nlu.mentor_offer" if turn.owner.consent_at is not None else "nlu.mentor_offer_new")


def ask_which(turn: Turn, candidates: list[faq.Topic]) -> None:
    """Offer the close topics and a mentor; with no topics, just the mentor."""
    turn.data[CHOICES_KEY] = [t.key for t in candidates]
    turn.state.interrupt = "faq_choose"
    turn.say("legality.faq_choose" if candidates else "legality.outside_choice", options=_choice_options(turn))


def answer_question(turn: Turn, in_flow: bool) -> bool:
    """Product question first, then the FAQ. True when something was said."""
    if product_question(turn, in_flow):
        return True
    return faq_or_unknown(turn, in_flow, product_expected=True)


def faq_or_unknown(turn: Turn, in_flow: bool, product_expected: bool, choices: list | None = None) -> bool:
    """The FAQ answer; else, for a permit question about a product we do not know, say so.
    `choices`: the topics the understanding step found close (bot/nlu/scoring.py `faq_topic`),
    offered instead of the matcher's own when there is no answer."""
    matcher = faq.matcher(turn.content)
    result = matcher.match(turn.text)
    if result.status == "answer":
        answer_topic(turn, result.best)
        return True
    if result.status == "choose" and len(result.candidates) == 1 and result.score >= matcher.ask_floor + 10:
        answer_topic(turn, result.candidates[0][0])
        return True
    unknown = unknown_product_words(turn, matcher) if product_expected else ""
    if unknown:
        # "izin sepatu apa?": a product the rules do not know. Say so; never guess.
        turn.say("legality.product_unknown", product=unknown)
        if not in_flow:
            _offer_mentor(turn)
        return True
    if not (choices and len(choices) >= 2):
        choices = [t for t, _ in result.candidates] if result.status == "choose" else []
    if len(choices) >= 2 and not in_flow:
        ask_which(turn, choices)
        return True
    return False


def unknown_product_words(turn: Turn, matcher: faq.FaqMatcher) -> str:
    """In a permit question, the words that are no legality vocabulary: a product we do not know."""
    words = turn.norm.split()
    if not set(words) & {normalize(w, turn.content) for w in PERMIT_QUESTION_WORDS}:
        return ""
    known = set(matcher.vocabulary) | matcher.fillers | matcher.signals
    known |= {normalize(w, turn.content) for w in PERMIT_QUESTION_WORDS}
    known |= {"untuk", "produk", "jual", "jualan", "usaha", "buat", "dagang", "bikin", "yang", "dan", "atau"}
    from bot.nlu.reading import strip_suffix, vocabulary

    vocab = vocabulary(turn.content)
    known |= vocab.known  # ordinary words ("harganya", "kapan") are no product name
    leftover = [w for w in words if w not in known and strip_suffix(w, vocab) not in known
                and not w.isdigit() and len(w) >= 3]
    return " ".join(leftover[:4]) if 0 < len(leftover) <= 4 else ""


def product_question(turn: Turn, in_flow: bool) -> bool:
    from bot.nlu.reading import vocabulary

    words = set(turn.norm.split())
    short_question = len(words) <= 4 and turn.looks_like_question()  # "kl lulur?" after a permit answer
    if not (words & {normalize(w, turn.content) for w in PERMIT_QUESTION_WORDS}) \
            and not (words & vocabulary(turn.content).sell_words) and not short_question:
        return False  # a product named in passing ("keripik saya gosong") is no permit question
    groups = classify.find_products(turn.text, turn.content)
    if not groups or len({m.key for m in groups[0]}) > 1:
        return False
    key = groups[0][0].key
    facts = classify.modifier_facts(turn.text, turn.content)
    return answer_product(turn, key, facts, in_flow, name=_names_alike(turn, groups, facts))


def _names_alike(turn: Turn, groups, facts: dict) -> str | None:
    """"opak sareng ranginang": products named together whose permit answer is the same one answer
    ("Keripik dan Rengginang: ..."); None when there is one product, or their answers differ."""
    named = {}  # product key -> the owner's word for it ("opak", not "Keripik")
    for group in groups:
        if len({m.key for m in group}) == 1:
            named.setdefault(group[0].key, group[0].alias)
    keys = list(named)[:3]
    if len(keys) < 2:
        return None
    decisions = [classify.decide(turn.content, k, facts) for k in keys]
    if len({(d.status, d.route, d.question, d.reason) for d in decisions}) > 1:
        return None
    names = [named[k].capitalize() for k in keys]
    return turn.t("legality.names_and", first=", ".join(names[:-1]), last=names[-1])


def product_fact(turn: Turn, key: str | None, facts: dict | None, in_flow: bool) -> bool:
    """A fact about a product said without a question ("kunyit asam saya cuma tahan 5 hari di
    kulkas"): what the fact means for the permit. For a registered owner whose pathway holds the
    product, the fact is recorded and the product classified again (its steps follow the route)."""
    if not key or not facts:
        return False
    if turn.owner.consent_at is not None:
        from sqlalchemy import select

        from storage.models.legality import LegalityProduct

        saved = turn.session.scalars(select(LegalityProduct).where(
            LegalityProduct.owner_id == turn.owner.id, LegalityProduct.product_key == key)
            .order_by(LegalityProduct.id)).first()
        if saved is not None:
            decision = classify.decide(turn.content, key, {**(saved.answers or {}), **facts})
            if decision.status == "decided" and decision.route is not None:
                changed = decision.route != saved.route
                pathway.add_product(turn.session, turn.owner, saved.name, decision, turn.content, turn.now)
                turn.say("legality.fact_saved" if changed else "legality.fact_saved_same", product=saved.name)
                _say_quick_route(turn, legality.product_name(turn, key), decision)
                return True
        else:
            # A product the owner named at registration, not yet in the pathway: when the fact
            # settles its route, it enters the pathway now.
            decision = classify.decide(turn.content, key, facts)
            name = _registered_product_name(turn, key)
            if name and decision.status == "decided" and decision.route is not None:
                pathway.add_product(turn.session, turn.owner, name, decision, turn.content, turn.now)
                turn.say("legality.fact_saved_new", product=name)
                _say_quick_route(turn, legality.product_name(turn, key), decision)
                return True
    decision = classify.decide(turn.content, key, facts)
    if in_flow and decision.status != "outside" and decision.route is None and _branches(turn, decision) is None:
        return False  # it would need questions of its own: not in the middle of another flow
    turn.say("legality.fact_noted")
    return answer_product(turn, key, facts, in_flow)


def _registered_product_name(turn: Turn, key: str) -> str | None:
    """The owner's own name for the product `key` among the products given at registration."""
    for typed in turn.owner.products or []:
        groups = classify.find_products(str(typed), turn.content)
        if any(match.key == key for group in groups for match in group):
            return str(typed)
    return None


def answer_product(turn: Turn, key: str, facts: dict, in_flow: bool, name: str | None = None) -> bool:
    """The permit route of one product with the facts known: said at once when decided, both
    outcomes when one yes/no decides it, else the legality flow asks (not mid-flow). `name`: the
    products the answer is for, when several share it."""
    decision = classify.decide(turn.content, key, facts)
    name = name or legality.product_name(turn, key)
    if decision.status == "outside":
        legality.send(turn, turn.t("legality.product_outside", product=name,
                                   reason=legality.reason_text(turn, decision.reason)))
        if not in_flow:
            _offer_mentor(turn)
        return True
    if decision.route is not None:
        # The permit route is known; halal is explained when the owner records the pathway.
        _say_quick_route(turn, name, decision)
        return True
    branches = _branches(turn, decision)
    if branches is not None:
        question = (legality.legality_rules.products(turn.content).get("questions") or {})[decision.question]
        yes, no = branches
        legality.send(turn, turn.t("legality.quick_branches", product=name,
                                   when_yes=lang_text(question["when_yes"], turn.lang),
                                   yes_summary=legality.route_summary(turn, yes.route),
                                   when_no=lang_text(question["when_no"], turn.lang),
                                   no_summary=legality.route_summary(turn, no.route)))
        turn.say("legality.see_pathway_hint" if turn.owner.consent_at is not None else "legality.save_hint")
        turn.data[BRANCHES_KEY] = {"key": key, "facts": dict(facts), "question": decision.question,
                                   "at": turn.now.isoformat()}
        return True
    if in_flow:
        return False
    # Needs a few answers: the legality flow asks them (without saving for an unregistered owner).
    turn.say("legality.quick_more", product=name)
    legality.begin_classification(turn, name, key, facts, queue=[])
    return True


BRANCHES_KEY = "last_branches"  # the product whose route was just given in two branches


def answer_branch(turn: Turn, in_flow: bool) -> bool:
    """A message that settles the yes/no of the two branches just given ("iya di rumah pake alat
    biasa"): the product's route with that fact. Only words that say the fact count, never a bare
    yes, and only within `follow_up_minutes` (content/nlu/settings.yaml)."""
    from bot.nlu.act import recent

    last = turn.data.get(BRANCHES_KEY)
    if not isinstance(last, dict) or not recent(turn, last.get("at")):
        return False
    told = classify.modifier_facts(turn.text, turn.content)
    if last.get("question") not in told or classify.find_products(turn.text, turn.content):
        return False
    turn.data.pop(BRANCHES_KEY, None)
    return answer_product(turn, str(last["key"]), {**(last.get("facts") or {}), **told}, in_flow)


def _branches(turn: Turn, decision: classify.Decision) -> tuple[classify.Decision, classify.Decision] | None:
    """When one yes/no settles the permit route, the two outcomes (halal aside)."""
    if decision.route is not None:
        return None  # the route is known; only halal is open
    yes = classify.answer(turn.content, decision, True)
    no = classify.answer(turn.content, decision, False)
    if yes.route and no.route and yes.route != no.route:
        return yes, no
    return None


def _say_quick_route(turn: Turn, name: str, decision: classify.Decision) -> None:
    from bot.nlu import act
    from bot.nlu.scoring import about_of

    act.remember_topic(turn, about_of([decision.route], turn.content))  # "pirt": its follow-ups
    legality.send(turn, turn.t("legality.quick_route", product=name,
                               summary=legality.route_summary(turn, decision.route),
                               reason=legality.reason_text(turn, decision.reason)))
    turn.say("legality.see_pathway_hint" if turn.owner.consent_at is not None else "legality.save_hint")


# --- the "Tanya soal izin" menu item ---------------------------------------------------------------
def start(turn: Turn) -> None:
    turn.goto("question", remember=False)


def prompt_question(turn: Turn) -> None:
    turn.say("legality.ask_question")


def handle_question(turn: Turn):
    if not turn.norm:
        return NOT_UNDERSTOOD
    turn.end_flow()
    if answer_question(turn, in_flow=False):
        return None
    turn.say("legality.faq_none")
    _offer_mentor(turn)
    return None


FLOW = Flow(
    name="ask",
    steps={"question": Step(prompt=prompt_question, handle=handle_question)},
    start=start,
    requires_consent=False,
    description="Ask a legality question.",
)
