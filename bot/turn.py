"""A turn: one owner message being answered.

The pipeline builds a Turn, routes it, then saves what the Turn changed. Flows read the owner's
words from it and say things through it; nothing here talks to a channel.

The message budget lives here, so every flow keeps it without thinking about it: owners read on
a phone, so one reply is at most `MAX_MESSAGES` messages of at most `MAX_CHARS` characters.
Short messages said one after another are joined; a longer one is split where a paragraph or
line ends; what does not fit waits, and the owner types LANJUT for it (it is dropped once the
owner answers something else). The same long text is never sent twice in a row: the second time
a short reminder of what to answer is said instead (the options still show): the text key
`<key>_again` (for `say(key)`) or `again.<template>` (for `say_template`) when content has one,
else `common.repeat_question` / `common.repeat_same`. A text said twice within one reply is said once.

LANJUT reaches `more()` (below) as an answer hook, registered by flows/reminders.py (this module
imports nothing of the understanding step); a routing table lists it as "bot.turn:more".
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot import turn_batch
from bot.channels_text import render_numbered
from bot.choices import Option, match_option
from bot.clock import utcnow
from bot.content import Content
from bot.messages import Inbound, Reply
from bot.nlu.answers import yes_no as yes_no_answer
from bot.normalize import looks_like_question, normalize, word_set
from storage.models import ConversationState, MessageLog, Owner

MAX_TEXT = 4000  # longer messages are kept up to here; nobody types more on a phone
MAX_CHARS = 400  # one message an owner reads on a phone
MAX_MESSAGES = 2  # messages in one reply
LONG_TEXT = 250  # a text this long is not sent again right after it was sent
MORE_KEY = "_more"  # in the state's data: what did not fit in the last reply, for LANJUT
# Kept in the state's data from one flow to the next: what waits for LANJUT, and when the long
# consent text was last shown (flows/registration.py asks again with a short line soon after).
STICKY_KEYS = (MORE_KEY, "consent_shown_at", "last_topic", "last_branches")  # bot/nlu/act.py, flows/ask.py


# The bot's last reply to an owner: its messages after the owner's last message (at most 4), one query.
_LAST_IN = (select(MessageLog.id).where(MessageLog.owner_id == bindparam("owner"), MessageLog.direction == "in")
            .order_by(MessageLog.id.desc()).limit(1).scalar_subquery())
PREVIOUS_OUT = (select(MessageLog.text)
                .where(MessageLog.owner_id == bindparam("owner"), MessageLog.direction == "out",
                       MessageLog.id > func.coalesce(_LAST_IN, 0))
                .order_by(MessageLog.id.desc()).limit(4))


class Turn:
    def __init__(self, session: Session, owner: Owner, state: ConversationState, inbound: Inbound,
                 content: Content, now: datetime | None = None):
        self.session = session
        self.owner = owner
        self.state = state
        self.inbound = inbound
        self.content = content
        self.now = now or utcnow()
        self.text = (inbound.payload or inbound.text or "").strip()[:MAX_TEXT]
        self.norm = normalize(self.text, content)
        self.replies: list[Reply] = []  # what the owner gets: the budgeted view of `said`
        self.said: list[Reply] = []  # everything the turn said, in order
        self._previous_out: list[str] | None = None
        # Working copies; the pipeline writes them back once, at the end of the turn.
        # Deep copies: a flow may change nested values in place, and the ORM only sees reassignment.
        self.data: dict[str, Any] = copy.deepcopy(state.data or {})
        # What did not fit in the last reply waits for LANJUT during this turn only.
        self.more_waiting: list[dict] = list(self.data.pop(MORE_KEY, None) or [])
        self.history: list[str] = list(state.history or [])
        self.owner_deleted = False
        self._hint: tuple[str, str] | None = None  # (lang, the LANJUT hint), asked once per turn
        # The understanding step's reading of this message (bot/nlu/understand.py), for a step that
        # needs to know what else the message could be without reading it a second time.
        self.understanding: Any = None

    # --- reading ------------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.owner.lang or "id"

    @property
    def flow_name(self) -> str | None:
        return self.state.flow

    @property
    def step_name(self) -> str | None:
        return self.state.step

    def t(self, key: str, **variables: Any) -> str:
        return self.content.t(key, self.lang, **variables)

    def option(self, key: str, label_key: str, aliases: list[str] | tuple[str, ...] = (), **variables: Any) -> Option:
        """An option whose label comes from texts, with aliases that also select it."""
        return Option(key=key, label=self.t(label_key, **variables), aliases=tuple(aliases))

    def choose(self, options: list[Option]) -> Option | None:
        return match_option(self.text, options, self.content)

    def yes_no(self, unknown: bool = False) -> bool | None | str:
        """True for yes, False for no, "unknown" for "tidak tahu" (if allowed), None otherwise.

        Owners' own words count ("iya silakan", "gak, cuma dikukus", "nggih", "gpp"); a
        don't-know answer is never False, also where don't-know is no option (then None)."""
        answer = yes_no_answer(self.text, self.content, allow_unknown=True)
        if answer == "unknown":
            return "unknown" if unknown else None
        if answer is not None:
            return answer == "yes"
        choice = self.choose(self.yes_no_options(unknown))
        if choice is None:
            return None
        return {"yes": True, "no": False}.get(choice.key, "unknown")

    def knows_not(self) -> bool:
        """The owner said they don't know ("tidak tahu", "gak tau", "ga ngerti")."""
        return yes_no_answer(self.text, self.content, allow_unknown=True) == "unknown"

    def yes_no_options(self, unknown: bool = False) -> list[Option]:
        options = [self.option("yes", "common.answer_yes"), self.option("no", "common.answer_no")]
        if unknown:
            options.append(self.option("unknown", "common.answer_unknown"))
        return options

    def looks_like_question(self) -> bool:
        return looks_like_question(self.text, self.content)

    # --- saying -------------------------------------------------------------------------------
    def say(self, key: str, options: list[Option] | None = None, kind: str = "reply", **variables: Any) -> None:
        self.say_text(self.t(key, **variables), options, kind=kind, again_key=f"{key}_again")

    def say_template(self, template_name: str, options: list[Option] | None = None, **variables: Any) -> None:
        self.say_text(self.content.render(template_name, self.lang, **variables), options,
                      again_key=f"again.{template_name}")

    def say_text(self, text: str, options: list[Option] | None = None, kind: str = "reply",
                 again_key: str | None = None) -> None:
        labels = [o.label for o in options or []]
        if kind == "reply" and len(text) > LONG_TEXT and self._sent_just_before(text):
            # Never the same long text twice in a row: a short reminder of what to answer.
            if again_key and self.content.has(again_key, self.lang):
                text = self.t(again_key)
            else:
                text = self.t("common.repeat_question" if labels else "common.repeat_same")
        earlier = next((i for i, r in enumerate(self.said) if r.text == text and r.kind == kind), None)
        if kind == "reply" and earlier is not None:
            # Said already in this reply (an answer that is also the step's question): once is enough,
            # and "let's go back to the question" before it has nothing left to point to.
            if labels:
                self.said[earlier] = Reply(text=text, options=labels, kind=kind)
            if self.said and self.said[-1].text == self.t("common.back_to_question"):
                self.said.pop()
            self._budget()
            return
        self.said.append(Reply(text=text, options=labels, kind=kind))
        self._budget()

    def _sent_just_before(self, text: str) -> bool:
        previous = self.previous_out()
        return text in previous or any(len(part) > LONG_TEXT and part in previous for part in _split(text, MAX_CHARS))

    def previous_out(self) -> list[str]:
        """The texts of the bot's last reply to this owner (since the owner's previous message)."""
        if self._previous_out is None:
            self._previous_out = []
            if self.owner.id is not None:
                batch = turn_batch.facts(self.session)  # an inbox batch read it for all its owners
                known = batch.previous_out(self.session, self.owner.id) if batch is not None else None
                self._previous_out = list(known if known is not None else
                                          self.session.scalars(PREVIOUS_OUT, {"owner": self.owner.id}))
        return self._previous_out

    def _budget(self) -> None:
        hint = self._hint
        if hint is None or hint[0] != self.lang:  # the owner may switch language within the turn
            hint = self._hint = (self.lang, self.t("common.more_hint"))
        hint = hint[1]
        shown, waiting = pack(self.said, hint)
        self.replies = shown
        if waiting:
            self.data[MORE_KEY] = [{"text": r.text, "options": r.options, "kind": r.kind} for r in waiting]
        else:
            self.data.pop(MORE_KEY, None)

    def show_more(self) -> bool:
        """LANJUT: say what did not fit in the last reply. False when nothing waits."""
        if not self.more_waiting:
            return False
        waiting, self.more_waiting = self.more_waiting, []
        for item in waiting:
            self.said.append(Reply(text=item["text"], options=list(item.get("options") or []),
                                   kind=item.get("kind") or "reply"))
        self._budget()
        return True

    # --- moving -------------------------------------------------------------------------------
    def goto(self, step: str, remember: bool = True) -> None:
        """Move to a step of the current flow and ask its question."""
        from flows import get_flow

        flow = get_flow(self.state.flow)
        if flow is None or step not in flow.steps:
            raise KeyError(f"flow {self.state.flow!r} has no step {step!r}")
        if remember and self.state.step and self.state.step != step:
            self.history.append(self.state.step)
        self.state.step = step
        flow.steps[step].prompt(self)

    def start_flow(self, name: str) -> None:
        """Leave whatever flow is active and enter another one at its start."""
        from flows import get_flow

        flow = get_flow(name)
        if flow is None:
            raise KeyError(f"no flow {name!r}")
        if flow.requires_consent and self.owner.consent_at is None:
            # Nothing that stores or shares the owner's data runs before consent (UU PDP).
            name, flow = "registration", get_flow("registration")
        self.state.flow = name
        self.state.step = None
        self.data = self._fresh_data()
        self.history = []
        flow.start(self)

    def enter(self, name: str, step: str, **data: Any) -> None:
        """Leave whatever flow is active and ask one step of another flow (skipping its start)."""
        from flows import get_flow

        flow = get_flow(name)
        if flow is None or step not in flow.steps:
            raise KeyError(f"flow {name!r} has no step {step!r}")
        if flow.requires_consent and self.owner.consent_at is None:
            self.start_flow(name)  # registration first (UU PDP)
            return
        self.state.flow = name
        self.state.step = None
        self.data = {**self._fresh_data(), **data}
        self.history = []
        self.goto(step, remember=False)

    def end_flow(self) -> None:
        self.state.flow = None
        self.state.step = None
        self.data = self._fresh_data()
        self.history = []

    def _fresh_data(self) -> dict[str, Any]:
        """A new flow's data; what waits for LANJUT stays, and the few facts about the
        conversation itself (STICKY_KEYS)."""
        return {key: self.data[key] for key in STICKY_KEYS if key in self.data}

    def reprompt(self) -> None:
        """Ask the current step's question again (after a side question or a language switch)."""
        from flows import get_flow

        flow = get_flow(self.state.flow)
        if flow is not None and self.state.step in flow.steps:
            flow.steps[self.state.step].prompt(self)
        else:
            self.show_menu()

    def show_menu(self) -> None:
        self.start_flow("menu")


def more(turn: Turn) -> bool:
    """LANJUT right after a reply that did not fit: the rest of it."""
    if not turn.more_waiting:
        return False
    if turn.norm not in word_set(turn.content, "more_words"):
        return False
    return turn.show_more()


# --- the message budget ---------------------------------------------------------------------------
def _split(text: str, limit: int) -> list[str]:
    """A text in parts of at most `limit` characters, cut where a paragraph, line or sentence ends."""
    if len(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n", ". ", " "):
        pieces = text.split(separator)
        if len(pieces) == 1:
            continue
        parts: list[str] = []
        current = ""
        for piece in pieces:
            candidate = f"{current}{separator}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                parts.append(current.rstrip() + ("." if separator == ". " else ""))
            current = piece
        if current:
            parts.append(current)
        if all(len(p) <= limit for p in parts):
            return [p.strip() for p in parts if p.strip()]
        return [q for p in parts for q in _split(p.strip(), limit) if q]
    return [text[i:i + limit] for i in range(0, len(text), limit)]


def rendered_length(reply: Reply) -> int:
    """How long the message is where options are written out ("1. Setuju" lines, WhatsApp)."""
    return len(render_numbered(reply))


def _chunks(said: list[Reply], limit: int, join: bool) -> list[Reply]:
    out: list[Reply] = []
    for reply in said:
        listed = rendered_length(Reply(text="", options=reply.options))  # the options' own lines
        parts = _split(reply.text, limit)
        if len(parts[-1]) + listed > limit:  # the question and its options share the last message
            parts = parts[:-1] + _split(parts[-1], max(limit - listed, limit // 2))
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            piece = Reply(text=part, options=list(reply.options) if last else [], kind=reply.kind,
                          template_vars=reply.template_vars if last else {})
            before = out[-1] if out else None
            if (join and before is not None and not before.options and before.kind == piece.kind == "reply"
                    and len(before.text) + 2 + rendered_length(piece) <= limit):
                out[-1] = Reply(text=f"{before.text}\n\n{piece.text}", options=piece.options, kind=piece.kind)
            else:
                out.append(piece)
    return out


def pack(said: list[Reply], hint: str, limit: int = MAX_CHARS, most: int = MAX_MESSAGES) -> tuple[list[Reply], list[Reply]]:
    """The messages to send now (at most `most`, each at most `limit` characters) and the rest,
    which waits for LANJUT; the last message sent then ends with `hint`."""
    chunks = _chunks(said, limit, join=False)
    if len(chunks) <= most:
        return chunks, []
    chunks = _chunks(said, limit, join=True)  # short messages one after another become one
    if len(chunks) <= most:
        return chunks, []
    shown, waiting = chunks[:most], chunks[most:]
    last = shown[-1]
    room = limit - len(hint) - 2 - (rendered_length(Reply(text="", options=last.options)) if last.options else 0)
    if len(last.text) > room:  # the hint must fit: the end of the last message waits too
        head, *tail = _split(last.text, room)
        waiting = [Reply(text="\n\n".join(tail), options=last.options, kind=last.kind,
                         template_vars=last.template_vars), *waiting]
        last = Reply(text=head, kind=last.kind)
    shown[-1] = Reply(text=f"{last.text}\n\n{hint}", options=last.options, kind=last.kind,
                      template_vars=last.template_vars)
    return shown, waiting
