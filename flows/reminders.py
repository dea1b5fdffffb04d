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

import re
from datetime import datetime, timedelta
from functools import lru_cache

from bot import owner_reminders, reminders
from bot.choices import Option
from bot.clock import JAKARTA, as_utc, utcnow
from bot.content import Content, get_content
from bot.nlu import dates
from bot.normalize import lexicon, looks_like_question, normalize
from bot.turn import Turn
from bot.turn import more as show_more_on_lanjut
from bot.understanding import answer_hook, recognizer
from flows.base import NOT_UNDERSTOOD, Flow, Step
from flows.gmp_check import open_check, says

UPCOMING_SHOWN = 8

# LANJUT after a reply that did not fit in two messages (the message budget, bot/turn.py).
answer_hook(show_more_on_lanjut)
CLEAR = 0.6  # a request at least this sure is acted on (a bare "ingatkan saya" is: it asks what)


def _label(turn: Turn, kind: str) -> str:
    found = reminders.KINDS.get(kind)
    return turn.t(found.label_key) if found and turn.content.has(found.label_key) else kind


def _row_label(turn: Turn, row) -> str:
    """An owner-made reminder is listed by the owner's own words and time, others by their kind."""
    if row.kind == owner_reminders.KIND:
        local = as_utc(row.due_at).astimezone(JAKARTA)
        return turn.t("owner_reminders.list_item", what=owner_reminders.what_of(row), time=local.strftime("%H.%M"))
    return _label(turn, row.kind)


def _kind_options(turn: Turn, off: bool) -> list[Option]:
    disabled = reminders.kinds_off(turn.session, turn.owner.id)
    # Owner-made reminders are deleted one by one ("hapus pengingat PKP"), not turned off as a kind.
    return [Option(name, _label(turn, name)) for name in reminders.KINDS
            if (name in disabled) == off and name != owner_reminders.KIND
            and turn.content.has(reminders.KINDS[name].label_key)]


def _action_options(turn: Turn) -> list[Option]:
    return [turn.option("off", "gmp.reminders.turn_off", ["matikan", "mati", "off", "stop satu"]),
            turn.option("on", "gmp.reminders.turn_on", ["nyalakan", "hidupkan", "on"]),
            turn.option("done", "gmp.reminders.done", ["selesai", "sudah", "cukup", "done", "oke"])]


def start(turn: Turn) -> None:
    disabled = reminders.kinds_off(turn.session, turn.owner.id)
    items = [{"date": as_utc(r.due_at).astimezone(JAKARTA).strftime("%d-%m-%Y"), "label": _row_label(turn, r),
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
    found = detect_reminder_request(turn.text)
    if found is not None and found[1]["what"]:
        return False  # "ingatkan besok jam 10 beli cabai" is a new reminder, not a snooze
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




# --- owner-made reminders: "tolong ingatkan lusa jam 8 pagi ambil sertifikat PKP" ---------------
@lru_cache(maxsize=8)
def _words(content: Content) -> dict[str, frozenset[str]]:
    found = lexicon(content).get("reminder_words") or {}
    return {name: frozenset(normalize(str(w), content) for w in values or []) for name, values in found.items()}


def _has_phrase(norm: str, phrases: frozenset[str]) -> bool:
    padded = f" {norm} "
    return any(f" {p} " in padded for p in phrases if p)


def _without_phrase(items: list[str], phrase: str, content: Content) -> list[str]:
    size = len(phrase.split())
    norms = [normalize(w, content) for w in items]
    for i in range(len(items) - size + 1):
        if " ".join(n for n in norms[i:i + size]) == phrase:
            return items[:i] + items[i + size:]
    return items


def _what(text: str, when: dates.When | None, content: Content, words: dict[str, frozenset[str]]) -> str | None:
    """The owner's own words for what to remember, without the request, the date and fillers."""
    spans = [m.span() for m in dates._TOKEN.finditer(text)]
    used = when.words if when else frozenset()
    kept = [text[a:b] for i, (a, b) in enumerate(spans) if i not in used]
    drop = words.get("verbs", frozenset()) | words.get("nouns", frozenset()) | words.get("make", frozenset())
    negation = words.get("cancel", frozenset())
    edge = words.get("fillers", frozenset()) | words.get("connectors", frozenset()) | negation
    for phrase in words.get("not_cancel", frozenset()):  # "jangan lupa ingatkan ..." is no part of it
        kept = _without_phrase(kept, phrase, content)
    items: list[str] = []
    after_verb = False
    for w in kept:
        norm = normalize(w, content)
        if norm in drop:
            if items and not after_verb and _has_words_after(kept, w, drop, edge, content):
                items = []  # "ok nak nanti ibu coba, tolong ingetin ... buat ngurus nib": what comes after
            after_verb = True
            continue
        if after_verb and (norm in edge or not norm):
            continue  # "ingatkan saya untuk ..."
        after_verb = False
        items.append(w)
    def is_edge(w: str) -> bool:
        norm = normalize(w, content)
        return not norm or norm in edge or not re.search(r"\w", w)
    while items and is_edge(items[0]):
        items.pop(0)
    while items and is_edge(items[-1]):
        items.pop()
    # Join back as written: no space before closing signs or around joining hyphens.
    out = ""
    for i, w in enumerate(items):
        if i and not (w in ",.;:!?)" or w == "-" or out.endswith("-") or out.endswith("(")):
            out += " "
        out += w
    out = owner_reminders.clean_what(out)
    return out or None


def _has_words_after(kept: list[str], verb: str, drop: frozenset[str], edge: frozenset[str], content: Content) -> bool:
    """Words of substance after the request verb `verb` (its first place in `kept`)."""
    rest = kept[kept.index(verb) + 1:]
    return any((n := normalize(w, content)) and n not in drop and n not in edge and re.search(r"\w", w) for w in rest)


def detect_reminder_request(text: str) -> tuple[float, dict] | None:
    """Is this message about a reminder the owner makes, lists or cancels? Score 0..1 and slots:
    action (create | list | cancel), what (the owner's words, or None), when (ISO datetime in
    Asia/Jakarta, or None), negated (the owner said not to remind: "jangan ingatkan ... lagi")."""
    content = get_content()
    norm = normalize(text, content)
    if not norm:
        return None
    words = _words(content)
    said = set(norm.split())
    verb = bool(said & words.get("verbs", frozenset()))
    noun = bool(said & words.get("nouns", frozenset()))
    if not (verb or noun):
        return None
    stripped = norm  # "jangan lupa ingatkan saya" asks for a reminder: no negation
    for phrase in words.get("not_cancel", frozenset()):
        stripped = f" {stripped} ".replace(f" {phrase} ", " ").strip()
    negated = _has_phrase(stripped, words.get("cancel", frozenset()))
    when = dates.find_when(text, utcnow())
    what = _what(text, when, content, words)
    slots = {"action": "create", "what": what, "when": when.iso if when else None, "negated": bool(negated)}
    if negated:
        slots["action"] = "cancel"
        slots["when"] = None
        return (0.9 if verb or noun else 0.6), slots
    if _has_phrase(norm, words.get("list", frozenset())) and not when and (not verb or what is None):
        slots.update(action="list", what=None)
        return 0.85, slots
    make = bool(said & words.get("make", frozenset()))
    if not verb and not (noun and make):
        return None
    # "bisa diingatkan kalau izin mau habis?" asks about reminders; "ingatkan besok jam 9?" asks for one.
    question = looks_like_question(text, content) and not when
    score = 0.6 + (0.2 if what else 0) + (0.15 if when else 0)
    if question:
        score -= 0.3
    if not when and _conditional(norm, words):
        score -= 0.35  # "ingatkan kalau ada pelatihan": an event, not a time (the events area tells)
    return round(min(score, 0.95), 2), slots


@recognizer(13)
def owner_reminder_request(turn: Turn) -> bool:
    """Until the scored understanding step routes it: a clear reminder request is acted on here.
    A bare "ingatkan besok" is left to `remind_tomorrow`, a bare "matikan pengingat" to the flow."""
    found = detect_reminder_request(turn.text)
    if found is None or found[0] < CLEAR or found[1]["action"] == "list":
        return False
    score, slots = found
    if slots["action"] == "create" and not slots["what"] and says(turn, "snooze"):
        return False  # "ingatkan besok": the reminder just received comes back (remind_tomorrow)
    if slots["action"] == "cancel" and not slots["what"] and _is_entry_phrase(turn):
        return False
    handle_reminder_request(turn, slots)
    return True


def _is_entry_phrase(turn: Turn) -> bool:
    """The message is one of the reminders flow's own entry phrases (content/intents.yaml)."""
    phrases = ((turn.content.data("intents.yaml") or {}).get("flows") or {}).get("reminders") or []
    return turn.norm in {normalize(str(p), turn.content) for p in phrases}


def _conditional(norm: str, words: dict[str, frozenset[str]]) -> bool:
    """After the request word (and fillers) comes "kalau ...": remind when something happens."""
    tokens = norm.split()
    skip = words.get("verbs", frozenset()) | words.get("fillers", frozenset()) | words.get("nouns", frozenset())
    index = next((i for i, w in enumerate(tokens) if w in words.get("verbs", frozenset())), None)
    if index is None:
        return False
    rest = [w for w in tokens[index + 1:] if w not in skip]
    return bool(rest) and rest[0] in words.get("conditional", frozenset())


def _say_created(turn: Turn, created: owner_reminders.Created, what: str) -> None:
    when_text = owner_reminders.local_text(turn.content, turn.lang, created.at, turn.now)
    turn.say("owner_reminders.created_moved" if created.moved else "owner_reminders.created",
             what=what, when=when_text)


def _create(turn: Turn, what: str, at: datetime) -> None:
    if owner_reminders.at_limit(turn.session, turn.owner.id):
        turn.say("owner_reminders.too_many", limit=owner_reminders.MAX_PENDING)
        return
    created = owner_reminders.create(turn.session, turn.owner.id, what, at, now=turn.now)
    _say_created(turn, created, owner_reminders.what_of(created.reminder))


def _recent_to_bring_back(turn: Turn):
    return reminders.last_queued(turn.session, turn.owner.id, turn.now, within=timedelta(days=1))


def handle_reminder_request(turn: Turn, slots: dict) -> None:
    """Act on `detect_reminder_request`'s slots: create (asking what or when if missing), list,
    or cancel. Needs consent: without it the owner is told why and registration starts."""
    if turn.owner.consent_at is None:
        turn.say("owner_reminders.needs_consent")
        turn.start_flow("registration")
        # The understanding step's resume after "setuju" (bot/nlu/act.py) does the request then.
        turn.data["resume"] = {"name": "reminder", "slots": dict(slots), "text": turn.text}
        return
    action = slots.get("action")
    if action == "list" or (not slots.get("what") and _is_entry_phrase(turn)):
        turn.start_flow("reminders")  # "pengingat saya", "matikan pengingat": the list and its choices
        return
    if action == "cancel":
        _cancel(turn, slots.get("what"))
        return
    what, when = slots.get("what"), slots.get("when")
    at = datetime.fromisoformat(when) if when else None
    if what and at:
        if turn.flow_name == "reminders":
            turn.end_flow()
        _create(turn, what, at)
        return
    if at and not what:
        row = _recent_to_bring_back(turn)
        if row is not None:
            _bring_back(turn, row, at)
            return
    turn.enter("reminders", "ask_what" if not what else "ask_when", what=what, when=when)


def _bring_back(turn: Turn, row, at: datetime) -> None:
    """"ingatkan lagi nanti sore" right after a reminder: the same reminder again at that time."""
    send_at, moved = owner_reminders.allowed_time(at, turn.now)
    reminders.schedule(turn.session, row.owner_id, row.kind, send_at, row.dedupe_key, subject=row.subject,
                       payload=row.payload, expires_at=row.expires_at, rearm=True, now=turn.now)
    row.snooze_count += 1
    what = owner_reminders.what_of(row) or _label(turn, row.kind)
    when_text = owner_reminders.local_text(turn.content, turn.lang, send_at, turn.now)
    turn.say("owner_reminders.created_moved" if moved else "owner_reminders.created", what=what, when=when_text)


def ask_what(turn: Turn) -> None:
    turn.say("owner_reminders.ask_what")


def handle_what(turn: Turn):
    if turn.looks_like_question():
        return NOT_UNDERSTOOD
    found = detect_reminder_request(turn.text)
    when = dates.find_when(turn.text, turn.now)
    what = found[1]["what"] if found else _what(turn.text, when, turn.content, _words(turn.content))
    if not what:
        return NOT_UNDERSTOOD
    at_iso = (when.iso if when else None) or turn.data.get("when")
    if at_iso is None:
        turn.data["what"] = what
        turn.goto("ask_when")
        return None
    turn.end_flow()
    _create(turn, what, datetime.fromisoformat(at_iso))
    return None


def ask_when(turn: Turn) -> None:
    turn.say("owner_reminders.ask_when", what=turn.data.get("what") or "")


def handle_when(turn: Turn):
    when = dates.find_when(turn.text, turn.now)
    if when is None:
        return NOT_UNDERSTOOD
    what = turn.data.get("what")
    turn.end_flow()
    _create(turn, what, when.at)
    return None


def _due_on_the_day_named(turn: Turn, what: str) -> list:
    """"yg rabu itu": the owner's own reminders due on the day named (a weekday, "besok", "tgl 5")."""
    when = dates.find_when(what, turn.now)
    if when is None or not when.has_date:
        return []
    day = as_utc(when.at).astimezone(JAKARTA).date()
    return [row for row in owner_reminders.pending(turn.session, turn.owner.id)
            if as_utc(row.due_at).astimezone(JAKARTA).date() == day]


def _cancel(turn: Turn, what: str | None) -> None:
    if what:
        by_words = owner_reminders.find(turn.session, turn.owner.id, what)
        by_day = _due_on_the_day_named(turn, what)
        # "hapus pengingat PKP yg besok": both; "yg rabu itu hapus aja": the day's; else the words'
        rows = [row for row in by_words if row in by_day] or by_words or by_day
        if rows:
            owner_reminders.cancel_rows(turn.session, turn.owner.id, rows, now=turn.now)
            turn.say("owner_reminders.cancelled", what=", ".join(owner_reminders.what_of(r) for r in rows))
            return
        kind = _kind_named(turn, what)
        if kind is not None:
            reminders.set_kind_enabled(turn.session, turn.owner.id, kind, False)
            turn.say("gmp.reminders.kind_off_done", label=_label(turn, kind))
            return
        turn.say("owner_reminders.not_found", what=what)
        return
    recent = reminders.last_queued(turn.session, turn.owner.id, turn.now, within=timedelta(days=2))
    if recent is not None and recent.kind != owner_reminders.KIND:
        reminders.cancel(turn.session, turn.owner.id, key=recent.dedupe_key, now=turn.now)
        turn.say("owner_reminders.cancelled", what=_label(turn, recent.kind))
        return
    rows = owner_reminders.pending(turn.session, turn.owner.id)
    if len(rows) == 1:
        owner_reminders.cancel_rows(turn.session, turn.owner.id, rows, now=turn.now)
        turn.say("owner_reminders.cancelled", what=owner_reminders.what_of(rows[0]))
        return
    if recent is not None and not rows:
        turn.say("owner_reminders.cancelled", what=owner_reminders.what_of(recent))
        return
    if not rows:
        turn.say("owner_reminders.nothing_to_cancel")
        return
    turn.enter("reminders", "cancel_pick")


# "yg tgl 3 itu dimajuin jd tgl 2", "pengingat pkp diundur ke jumat": moving one of the owner's own
# reminders (content/lexicon.yaml reminder_words `move`, `move_to`). The words before the turning
# word name the reminder (by its day or its words), the words after it the new day or time. A time
# alone right after "Baik, saya ingatkan ..." ("jam 8 pagi") sets that reminder's time.
JUST_CREATED = timedelta(minutes=10)


def move_reminder(turn: Turn) -> bool:
    """A feature phrase (bot/nlu/rules.py): move an own reminder to another day or time."""
    words = turn.norm.split()
    vocab = _words(turn.content)
    moving = bool(set(words) & vocab.get("move", frozenset()))
    # Cheap tests first: this runs for most messages nothing else took; the database only after.
    if turn.owner.consent_at is None or not (moving or (len(words) <= 4 and (
            {"jam", "pukul"} & set(words) or any(c.isdigit() for c in turn.norm)))):
        return False
    if turn.looks_like_question():
        return False
    rows = owner_reminders.pending(turn.session, turn.owner.id)
    if not rows:
        return False
    if moving:
        cut = next((i for i, w in enumerate(words) if w in vocab.get("move_to", frozenset()) and i > 0), None)
        if cut is None:
            return False
        old, new = " ".join(words[:cut]), " ".join(words[cut + 1:])
        named = [r for r in _due_on_the_day_named(turn, old) if r in rows] \
            or owner_reminders.find(turn.session, turn.owner.id, old, ignore=vocab.get("move", frozenset()))
        when = dates.find_when(new, turn.now)
        if when is None:
            return False
        if len(named) != 1:
            turn.say("owner_reminders.move_which")
            return True
        return _move(turn, named[0], when)
    when = dates.find_when(turn.text, turn.now)
    if when is None or when.has_date or not when.has_time or len(when.words) < len(words) - 1:
        return False
    latest = max(rows, key=lambda r: r.created_at or turn.now)
    if latest.created_at is None or as_utc(turn.now) - as_utc(latest.created_at) > JUST_CREATED:
        return False
    return _move(turn, latest, when)


def _move(turn: Turn, row, when: dates.When) -> bool:
    """The reminder again at the new day (its time kept) or the new time (its day kept)."""
    old = as_utc(row.due_at).astimezone(JAKARTA)
    new = when.at.astimezone(JAKARTA)
    if not when.has_time:
        new = new.replace(hour=old.hour, minute=old.minute)
    elif not when.has_date:
        new = old.replace(hour=new.hour, minute=new.minute)
    what = owner_reminders.what_of(row)
    owner_reminders.cancel_rows(turn.session, turn.owner.id, [row], now=turn.now)
    created = owner_reminders.create(turn.session, turn.owner.id, what, new, now=turn.now)
    when_text = owner_reminders.local_text(turn.content, turn.lang, created.at, turn.now)
    turn.say("owner_reminders.moved", what=what, when=when_text)
    if turn.flow_name == "reminders":
        turn.end_flow()
    return True


def _kind_named(turn: Turn, words: str) -> str | None:
    norm = normalize(words, turn.content)
    for name, kind in reminders.KINDS.items():
        if name == owner_reminders.KIND or not turn.content.has(kind.label_key):
            continue
        label = normalize(turn.t(kind.label_key), turn.content)
        if norm and (norm in label or owner_reminders.matches(norm, label)):
            return name
    return None


def _pick_options(turn: Turn) -> list[Option]:
    options = [Option(str(row.id), f"{owner_reminders.what_of(row)} ({owner_reminders.local_text(turn.content, turn.lang, row.due_at, turn.now)})",
                      (owner_reminders.what_of(row),))
               for row in owner_reminders.pending(turn.session, turn.owner.id)]
    options.append(turn.option("all", "owner_reminders.cancel_all", ["semua", "semuanya", "all"]))
    return options


def ask_cancel_pick(turn: Turn) -> None:
    turn.say("owner_reminders.ask_cancel_pick", options=_pick_options(turn))


def handle_cancel_pick(turn: Turn):
    options = _pick_options(turn)
    choice = turn.choose(options)
    if choice is None:
        rows = owner_reminders.find(turn.session, turn.owner.id, turn.text)
        if not rows:
            return NOT_UNDERSTOOD
    elif choice.key == "all":
        rows = owner_reminders.pending(turn.session, turn.owner.id)
    else:
        rows = [r for r in owner_reminders.pending(turn.session, turn.owner.id) if str(r.id) == choice.key]
    owner_reminders.cancel_rows(turn.session, turn.owner.id, rows, now=turn.now)
    turn.end_flow()
    turn.say("owner_reminders.cancelled", what=", ".join(owner_reminders.what_of(r) for r in rows))
    return None


FLOW = Flow(
    name="reminders",
    steps={
        "action": Step(prompt=ask_action, handle=handle_action),
        "kind_off": Step(prompt=ask_kind_off, handle=handle_kind_off),
        "kind_on": Step(prompt=ask_kind_on, handle=handle_kind_on),
        "ask_what": Step(prompt=ask_what, handle=handle_what),
        "ask_when": Step(prompt=ask_when, handle=handle_when),
        "cancel_pick": Step(prompt=ask_cancel_pick, handle=handle_cancel_pick),
    },
    start=start,
    description="See coming reminders, turn one kind off or on.",
)
