"""Hard cases reach a human mentor (JakOfficer): roster, routing, SLA, case actions, mentor chat.

- roster.py      the mentor roster and its CSV import
- routing.py     which mentors a new case is offered to
- workhours.py   working hours and public holidays (the SLA clock)
- sla.py         reminders and escalation of waiting cases (periodic job)
- actions.py     take / reply / note / transfer / resolve / rate, each logged as a TicketEvent
- mentor_chat.py the mentor-facing chat commands
- notify.py      messages to others, as outbox rows

The owner side (opening a case, the relay while a mentor holds it, the rating question) is in
bot/cases.py and flows/handoff.py.
"""
