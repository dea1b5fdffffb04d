"""THE ROUTING TABLE: every interpretation of an owner's message, its score and what it does.

The understanding step (bot/nlu/understand.py) scores every row below for each message, then tries
the rows in order of score (ties: lower `priority` first). A row's handler may decline (return
False: "not mine after all"), and the next row is tried. Scores are on one scale, 0..1:

  1.00  a global word typed as such (MENU, BATAL, DATA SAYA...)           exact, from intents.yaml
  0.97  a request to stop messaging (high recall, any wording)           `opt_out` detector
  0.95  the answer to a short question a global word or a clarification asked   (state.interrupt)
  0.94  an open human handoff: the mentor has the owner                 (cases.relay)
  0.935 "ya udh setuju" from an owner who read the consent text lately, wherever they are now
  0.93  an answer to what the bot sent on its own (an event invitation)  (ANSWER_HOOKS)
  0.92  a clear free-text question over a step that takes any text     (question beats step)
  0.90  the answer to the pending question (the active flow's step)
  0.89  exact feature phrases that only mean one thing where they are ("hasil cek", "ingatkan besok",
        DAFTAR with an open invitation, a label photo)
  <0.89 free-text interpretations, from the classifier (bot/nlu/model.py) and the slots found:
        faq, product question, permit report, reminder, flows, small talk, out of scope.

A free-text interpretation is taken when it scores at least `threshold` and leads the runner-up by
`margin`; when two real interpretations are close, the owner is asked which one (2-3 options, never
one); below `threshold` the first-contact or fallback rule answers (content/nlu/settings.yaml).

Rows marked `consent` store or share data: for an owner who has not agreed yet, the request is
acknowledged, the consent question is asked, and the request resumes by itself after "setuju".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bot.nlu import act
from bot.nlu.scoring import (
    Context, ask_score, check_score, greeting_score, legality_score, nothing_yet_score, registration_score, thanks_score, classifier_score, global_word_score, label_hook_score, opt_out_score, out_of_scope_score, reminder_score,
    report_score, product_score, faq_score, reminder_in_list_score, delete_data_score,
)

STEP_SCORE = 0.90
QUESTION_OVER_STEP = 0.92


@dataclass(frozen=True)
class Rule:
    name: str          # the interpretation
    priority: int      # ties between equal scores: lower first
    score: Callable    # (Reading, Context) -> (score, slots) | None; pure, no database
    handle: Callable   # (Turn, Candidate) -> bool; False declines
    consent: bool = False   # needs the owner's consent: acknowledged, then resumed after consent
    answers: bool = False   # a direct answer: a new owner gets it at once, then one line inviting DAFTAR
    free_text: bool = True  # competes under threshold/margin (False: fixed-score rows above)
    option: str = ""        # text key of this interpretation in a clarifying question
    tags: tuple[str, ...] = field(default_factory=tuple)


RULES: list[Rule] = [
    # --- fixed-score rows: words that mean one thing anywhere --------------------------------
    Rule("global", 1, global_word_score, act.global_word, free_text=False),
    Rule("stop", 2, opt_out_score, act.opt_out, free_text=False),
    # The label photo entry of the labels area: `flows.labels.detect_label_request(reading)` and
    # `handle_label_request(turn, slots)`, used when that module exists.
    Rule("label_check", 8, label_hook_score, act.label_check, consent=False, free_text=False),
    # --- free-text interpretations (the classifier + slots) ----------------------------------
    Rule("reminder", 10, reminder_score, act.reminder, consent=True, option="nlu.option.reminder"),
    Rule("reminder_in_list", 10, reminder_in_list_score, act.reminder_in_list, consent=True,
         option="nlu.option.reminder"),
    Rule("permit_report", 11, report_score, act.permit_report, option="nlu.option.permit_report"),
    Rule("nothing_yet", 11, nothing_yet_score, act.nothing_yet, answers=True, option="nlu.option.legality"),
    Rule("product_question", 12, product_score, act.product_question, answers=True,
         option="nlu.option.product_question"),
    Rule("faq", 13, faq_score, act.faq, answers=True, option="nlu.option.faq"),
    Rule("gmp_check", 20, check_score, act.start_flow("gmp_check"), consent=True,
         option="nlu.option.gmp_check"),
    Rule("legality", 21, legality_score, act.start_flow("legality"), consent=True,
         option="nlu.option.legality"),
    Rule("events", 22, classifier_score("events"), act.start_flow("events"), consent=True,
         option="nlu.option.events"),
    Rule("mentor", 23, classifier_score("mentor"), act.start_flow("mentor"), consent=True,
         option="nlu.option.mentor"),
    Rule("registration", 24, registration_score, act.start_flow("registration"),
         option="nlu.option.registration"),
    Rule("ask", 25, ask_score, act.start_flow("ask"), option="nlu.option.faq"),
    Rule("my_data", 30, classifier_score("my_data"), act.global_handler("my_data"), option="nlu.option.my_data"),
    Rule("delete_data", 31, delete_data_score, act.global_handler("delete_data"),
         option="nlu.option.delete_data"),
    Rule("help", 32, classifier_score("help"), act.global_handler("help"), option="nlu.option.help"),
    Rule("menu", 33, classifier_score("menu"), act.global_handler("menu"), option="nlu.option.menu"),
    Rule("language", 34, classifier_score("language"), act.global_handler("language"), option="nlu.option.language"),
    Rule("thanks", 40, thanks_score, act.thanks),
    Rule("greeting", 41, greeting_score, act.greeting),
    Rule("out_of_scope", 50, out_of_scope_score, act.out_of_scope),
]

RULES_BY_NAME = {rule.name: rule for rule in RULES}


# --- where the owner is: rows scored from the conversation state (live turns only) ------------
def _if(value: float, test: Callable) -> Callable:
    return lambda reading, turn: value if test(turn) else 0.0


STAGE_RULES: list[Rule] = [
    Rule("pending_question", 3, _if(0.95, lambda t: bool(t.state.interrupt)), act.pending_question, free_text=False),
    Rule("handoff", 4, _if(0.94, lambda t: True), act.handoff, free_text=False),
    Rule("late_consent", 5, _if(0.935, lambda t: t.owner.consent_at is None), act.late_consent, free_text=False),
    Rule("invitation_answer", 5, _if(0.93, lambda t: True), act.invitation_answer, free_text=False),
    Rule("step", 6, _if(STEP_SCORE, lambda t: bool(t.state.step)), act.flow_step, free_text=False),
    # Below the step: a step that takes the message keeps it ("iya" at the data question is a yes).
    Rule("branch_answer", 6, _if(0.895, lambda t: bool(t.data.get("last_branches"))), act.branch_answer,
         free_text=False),
    Rule("feature_phrases", 7, _if(0.89, lambda t: True), act.feature_phrases, free_text=False),
]

# Exact phrases areas own, tried in this order by the `feature_phrases` row ("module:function",
# each returns True when it took the message; a missing function is skipped).
FEATURE_PHRASES = (
    "flows.gmp_check:show_last_findings",   # "hasil cek", "semua temuan": the last self-check's list
    "flows.events:rsvp_word",               # DAFTAR typed mid-flow with an open event invitation
    "flows.reminders:remind_tomorrow",      # "ingatkan besok": snooze the last reminder
    "flows.reminders:move_reminder",        # "yg tgl 3 dimajuin jd tgl 2", "jam 8 pagi" after one is set
)
# Answers to a message the bot sent on its own since the owner's last turn (`invitation_answer`).
ANSWER_HOOKS = (
    "bot.turn:more",                        # LANJUT: the rest of a reply that did not fit in two messages
    "flows.events:answer_invitation",       # DAFTAR / 1 / the button under an event invitation
)

__all__ = ["ANSWER_HOOKS", "Context", "FEATURE_PHRASES", "QUESTION_OVER_STEP", "RULES", "RULES_BY_NAME", "Rule",
           "STAGE_RULES", "STEP_SCORE"]
