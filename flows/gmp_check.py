"""GMP self-check: the owner walks through a checklist (CPPB-IRT, CPPOB, CPKB or CPOTB), one
yes/no question at a time, and gets a level, the findings and the first fixes.

Purpose: owners repeat the check on their own, so it must be short to answer, pausable, and end
with something to do. The checklists and the level rule are content (content/gmp/); the scoring
is bot/gmp.py; answers, photos and results are rows (storage/models/gmp.py).

Entry words: CEK MANDIRI, "cek kebersihan dapur", "cek cppb" (content/intents.yaml), the menu item
"Cek kebersihan & cara produksi", and the self-check reminder. Which checklist: the one named in
the words ("cek cpkb"), else the one for the owner's sector and permits (food with a BPOM MD
permit -> CPPOB, other food -> CPPB-IRT, cosmetics -> CPKB, jamu -> CPOTB), else the owner picks.

Steps:
    start -> [choose] -> intro --Mulai--> question x N --last answer--> result --"lihat semua"--> result
                           ^  (unfinished check: Lanjutkan / Mulai dari awal / Nanti saja)
    question: Ya / Tidak / Tidak tahu (also 1/2/3, "sudah", "belum"); a photo is kept as evidence
              for the question's aspect; JEDA pauses (answers stay, CEK MANDIRI resumes);
              "ingatkan besok" pauses and schedules a reminder; KEMBALI goes one question back.
    back_one: not a question of its own; KEMBALI lands here and it re-asks the previous question.
    result:   level, findings by severity, comparison with the last check, top 3 fixes; a
              critical "tidak" or "tidak tahu" opens a mentor case (topic gmp_critical);
              the next self-check reminder is scheduled from the level's interval.

    Owner: cek kebersihan dapur
    Bot:   Cek mandiri CPPB-IRT: 37 pertanyaan, jawab Ya / Tidak / Tidak tahu ...  1. Mulai 2. Nanti saja
    Owner: 1
    Bot:   Bagian A · Lokasi dan lingkungan produksi (1/37)
           Apakah halaman dan sekitar tempat produksi bersih ...?  1. Ya 2. Tidak 3. Tidak tahu
    Owner: ya
    ...
    Bot:   Hasil cek CPPB-IRT: *Level III* ... Temuan: 5 (1 serius, 2 mayor, 2 minor) ...
           Perbaiki dulu 3 hal ini: 1. ...                      1. Lihat semua temuan 2. Selesai
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot import gmp, reminders
from bot.cases import case_context, request_mentor
from bot.choices import Option
from bot.clock import JAKARTA, as_utc
from bot.normalize import normalize
from bot.turn import Turn
from flows.base import NOT_UNDERSTOOD, Flow, Step
from storage.models.gmp import GmpAnswer, GmpCheck, GmpEvidence

PHRASES = "gmp/phrases.yaml"
TOP_FIXES = 3
PAGE_SIZE = 5
CASE_TOPIC = "gmp_critical"


# --- helpers -------------------------------------------------------------------------------------
def phrases(turn: Turn, key: str) -> set[str]:
    return {normalize(str(p), turn.content) for p in turn.content.data(PHRASES).get(key) or []}


def said(turn: Turn, key: str) -> bool:
    return turn.norm in phrases(turn, key)


def says(turn: Turn, key: str) -> bool:
    """The phrase is the message, or a several-word phrase inside a message that is no question
    ("ingatkan besok ya", "tolong lihat semua temuan")."""
    if said(turn, key):
        return True
    if turn.looks_like_question():
        return False
    padded = f" {turn.norm} "
    return any(" " in phrase and f" {phrase} " in padded for phrase in phrases(turn, key))


def date_text(moment: datetime) -> str:
    return as_utc(moment).astimezone(JAKARTA).strftime("%d-%m-%Y")


def open_check(turn: Turn) -> GmpCheck | None:
    return turn.session.scalars(
        select(GmpCheck).where(GmpCheck.owner_id == turn.owner.id, GmpCheck.status == "in_progress")
        .order_by(GmpCheck.id.desc())
    ).first()


def last_completed(turn: Turn, checklist: str | None = None, before_id: int | None = None) -> GmpCheck | None:
    query = select(GmpCheck).where(GmpCheck.owner_id == turn.owner.id, GmpCheck.status == "completed")
    if checklist:
        query = query.where(GmpCheck.checklist == checklist)
    if before_id:
        query = query.where(GmpCheck.id < before_id)
    return turn.session.scalars(query.order_by(GmpCheck.completed_at.desc(), GmpCheck.id.desc())).first()


def current_check(turn: Turn) -> GmpCheck | None:
    check_id = turn.data.get("check_id")
    return turn.session.get(GmpCheck, check_id) if check_id else None


def answers_of(turn: Turn, check: GmpCheck) -> dict[str, str]:
    return dict(turn.session.execute(
        select(GmpAnswer.item_id, GmpAnswer.answer).where(GmpAnswer.check_id == check.id)).tuples().all())


def named_checklist(turn: Turn) -> str | None:
    """A checklist the owner named in their words ("cek cpkb")."""
    words = f" {turn.norm} "
    for name, checklist in gmp.load_checklists(turn.content).items():
        raw = turn.content.data(f"gmp/{name}.yaml")
        for keyword in raw.get("keywords") or []:
            if f" {normalize(str(keyword), turn.content)} " in words:
                return name
    return None


def checklist_options(turn: Turn) -> list[Option]:
    return [Option(name, c.title.get(turn.lang, c.title["id"]), tuple(c.short.values()))
            for name, c in gmp.load_checklists(turn.content).items()]


def answer_of(turn: Turn) -> str | None:
    """yes / no / unknown from the owner's words, or None when it is no answer."""
    answer = turn.yes_no(unknown=True)
    if answer is None:
        if said(turn, "yes_extra"):
            answer = True
        elif said(turn, "no_extra"):
            answer = False
    return {True: "yes", False: "no", "unknown": "unknown"}.get(answer)


# --- start ---------------------------------------------------------------------------------------
def start(turn: Turn) -> None:
    wanted = named_checklist(turn)
    unfinished = open_check(turn)
    if unfinished is not None and (wanted is None or wanted == unfinished.checklist):
        turn.data["checklist"] = unfinished.checklist
        turn.data["check_id"] = unfinished.id
        turn.goto("intro", remember=False)
        return
    choice = wanted or gmp.choose_checklist(turn.content, turn.owner.sector, turn.owner.has_permits or [])
    if choice is None:
        turn.goto("choose", remember=False)
        return
    turn.data["checklist"] = choice
    turn.goto("intro", remember=False)


def ask_choose(turn: Turn) -> None:
    turn.say("gmp.choose_checklist", options=checklist_options(turn))


def handle_choose(turn: Turn):
    choice = turn.choose(checklist_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    turn.data["checklist"] = choice.key
    turn.goto("intro")
    return None


# --- intro ---------------------------------------------------------------------------------------
def _intro_options(turn: Turn) -> list[Option]:
    if turn.data.get("check_id"):
        return [turn.option("resume", "gmp.resume", ["lanjut", "lanjutkan", "ya", "lanjut cek"]),
                turn.option("restart", "gmp.restart", sorted(phrases(turn, "restart"))),
                turn.option("later", "gmp.later", sorted(phrases(turn, "pause")))]
    return [turn.option("start", "gmp.start_now", ["mulai", "ya", "siap", "oke", "ayo", "start"]),
            turn.option("later", "gmp.later", sorted(phrases(turn, "pause")))]


def ask_intro(turn: Turn) -> None:
    checklist = gmp.load_checklist(turn.content, turn.data["checklist"])
    short = checklist.short.get(turn.lang, checklist.short["id"])
    check = current_check(turn)
    if check is not None:
        turn.say("gmp.resume_intro", options=_intro_options(turn), title=short,
                 answered=len(answers_of(turn, check)), total=len(checklist.items))
    else:
        # The full title says what the short name stands for ("CPOTB (obat tradisional / jamu)").
        title = checklist.title.get(turn.lang, checklist.title["id"])
        turn.say("gmp.intro", options=_intro_options(turn), title=title, total=len(checklist.items),
                 note=checklist.verify_note.get(turn.lang, checklist.verify_note.get("id", "")) if checklist.verify else "",
                 reviewed=checklist.last_reviewed)


def handle_intro(turn: Turn):
    choice = turn.choose(_intro_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "later":
        turn.end_flow()
        turn.say("gmp.later_ok")
        return None
    checklist = gmp.load_checklist(turn.content, turn.data["checklist"])
    check = current_check(turn)
    if choice.key == "restart" and check is not None:
        check.status = "abandoned"
        check.updated_at = turn.now
        check = None
    if check is None:
        for other in turn.session.scalars(select(GmpCheck).where(
                GmpCheck.owner_id == turn.owner.id, GmpCheck.status == "in_progress")):
            other.status = "abandoned"  # one unfinished check at a time: the newest
        check = GmpCheck(owner_id=turn.owner.id, checklist=checklist.id, checklist_reviewed=checklist.last_reviewed,
                         status="in_progress", current_item=checklist.items[0].id, started_at=turn.now,
                         updated_at=turn.now, counts={})
        turn.session.add(check)
        turn.session.flush()
        turn.data["check_id"] = check.id
    # KEMBALI works back through the questions answered before a pause, too.
    turn.history = ["back_one"] * checklist.index(check.current_item)
    turn.goto("question", remember=False)
    return None


# --- questions -----------------------------------------------------------------------------------
def _question_options(turn: Turn) -> list[Option]:
    return turn.yes_no_options(unknown=True)


def ask_question(turn: Turn) -> None:
    check = current_check(turn)
    checklist = gmp.load_checklist(turn.content, check.checklist)
    item = checklist.item(check.current_item)
    aspect = checklist.aspect(item.aspect)
    first_of_aspect = aspect.items[0].id == item.id
    turn.say("gmp.question_photo" if first_of_aspect else "gmp.question", options=_question_options(turn),
             code=aspect.code, aspect=aspect.name.get(turn.lang, aspect.name["id"]),
             number=checklist.index(item.id) + 1, total=len(checklist.items), question=item.text("question", turn.lang))


def _store_evidence(turn: Turn, check: GmpCheck, aspect_code: str) -> int:
    stored = 0
    for media in turn.inbound.media:
        if media.kind != "image":
            continue
        turn.session.add(GmpEvidence(check_id=check.id, owner_id=turn.owner.id, aspect=aspect_code,
                                     media_kind=media.kind, url=media.url, content_type=media.content_type,
                                     provider_id=media.provider_id, created_at=turn.now))
        stored += 1
    return stored


def handle_question(turn: Turn):
    check = current_check(turn)
    if check is None or check.status != "in_progress":
        turn.end_flow()
        return NOT_UNDERSTOOD
    checklist = gmp.load_checklist(turn.content, check.checklist)
    item = checklist.item(check.current_item)
    aspect = checklist.aspect(item.aspect)
    if turn.inbound.media:
        if _store_evidence(turn, check, aspect.code):
            turn.say("gmp.photo_saved", code=aspect.code, aspect=aspect.name.get(turn.lang, aspect.name["id"]))
        else:
            turn.say("gmp.photo_only")
        if not turn.text:
            ask_question(turn)
            return None
    if says(turn, "pause") or turn.norm.split()[:1] in (["jeda"], ["pause"]):
        return pause(turn, check, checklist)  # also "jeda dulu ya cucu sy nangis"
    if says(turn, "snooze"):
        return pause(turn, check, checklist, remind=True)
    answer = answer_of(turn)
    if answer is None:
        if turn.inbound.media:
            ask_question(turn)  # the photo was the answer to this turn; a caption we can't read is fine
            return None
        return NOT_UNDERSTOOD
    existing = turn.session.scalars(select(GmpAnswer).where(
        GmpAnswer.check_id == check.id, GmpAnswer.item_id == item.id)).first()
    if existing is None:
        turn.session.add(GmpAnswer(check_id=check.id, item_id=item.id, aspect=item.aspect, severity=item.severity,
                                   answer=answer, answered_at=turn.now))
    else:
        existing.answer, existing.severity, existing.answered_at = answer, item.severity, turn.now
    check.updated_at = turn.now
    index = checklist.index(item.id)
    if index + 1 < len(checklist.items):
        check.current_item = checklist.items[index + 1].id
        turn.history.append("back_one")  # KEMBALI: one question back
        turn.goto("question", remember=False)
        return None
    turn.session.flush()
    finish(turn, check, checklist)
    return None


def back_one(turn: Turn) -> None:
    """KEMBALI during the questions: re-ask the previous one (its answer is replaced when given)."""
    check = current_check(turn)
    checklist = gmp.load_checklist(turn.content, check.checklist)
    index = checklist.index(check.current_item)
    if index > 0:
        check.current_item = checklist.items[index - 1].id
    turn.state.step = "question"
    ask_question(turn)


def pause(turn: Turn, check: GmpCheck, checklist: gmp.Checklist, remind: bool = False):
    answered, total = len(answers_of(turn, check)), len(checklist.items)
    turn.end_flow()
    if remind:
        row = reminders.schedule(
            turn.session, turn.owner.id, "self_check", _tomorrow(turn), f"self_check_resume:{turn.owner.id}",
            subject="gmp:self_check_resume", payload={"checklist": check.checklist, "level": check.level or "-"},
            expires_at=None, rearm=True, now=turn.now)
        local = as_utc(row.due_at).astimezone(JAKARTA)
        turn.say("gmp.paused_remind", answered=answered, total=total, date=local.strftime("%d-%m-%Y"),
                 time=local.strftime("%H.%M"))
    else:
        turn.say("gmp.paused", answered=answered, total=total)
    return None


def _tomorrow(turn: Turn) -> datetime:
    at = reminders._clock((reminders.rules(turn.content).get("snooze") or {}).get("next_day_at", "09:00"))
    return reminders.local_moment(as_utc(turn.now).astimezone(JAKARTA).date() + timedelta(days=1), at)


# --- result --------------------------------------------------------------------------------------
def _when(turn: Turn, earlier: datetime) -> str:
    days = (as_utc(turn.now).astimezone(JAKARTA).date() - as_utc(earlier).astimezone(JAKARTA).date()).days
    if days < 1:
        return turn.t("gmp.when_today")
    if days < 14:
        return turn.t("gmp.when_days", n=days)
    if days < 28:
        return turn.t("gmp.when_weeks", n=days // 7)
    if days < 60:
        return turn.t("gmp.when_last_month")
    return turn.t("gmp.when_months", n=days // 30)


def _history_text(turn: Turn, previous: GmpCheck | None, now_total: int) -> str:
    if previous is None:
        return ""
    trend = gmp.trend(previous.findings_total, now_total)
    return turn.t(f"gmp.history_{trend}", when=_when(turn, previous.completed_at),
                  before=previous.findings_total, now=now_total)


def finish(turn: Turn, check: GmpCheck, checklist: gmp.Checklist) -> None:
    rule = gmp.load_levels(turn.content)
    result = gmp.score(checklist, answers_of(turn, check), rule)
    previous = last_completed(turn, check.checklist, before_id=check.id)
    check.status = "completed"
    check.completed_at = turn.now
    check.level = result.level.level
    check.counts = dict(result.counts)
    check.findings_total = result.finding_total
    check.unknown_total = result.unknown
    check.current_item = None
    turn.data["result_check_id"] = check.id
    turn.data["page"] = 0
    reminders.cancel(turn.session, turn.owner.id, key=f"self_check_resume:{turn.owner.id}", now=turn.now)
    next_reminder = reminders.schedule_next_self_check(turn.session, turn.content, turn.owner.id, checklist.id,
                                                       result.level.level, turn.now)
    turn.state.step = "result"
    say_result(turn, check, checklist, result, previous, next_reminder.due_at)


def _request_mentor(turn: Turn, check: GmpCheck, checklist: gmp.Checklist, result: gmp.Result) -> None:
    """A critical item answered "tidak" or "tidak tahu": a mentor looks at it (one open case per
    owner for this topic; a later critical check adds to it)."""
    answers = answers_of(turn, check)
    ticket = request_mentor(
        turn, CASE_TOPIC, priority=1,
        reason=(f"GMP self-check {checklist.id} level {result.level.level}: critical items answered "
                f"no/unknown: {', '.join(result.critical_items)}"),
        context={"gmp_check_id": check.id, "checklist": checklist.id, "level": result.level.level,
                 "critical_items": [{"id": i, "answer": answers[i],
                                     "question": checklist.item(i).text("question", "id")}
                                    for i in result.critical_items]})
    check.ticket_id = ticket.id


def _severity_name(turn: Turn, rule: gmp.LevelRule, severity: str) -> str:
    names = rule.severity_names.get(severity) or {}
    return names.get(turn.lang) or names.get("id") or severity


def _result_options(turn: Turn, more: bool = True) -> list[Option]:
    """"See all findings" (or "next" once a page is shown) and "Done"."""
    turn.data["more"] = more  # the answer is read against the options shown
    options = []
    if more:
        label = "gmp.next_page_option" if turn.data.get("page") else "gmp.full_list_option"
        aliases = sorted(phrases(turn, "full_list")) + ["semua", "lagi", "berikutnya", "selanjutnya", "next", "more"]
        options.append(turn.option("all", label, aliases))
    options.append(turn.option("done", "gmp.done_option", ["selesai", "sudah", "cukup", "done", "oke", "terima kasih"]))
    return options


def say_result(turn: Turn, check: GmpCheck, checklist: gmp.Checklist, result: gmp.Result,
               previous: GmpCheck | None, next_due: datetime | None) -> None:
    rule = gmp.load_levels(turn.content)
    parts = ", ".join(f"{count} {_severity_name(turn, rule, sev)}" for sev, count in result.counts.items() if count)
    photos = ", ".join(sorted(set(turn.session.scalars(
        select(GmpEvidence.aspect).where(GmpEvidence.check_id == check.id)))))
    top = result.top_fixes(1)
    view = rule.view(checklist.id, result.level, turn.lang, top[0].item.text("fix", turn.lang) if top else "")
    turn.say_template("gmp_result", title=checklist.short.get(turn.lang, checklist.short["id"]),
                      level=result.level.level, heading=view.heading, official=view.official,
                      estimate_note=view.note, not_ready=view.not_ready,
                      meaning=result.level.meaning.get(turn.lang, result.level.meaning["id"]),
                      total=result.finding_total, parts=parts, unknown=result.unknown,
                      history=_history_text(turn, previous, result.finding_total), photos=photos,
                      reviewed=rule.last_reviewed)
    if result.needs_mentor:
        turn.say("gmp.mentor_case")
        _request_mentor(turn, check, checklist, result)
    reminded = turn.owner.opted_out_at is None and "self_check" not in reminders.kinds_off(turn.session, turn.owner.id)
    if next_due is not None and reminded:
        turn.say("gmp.next_check", date=date_text(next_due))
    if not result.findings:
        turn.say("gmp.no_findings", options=_result_options(turn, more=False))
        return
    fixes = [{"fix": f.item.text("fix", turn.lang), "severity": _severity_name(turn, rule, f.severity),
              "unknown": f.unknown} for f in result.top_fixes(TOP_FIXES)]
    turn.say_template("gmp_fixes", options=_result_options(turn, more=len(result.findings) > 0), fixes=fixes)


def say_findings_page(turn: Turn, check: GmpCheck) -> bool:
    """One page of the full list; True when more pages follow."""
    checklist = gmp.load_checklist(turn.content, check.checklist)
    rule = gmp.load_levels(turn.content)
    result = gmp.score(checklist, answers_of(turn, check), rule)
    if not result.findings:
        turn.data["page"] = 0
        turn.say("gmp.no_findings", options=_result_options(turn, more=False))
        return False
    page = int(turn.data.get("page") or 0)
    findings = result.findings[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    if not findings:
        page, findings = 0, result.findings[:PAGE_SIZE]
    first = page * PAGE_SIZE + 1
    more = (page + 1) * PAGE_SIZE < len(result.findings)
    rows = [{"number": first + n, "severity": _severity_name(turn, rule, f.severity), "unknown": f.unknown,
             "code": f.item.aspect, "fix": f.item.text("fix", turn.lang)} for n, f in enumerate(findings)]
    turn.data["page"] = page + 1 if more else 0
    turn.say_template("gmp_findings", options=_result_options(turn, more=more), findings=rows, first=first,
                      last=first + len(rows) - 1, total=len(result.findings))
    return more


def ask_result(turn: Turn) -> None:
    check = turn.session.get(GmpCheck, turn.data.get("result_check_id"))
    if check is None:
        turn.end_flow()
        turn.show_menu()
        return
    say_findings_page(turn, check)


def handle_result(turn: Turn):
    more = turn.data.get("more", True)
    choice = turn.choose(_result_options(turn, more=more))
    wants_list = choice.key == "all" if choice is not None else said(turn, "full_list")
    if choice is None and not wants_list:
        return NOT_UNDERSTOOD
    if not wants_list:
        turn.end_flow()
        turn.show_menu()
        return None
    check = turn.session.get(GmpCheck, turn.data.get("result_check_id"))
    if check is None:
        turn.end_flow()
        return NOT_UNDERSTOOD
    if not more:
        turn.data["page"] = 0  # asked for the list again after its last page: from the top
    say_findings_page(turn, check)
    return None


def on_cancel(turn: Turn) -> None:
    """BATAL during a check pauses it: the answers stay for CEK MANDIRI."""
    check = open_check(turn)
    if check is None:
        turn.say("common.cancelled")
        return
    checklist = gmp.load_checklist(turn.content, check.checklist)
    turn.say("gmp.paused", answered=len(answers_of(turn, check)), total=len(checklist.items))


@case_context
def last_check_context(session, owner) -> dict:
    """Every mentor case shows the owner's last finished self-check."""
    check = session.scalars(select(GmpCheck).where(GmpCheck.owner_id == owner.id, GmpCheck.status == "completed")
                            .order_by(GmpCheck.completed_at.desc(), GmpCheck.id.desc())).first()
    if check is None:
        return {}
    return {"gmp": {"checklist": check.checklist, "level": check.level, "findings": check.findings_total,
                    "counts": dict(check.counts or {}), "completed_at": check.completed_at.isoformat()}}


# --- free text outside the flow -----------------------------------------------------------------
# Listed in bot/nlu/rules.py FEATURE_PHRASES.
def show_last_findings(turn: Turn) -> bool:
    """"hasil cek" / "semua temuan" outside the check: the full list of the last finished check."""
    if turn.state.flow == "gmp_check" or turn.owner.consent_at is None or not says(turn, "full_list"):
        return False
    check = last_completed(turn)
    if check is None:
        turn.say("gmp.no_result_yet")
        return True
    # Enter the flow at its result step, so "lihat semua" / "selesai" work on the list shown.
    turn.end_flow()
    turn.state.flow, turn.state.step = "gmp_check", "result"
    turn.data.update(result_check_id=check.id, page=0)
    say_findings_page(turn, check)
    return True


FLOW = Flow(
    name="gmp_check",
    steps={
        "choose": Step(prompt=ask_choose, handle=handle_choose),
        "intro": Step(prompt=ask_intro, handle=handle_intro),
        "question": Step(prompt=ask_question, handle=handle_question, accepts_media=True),
        "back_one": Step(prompt=back_one, handle=handle_question),
        "result": Step(prompt=ask_result, handle=handle_result),
    },
    start=start,
    on_cancel=on_cancel,
    description="GMP self-check (CPPB-IRT, CPPOB, CPKB, CPOTB) with level, findings and fixes.",
)
