"""The mentor-facing chat: what a JakOfficer types to the same bot, and what it answers.

A message from an address in the mentor roster comes here instead of the owner dialogue.
Commands start with a slash (words from content/handoff/commands.yaml; Indonesian first,
English accepted); the case number may be left out to mean the mentor's current case:

    /kasus                    open cases offered to me, and the ones I hold
    /lihat 12                 details of case 12, which becomes my current case
    /ambil 12                 take case 12 (exactly one mentor can)
    /balas 12 teks            send text to the owner (plain text without a slash does the same
                              for the current case)
    /catat 12 teks            private note on the case, never shown to the owner
    /pindah 12 JO-0007 teks   give the case to another mentor, with a note for them
    /selesai 12 catatan       resolve with a short note; the owner is asked for a 1-5 rating
    /bantuan                  this list

Example:
    Mentor: /ambil 12
    Bot:    Kasus #12 sekarang Anda pegang. Pesan biasa (tanpa /) langsung dikirim ke Sari.
    Mentor: Halo Bu Sari, saya Budi. Boleh kirim foto labelnya?
    Bot:    ✓ terkirim ke Sari (#12)
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import casetools
from bot.clock import local, utcnow
from bot.content import Content
from bot.handoff import actions, decisions, delivery
from bot.handoff.actions import Refused
from bot.handoff.reasons import held_permits
from bot.handoff.roster import mentor_by_code
from bot.handoff.routing import case_summary, command_label, display_name
from bot.handoff.workhours import WorkingCalendar
from bot.messages import Reply
from storage.models import MessageLog, Owner, Ticket, TicketEvent
from storage.models.handoff import CaseOffer, Mentor

LIST_LIMIT = 10
TAKE_BUTTONS = 3
LAST_MESSAGES = 8
_CASE_ID = re.compile(r"^#?(\d{1,9})$")


class MentorChat:
    def __init__(self, session: Session, content: Content, mentor: Mentor, now: datetime | None = None):
        self.session = session
        self.content = content
        self.mentor = mentor
        self.now = now or utcnow()
        self.replies: list[Reply] = []
        commands = content.data("handoff/commands.yaml")["commands"]
        self.commands = {word.lower(): name for name, words in commands.items() for word in words}

    # --- entry ----------------------------------------------------------------------------------
    def handle(self, text: str, media: list[dict] | None = None) -> list[Reply]:
        text = (text or "").strip()
        try:
            if text.startswith("/"):
                head, _, rest = text[1:].partition(" ")
                command = self.commands.get(head.split("@", 1)[0].lower())
                if command is None:
                    self.say("handoff.mentor_unknown_command", command=head)
                    self.help()
                else:
                    getattr(self, f"cmd_{command}")(rest.strip())
            else:
                if text or not media:
                    self.plain(text)
                if media:  # the outbox carries text only: say so rather than drop it silently
                    self.say("handoff.mentor_media_unsupported")
        except Refused as refused:
            self.say(refused.key, **refused.variables)
        return self.replies

    # --- saying ---------------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.mentor.lang or "id"

    def t(self, key: str, **variables) -> str:
        return self.content.t(key, self.lang, **variables)

    def say(self, key: str, options: list[str] | None = None, **variables) -> None:
        self.replies.append(Reply(text=self.t(key, **variables), options=list(options or [])))

    def label(self, command: str, ticket_id: int) -> str:
        return command_label(self.content, command, ticket_id, self.lang)

    # --- finding the case -----------------------------------------------------------------------
    def _held(self, ticket_id: int) -> Ticket | None:
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is not None and ticket.status == "taken" and ticket.mentor_id == self.mentor.id:
            return ticket
        return None

    def current(self) -> Ticket:
        ticket = self._held(self.mentor.current_ticket_id) if self.mentor.current_ticket_id else None
        if ticket is None:
            raise Refused("handoff.mentor_no_current")
        return ticket

    def case_and_rest(self, rest: str, held_only: bool = True) -> tuple[Ticket, str]:
        """`rest` may start with a case number ("#12" always). A bare number counts when it names a
        case the mentor holds, or one they may see when they have no current case (or held_only is
        False), so "2 kg gula" typed to the current case stays text."""
        first, _, remainder = rest.partition(" ")
        match = _CASE_ID.match(first)
        if match:
            ticket_id = int(match.group(1))
            if first.startswith("#"):
                ticket = actions.get_case(self.session, ticket_id)
                if not actions.may_see(self.session, ticket, self.mentor):
                    raise Refused("handoff.not_offered", case_id=ticket_id)
                return ticket, remainder.strip()
            ticket = self._held(ticket_id)
            candidate = self.session.get(Ticket, ticket_id) if ticket is None else None
            visible = candidate is not None and actions.may_see(self.session, candidate, self.mentor)
            if ticket is None and visible and (not held_only or not self._has_current()):
                ticket = candidate  # the action itself says why it cannot be done, if it cannot
            if ticket is not None:
                return ticket, remainder.strip()
        return self.current(), rest.strip()

    def _has_current(self) -> bool:
        return bool(self.mentor.current_ticket_id and self._held(self.mentor.current_ticket_id))

    # --- commands -------------------------------------------------------------------------------
    def cmd_help(self, _rest: str = "") -> None:
        self.help()

    def help(self) -> None:
        self.say("handoff.mentor_help", name=self.mentor.first_name)

    def cmd_list(self, _rest: str = "") -> None:
        mine = self.session.scalars(
            select(Ticket).where(Ticket.status == "taken", Ticket.mentor_id == self.mentor.id)
            .order_by(Ticket.priority, Ticket.id).limit(LIST_LIMIT)
        ).all()
        waiting_query = select(Ticket).where(Ticket.status == "open")
        if not self.mentor.is_supervisor:
            offered = select(CaseOffer.ticket_id).where(CaseOffer.mentor_id == self.mentor.id)
            waiting_query = waiting_query.where(Ticket.id.in_(offered))
        waiting = self.session.scalars(waiting_query.order_by(Ticket.priority, Ticket.id).limit(LIST_LIMIT)).all()
        if not mine and not waiting:
            self.say("handoff.mentor_list_empty")
            return
        calendar = WorkingCalendar.from_content(self.content)
        lines = []
        if waiting:
            lines.append(self.t("handoff.mentor_list_waiting"))
            for ticket in waiting:
                owner = self.session.get(Owner, ticket.owner_id)
                lines.append(self.t("handoff.mentor_list_line",
                                    hours=int(calendar.working_hours_between(ticket.created_at, self.now)),
                                    **case_summary(self.content, ticket, owner, self.lang)))
        if mine:
            lines.append(self.t("handoff.mentor_list_mine"))
            for ticket in mine:
                owner = self.session.get(Owner, ticket.owner_id)
                lines.append(self.t("handoff.mentor_list_line_mine",
                                    **case_summary(self.content, ticket, owner, self.lang)))
        lines.append(self.t("handoff.mentor_list_hint"))
        options = [self.label("take", t.id) for t in waiting[:TAKE_BUTTONS]]
        self.replies.append(Reply(text="\n".join(lines), options=options))

    def cmd_show(self, rest: str) -> None:
        ticket_id = self._id_or_current(rest)
        ticket = actions.get_case(self.session, ticket_id)
        if not actions.may_see(self.session, ticket, self.mentor):
            raise Refused("handoff.not_offered", case_id=ticket_id)
        if ticket.status == "taken" and ticket.mentor_id == self.mentor.id:
            self.mentor.current_ticket_id = ticket.id
        self.replies.append(Reply(text=self.case_card(ticket), options=self._card_options(ticket)))

    def cmd_take(self, rest: str) -> None:
        first = rest.split(" ", 1)[0]
        match = _CASE_ID.match(first)
        if not match:
            raise Refused("handoff.mentor_need_case_id", example=self.label("take", 12))
        ticket = actions.take_case(self.session, self.content, int(match.group(1)), self.mentor, self.now)
        owner = self.session.get(Owner, ticket.owner_id)
        self.say("handoff.mentor_taken", **case_summary(self.content, ticket, owner, self.lang))
        self.replies.append(Reply(text=self.case_card(ticket), options=[self.label("list", ticket.id).split(" ")[0]]))

    def cmd_reply(self, rest: str) -> None:
        ticket, text = self.case_and_rest(rest)
        self._send_reply(ticket, text)

    def plain(self, text: str) -> None:
        if not text:
            self.help()
            return
        self._send_reply(self.current(), text)

    def _send_reply(self, ticket: Ticket, text: str) -> None:
        owner = actions.reply_to_owner(self.session, self.content, ticket, self.mentor, text, self.now)
        self.say_delivery(ticket, owner, "handoff.mentor_sent")

    def say_delivery(self, ticket: Ticket, owner: Owner, sent_key: str, **variables) -> None:
        """What happened to the message just written to the owner, truthfully: sent, sent as the
        WhatsApp template, or held until the owner writes again (and why)."""
        how = delivery.outlook(self.content, owner, self.now, session=self.session)
        names = {"case_id": ticket.id, "owner_name": display_name(self.content, owner, self.lang)}
        if how == delivery.SENT:
            self.say(sent_key, **names, **variables)
        elif how == delivery.TEMPLATE:
            self.say(f"{sent_key}_template", **names, last=delivery.last_written(owner), **variables)
        else:
            self.say(f"{sent_key}_held", **names, last=delivery.last_written(owner), **variables)

    def cmd_note(self, rest: str) -> None:
        ticket, text = self.case_and_rest(rest, held_only=False)
        actions.add_note(self.session, ticket, self.mentor, text, self.now)
        self.say("handoff.mentor_noted", case_id=ticket.id)

    def cmd_transfer(self, rest: str) -> None:
        ticket, remainder = self.case_and_rest(rest, held_only=not self.mentor.is_supervisor)
        code, _, note = remainder.partition(" ")
        if not code:
            raise Refused("handoff.transfer_unknown")
        target = mentor_by_code(self.session, code)
        target = actions.transfer_case(self.session, self.content, ticket, self.mentor, target, note, self.now)
        self.say("handoff.mentor_transferred", case_id=ticket.id, name=target.name, code=target.code)

    def cmd_resolve(self, rest: str) -> None:
        ticket, note = self.case_and_rest(rest, held_only=not self.mentor.is_supervisor)
        route, halal, note = decisions.parse(self.content, note)
        if route is not None:
            note = note or self.t("handoff.route_note", route=decisions.route_summary(self.content, route, self.lang))
        owner = actions.resolve_case(self.session, self.content, ticket, self.mentor, note, self.now)
        if route is not None:
            product = decisions.record(self.session, self.content, ticket, owner, self.mentor, route, halal, self.now)
            if product is None:
                self.say("handoff.route_no_product", case_id=ticket.id)
            else:
                self.say("handoff.route_recorded", product=product.name,
                         route=decisions.route_summary(self.content, route, self.lang))
        self.say_delivery(ticket, owner, "handoff.mentor_resolved")

    def cmd_template(self, rest: str) -> None:
        """/templat lists the canned replies; /templat N (or /templat #12 N) sends number N."""
        replies = casetools.canned_replies(self.session, self.content)
        if not rest.strip():
            if not replies:
                self.say("casetools.canned_none")
                return
            items = "\n".join(f"{i}. {r.title_in(self.lang)}" for i, r in enumerate(replies, 1))
            self.say("casetools.canned_list", items=items)
            return
        # "/templat 2" sends reply 2 to the current case; "/templat #12 2" names the case.
        ticket, number = self.case_and_rest(rest) if rest.startswith("#") else (self.current(), rest.strip())
        if not number.isdecimal() or not 1 <= int(number) <= len(replies):
            raise Refused("casetools.canned_unknown", number=number or "?")
        owner = self.session.get(Owner, ticket.owner_id)
        lang = owner.lang or "id"
        variables = casetools.variables_for(self.session, self.content, ticket, self.mentor.name, lang)
        text = casetools.render_canned(replies[int(number) - 1], variables, lang)
        self.cmd_reply(f"#{ticket.id} {text}")

    def cmd_label(self, rest: str) -> None:
        """/label 12 lists a case's labels; /label 12 halal adds or removes one."""
        ticket, word = self.case_and_rest(rest, held_only=False)
        names = casetools.label_names(self.content, self.lang)
        choices = ", ".join(names)
        if not word:
            current = ", ".join(names.get(x, x) for x in casetools.labels_of(self.session, [ticket.id])[ticket.id])
            self.say("casetools.label_list", case_id=ticket.id, current=current or self.t("casetools.none"),
                     choices=choices)
            return
        label = casetools.find_label(self.content, word)
        if label is None:
            raise Refused("casetools.label_unknown", word=word, choices=choices)
        on = casetools.toggle_label(self.session, self.content, ticket.id, label, f"mentor:{self.mentor.id}")
        self.say("casetools.label_on" if on else "casetools.label_off", label=names[label], case_id=ticket.id)

    # --- helpers --------------------------------------------------------------------------------
    def _id_or_current(self, rest: str) -> int:
        match = _CASE_ID.match(rest.split(" ", 1)[0]) if rest else None
        if match:
            return int(match.group(1))
        return self.current().id

    def _card_options(self, ticket: Ticket) -> list[str]:
        if ticket.status == "open":
            return [self.label("take", ticket.id)]
        return []

    def case_card(self, ticket: Ticket) -> str:
        """Everything a mentor needs about one case, as one message."""
        owner = self.session.get(Owner, ticket.owner_id)
        context = ticket.context or {}
        messages = self.session.scalars(
            select(MessageLog).where(MessageLog.owner_id == owner.id)
            .order_by(MessageLog.id.desc()).limit(LAST_MESSAGES)
        ).all()
        notes = self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                      or_(TicketEvent.action == "note", TicketEvent.action == "transferred"))
            .order_by(TicketEvent.id)
        ).all()
        holder = self.session.get(Mentor, ticket.mentor_id) if ticket.mentor_id else None
        gmp = context.get("gmp") or {}  # the owner's last finished self-check (flows/gmp_check.py)
        return self.content.render(
            "handoff_case", self.lang,
            status=self.t(f"handoff.status_{ticket.status}"),
            holder=holder.name if holder else "-",
            opened=local(ticket.created_at).strftime("%d-%m-%Y %H:%M"),
            permits=", ".join(held_permits(self.session, self.content, owner, self.lang)) or "-",
            products=", ".join(owner.products or []) or "-",
            pathway=context.get("pathway") or {},
            gmp=gmp,
            gmp_checklist=(gmp.get("checklist") or "").replace("_", "-").upper(),
            gmp_date=local(datetime.fromisoformat(gmp["completed_at"])).strftime("%d-%m-%Y") if gmp else "",
            messages=[{"who": self.t("handoff.who_owner") if m.direction == "in" else self.t("handoff.who_bot"),
                       "text": (m.text or "").replace("\n", " ")[:200]} for m in reversed(messages)],
            notes=[{"at": local(n.created_at).strftime("%d-%m %H:%M"), "text": n.note} for n in notes],
            **case_summary(self.content, ticket, owner, self.lang),
        )


def handle_mentor_message(session: Session, content: Content, mentor: Mentor, text: str,
                          media: list[dict] | None = None, now: datetime | None = None) -> list[Reply]:
    return MentorChat(session, content, mentor, now).handle(text, media)
