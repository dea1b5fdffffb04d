"""The owner's side of a human mentor (JakOfficer): asking for one, and rating the help.

Purpose: an owner who asks for a person gets one case (never two for the same thing), is told
what happens next and roughly when, and after the mentor closes the case answers one
satisfaction question (1-5, the source of the programme's IKEPU-like satisfaction index) and may
add a comment.
Entry words: PENDAMPING, "mau bicara dengan pendamping", "tolong", a complaint ("mau komplain",
"saya kecewa"), the menu item. The rating steps are entered by the mentor resolving the case
(bot/handoff/actions.py sets this flow's `rate` step on the owner's conversation).
While a mentor holds the case, the pipeline's relay hook (bot/cases.py) passes the owner's
messages to the mentor and this flow says nothing.

Steps:
    (start: open or join the case, say what happens next, leave the flow)
    rate     -- 1..5 -->  comment  -- text or "tidak ada" --> (done)

    Owner: mau bicara dengan pendamping
    Bot:   Baik, permintaan Anda sudah saya teruskan ke pendamping ... dalam 1×24 jam kerja.
    ...    (the mentor takes the case and writes; the owner answers; the mentor resolves)
    Bot:   Pendamping Budi sudah menyelesaikan pertanyaan Anda ... Seberapa puas Anda? 1 ... 5
    Owner: 5
    Bot:   Terima kasih atas nilainya! Ada saran untuk pendamping? ...
    Owner: sangat membantu
    Bot:   Terima kasih, masukan Anda kami catat 🙏
"""
from __future__ import annotations

from bot.cases import open_case
from bot.choices import Option
from bot.handoff import checks  # noqa: F401  (registers the handoff content checks)
from bot.handoff.actions import RATING_STEP, record_rating, record_rating_comment
from bot.normalize import normalize
from bot.turn import Turn
from flows.base import NOT_UNDERSTOOD, Flow, Step
from storage.models import Ticket


def _is_complaint(turn: Turn) -> bool:
    phrases = turn.content.data("handoff/triggers.yaml").get("complaint") or []
    padded = f" {turn.norm} "
    return any(f" {normalize(str(p), turn.content)} " in padded for p in phrases)


def start(turn: Turn) -> None:
    complaint = _is_complaint(turn)
    _ticket, created = open_case(
        turn.session, turn.owner,
        topic="complaint" if complaint else "asked",
        reason=turn.text or "owner asked for a mentor",
        priority=1 if complaint else 2,
        actor="owner", content=turn.content,
    )
    turn.end_flow()
    if complaint:
        turn.say("handoff.complaint_opened" if created else "mentor.already_open")
    else:
        turn.say("mentor.opened" if created else "mentor.already_open")


# --- rating --------------------------------------------------------------------------------------
def _ticket(turn: Turn) -> Ticket | None:
    ticket_id = turn.data.get("ticket_id")
    return turn.session.get(Ticket, ticket_id) if ticket_id else None


def _rating_options(turn: Turn) -> list[Option]:
    return [turn.option(str(n), f"handoff.rate_{n}") for n in range(1, 6)]


def ask_rating(turn: Turn) -> None:
    turn.say("handoff.rate_ask", options=_rating_options(turn))


def handle_rating(turn: Turn):
    choice = turn.choose(_rating_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    ticket = _ticket(turn)
    if ticket is None:  # the case is gone (data deleted): nothing to rate
        turn.end_flow()
        turn.say("handoff.rate_done")
        return None
    record_rating(turn.session, ticket, int(choice.key), turn.now)
    turn.goto("comment")
    return None


def _skip_options(turn: Turn) -> list[Option]:
    return [turn.option("skip", "handoff.comment_skip", ["tidak", "tidak ada", "gak ada", "no", "none", "skip"])]


def ask_comment(turn: Turn) -> None:
    turn.say("handoff.rate_thanks_ask_comment", options=_skip_options(turn))


def handle_comment(turn: Turn):
    ticket = _ticket(turn)
    if turn.choose(_skip_options(turn)) is not None or turn.yes_no() is False or ticket is None:
        turn.end_flow()
        turn.say("handoff.rate_done")
        return None
    record_rating_comment(turn.session, ticket, turn.text, turn.now)
    turn.end_flow()
    turn.say("handoff.comment_thanks")
    return None


FLOW = Flow(
    name="mentor",
    steps={
        RATING_STEP: Step(ask_rating, handle_rating),  # "rate": entered when a mentor resolves the case
        "comment": Step(ask_comment, handle_comment),
    },
    start=start,
    description="Ask for a human mentor; rate the help when the case is closed.",
)
