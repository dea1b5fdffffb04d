"""A turn: one owner message being answered.

The pipeline builds a Turn, routes it, then saves what the Turn changed. Flows read the owner's
words from it and say things through it; nothing here talks to a channel.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.choices import Option, match_option
from bot.clock import utcnow
from bot.content import Content
from bot.messages import Inbound, Reply
from bot.normalize import looks_like_question, normalize, word_set
from storage.models import ConversationState, Owner

MAX_TEXT = 4000  # longer messages are kept up to here; nobody types more on a phone


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
        self.replies: list[Reply] = []
        # Working copies; the pipeline writes them back once, at the end of the turn.
        # Deep copies: a flow may change nested values in place, and the ORM only sees reassignment.
        self.data: dict[str, Any] = copy.deepcopy(state.data or {})
        self.history: list[str] = list(state.history or [])
        self.owner_deleted = False

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
        """True for yes, False for no, "unknown" for "tidak tahu" (if allowed), None otherwise."""
        if unknown and self.norm in word_set(self.content, "unknown_words"):
            return "unknown"
        if self.norm in word_set(self.content, "yes_words"):
            return True
        if self.norm in word_set(self.content, "no_words"):
            return False
        choice = self.choose(self.yes_no_options(unknown))
        if choice is None:
            return None
        return {"yes": True, "no": False}.get(choice.key, "unknown")

    def yes_no_options(self, unknown: bool = False) -> list[Option]:
        options = [self.option("yes", "common.answer_yes"), self.option("no", "common.answer_no")]
        if unknown:
            options.append(self.option("unknown", "common.answer_unknown"))
        return options

    def looks_like_question(self) -> bool:
        return looks_like_question(self.text, self.content)

    # --- saying -------------------------------------------------------------------------------
    def say(self, key: str, options: list[Option] | None = None, kind: str = "reply", **variables: Any) -> None:
        self.say_text(self.t(key, **variables), options, kind=kind)

    def say_template(self, template_name: str, options: list[Option] | None = None, **variables: Any) -> None:
        self.say_text(self.content.render(template_name, self.lang, **variables), options)

    def say_text(self, text: str, options: list[Option] | None = None, kind: str = "reply") -> None:
        self.replies.append(Reply(text=text, options=[o.label for o in options or []], kind=kind))

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
        self.data = {}
        self.history = []
        flow.start(self)

    def end_flow(self) -> None:
        self.state.flow = None
        self.state.step = None
        self.data = {}
        self.history = []

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
