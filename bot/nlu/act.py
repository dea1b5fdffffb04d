"""What each interpretation of the routing table does (bot/nlu/rules.py). Each handler gets the Turn
and the Candidate (score and slots) and returns True when it took the message, False to decline.
Every word said comes from content (texts `nlu.*` and the areas' own keys)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable

from bot import globals as global_words
from bot.normalize import normalize

if TYPE_CHECKING:
    from bot.nlu.understand import Candidate
    from bot.turn import Turn

MONEY_WORDS = frozenset({"modal", "pinjam", "pinjaman", "pinjem", "kredit", "kur", "hibah", "bansos", "dana", "bunga",
                         "pinjol", "utang", "hutang", "cicilan", "bank", "loan"})


def is_new(turn: "Turn") -> bool:
    """An owner who has not agreed to data storage (new, or declined earlier)."""
    return turn.owner.consent_at is None


@contextmanager
def with_text(turn: "Turn", text: str):
    """Run a handler on an earlier message (a clarification pick, a request resumed after consent)."""
    saved = turn.text, turn.norm
    turn.text, turn.norm = text, normalize(text, turn.content)
    try:
        yield
    finally:
        turn.text, turn.norm = saved


# --- where the owner is: a pending short question, a handoff, an invitation, the flow's step -----
def pending_question(turn: "Turn", candidate: "Candidate") -> bool:
    """The answer to a short question over the flow (which language? really delete? which one?)."""
    from bot.nlu import clarify

    state = turn.state
    name, state.interrupt = state.interrupt, None
    if name == clarify.INTERRUPT:
        return clarify.handle_pick(turn)
    if name == INVITE_INTERRUPT:
        return _registration_invite(turn)
    handler = global_words.INTERRUPTS.get(name or "")
    return bool(handler is not None and handler(turn))


def handoff(turn: "Turn", candidate: "Candidate") -> bool:
    from bot.pipeline import RELAY_HOOKS

    return any(hook(turn) for hook in RELAY_HOOKS)


def _functions(paths) -> list[Callable]:
    import importlib

    found = []
    for path in paths:
        module, name = path.split(":")
        func = getattr(importlib.import_module(module), name, None)
        if func is not None:
            found.append(func)
    return found


def invitation_answer(turn: "Turn", candidate: "Candidate") -> bool:
    from bot.nlu.rules import ANSWER_HOOKS

    return any(hook(turn) for hook in _functions(ANSWER_HOOKS))


def flow_step(turn: "Turn", candidate: "Candidate") -> bool:
    from flows import NOT_UNDERSTOOD, get_flow

    flow = get_flow(turn.state.flow)
    step = flow.steps.get(turn.state.step) if flow and turn.state.step else None
    return step is not None and step.handle(turn) is not NOT_UNDERSTOOD


def feature_phrases(turn: "Turn", candidate: "Candidate") -> bool:
    """Exact phrases an area owns where they are ("hasil cek", DAFTAR with an open invitation,
    "ingatkan besok"): each function returns True when it took the message."""
    from bot.nlu.rules import FEATURE_PHRASES

    return any(func(turn) for func in _functions(FEATURE_PHRASES))


def branch_answer(turn: "Turn", candidate: "Candidate") -> bool:
    """"Iya di rumah pake alat biasa" after "Keripik: bila dibuat di rumah..., P-IRT; bila pabrik, MD":
    the fact that settles the route just given in two branches (flows/ask.py)."""
    from flows import ask

    return ask.answer_branch(turn, busy_in_flow(turn))


INVITE_INTERRUPT = "nlu_invite"


def late_consent(turn: "Turn", candidate: "Candidate") -> bool:
    """"Ya udh setuju" after a side question took the owner away from the data question: the
    consent they read a moment ago is given; registration goes on from its next question."""
    from flows import registration

    if turn.state.flow == "registration" or turn.yes_no() is not True or not registration.agrees_outright(turn):
        return False
    turn.owner.consent_at, turn.owner.consent_declined_at = turn.now, None
    turn.start_flow("registration")
    return True


def _registration_invite(turn: "Turn") -> bool:
    """After a new owner's question was answered with "Ketik DAFTAR": "ya", "boleh", "mau" start it."""
    if turn.yes_no() is True:
        from flows import registration

        if registration.agrees_outright(turn):
            turn.owner.consent_at, turn.owner.consent_declined_at = turn.now, None
        turn.start_flow("registration")
        return True
    return False


# --- fixed-score rows --------------------------------------------------------------------------
def global_word(turn: "Turn", candidate: "Candidate") -> bool:
    turn.state.interrupt = None
    global_words.HANDLERS[candidate.slots["word"]](turn)
    return True


def global_handler(word: str) -> Callable[["Turn", "Candidate"], bool]:
    def handle(turn: "Turn", candidate: "Candidate") -> bool:
        turn.state.interrupt = None
        global_words.HANDLERS[word](turn)
        return True

    handle.__name__ = f"global_{word}"
    return handle


def opt_out(turn: "Turn", candidate: "Candidate") -> bool:
    turn.state.interrupt = None
    global_words.stop(turn)
    return True


def label_check(turn: "Turn", candidate: "Candidate") -> bool:
    from bot.nlu.scoring import _label_hooks

    hooks = _label_hooks()
    if hooks is None:
        return False
    return hooks[1](turn, candidate.slots) is not False


# --- free-text rows ----------------------------------------------------------------------------
def reminder(turn: "Turn", candidate: "Candidate") -> bool:
    from bot.nlu.scoring import reminder_hooks

    hooks = reminder_hooks()
    if hooks is not None:
        hooks[1](turn, candidate.slots)
        return True
    turn.start_flow("reminders")
    return True


def reminder_in_list(turn: "Turn", candidate: "Candidate") -> bool:
    """"yg rabu itu gajadi, hapus aja" in the reminders menu: that day's reminder is cancelled, and
    the menu's question is done with."""
    turn.end_flow()
    return reminder(turn, candidate)


def permit_report(turn: "Turn", candidate: "Candidate") -> bool:
    from flows import legality, registration

    return registration.note_permit_report(turn) or legality.several_permits_done(turn) \
        or bool(legality.permit_progress(turn))


def nothing_yet(turn: "Turn", candidate: "Candidate") -> bool:
    """No permit at all yet: the first step (the NIB); a registered owner's record says so too."""
    turn.say("legality.nothing_yet")
    owner = turn.owner
    if owner.consent_at is not None and not owner.has_permits:
        owner.has_permits = []
        if not (turn.state.flow and turn.state.flow != "menu"):
            turn.start_flow("legality")
    return True


def busy_in_flow(turn: "Turn") -> bool:
    """The owner is in the middle of a flow that a question must not push aside. The data question
    of a new owner is no such flow: "sambel roa ibu perlu ijin apa" asked there gets its own
    questions at once, as it would before the data question was asked."""
    if turn.state.flow == "registration" and turn.state.step == "consent" and turn.owner.consent_at is None:
        return False
    return bool(turn.state.flow and turn.state.flow != "menu")


def product_question(turn: "Turn", candidate: "Candidate") -> bool:
    from flows import ask

    in_flow = busy_in_flow(turn)
    if ask.product_question(turn, in_flow):
        return True
    if ask.product_fact(turn, candidate.slots.get("product"), candidate.slots.get("facts"), in_flow):
        return True  # "kunyit asam saya cuma tahan seminggu di kulkas": what that means for the permit
    return ask.faq_or_unknown(turn, in_flow, product_expected=True)


def faq(turn: "Turn", candidate: "Candidate") -> bool:
    from bot.legality import faq as faq_topics
    from bot.nlu.reading import read_text
    from bot.nlu.scoring import faq_topic, unknown_product
    from flows import ask

    reading = read_text(turn.text, turn.content)
    status, topics = faq_topic(reading, turn.content, candidate.slots.get("follow_up"))
    if status == "answer":
        topic = faq_topics.topic_by_key(turn.content, topics[0])
        if topic is not None:
            ask.answer_topic(turn, topic)
            return True
    in_flow = busy_in_flow(turn)
    close = [t for t in (faq_topics.topic_by_key(turn.content, k) for k in topics) if t]
    if status == "vague" and not in_flow:  # "bayar ga?" with nothing before it: which permit?
        ask.ask_which(turn, close)
        return True
    return ask.faq_or_unknown(turn, in_flow, product_expected=unknown_product(reading),
                              choices=close if status == "choose" else None)


# --- the last topic: a short follow-up question is about the permit just answered -----------------
LAST_TOPIC_KEY = "last_topic"  # in the state's data (bot/turn.py STICKY_KEYS): {"about", "at"}


def remember_topic(turn: "Turn", about: str | None) -> None:
    """After an answer about a permit: what a short follow-up question will be about."""
    if about:  # (an answer about no permit, "dibantu langsung", keeps the permit asked about before)
        turn.data[LAST_TOPIC_KEY] = {"about": about, "at": turn.now.isoformat()}


def last_about(turn: "Turn") -> str | None:
    """The permit of the last answer, while it is recent (settings.yaml `follow_up_minutes`); else,
    while a product is being classified, the permit its sector registers with (a soap: the
    cosmetics notification), so "biayanya brp?" asked there is about that permit."""
    last = turn.data.get(LAST_TOPIC_KEY)
    if isinstance(last, dict) and last.get("about") and recent(turn, last.get("at")):
        return str(last["about"])
    current = turn.data.get("current") if turn.state.flow == "legality" else None
    if isinstance(current, dict) and current.get("key"):
        from bot.legality import classify
        from bot.legality import rules as legality_rules

        sector, _facts = classify.base_facts(turn.content, str(current["key"]))
        permit = (legality_rules.products(turn.content).get("sector_permits") or {}).get(sector)
        return str(permit) if permit else None
    return None


def recent(turn: "Turn", at: str | None) -> bool:
    """An answer given at `at` (ISO time) is one a follow-up may refer to (settings.yaml `follow_up_minutes`)."""
    from datetime import datetime, timedelta

    from bot.clock import as_utc

    minutes = float((turn.content.data("nlu/settings.yaml") or {}).get("follow_up_minutes", 30))
    try:
        since = as_utc(turn.now) - as_utc(datetime.fromisoformat(str(at)))
    except ValueError:
        return False
    return timedelta(0) <= since <= timedelta(minutes=minutes)


def start_flow(name: str) -> Callable[["Turn", "Candidate"], bool]:
    def handle(turn: "Turn", candidate: "Candidate") -> bool:
        if name in AFTER_REGISTRATION and registering(turn):
            # "trus sy hrs ngapain dulu" at "Siapa nama Anda?": done once registration is, which
            # a few questions from now it is; leaving it here would leave it unfinished.
            turn.data[AFTER_KEY] = {"name": candidate.name, "slots": candidate.slots, "text": turn.text}
            turn.say(f"registration.after.{name}")
            return True
        if name == "registration" and turn.state.flow == "registration" and turn.state.step == "consent" \
                and turn.owner.consent_at is None:
            # "sy mau daftar dulu biar bisa dibantu" at the data question asks to register: the
            # data question's own reading decides (asking to register is agreeing; a question is not)
            from flows import registration

            if registration.handle_consent(turn) is None:
                return True
        turn.start_flow(name)
        return True

    handle.__name__ = f"start_{name}"
    return handle


def thanks(turn: "Turn", candidate: "Candidate") -> bool:
    turn.say("nlu.ack" if candidate.slots.get("ack") else "nlu.thanks")
    if turn.flow_name and turn.flow_name != "menu":
        return True  # the understanding step asks the flow's question again
    if is_new(turn):
        turn.say("nlu.first_contact.invite")
    return True


def greeting(turn: "Turn", candidate: "Candidate") -> bool:
    if is_new(turn) and turn.owner.consent_declined_at is None:
        turn.start_flow("registration")
    elif turn.state.flow and turn.state.flow != "menu":
        return True  # a greeting mid-flow: the flow's question is asked again
    else:
        turn.show_menu()
    return True


def out_of_scope(turn: "Turn", candidate: "Candidate") -> bool:
    unknown = candidate.slots.get("unknown")
    from bot.nlu.scoring import PERMIT_TOPIC_WORDS

    if unknown and set(turn.norm.split()) & PERMIT_TOPIC_WORDS:
        # "izin sepatu apa?": a product the rules do not know. Say so; never guess.
        turn.say("legality.product_unknown", product=unknown)
        turn.say("nlu.mentor_offer" if not is_new(turn) else "nlu.mentor_offer_new")
        return True
    turn.say("nlu.out_of_scope.money" if set(turn.norm.split()) & MONEY_WORDS else "nlu.out_of_scope.general")
    if turn.state.step:
        return True  # mid-flow: one kind line, then the flow's question again
    turn.say("nlu.out_of_scope.mentor" if not is_new(turn) else "nlu.out_of_scope.what_i_do")
    return True


# --- consent first: acknowledge the request, ask consent, resume after "setuju" ---------------
RESUME_KEY = "resume"
# A request made half-way through a first registration, run when it is done (flows/registration.py).
AFTER_KEY = "after_registration"
AFTER_REGISTRATION = frozenset({"legality", "gmp_check", "events"})


def registering(turn: "Turn") -> bool:
    """A first registration under way, past the data question."""
    state, owner = turn.state, turn.owner
    return state.flow == "registration" and state.step not in (None, "consent") \
        and owner.consent_at is not None and owner.registered_at is None


def ask_consent_then(turn: "Turn", candidate: "Candidate") -> None:
    """ "Baik, saya bantu cek dapur. Sebelumnya..." and the consent question; the request is kept in
    the registration flow's data and resumed by `resume()` from the consent step."""
    turn.say(f"nlu.first_contact.ack.{candidate.name}")
    turn.end_flow()
    turn.state.flow = "registration"
    turn.data[RESUME_KEY] = {"name": candidate.name, "slots": candidate.slots, "text": turn.text}
    turn.goto("consent", remember=False)


def resume(turn: "Turn", pending: dict) -> None:
    """Called by the registration consent step after "setuju": do what the owner asked for."""
    from bot.nlu.rules import RULES_BY_NAME
    from bot.nlu.understand import Candidate

    rule = RULES_BY_NAME.get(pending.get("name", ""))
    turn.end_flow()
    if rule is None:
        turn.show_menu()
        return
    with with_text(turn, pending.get("text") or ""):
        taken = rule.handle(turn, Candidate(rule, 1.0, dict(pending.get("slots") or {})))
    if not taken:
        turn.show_menu()
