"""Reminders the owner controls: what is coming, turning one kind off or on, "ingatkan besok".

Purpose: reminders help only if owners can quiet the ones they don't want without stopping
everything (BERHENTI stops all messages). The reminder rows and the sweep are bot/reminders.py.

Entry words: PENGINGAT SAYA, "matikan pengingat" (content/intents.yaml), the menu item.
"ingatkan besok" works anywhere (a recognizer, below): the last reminder comes back tomorrow at
09.00; during a self-check it pauses the check and reminds the owner to carry on.

Steps:
    start (list of coming reminders) -> action --1--> kind_off -> (done)
                                               --2--> kind_on  -> (done)
                                               --3--> menu

    Owner: pengingat saya
    Bot:   Pengingat Anda yang akan datang: • 22-01-2027: Cek mandiri berikutnya ...
           Mau mengubah pengingat?  1. Matikan satu jenis pengingat 2. Nyalakan lagi ... 3. Selesai
    Owner: 1
    Bot:   Jenis pengingat mana yang ingin dimatikan?  1. Cek mandiri berikutnya 2. ...
    Owner: 1
    Bot:   Baik, pengingat "Cek mandiri berikutnya" dimatikan. ...
"""
from __future__ import annotations

from bot import reminders
from bot.choices import Option
from bot.clock import JAKARTA, as_utc
from bot.turn import Turn
from bot.understanding import recognizer
from flows.base import NOT_UNDERSTOOD, Flow, Step
from flows.gmp_check import open_check, says

UPCOMING_SHOWN = 8


def _label(turn: Turn, kind: str) -> str:
    found = reminders.KINDS.get(kind)
    return turn.t(found.label_key) if found and turn.content.has(found.label_key) else kind


def _kind_options(turn: Turn, off: bool) -> list[Option]:
    disabled = reminders.kinds_off(turn.session, turn.owner.id)
    return [Option(name, _label(turn, name)) for name in reminders.KINDS
            if (name in disabled) == off and turn.content.has(reminders.KINDS[name].label_key)]


def _action_options(turn: Turn) -> list[Option]:
    return [turn.option("off", "gmp.reminders.turn_off", ["matikan", "mati", "off", "stop satu"]),
            turn.option("on", "gmp.reminders.turn_on", ["nyalakan", "hidupkan", "on"]),
            turn.option("done", "gmp.reminders.done", ["selesai", "sudah", "cukup", "done", "oke"])]


def start(turn: Turn) -> None:
    disabled = reminders.kinds_off(turn.session, turn.owner.id)
    items = [{"date": as_utc(r.due_at).astimezone(JAKARTA).strftime("%d-%m-%Y"), "label": _label(turn, r.kind),
              "off": r.kind in disabled} for r in reminders.upcoming(turn.session, turn.owner.id, UPCOMING_SHOWN)]
    turn.say_template("reminders_list", items=items, kinds_off=", ".join(_label(turn, k) for k in sorted(disabled)),
                      stopped=turn.owner.opted_out_at is not None)
    turn.goto("action", remember=False)


def ask_action(turn: Turn) -> None:
    turn.say("gmp.reminders.ask_action", options=_action_options(turn))


def handle_action(turn: Turn):
    choice = turn.choose(_action_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "done":
        turn.end_flow()
        turn.show_menu()
    elif choice.key == "on" and not _kind_options(turn, off=True):
        turn.say("gmp.reminders.nothing_off")
        turn.end_flow()
    else:
        turn.goto("kind_off" if choice.key == "off" else "kind_on")
    return None


def ask_kind_off(turn: Turn) -> None:
    turn.say("gmp.reminders.ask_kind_off", options=_kind_options(turn, off=False))


def handle_kind_off(turn: Turn):
    choice = turn.choose(_kind_options(turn, off=False))
    if choice is None:
        return NOT_UNDERSTOOD
    reminders.set_kind_enabled(turn.session, turn.owner.id, choice.key, False)
    turn.end_flow()
    turn.say("gmp.reminders.kind_off_done", label=choice.label)
    return None


def ask_kind_on(turn: Turn) -> None:
    turn.say("gmp.reminders.ask_kind_on", options=_kind_options(turn, off=True))


def handle_kind_on(turn: Turn):
    choice = turn.choose(_kind_options(turn, off=True))
    if choice is None:
        return NOT_UNDERSTOOD
    reminders.set_kind_enabled(turn.session, turn.owner.id, choice.key, True)
    turn.end_flow()
    turn.say("gmp.reminders.kind_on_done", label=choice.label)
    return None


@recognizer(14)
def remind_tomorrow(turn: Turn) -> bool:
    """"ingatkan besok": snooze the last reminder; with an unfinished self-check, remind about it."""
    if turn.owner.consent_at is None or not says(turn, "snooze"):
        return False
    row = reminders.snooze(turn.session, turn.content, turn.owner.id, now=turn.now)
    if row is None:
        check = open_check(turn)
        if check is not None:
            from flows.gmp_check import _tomorrow

            row = reminders.schedule(turn.session, turn.owner.id, "self_check", _tomorrow(turn),
                                     f"self_check_resume:{turn.owner.id}", subject="gmp:self_check_resume",
                                     payload={"checklist": check.checklist, "level": check.level or "-"},
                                     rearm=True, now=turn.now)
    if row is None:
        turn.say("gmp.reminders.snooze_nothing")
        return True
    local = as_utc(row.due_at).astimezone(JAKARTA)
    turn.say("gmp.reminders.snoozed", date=local.strftime("%d-%m-%Y"), time=local.strftime("%H.%M"))
    return True


FLOW = Flow(
    name="reminders",
    steps={
        "action": Step(prompt=ask_action, handle=handle_action),
        "kind_off": Step(prompt=ask_kind_off, handle=handle_kind_off),
        "kind_on": Step(prompt=ask_kind_on, handle=handle_kind_on),
    },
    start=start,
    description="See coming reminders, turn one kind off or on.",
)
