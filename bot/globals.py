"""Global words: they mean the same at any point of any conversation.

MENU, KEMBALI/0, BATAL, BANTUAN, BAHASA/LANGUAGE, DATA SAYA, HAPUS DATA, BERHENTI/STOP, MULAI.
The phrases live in content/intents.yaml (`global:`). Two of them ask a short question over the
current flow (an "interrupt": which language, really delete?) and then return to it.
"""
from __future__ import annotations

from typing import Callable

from rapidfuzz import fuzz

from bot.choices import Option
from bot.normalize import normalize
from bot.turn import Turn

FUZZY_MIN_LEN = 5
FUZZY_CUTOFF = 87


def _phrases(turn: Turn) -> dict[str, str]:
    table: dict[str, str] = {}
    for word, phrases in turn.content.data("intents.yaml")["global"].items():
        for phrase in phrases:
            table.setdefault(normalize(str(phrase), turn.content), word)
    return table


def match_global(turn: Turn) -> str | None:
    norm = turn.norm
    if not norm or len(norm) > 40:
        return None
    word = _match_phrase(turn, norm)
    if word == "start" and turn.owner.opted_out_at is None and turn.flow_name not in (None, "menu"):
        return None  # "mulai" inside a flow is an answer there; MULAI only matters to opted-out owners
    return word


def _match_phrase(turn: Turn, norm: str) -> str | None:
    table = _phrases(turn)
    if norm in table:
        return table[norm]
    if len(norm) < FUZZY_MIN_LEN:
        return None
    best, best_score = None, 0.0
    for phrase, word in table.items():
        if len(phrase) < FUZZY_MIN_LEN:
            continue
        score = fuzz.ratio(norm, phrase)
        if score > best_score:
            best, best_score = word, score
    return best if best_score >= FUZZY_CUTOFF else None


# --- the words -----------------------------------------------------------------------------------
def stop(turn: Turn) -> None:
    if turn.owner.opted_out_at is not None:
        turn.say("global.already_stopped")
        return
    turn.owner.opted_out_at = turn.now
    turn.say("global.stopped")


def start(turn: Turn) -> None:
    if turn.owner.opted_out_at is not None:
        turn.owner.opted_out_at = None
        turn.say("global.started")
        if turn.flow_name:
            turn.reprompt()
        return
    # "/start" from Telegram, or MULAI from someone subscribed: begin or show the menu.
    if turn.owner.consent_at is None and turn.owner.consent_declined_at is None:
        turn.start_flow("registration")
    else:
        turn.show_menu()


def menu(turn: Turn) -> None:
    turn.show_menu()


def back(turn: Turn) -> None:
    if not turn.flow_name or turn.flow_name == "menu":
        turn.show_menu()
        return
    if not turn.history:
        turn.say("common.nothing_to_go_back")
        turn.reprompt()
        return
    previous = turn.history.pop()
    turn.goto(previous, remember=False)


def cancel(turn: Turn) -> None:
    from flows import get_flow

    flow = get_flow(turn.flow_name)
    if flow is None or flow.name == "menu":
        turn.say("common.nothing_to_cancel")
        turn.show_menu()
        return
    turn.end_flow()
    if flow.on_cancel:
        flow.on_cancel(turn)
    else:
        turn.say("common.cancelled")


def help_(turn: Turn) -> None:
    turn.say_template("help")
    if turn.flow_name and turn.flow_name != "menu":
        turn.say("common.back_to_question")
        turn.reprompt()


def _language_options(turn: Turn) -> list[Option]:
    return [turn.option("id", "global.language_id", ["indonesia", "indo", "bahasa"]),
            turn.option("en", "global.language_en", ["inggris", "english", "eng"])]


def language(turn: Turn) -> None:
    turn.state.interrupt = "language"
    turn.say("global.language_ask", options=_language_options(turn))


def _set_language(turn: Turn, lang: str) -> None:
    turn.owner.lang = lang
    turn.say("global.language_set")
    if turn.flow_name:
        turn.reprompt()


def english(turn: Turn) -> None:
    _set_language(turn, "en")


def indonesian(turn: Turn) -> None:
    _set_language(turn, "id")


def handle_language(turn: Turn) -> bool:
    choice = turn.choose(_language_options(turn))
    if choice is None:
        return False
    _set_language(turn, choice.key)
    return True


def my_data(turn: Turn) -> None:
    owner = turn.owner
    if owner.consent_at is None:
        turn.say("global.my_data_none")
        return
    from flows.registration import summary_values

    values = summary_values(turn)
    turn.say_template(
        "my_data",
        address=owner.address,
        channel=owner.channel.capitalize(),
        language=turn.t(f"global.language_{owner.lang}"),
        consent_date=owner.consent_at.strftime("%d-%m-%Y"),
        subscribed=turn.t("common.answer_no") if owner.opted_out_at else turn.t("common.answer_yes"),
        **values,
    )


def _delete_options(turn: Turn) -> list[Option]:
    return [turn.option("yes", "global.delete_yes", ["ya", "hapus", "yes"]),
            turn.option("no", "global.delete_no", ["tidak", "jangan", "batal", "no"])]


def delete_data(turn: Turn) -> None:
    turn.state.interrupt = "delete_data"
    turn.say("global.delete_confirm", options=_delete_options(turn))


def handle_delete(turn: Turn) -> bool:
    choice = turn.choose(_delete_options(turn))
    if choice is None:
        answer = turn.yes_no()
        if answer is None:
            return False
        choice = _delete_options(turn)[0 if answer else 1]
    if choice.key == "yes":
        turn.say("global.delete_done")
        turn.owner_deleted = True
        return True
    turn.say("global.delete_kept")
    if turn.flow_name:
        turn.reprompt()
    return True


HANDLERS: dict[str, Callable[[Turn], None]] = {
    "stop": stop,
    "start": start,
    "menu": menu,
    "back": back,
    "cancel": cancel,
    "help": help_,
    "language": language,
    "english": english,
    "indonesian": indonesian,
    "my_data": my_data,
    "delete_data": delete_data,
}

# Answers to a question a global word asked over the flow. Each returns False when the text was
# no answer, and the message is then routed as usual.
INTERRUPTS: dict[str, Callable[[Turn], bool]] = {
    "language": handle_language,
    "delete_data": handle_delete,
}
