"""The legality-first pathway: which permits each product needs, in order, tracked to the end.

Purpose: turn an owner's product words into a permit route (content/legality/products.yaml), keep
each product's ordered steps with their status (belum / sedang diurus / selesai / ditolak), show
"izin saya" and "langkah berikutnya" with a documents checklist, record permit numbers with their
expiry, and send rejections to a mentor. Marketing advice comes only after every step is done.

Entry: menu item "Izin usaha saya", IZIN SAYA, LANGKAH BERIKUTNYA (content/intents.yaml), and the
recognizers below: "sudah dapat NIB 1234567890123", "pirt saya ditolak", "sedang urus pkp", and a
product question such as "izin keripik apa?" that needs a few yes/no answers.

Steps:
    start --> [question]* per registered product --> next
    product      "Produk apa?"            -> question | pick_product | outside | next
    pick_product two products fit equally -> question | next
    question     one yes/no at a time (<= 3 in all; "tidak tahu" -> mentor case)
    outside      outside the rules: mentor / other product / menu
    overview     "izin saya": every step at a glance -> next | pick_step | product
    next         the one next step + documents    -> number | (sedang) | reject_reason
    number       the permit number, checked       -> next
    pick_step    "lapor izin": which step         -> number | next
    report_product  which product a reported permit is for -> number | next
    reject_reason   why it was rejected           -> opens a mentor case

Example:
    Owner: sudah dapat P-IRT 206327101012331
    Bot:   P-IRT untuk Keripik saya catat selesai ✅ Nomor: 206327101012331.
           Berlaku sampai 23-11-2031 (tahun 2031). Saya akan mengingatkan Anda sebelum habis.
    Bot:   Langkah berikutnya (Keripik): Sertifikat halal jalur self-declare ...
"""
from __future__ import annotations

import re

from bot.cases import case_context, request_mentor
from bot.choices import Option, number_of
from bot.content import content_check, get_content
from bot.legality import classify, numbers, pathway, plain
from bot.legality import rules as legality_rules
from bot.legality.rules import lang_text
from bot.nlu.answers import thanks_only
from bot.nlu.reading import vocabulary
from bot.normalize import normalize, word_set
from bot.turn import Turn
from flows.labels import pointer as label_pointer
from flows.base import NOT_UNDERSTOOD, Flow, Step
from storage.models.legality import OWNER_SLOT, LegalityProduct, PathwayStep

ICONS = {"selesai": "✅", "sedang": "⏳", "belum": "⬜", "ditolak": "❌"}
# How owners say what happened to a permit (matched on normalised words).
DONE_WORDS = ("sudah dapat", "sudah keluar", "sudah jadi", "sudah terbit", "sudah punya", "sudah selesai",
              "sudah lulus", "sudah lolos", "baru dapat", "dapat nomor", "telah terbit", "got", "received")
REJECT_WORDS = ("ditolak", "tolak", "gagal", "tidak lolos", "tidak lulus", "rejected")
PROGRESS_WORDS = ("sedang urus", "sedang diurus", "lagi urus", "lagi diurus", "sedang proses", "masih proses",
                  "sedang mengurus", "lagi proses", "sedang daftar", "sudah daftar", "sudah mengajukan")
SKIP_WORDS = ("nanti", "nanti saja", "belum ada nomor", "lewati", "skip", "later")
NEXT_WORDS = ("langkah berikutnya", "langkah selanjutnya", "next step", "terus apa", "selanjutnya apa")


# --- saying things ---------------------------------------------------------------------------------
def send(turn: Turn, text: str, options: list[Option] | None = None, defining: str | None = None) -> None:
    """Say a legality text: technical words explained the first time, split to phone-sized messages.
    `defining`: the glossary word this text explains in full (no bracket explanation for it)."""
    consented = turn.owner.consent_at is not None
    seen = pathway.terms_seen(turn.session, turn.owner) if consented else set()
    if defining:
        seen = seen | {defining}
    text, explained = plain.explain_first_use(text, seen, turn.content, turn.lang)
    if consented and explained:
        pathway.mark_terms_seen(turn.session, turn.owner, explained, turn.now)
    chunks = plain.split_message(text)
    for index, chunk in enumerate(chunks):
        turn.say_text(chunk, options if index == len(chunks) - 1 else None)


def caveat(turn: Turn, node: dict) -> str:
    """The "last checked ... ask your mentor" line for a fact flagged verify."""
    note = (lang_text(node.get("verify_note"), turn.lang) or "").strip().rstrip(".")
    return turn.t("legality.verify_caveat", date=plain.owner_date(node.get("last_reviewed")), note=note)


def step_name(turn: Turn, key: str) -> str:
    return lang_text(legality_rules.step(turn.content, key).get("name"), turn.lang)


def short_step_name(turn: Turn, key: str) -> str:
    """"P-IRT" rather than "P-IRT home-industry food permit (SPP-IRT)": the name before a bracket."""
    return step_name(turn, key).split(" (")[0]


def _products_data(turn: Turn) -> dict:
    return legality_rules.products(turn.content)


def route_summary(turn: Turn, route: str | None) -> str:
    return lang_text(((_products_data(turn).get("routes") or {}).get(route or "outside") or {}).get("summary"), turn.lang)


def reason_text(turn: Turn, reason: str | None) -> str:
    return lang_text((_products_data(turn).get("reasons") or {}).get(reason or ""), turn.lang) or ""


def product_name(turn: Turn, key: str | None, typed: str = "") -> str:
    entry = classify.product_entry(turn.content, key) if key else None
    return typed.strip() or (lang_text(entry.get("name"), turn.lang) if entry else "")


def _options(turn: Turn, *keys: str) -> list[Option]:
    aliases = {
        "next": ["langkah berikutnya", "berikutnya", "lanjut", "next"],
        "overview": ["izin saya", "lihat izin", "status"],
        "report": ["lapor", "lapor izin", "sudah dapat", "report"],
        "add_product": ["produk lain", "tambah produk", "cek produk"],
        "mentor": ["pendamping", "tanya pendamping", "mentor"],
        "menu": ["menu"],
        "done": ["sudah", "selesai", "sudah dapat", "done"],
        "in_progress": ["sedang", "sedang diurus", "proses", "lagi urus"],
        "rejected": ["ditolak", "tolak", "gagal", "rejected"],
        "skip_number": list(SKIP_WORDS),
    }
    return [turn.option(key, f"legality.option_{key}", aliases.get(key, [])) for key in keys]


def _enter(turn: Turn) -> None:
    """Make the legality flow the active one (entered from free text, not from its start)."""
    if turn.state.flow != "legality":
        turn.end_flow()
        turn.state.flow = "legality"


def _is_other_report(turn: Turn, row: PathwayStep | None = None) -> bool:
    """A permit number, or a permit other than `row`'s: a report for the recognizer, not a choice."""
    report = numbers.parse_report(turn.text, turn.content)
    if report.raw_number:
        return True
    return bool(report.kind) and (row is None or report.kind != row.permit_kind)


# "udah tadi pagi nib nya jadi": "sudah" and the done word apart, words between them.
DONE_WHEN = frozenset({"sudah", "baru", "tadi", "kemarin", "alhamdulillah"})
DONE_VERBS = frozenset({"jadi", "keluar", "terbit", "dapat", "selesai", "lulus", "lolos", "beres", "kelar", "rampung"})


def _done_apart(turn: Turn) -> bool:
    words = set(turn.norm.split())
    return bool(words & DONE_WHEN and words & DONE_VERBS) and not words & set(vocabulary(turn.content).negation)


def _has_phrase(turn: Turn, phrases: tuple[str, ...] | list[str]) -> bool:
    padded = f" {turn.norm} "
    return any(f" {normalize(p, turn.content)} " in padded for p in phrases)


# --- classification ---------------------------------------------------------------------------------
def _decision(turn: Turn) -> classify.Decision:
    current = turn.data["current"]
    return classify.decide(turn.content, current["key"], current.get("facts") or {}, current.get("asked") or [])


def begin_classification(turn: Turn, name: str, key: str, facts: dict, queue: list[str] | None = None,
                         pending: dict | None = None) -> None:
    """Classify one product (the owner's words `name`, matched to `key`), asking what is needed."""
    _enter(turn)
    turn.data["current"] = {"name": name, "key": key, "facts": facts, "asked": []}
    if queue is not None:
        turn.data["queue"] = queue
    if pending is not None:
        turn.data["pending"] = pending
    _continue_classification(turn)


def _continue_classification(turn: Turn) -> None:
    decision = _decision(turn)
    current = turn.data["current"]
    name = product_name(turn, current["key"], current["name"])
    if decision.status == "ask":
        turn.goto("question", remember=False)
        return
    if decision.status == "undecided":
        if turn.owner.consent_at is not None:
            turn.say("legality.undecided", product=name)
            request_mentor(turn, "legality_classify",
                           f"Could not decide the permit route for '{name}' within the question limit.",
                           context={"product": name, "product_key": current["key"], "facts": decision.facts})
        else:
            turn.say("legality.undecided", product=name)
            turn.say("legality.save_hint")
        _after_product(turn)
        return
    _finish_product(turn, decision, name)


def _finish_product(turn: Turn, decision: classify.Decision, name: str) -> None:
    """Say the route; for a registered owner, save the product and its pathway."""
    if decision.status == "outside":
        reason = reason_text(turn, decision.reason)
        key = "legality.product_unknown" if decision.reason == "unknown" else "legality.product_outside"
        turn.say(key, product=name, reason=reason)
    else:
        _say_route(turn, decision, name)
    if turn.owner.consent_at is not None:
        pathway.add_product(turn.session, turn.owner, name, decision, turn.content, turn.now)
        pending = turn.data.pop("pending", None)
        if pending:
            _apply_pending_report(turn, pending, name, decision)
            if turn.state.flow != "legality":  # the report ended the flow (a rejection went to a mentor)
                turn.data.pop("current", None)
                return
    _after_product(turn, outside=decision.status == "outside")


def _say_route(turn: Turn, decision: classify.Decision, name: str) -> None:
    steps = [step_name(turn, key) for key in decision.steps]
    halal = ""
    if decision.halal_route and decision.halal_route != "none":
        halal = f"{short_step_name(turn, decision.halal_route)}, {reason_text(turn, decision.halal_reason)}"
    text = turn.content.render("legality_route", turn.lang, product=name, summary=route_summary(turn, decision.route),
                               reason=reason_text(turn, decision.reason), steps=steps, halal=halal)
    if decision.verify:
        text += "\n\n" + caveat(turn, _products_data(turn))
    send(turn, text)


def _after_product(turn: Turn, outside: bool = False) -> None:
    """Next product in the queue, else the next step (registered) or the end (not registered)."""
    turn.data.pop("current", None)
    queue = list(turn.data.get("queue") or [])
    while queue:
        name = queue.pop(0)
        turn.data["queue"] = queue
        if _classify_words(turn, name, from_queue=True):
            return
    turn.data.pop("queue", None)
    if turn.owner.consent_at is None:
        turn.say("legality.save_hint")
        turn.end_flow()
        return
    if outside:
        turn.goto("outside", remember=False)
        return
    turn.goto("next", remember=False)


def _classify_words(turn: Turn, words: str, from_queue: bool = False) -> bool:
    """Start classifying the product in `words`. True when the flow now waits for an answer."""
    groups = classify.find_products(words, turn.content)
    name = " ".join(words.split())[:120]
    if not groups:
        decision = classify.decide(turn.content, None)
        turn.say("legality.product_unknown", product=name)
        if turn.owner.consent_at is not None:
            pathway.add_product(turn.session, turn.owner, name, decision, turn.content, turn.now)
        if from_queue:
            return False
        turn.data.pop("current", None)
        turn.goto("outside", remember=False)
        return True
    group = groups[0]
    if len({m.key for m in group}) > 1:
        turn.data["choices"] = [m.key for m in group]
        turn.data["typed"] = name
        turn.goto("pick_product", remember=False)
        return True
    turn.data["current"] = {"name": name, "key": group[0].key,
                            "facts": classify.modifier_facts(words, turn.content), "asked": []}
    decision = _decision(turn)
    if decision.status == "ask":
        turn.goto("question", remember=False)
        return True
    if from_queue and decision.status in ("decided", "outside"):
        # Say it and go on with the queue without stopping.
        if decision.status == "outside":
            turn.say("legality.product_outside", product=name, reason=reason_text(turn, decision.reason))
        else:
            _say_route(turn, decision, name)
        if turn.owner.consent_at is not None:
            pathway.add_product(turn.session, turn.owner, name, decision, turn.content, turn.now)
        turn.data.pop("current", None)
        return False
    _continue_classification(turn)
    return True


# --- steps: product, pick_product, question, outside -------------------------------------------
def ask_product(turn: Turn) -> None:
    turn.say("legality.ask_product")


def handle_product(turn: Turn):
    if not re.search(r"[^\W\d_]", turn.text) or len(turn.norm) < 2:
        return NOT_UNDERSTOOD
    if turn.looks_like_question() and not classify.find_products(turn.text, turn.content):
        return NOT_UNDERSTOOD
    _classify_words(turn, turn.text)
    return None


def ask_pick_product(turn: Turn) -> None:
    turn.say("legality.pick_product", options=_pick_product_options(turn))


def _pick_product_options(turn: Turn) -> list[Option]:
    return [Option(key, product_name(turn, key)) for key in turn.data.get("choices") or []]


def handle_pick_product(turn: Turn):
    choice = turn.choose(_pick_product_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    typed = turn.data.pop("typed", "") or product_name(turn, choice.key)
    turn.data.pop("choices", None)
    turn.data["current"] = {"name": typed, "key": choice.key,
                            "facts": classify.modifier_facts(typed, turn.content), "asked": []}
    _continue_classification(turn)
    return None


def ask_question(turn: Turn) -> None:
    decision = _decision(turn)
    question = (_products_data(turn).get("questions") or {}).get(decision.question) or {}
    name = product_name(turn, decision.product_key, turn.data["current"]["name"])
    turn.say("legality.question", options=turn.yes_no_options(unknown=True), product=name,
             question=lang_text(question.get("ask"), turn.lang))


def handle_question(turn: Turn):
    current = turn.data["current"]
    decision = _decision(turn)
    if thanks_only(turn.text, turn.content):
        return NOT_UNDERSTOOD  # "oke thanks min" answers no question: the thanks is answered, the question stays
    # Facts in the answer's own words count too: "cuma awet 3 hari" answers the shelf-life question,
    # and "tidak, tapi dijual beku" also settles "frozen" so it is not asked next.
    answer = turn.yes_no(unknown=True)
    first, _, rest = turn.norm.partition(" ")
    unsure = rest.split(" ", 1)[0] in {"tahu", "tau", "yakin", "pasti", "paham", "ngerti", "mengerti"}
    if answer is None and rest and not unsure and \
            first in word_set(turn.content, "no_words") | word_set(turn.content, "yes_words"):
        answer = first in word_set(turn.content, "yes_words")  # "gak, tapi awet sebulan"
    if answer is None:
        said = classify.modifier_facts(turn.text, turn.content)
        answer = classify.fact_in_words(turn.content, decision.question, said)
        if answer is None and set(turn.norm.split()) & vocabulary(turn.content).permit_asking:
            # "itu hrs ada ijinnya ga?" while the question that decides it waits: say why it is asked
            turn.say("legality.question_decides", product=product_name(turn, current["key"], current["name"]))
            turn.reprompt()
            return None
        if answer is None:
            # "sambelnya ibu bungkus plastik, tahan sebulan lebih" at "dikalengkan?": no answer to it,
            # but facts of the product all the same. Noted; the question still waiting is asked again
            # (or the next one, when they settle it).
            known = current.get("facts") or {}
            data = legality_rules.products(turn.content)
            relevant = {fact for table in ("rules", "halal_rules")
                        for rule in (data.get(table) or {}).get(decision.sector) or [] for fact in rule.get("when") or {}}
            # ("anak ibu yg bantuin ngetik" tells of a child, which no rule of a sambal asks about)
            extra = {k: v for k, v in said.items() if k not in known and k in relevant}
            if not extra:
                return NOT_UNDERSTOOD
            turn.data["current"] = {**current, "facts": {**known, **extra}}
            turn.say("legality.fact_noted")
            _continue_classification(turn)
            return None
    else:
        # The words after the yes/no ("gak, dijual beku"): the leading "gak" negates nothing there.
        said = classify.modifier_facts(" ".join(turn.norm.split()[1:]), turn.content)
    name = product_name(turn, current["key"], current["name"])
    if answer == "unknown":
        if turn.owner.consent_at is not None:
            turn.say("legality.question_unsure", product=name)
            request_mentor(turn, "legality_classify", f"Owner unsure how to answer '{decision.question}' for '{name}'.",
                           context={"product": name, "product_key": current["key"], "question": decision.question,
                                    "facts": decision.facts})
        else:
            turn.say("legality.undecided", product=name)
        _after_product(turn)
        return None
    # A new dict, not an in-place change: the state's JSON column only notices a new value.
    known = current.get("facts") or {}
    extra = {k: v for k, v in said.items() if k not in known and k != decision.question}
    turn.data["current"] = {**current, "facts": {**extra, **known, decision.question: bool(answer)},
                            "asked": list(current.get("asked") or []) + [decision.question]}
    _continue_classification(turn)
    return None


def ask_outside(turn: Turn) -> None:
    turn.say("legality.outside_choice", options=_options(turn, "mentor", "add_product", "menu"))


def handle_outside(turn: Turn):
    if turn.looks_like_question():
        return NOT_UNDERSTOOD  # a question, for the FAQ; not a pick
    choice = turn.choose(_options(turn, "mentor", "add_product", "menu"))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "mentor":
        turn.start_flow("mentor")
    elif choice.key == "add_product":
        turn.goto("product")
    else:
        turn.show_menu()
    return None


# --- steps: overview and next -------------------------------------------------------------------
def _step_line(turn: Turn, row: PathwayStep) -> dict:
    detail = ""
    if pathway.is_expired(row, pathway.today(turn.now)):
        return {"icon": "⚠️", "name": short_step_name(turn, row.step),
                "detail": turn.t("legality.expired_on", date=plain.owner_date(row.expires_on))}
    if row.status == "selesai" and row.expires_on:
        detail = turn.t("legality.valid_until", date=plain.owner_date(row.expires_on))
    elif row.status != "selesai":
        detail = turn.t(f"legality.status_{row.status}")
        if row.status == "ditolak" and row.rejection_reason:
            detail += f": {row.rejection_reason[:80]}"
    return {"icon": ICONS.get(row.status, "⬜"), "name": short_step_name(turn, row.step), "detail": detail}


def overview_text(turn: Turn) -> str:
    rows = pathway.steps_of(turn.session, turn.owner)
    products = pathway.products_of(turn.session, turn.owner)
    business = [_step_line(turn, r) for r in rows if r.slot == OWNER_SLOT]
    product_lines = []
    for product in products:
        own = [_step_line(turn, r) for r in pathway.product_pathway(turn.session, product, turn.content, rows)
               if r.product_id == product.id]
        summary = route_summary(turn, product.route)
        if product.route in (None, "outside"):
            summary = turn.t("legality.route_not_decided")
        product_lines.append({"name": product.name, "summary": summary, "steps": own})
    for name in pathway.unclassified_products(turn.session, turn.owner, products):
        product_lines.append({"name": name, "summary": turn.t("legality.route_not_decided"), "steps": []})
    return turn.content.render("legality_overview", turn.lang, business=business, products=product_lines,
                               business_title=turn.t("legality.business_steps"), legend=turn.t("legality.legend"))


def ask_overview(turn: Turn) -> None:
    send(turn, overview_text(turn), _options(turn, "next", "report", "add_product", "menu"))


def handle_overview(turn: Turn):
    if turn.looks_like_question():
        return NOT_UNDERSTOOD  # a question, for the FAQ; not a pick
    choice = turn.choose(_options(turn, "next", "report", "add_product", "menu"))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "next":
        turn.goto("next")
    elif choice.key == "report":
        turn.goto("pick_step")
    elif choice.key == "add_product":
        turn.goto("product")
    else:
        turn.show_menu()
    return None


def next_step_text(turn: Turn, row: PathwayStep, product: LegalityProduct | None) -> str:
    data = legality_rules.step(turn.content, row.step)
    lang = turn.lang
    jakarta = turn.owner.in_jakarta is not False
    text = turn.content.render(
        "legality_next", lang,
        product=product.name if product and row.product_id else "",
        name=lang_text(data.get("name"), lang),
        status=turn.t(f"legality.status_{row.status}") if row.status != "belum" else "",
        explain=lang_text(data.get("explain"), lang),
        rejection_reason=row.rejection_reason if row.status == "ditolak" else "",
        documents=lang_text(data.get("documents"), lang) or [],
        where=lang_text(data.get("where"), lang),
        where_jakarta=lang_text(data.get("where_jakarta"), lang) if jakarta and data.get("where_jakarta") else "",
        cost=lang_text(data.get("cost"), lang),
        duration=lang_text(data.get("duration"), lang),
    )
    if data.get("verify"):
        text += "\n\n" + caveat(turn, data)
    return text + label_pointer(turn, row.step)  # the label step: "ketik CEK LABEL" (flows/labels.py)


def ask_next(turn: Turn) -> None:
    nxt = pathway.next_step(turn.session, turn.owner, turn.content)
    if nxt.state == "empty":
        turn.say("legality.no_pathway")
        turn.goto("product", remember=False)
        return
    if nxt.state == "no_products":
        turn.say("legality.products_next")
        turn.goto("product", remember=False)
        return
    if nxt.state == "done":
        turn.say("legality.all_done", options=_options(turn, "overview", "add_product", "menu"))
        return
    if nxt.state == "undecided":
        tried = list(turn.data.get("tried") or [])
        fresh = [name for name in nxt.unclassified if name not in tried]
        if fresh and turn.owner.consent_at is not None:
            # Each registered product gets its route (or "belum ditentukan") before anything is "done".
            turn.data["tried"] = tried + fresh
            line = turn.t("legality.checking_products", products=", ".join(fresh))
            if turn.replies and not turn.replies[-1].options:  # one message with the report just said
                turn.replies[-1].text += "\n\n" + line
            else:
                turn.say_text(line)
            turn.data["queue"] = fresh
            _after_product(turn)
            return
        names = ", ".join(nxt.unclassified + nxt.outside)
        send(turn, turn.t("legality.route_undecided", products=names), _options(turn, "overview", "menu"))
        return
    if nxt.state == "waiting":
        names = ", ".join(dict.fromkeys(short_step_name(turn, r.step) for r in nxt.waiting))
        send(turn, turn.t("legality.waiting", steps=names), _options(turn, "report", "overview", "menu"))
        return
    turn.data["step_id"] = nxt.step.id
    if nxt.state == "expired":
        words = legality_rules.step(turn.content, nxt.step.step).get("words") or [nxt.step.step]
        send(turn, turn.t("legality.expired_next", step=short_step_name(turn, nxt.step.step),
                          date=plain.owner_date(nxt.step.expires_on), number=nxt.step.number or "-",
                          word=str(words[0]).upper()),
             _options(turn, "done", "in_progress", "overview", "menu"))
        return
    send(turn, next_step_text(turn, nxt.step, nxt.product),
         _options(turn, "done", "in_progress", "rejected", "overview", "menu"))


def _next_options_for(turn: Turn) -> list[Option]:
    nxt_id = turn.data.get("step_id")
    if nxt_id is None:
        nxt = pathway.next_step(turn.session, turn.owner, turn.content)
        if nxt.state == "waiting":
            return _options(turn, "report", "overview", "menu")
        return _options(turn, "overview", "add_product", "menu")
    return _options(turn, "done", "in_progress", "rejected", "overview", "menu")


def handle_next(turn: Turn):
    row = turn.session.get(PathwayStep, turn.data.get("step_id")) if turn.data.get("step_id") else None
    if _is_other_report(turn, row) and permit_progress(turn):
        return None
    if turn.looks_like_question():
        return NOT_UNDERSTOOD  # a question, for the FAQ; not a pick
    if row is not None and _has_phrase(turn, vocabulary(turn.content).report_not_done):
        pathway.set_status(row, "sedang", turn.now, "owner", turn.session, turn.content)
        turn.say("legality.marked_in_progress", step=short_step_name(turn, row.step))
        turn.data.pop("step_id", None)
        turn.goto("next", remember=False)
        return None
    choice = turn.choose(_next_options_for(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "done" and number_of(turn.text, turn.content) is None \
            and not set(turn.norm.split()) & vocabulary(turn.content).report_done:
        return NOT_UNDERSTOOD
    if choice.key == "overview":
        turn.goto("overview")
    elif choice.key == "menu":
        turn.show_menu()
    elif choice.key == "add_product":
        turn.goto("product")
    elif choice.key == "report":
        turn.goto("pick_step")
    elif row is None:
        return NOT_UNDERSTOOD
    elif choice.key == "done":
        _report_done(turn, row)
    elif choice.key == "in_progress":
        pathway.set_status(row, "sedang", turn.now, "owner", turn.session, turn.content)
        turn.say("legality.marked_in_progress", step=short_step_name(turn, row.step))
        turn.data.pop("step_id", None)
        turn.goto("next", remember=False)
    elif choice.key == "rejected":
        turn.data["report_step_id"] = row.id
        turn.goto("reject_reason")
    return None


# --- steps: reporting a permit ------------------------------------------------------------------
def _number_spec(turn: Turn, row: PathwayStep) -> dict | None:
    return legality_rules.step(turn.content, row.step).get("number")


def _report_done(turn: Turn, row: PathwayStep) -> None:
    """The owner says a step is done: ask the number when the permit has one, else record it."""
    if _number_spec(turn, row):
        turn.data["report_step_id"] = row.id
        turn.goto("number")
        return
    pathway.set_status(row, "selesai", turn.now, "owner", turn.session, turn.content)
    turn.say("legality.step_done", step=short_step_name(turn, row.step))
    turn.data.pop("step_id", None)
    turn.goto("next", remember=False)


def ask_number(turn: Turn) -> None:
    row = turn.session.get(PathwayStep, turn.data["report_step_id"])
    spec = _number_spec(turn, row) or {}
    turn.say("legality.ask_number", options=_options(turn, "skip_number"), step=short_step_name(turn, row.step),
             format=lang_text(spec.get("format"), turn.lang))


def handle_number(turn: Turn):
    row = turn.session.get(PathwayStep, turn.data.get("report_step_id"))
    if row is None:
        return NOT_UNDERSTOOD
    if turn.choose(_options(turn, "skip_number")) is not None:
        pathway.set_status(row, "selesai", turn.now, "owner", turn.session, turn.content)
        words = legality_rules.step(turn.content, row.step).get("words") or [row.step]
        turn.say("legality.number_skipped", step=short_step_name(turn, row.step), word=str(words[0]).upper())
        turn.data.pop("report_step_id", None)
        turn.data.pop("step_id", None)
        turn.goto("next", remember=False)
        return None
    report = numbers.parse_report(turn.text, turn.content)
    if report.raw_number is None:
        return NOT_UNDERSTOOD
    record_number(turn, row, report)
    return None


def record_number(turn: Turn, row: PathwayStep, report: numbers.Report) -> bool:
    """Check the number for this step's permit and record it; say a kind correction if it is off.
    True when recorded (and the next step was shown)."""
    today = pathway.today(turn.now)
    kind = row.permit_kind or ""
    check = numbers.check_number(kind, report.raw_number, turn.content, report.prefix, today, report.as_typed)
    if not check.ok:
        say_number_problem(turn, row.step, check)
        # Wait for the corrected number (the problem was just said, so no prompt).
        _enter(turn)
        turn.data["report_step_id"] = row.id
        turn.state.step = "number"
        return False
    pathway.record_permit(row, check, turn.content, report.issued_on, turn.now, session=turn.session)
    product = turn.session.get(LegalityProduct, row.product_id) if row.product_id else None
    expired = pathway.is_expired(row, today)
    text = turn.t("legality.permit_recorded_expired" if expired else "legality.permit_recorded",
                  step=short_step_name(turn, row.step), product=product.name if product else "",
                  number=check.canonical)
    if row.expires_on and not expired:  # an expired permit: the next step says so and what to do
        text += " " + turn.t("legality.permit_expiry", date=plain.owner_date(row.expires_on), year=row.expires_on.year,
                             remind=pathway.renewal_reminded(row, turn.content, today))
    send(turn, text)
    _enter(turn)
    turn.data.pop("report_step_id", None)
    turn.data.pop("step_id", None)
    turn.goto("next", remember=False)
    return True


def say_number_problem(turn: Turn, step_key: str, check: numbers.NumberCheck) -> None:
    """A kind correction: what is wrong with the number, kindly, and what it probably is."""
    name = short_step_name(turn, step_key)
    spec = legality_rules.step(turn.content, step_key).get("number") or {}
    fmt = lang_text(spec.get("format"), turn.lang)
    if check.suggested_kind:
        kinds = legality_rules.permit_kinds(turn.content)
        other_step = kinds[check.suggested_kind]["steps"][0]
        other_spec = kinds[check.suggested_kind]["number"] or {}
        shown = f"{other_spec.get('prefix', '')}{check.digits}"
        word = str((kinds[check.suggested_kind]["words"] or [check.suggested_kind])[0]).upper()
        turn.say("legality.number_other_kind", other=short_step_name(turn, other_step), step=name,
                 other_word=word, number=shown)
    elif check.problem == "wrong_prefix":
        turn.say("legality.number_wrong_prefix", step=name, expected=check.expected_prefix, got=check.prefix)
    elif check.problem == "bad_year":
        turn.say("legality.number_bad_year", year=check.expiry_year)
    elif check.problem == "wrong_length":
        turn.say("legality.number_wrong_length", step=name, format=fmt, got=check.got_digits)
    else:
        turn.say("legality.number_missing", step=name, format=fmt)


def _open_steps(turn: Turn) -> list[PathwayStep]:
    return [r for r in pathway.steps_of(turn.session, turn.owner) if r.status != "selesai"]


def _step_option(turn: Turn, row: PathwayStep) -> Option:
    product = turn.session.get(LegalityProduct, row.product_id) if row.product_id else None
    label = short_step_name(turn, row.step) + (f" ({product.name})" if product else "")
    return Option(str(row.id), label, tuple(legality_rules.step(turn.content, row.step).get("words") or []))


def ask_pick_step(turn: Turn) -> None:
    rows = _open_steps(turn)
    if not rows:
        turn.data.pop("rejecting", None)
        if pathway.next_step(turn.session, turn.owner, turn.content).state == "done":
            turn.say("legality.nothing_to_report")  # only true when every product's route is known
        turn.goto("next", remember=False)
        return
    key = "legality.which_step_rejected" if turn.data.get("rejecting") else "legality.report_which_permit"
    turn.say(key, options=[_step_option(turn, r) for r in rows])


def handle_pick_step(turn: Turn):
    options = [_step_option(turn, r) for r in _open_steps(turn)]
    choice = turn.choose(options)
    if choice is None:
        return NOT_UNDERSTOOD
    row = turn.session.get(PathwayStep, int(choice.key))
    if turn.data.pop("rejecting", False):
        turn.data["report_step_id"] = row.id
        turn.goto("reject_reason")
    else:
        _report_done(turn, row)
    return None


def _report_product_options(turn: Turn) -> list[Option]:
    rows = [turn.session.get(PathwayStep, i) for i in turn.data.get("choices") or []]
    return [_step_option(turn, r) for r in rows if r is not None]


def ask_report_product(turn: Turn) -> None:
    turn.say("legality.report_which_product", options=_report_product_options(turn))


def handle_report_product(turn: Turn):
    choice = turn.choose(_report_product_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    row = turn.session.get(PathwayStep, int(choice.key))
    pending = turn.data.pop("pending", None) or {}
    turn.data.pop("choices", None)
    if pending.get("number"):
        record_number(turn, row, numbers.Report(kind=row.permit_kind, raw_number=pending["number"],
                                                 prefix=pending.get("prefix", ""), as_typed=pending.get("as_typed", "")))
    else:
        _report_done(turn, row)
    return None


def ask_report_product_name(turn: Turn) -> None:
    pending = turn.data.get("pending") or {}
    kinds = legality_rules.permit_kinds(turn.content)
    step_key = kinds.get(pending.get("kind"), {}).get("steps", [""])[0]
    turn.say("legality.report_not_on_path", step=short_step_name(turn, step_key))


def handle_report_product_name(turn: Turn):
    if not re.search(r"[^\W\d_]", turn.text) or turn.looks_like_question():
        return NOT_UNDERSTOOD  # "berapa biaya halal" is a question, not a product's name
    pending = turn.data.get("pending")
    turn.data["queue"] = []
    groups = classify.find_products(turn.text, turn.content)
    if not groups or len({m.key for m in groups[0]}) > 1:
        _classify_words(turn, turn.text)
        return None
    begin_classification(turn, turn.text, groups[0][0].key, classify.modifier_facts(turn.text, turn.content),
                         pending=pending)
    return None


def _apply_pending_report(turn: Turn, pending: dict, name: str, decision: classify.Decision) -> None:
    kind = pending.get("kind")
    rows = [r for r in pathway.steps_for_kind(turn.session, turn.owner, kind)
            if r.product_id is None or (r.product and r.product.name == name)]
    if not rows:
        summary = route_summary(turn, decision.route)
        kinds = legality_rules.permit_kinds(turn.content)
        turn.say("legality.report_kind_mismatch", product=name, summary=summary,
                 step=short_step_name(turn, kinds[kind]["steps"][0]))
        request_mentor(turn, f"permit_mismatch:{kind}",
                       f"Owner reports a {kind} permit for '{name}', but its route is {decision.route}.",
                       context={"product": name, "kind": kind, "number": pending.get("number")})
        return
    if pending.get("rejected"):
        _reject_pending(turn, rows[0], pending)
        return
    record_number(turn, rows[0], numbers.Report(kind=kind, raw_number=pending.get("number"),
                                                 prefix=pending.get("prefix", ""), as_typed=pending.get("as_typed", "")))


# --- steps: rejected ------------------------------------------------------------------------------
_REASON_AFTER = re.compile(r"\b(?:karena|karna|krn|soalnya|alasan(?:nya)?|because)\b[\s:,-]*(.+)$", re.I | re.S)


def _inline_reason(text: str) -> str:
    """The reason typed with the report: "pirt saya ditolak karena label belum lengkap" -> "label belum lengkap"."""
    found = _REASON_AFTER.search(text or "")
    reason = " ".join(found.group(1).split()) if found else ""
    return reason if re.search(r"[^\W\d_]{2,}", reason) else ""


def _rejected_off_path(turn: Turn, kind: str) -> bool:
    """A rejection of a permit that is not on the pathway yet (e.g. P-IRT before the product was
    classified): put the permit's step on the pathway first, then record the reason."""
    kinds = legality_rules.permit_kinds(turn.content)
    step_key = kinds[kind]["steps"][0]
    pending = {"kind": kind, "rejected": True, "reason": _inline_reason(turn.text)}
    if legality_rules.step(turn.content, step_key).get("scope") == "owner":
        row = pathway.ensure_owner_step(turn.session, turn.owner, step_key, turn.content, turn.now)
        _reject_pending(turn, row, pending)
        return True
    unclassified = pathway.unclassified_products(turn.session, turn.owner)
    if len(unclassified) == 1:
        groups = classify.find_products(unclassified[0], turn.content)
        if groups and len({m.key for m in groups[0]}) == 1:
            turn.data["queue"] = []
            begin_classification(turn, unclassified[0], groups[0][0].key,
                                 classify.modifier_facts(unclassified[0], turn.content), pending=pending)
            return True
    turn.data["pending"] = pending
    turn.goto("report_product_name", remember=False)
    return True


def _reject_pending(turn: Turn, row: PathwayStep, pending: dict) -> None:
    if pending.get("reason"):
        record_rejection(turn, row, pending["reason"])
        return
    turn.data["report_step_id"] = row.id
    turn.goto("reject_reason", remember=False)


def ask_reject_reason(turn: Turn) -> None:
    row = turn.session.get(PathwayStep, turn.data["report_step_id"])
    turn.say("legality.ask_reject_reason", step=short_step_name(turn, row.step))


def handle_reject_reason(turn: Turn):
    row = turn.session.get(PathwayStep, turn.data.get("report_step_id"))
    if row is None:
        return NOT_UNDERSTOOD
    reason = " ".join(turn.text.split())
    if len(reason) < 3 or not re.search(r"[^\W\d_]{2,}", reason):
        turn.say("legality.reject_reason_invalid")
        return None
    record_rejection(turn, row, reason)
    return None


def record_rejection(turn: Turn, row: PathwayStep, reason: str) -> None:
    """Record the rejection and open (or add to) the mentor case for this step."""
    pathway.reject(row, reason, turn.now, turn.session, turn.content)
    product = turn.session.get(LegalityProduct, row.product_id) if row.product_id else None
    turn.say("legality.rejected_recorded", step=short_step_name(turn, row.step), reason=reason[:200])
    ticket = request_mentor(
        turn, f"permit_rejected:{row.permit_kind or row.step}", f"{row.step} rejected: {reason}", priority=1,
        context={"step": row.step, "permit_kind": row.permit_kind, "product": product.name if product else None,
                 "rejection_reason": reason},
    )
    row.ticket_id = ticket.id
    turn.end_flow()


# --- entering -------------------------------------------------------------------------------------
def start(turn: Turn) -> None:
    if turn.owner.consent_at is None:
        turn.start_flow("registration")
        return
    owner = turn.owner
    pathway.seed_from_registration(turn.session, owner, turn.content, turn.now)  # permits may have changed
    known = {p.name.lower() for p in pathway.products_of(turn.session, owner)}
    registered = [p for p in (owner.products or []) if p and p.strip().lower() not in known]
    if registered:
        turn.say("legality.checking_products", products=", ".join(registered))
        turn.data["queue"] = registered
        _after_product(turn)
        return
    if not known and not pathway.steps_of(turn.session, owner):
        turn.goto("product", remember=False)
        return
    if _has_phrase(turn, NEXT_WORDS):
        turn.goto("next", remember=False)
    else:
        turn.goto("overview", remember=False)


def _reports_first(handle):
    """A progress report ("sudah dapat NIB ...") typed at any step of this flow is taken as one.
    Handled here rather than left to the recognizer, so the pipeline does not re-ask the step the
    report has just moved on from."""
    def wrapped(turn: Turn):
        if _is_other_report(turn) and permit_progress(turn):
            return None
        return handle(turn)

    wrapped.__name__ = handle.__name__
    wrapped.__doc__ = handle.__doc__
    return wrapped


FLOW = Flow(
    name="legality",
    steps={
        "product": Step(prompt=ask_product, handle=_reports_first(handle_product)),
        "pick_product": Step(prompt=ask_pick_product, handle=_reports_first(handle_pick_product)),
        "question": Step(prompt=ask_question, handle=_reports_first(handle_question)),
        "outside": Step(prompt=ask_outside, handle=_reports_first(handle_outside)),
        "overview": Step(prompt=ask_overview, handle=_reports_first(handle_overview)),
        "next": Step(prompt=ask_next, handle=handle_next),
        "number": Step(prompt=ask_number, handle=handle_number),
        "pick_step": Step(prompt=ask_pick_step, handle=_reports_first(handle_pick_step)),
        "report_product": Step(prompt=ask_report_product, handle=_reports_first(handle_report_product)),
        "report_product_name": Step(prompt=ask_report_product_name, handle=_reports_first(handle_report_product_name)),
        "reject_reason": Step(prompt=ask_reject_reason, handle=_reports_first(handle_reject_reason)),
    },
    start=start,
    requires_consent=False,
    description="Permits per product, in order, tracked to the end.",
)


# --- free text: "sudah dapat NIB ...", "pirt saya ditolak", "sedang urus pkp" ---------------------

# The `permit_report` row of bot/nlu/rules.py calls this.
def reported_done(turn: Turn) -> str | None:
    """The permit kind a message reports done ("udah tadi pagi nib nya jadi"), or None: a question,
    a rejection, work under way, or no permit named."""
    return numbers.parse_report(turn.text, turn.content).kind if _says_done(turn) else None


def _says_done(turn: Turn) -> bool:
    """Done words, and no question, rejection, work under way or "not yet"."""
    if _has_phrase(turn, REJECT_WORDS) or turn.looks_like_question():
        return False
    if not (_has_phrase(turn, DONE_WORDS) or _done_apart(turn)):
        return False
    return not (_has_phrase(turn, vocabulary(turn.content).report_not_done) or _has_phrase(turn, PROGRESS_WORDS))


def reported_done_kinds(turn: Turn) -> list[str]:
    """The permit kinds a message reports done together ("sy sdh punya NIB dan P-IRT"), when it
    names two or more and no number; else []."""
    kinds = numbers.find_kinds(turn.text, turn.content)
    if len(kinds) < 2 or numbers.parse_report(turn.text, turn.content).raw_number or not _says_done(turn):
        return []
    return kinds


def _rows_for_kind(turn: Turn, kind: str) -> list[PathwayStep]:
    """The owner's steps ending in this permit; a business-level one (the NIB) is made if missing."""
    step_keys = legality_rules.permit_kinds(turn.content)[kind]["steps"]
    rows = pathway.steps_for_kind(turn.session, turn.owner, kind)
    if not rows and legality_rules.step(turn.content, step_keys[0]).get("scope") == "owner":
        rows = [pathway.ensure_owner_step(turn.session, turn.owner, step_keys[0], turn.content, turn.now)]
    return rows


def several_permits_done(turn: Turn) -> bool:
    """"Sudah punya NIB dan P-IRT": each permit is recorded done where the pathway says which step it
    is (the NIB is the business's own; a product permit when one product is on the pathway for it);
    for a permit of several products, or of none yet, the owner is asked to name the product."""
    kinds = reported_done_kinds(turn)
    if not kinds or turn.state.flow == "registration":
        return False  # registering: its own permits question takes them (flows/registration.py)
    if turn.owner.consent_at is None:
        turn.say("legality.need_consent")
        return True
    permit_kinds = legality_rules.permit_kinds(turn.content)
    done, unsure = [], []
    for kind in kinds:
        step_keys = permit_kinds.get(kind, {}).get("steps") or []
        if not step_keys:
            continue
        rows = _rows_for_kind(turn, kind)
        unfinished = [r for r in rows if r.status != "selesai"]
        if not rows or len({r.product_id for r in unfinished}) > 1:
            unsure.append((kind, rows, unfinished))
            continue
        for row in unfinished:
            pathway.set_status(row, "selesai", turn.now, "owner", turn.session, turn.content)
        done.append(short_step_name(turn, step_keys[0]))
    if not done and not unsure:
        return False
    _enter(turn)
    joined = turn.t("legality.and_join")
    if done:
        turn.say("legality.several_done", steps=joined.join(done))
    turn.data.pop("step_id", None)
    if not unsure:
        turn.goto("next", remember=False)
        return True
    # The first permit whose product is not known goes the way a report of it alone goes: which
    # product it is for; any others are named, to send the same way after.
    (kind, rows, unfinished), rest = unsure[0], unsure[1:]
    if rest:
        turn.say("legality.several_which_product",
                 steps=joined.join(short_step_name(turn, (permit_kinds[k].get("steps") or [k])[0]) for k, _r, _u in rest))
    turn.data["pending"] = {"kind": kind, "number": None, "prefix": "", "as_typed": ""}
    if rows:
        turn.data["choices"] = [r.id for r in unfinished]
        turn.goto("report_product", remember=False)
    else:
        turn.goto("report_product_name", remember=False)
    return True


def permit_progress(turn: Turn) -> bool:
    """Progress reports typed anywhere. A number or a report word plus a permit name is needed."""
    rejected = _has_phrase(turn, REJECT_WORDS)
    done = _has_phrase(turn, DONE_WORDS) or _done_apart(turn)
    progress = _has_phrase(turn, PROGRESS_WORDS)
    if done and _has_phrase(turn, vocabulary(turn.content).report_not_done):
        done, progress = False, True  # "sudah daftar pirt tapi belum dapat nomor": under way
    report = numbers.parse_report(turn.text, turn.content)
    if not (rejected or done or progress or (report.raw_number and report.kind)):
        return False
    if not report.raw_number and set(turn.norm.split()) & vocabulary(turn.content).forgot:
        return False  # "udh pny nib, cm lupa nomernya": how to find the number (the FAQ), no report
    if report.kind is None and not (rejected and turn.owner.consent_at is not None):
        return False
    if turn.looks_like_question() and not report.raw_number:
        return False  # "kalau sudah dapat nib terus apa?" is a question, not a report
    if turn.owner.consent_at is None:
        turn.say("legality.need_consent")
        return True
    if rejected:
        rows = pathway.steps_for_kind(turn.session, turn.owner, report.kind) if report.kind else []
        _enter(turn)
        if report.kind and not rows:
            return _rejected_off_path(turn, report.kind)
        inline = _inline_reason(turn.text)
        if inline and rows and (len(rows) == 1 or rows[0].status != "selesai"):
            record_rejection(turn, rows[0], inline)  # "pirt ditolak karena label kurang": no need to ask
            return True
        if len(rows) == 1 or (rows and rows[0].status != "selesai"):
            turn.data["report_step_id"] = rows[0].id
            turn.goto("reject_reason", remember=False)
        else:
            turn.data["rejecting"] = True
            turn.goto("pick_step", remember=False)
        return True
    step_keys = legality_rules.permit_kinds(turn.content)[report.kind]["steps"]
    rows = _rows_for_kind(turn, report.kind)
    if progress and not done and not report.raw_number:
        if not rows:
            return False
        pathway.set_status(rows[0], "sedang", turn.now, "owner", turn.session, turn.content)
        turn.say("legality.marked_in_progress", step=short_step_name(turn, rows[0].step))
        return True
    if report.raw_number:
        # Check the number before anything else: a wrong kind is corrected at once.
        check = numbers.check_number(report.kind, report.raw_number, turn.content, report.prefix,
                                     pathway.today(turn.now), report.as_typed)
        if not check.ok:
            say_number_problem(turn, step_keys[0], check)
            return True
    pending = {"kind": report.kind, "number": report.raw_number, "prefix": report.prefix,
               "as_typed": report.as_typed}
    _enter(turn)
    unfinished = [r for r in rows if r.status != "selesai" or not r.number]
    if not rows:
        turn.data["pending"] = pending
        turn.goto("report_product_name", remember=False)
        return True
    if len(unfinished) > 1 and len({r.product_id for r in unfinished}) > 1:
        turn.data["pending"] = pending
        turn.data["choices"] = [r.id for r in unfinished]
        turn.goto("report_product", remember=False)
        return True
    row = (unfinished or rows)[0]
    if report.raw_number:
        record_number(turn, row, report)
    else:
        _report_done(turn, row)
    return True


# --- what a mentor sees in a new case ----------------------------------------------------------------
@case_context
def legality_pathway_context(session, owner) -> dict:
    """Every case carries the owner's pathway at a glance, one line per product, in the flat
    {name: text} shape the mentor's case card and the staff page show (bot/handoff):
    {"pathway": {"Usaha (semua produk)": "NIB: selesai", "keripik": "Label: selesai · P-IRT: ditolak (label kurang)"}}.
    A registered owner who never opened the pathway gets a line saying so. Written in Indonesian,
    the mentors' working language; the case keeps it as it was when opened."""
    rows = pathway.steps_of(session, owner)
    if not rows and owner.consent_at is None:
        return {}
    content = get_content()
    lang = "id"
    business = content.t("legality.case_business", lang)
    if not rows:  # registered, but the pathway was never opened: the mentor should know that too
        return {"pathway": {business: content.t("legality.case_not_started", lang)}}
    names = {p.id: p.name for p in pathway.products_of(session, owner)}
    lines: dict[str, list[str]] = {}
    for row in rows:
        where = names.get(row.product_id, business) if row.product_id else business
        name = str(lang_text(legality_rules.step(content, row.step).get("name"), lang) or row.step).split(" (")[0]
        detail = [content.t(f"legality.status_{row.status}", lang)]
        if row.number:
            detail.append(row.number)
        if pathway.is_expired(row):
            detail.append(content.t("legality.expired_on", lang, date=plain.owner_date(row.expires_on)))
        elif row.status == "selesai" and row.expires_on:
            detail.append(content.t("legality.valid_until", lang, date=plain.owner_date(row.expires_on)))
        text = f"{name}: {', '.join(detail)}"
        if row.status == "ditolak" and row.rejection_reason:
            text += f" ({row.rejection_reason[:80]})"
        lines.setdefault(where, []).append(text)
    return {"pathway": {where: " · ".join(parts) for where, parts in lines.items()}}


# --- content checks --------------------------------------------------------------------------------
@content_check
def legality_facts_have_sources(content) -> list[str]:
    """Every legality fact (step, rule set, FAQ answer, glossary word) has sources and last_reviewed."""
    return legality_rules.check_legality_content(content)
