"""Main menu: every thing the bot can do, as one numbered list.

Entry: the global word MENU, the end of most flows, a greeting from a registered owner.
Steps:  choose -> (starts the chosen flow, or does a global action)
Items come from content/menu.yaml; an item shows only when its flow exists.

    Owner: menu
    Bot:   Menu utama. Pilih nomor: 1. Daftar / ubah data usaha 2. ...
    Owner: 1
    Bot:   (the registration flow starts)
"""
from __future__ import annotations

from bot.choices import Option
from bot.turn import Turn
from flows.base import NOT_UNDERSTOOD, Flow, Step


def _items(turn: Turn) -> list[dict]:
    from flows import FLOWS

    items = []
    for item in turn.content.data("menu.yaml")["items"]:
        kind, _, target = item["action"].partition(":")
        if kind == "flow" and target not in FLOWS:
            continue
        items.append(item)
    return items


def _options(turn: Turn) -> list[Option]:
    return [Option(item["key"], turn.t(item["label"])) for item in _items(turn)]


def ask_choice(turn: Turn) -> None:
    title = "menu.title" if turn.owner.is_registered else "menu.title_new"
    turn.say(title, options=_options(turn))


def handle_choice(turn: Turn):
    choice = turn.choose(_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    item = next(i for i in _items(turn) if i["key"] == choice.key)
    kind, _, target = item["action"].partition(":")
    turn.end_flow()
    if kind == "flow":
        turn.start_flow(target)
    else:
        from bot import globals as global_words

        global_words.HANDLERS[target](turn)
    return None


def start(turn: Turn) -> None:
    turn.goto("choose", remember=False)


FLOW = Flow(
    name="menu",
    steps={"choose": Step(prompt=ask_choice, handle=handle_choice)},
    start=start,
    requires_consent=False,
    description="The main menu.",
)
