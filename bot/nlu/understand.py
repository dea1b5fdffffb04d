"""The understanding step: score every interpretation of the routing table, then act on the best.

`interpret(text, content, ctx)` is pure (the offline eval and the bench call it); `understand(turn)`
reads the message in its place (flow, step, consent) and `act(turn, understanding)` tries the rows
in order (bot/nlu/rules.py explains the scale) and says what the best interpretation calls for:

- fixed-score rows first (global words, opt-out, a pending short question, a handoff, the answer
  to an invitation, the flow's step, exact feature phrases): each may decline;
- then the free-text interpretations: the best is taken when clear (threshold and margin); when
  two or three are close, one clarifying question (bot/nlu/clarify.py); otherwise nothing, and the
  pipeline's first-contact or fallback rule answers;
- an owner without consent gets answers at once (plus one line inviting DAFTAR); a request that
  stores data is acknowledged, consent is asked, and the request resumes after "setuju".
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.content import Content
from bot.nlu import act as actions
from bot.nlu import model as nlu_model
from bot.nlu.reading import Reading, read_text
from bot.nlu.rules import QUESTION_OVER_STEP, RULES, STEP_SCORE, Rule
from bot.nlu.scoring import Context

SETTINGS_FILE = "nlu/settings.yaml"
INVITED_KEY = "nlu_invited"
GLOBAL_LABELS = {"english": "language", "indonesian": "language"}
# Replies that already invite a new owner to register: no second invitation after them.
INVITING_TEXTS = ("legality.save_hint", "nlu.mentor_offer_new")
# Slots of the whole message, reported with every interpretation.
MESSAGE_SLOTS = ("product", "products", "facts", "permit", "number", "place")


@dataclass
class Candidate:
    rule: Rule
    score: float
    slots: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def label(self) -> str:
        """The interpretation as the corpus names it (a global word is its word: menu, stop...)."""
        if self.rule.name == "global":
            word = self.slots.get("word", "")
            return GLOBAL_LABELS.get(word, word)
        return self.rule.name


@dataclass
class Understanding:
    reading: Reading
    fixed: list[Candidate]  # fixed-score rows that matched, best first
    free: list[Candidate]   # free-text interpretations, best first
    decision: str           # take | clarify | none (about the free-text interpretations)
    chosen: list[Candidate]  # take: [best]; clarify: the 2-3 options

    @property
    def best(self) -> Candidate | None:
        if self.fixed:
            return self.fixed[0]
        return self.chosen[0] if self.decision == "take" else None

    @property
    def label(self) -> str:
        best = self.best
        return best.label if best else self.decision

    @property
    def slots(self) -> dict:
        """Message slots plus the chosen interpretation's, as `umkm-bot nlu eval` compares them."""
        slots = {k: self.reading.slots[k] for k in MESSAGE_SLOTS if k in self.reading.slots}
        slots["negated"] = self.reading.negated
        slots["act"] = self.reading.act
        best = self.best
        if best is not None:
            slots.update({k: v for k, v in best.slots.items() if k not in ("word", "follow_up")})
            if best.name == "faq" and "topic" not in slots:
                from bot.nlu.scoring import faq_topic

                status, topics = faq_topic(self.reading, self.reading_content, best.slots.get("follow_up"))
                if status == "answer":
                    slots["topic"] = topics[0]
        return slots

    reading_content: Content | None = None


def settings(content: Content) -> dict:
    return content.data(SETTINGS_FILE) or {}


def score(reading: Reading, ctx: Context) -> tuple[list[Candidate], list[Candidate]]:
    if not reading.scores and reading.model_text:
        reading.scores = nlu_model.model(ctx.content).probabilities(reading.model_text)
    from flows.entry import EXACT_SCORE, entry_label

    exact = entry_label(reading.norm, ctx.content)
    fixed, free = [], []
    for rule in RULES:
        found = rule.score(reading, ctx)
        if found is None and rule.name != exact:
            continue
        value, slots = found or (0.0, {})
        if rule.name == exact:
            value = max(value, EXACT_SCORE)  # the message IS an entry phrase of this interpretation
        if value <= 0:
            continue
        (free if rule.free_text else fixed).append(Candidate(rule, float(value), slots))
    if reading.words and len(reading.unknown) == len(reading.words):
        free = []  # not one word we know ("xkcd qwerty"): no guess
    order = {rule.name: i for i, rule in enumerate(RULES)}
    fixed.sort(key=lambda c: (-c.score, c.rule.priority, order[c.name]))
    free.sort(key=lambda c: (-c.score, c.rule.priority))
    return fixed, free


def decide(free: list[Candidate], content: Content) -> tuple[str, list[Candidate]]:
    cfg = settings(content)
    threshold, margin = float(cfg.get("threshold", 0.4)), float(cfg.get("margin", 0.12))
    floor, band = float(cfg.get("clarify_floor", 0.22)), float(cfg.get("clarify_band", 0.12))
    if not free:
        return "none", []
    best = free[0]
    runner_up = free[1].score if len(free) > 1 else 0.0
    if best.score >= threshold and best.score - runner_up >= margin:
        return "take", [best]
    close, offered = [], set()
    for c in free[: int(cfg.get("clarify_max", 3))]:
        if c.score >= floor and best.score - c.score <= band and c.rule.option and c.rule.option not in offered:
            offered.add(c.rule.option)  # two readings that lead to the same option are one choice
            close.append(c)
    if len(close) >= 2 and close[0] is best:
        return "clarify", close
    if best.score >= threshold:
        return "take", [best]  # close to something that cannot be offered as an option
    low = cfg.get("threshold_by_interpretation") or {}
    if best.name in low and best.score >= float(low[best.name]) and best.score - runner_up >= margin / 2:
        return "take", [best]  # small talk and out of scope: a kind answer beats "not understood"
    return "none", []


def interpret(text: str, content: Content, ctx: Context | None = None, media: tuple[str, ...] = ()) -> Understanding:
    """Every interpretation of one message, scored; no database."""
    ctx = ctx or Context(content)
    reading = read_text(text, content, media)
    fixed, free = score(reading, ctx)
    decision, chosen = decide(free, content)
    return Understanding(reading, fixed, free, decision, chosen, reading_content=content)


# --- live: the turn ---------------------------------------------------------------------------
def context(turn) -> Context:
    return Context(turn.content, flow=turn.state.flow, step=turn.state.step,
                   consent=turn.owner.consent_at is not None, opted_out=turn.owner.opted_out_at is not None,
                   turn=turn, last_about=actions.last_about(turn))


def understand(turn) -> Understanding:
    media = tuple(m.kind for m in turn.inbound.media)
    turn.understanding = interpret(turn.text, turn.content, context(turn), media)
    return turn.understanding


# Interpretations that tell, never ask, whatever the question words: at a step that asks what the
# owner has ("which permits do you have?"), "blm ada ijin apa2" is its answer, not a question beside it.
STATEMENTS = frozenset({"nothing_yet"})


def _step(state):
    from flows import get_flow

    flow = get_flow(state.flow)
    return flow.steps.get(state.step) if flow and state.step else None


def _step_reads_statements(state) -> bool:
    step = _step(state)
    return bool(step and step.reads_statements)


def _step_answers_first(turn) -> bool:
    step = _step(turn.state)
    return bool(step and step.answers_first and step.answers_first(turn))


def _stage_rows(turn, understanding: Understanding) -> list[Candidate]:
    """Where the owner is, as rows of the same scale: a pending short question, an open handoff, an
    invitation's answer, the active step (see bot/nlu/rules.py)."""
    from bot.nlu.rules import STAGE_RULES

    state = turn.state
    rows = []
    for rule in STAGE_RULES:
        value = rule.score(understanding.reading, turn)
        if value:
            rows.append(Candidate(rule, value, {}))
    best = understanding.chosen[0] if understanding.decision == "take" else None
    cfg = settings(turn.content)
    if best is not None and state.step and best.rule.option and understanding.reading.act in ("question", "command") \
            and not (best.name in STATEMENTS and _step_reads_statements(state)) \
            and best.score >= float(cfg.get("question_over_step", 0.8)) \
            and len(understanding.reading.words) >= int(cfg.get("question_min_words", 4)) \
            and not _step_answers_first(turn):
        # A clear question or request of several words is no answer to a step that takes any text
        # ("Siapa nama Anda?" - "tolong ingatkan lusa jam 8 ambil sertifikat").
        rows.append(Candidate(best.rule, QUESTION_OVER_STEP, best.slots))
    return rows


def act(turn, understanding: Understanding) -> bool:
    """Try the interpretations best first. True when one took the message."""
    state = turn.state
    place = (state.flow, state.step)
    pending_step = bool(state.step)
    rows = sorted(understanding.fixed + _stage_rows(turn, understanding), key=lambda c: -c.score)
    for candidate in rows:
        if _run(turn, candidate):
            state.misses = 0
            if pending_step and (candidate.score < STEP_SCORE or candidate.score == QUESTION_OVER_STEP):
                _back_to_question(turn, place)  # said beside the step: ask the step again
            return True
    if pending_step and understanding.decision in ("take", "clarify") \
            and not _clear_beside_step(turn, understanding):
        return False  # a short, vague message while a question waits: ask that question again
    if understanding.decision == "take":
        candidate = understanding.chosen[0]
        if _run(turn, candidate):
            state.misses = 0
            if pending_step:
                _back_to_question(turn, place, candidate.name)
            return True
    if understanding.decision == "clarify":
        from bot.nlu import clarify

        clarify.ask(turn, understanding.chosen)
        return True
    return False


# Said beside a waiting question, these are taken however short ("makasih", "halo").
SMALL_TALK = frozenset({"thanks", "greeting"})
SLOTS_OF_SUBSTANCE = ("product", "permit", "number", "place", "date")


def _clear_beside_step(turn, understanding: Understanding) -> bool:
    """The step did not take the message: is it clearly something else? A step's question waits
    ("Di mana tempat produksi Anda?"), so "blm ada" or "bekasi" must not start a self-check or be
    called out of scope: a short message without a slot of substance, or a guess below
    `beside_step_score`, is treated as a failed answer and the question is asked again."""
    cfg = settings(turn.content)
    best = understanding.chosen[0]
    if understanding.decision == "take" and best.name in SMALL_TALK:
        return True
    reading = understanding.reading
    if understanding.decision == "take" and best.score >= float(cfg.get("beside_step_sure", 0.88)):
        return True  # "pengingat saya", "cek dapur": short, and sure (an entry phrase scores 0.88)
    substance = any(key in reading.slots for key in SLOTS_OF_SUBSTANCE)
    long_enough = len(reading.words) >= int(cfg.get("beside_step_min_words", 3))
    if not (substance or long_enough):
        return False
    return understanding.decision == "clarify" or best.score >= float(cfg.get("beside_step_score", 0.6))


def _run(turn, candidate: Candidate) -> bool:
    rule = candidate.rule
    if rule.free_text and rule.consent and actions.is_new(turn):
        actions.ask_consent_then(turn, candidate)
        return True
    new_idle = actions.is_new(turn) and not turn.state.step
    taken = bool(rule.handle(turn, candidate))
    invited = {turn.t(key) for key in INVITING_TEXTS}
    if taken and rule.answers and new_idle and not turn.state.flow and not turn.state.interrupt \
            and not turn.data.get(INVITED_KEY) and not any(r.text in invited for r in turn.said):
        # A new owner's question is answered first; then one short line inviting registration (once).
        turn.say("nlu.first_contact.invite")
        turn.data[INVITED_KEY] = True
        turn.state.interrupt = actions.INVITE_INTERRUPT
    return taken


# Short side remarks after which the step is simply asked again, without "Kita lanjutkan...".
NO_BACK_LINE = frozenset({"out_of_scope", "thanks", "greeting"})


def _back_to_question(turn, place, name: str = "") -> None:
    """A side question was answered and the owner is still where they were: ask again."""
    state = turn.state
    if place[0] == "ask" and (state.flow, state.step) == place:
        turn.end_flow()  # "tulis pertanyaan Anda" was answered by what the owner wrote
        return
    if place[1] is not None and place[0] != "menu" and (state.flow, state.step) == place:
        if name not in NO_BACK_LINE:
            turn.say("common.back_to_question")
        before = len(turn.said)
        turn.reprompt()
        if name in ("thanks", "greeting"):
            # "makasih" right after a long step message: the owner read it a moment ago; do not send
            # it again (a short question, "Siapa nama Anda?", is simply asked again).
            previous = turn.previous_out()
            asked = turn.said[before:]
            # (compared by its beginning: a word explained in brackets the first time is not the
            # second, and what waited for LANJUT was never shown)
            if asked and sum(len(r.text) for r in asked) > 120 \
                    and any(asked[0].text[:60] in p for p in previous):
                del turn.said[before:]
                turn._budget()
                if turn.more_waiting:  # what waited for LANJUT still waits after a thank-you
                    from bot.turn import MORE_KEY

                    turn.data[MORE_KEY] = turn.more_waiting


_warm_lock = threading.Lock()


def warm(content: Content) -> None:
    """Train the classifiers now (at start-up) rather than on the first owner message."""
    with _warm_lock:
        nlu_model.model(content)
        nlu_model.topic_model(content)
