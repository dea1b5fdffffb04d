"""A mentor on Telegram, through the real path: Update JSON (with Telegram's bot_command entities)
-> parse_update -> pipeline -> outbox -> sender -> the real telegram.Bot / twilio Client -> the fakes."""
from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import Ticket, TicketEvent
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401  (fixtures)
from tests.handoff.conftest import make_owner, roster  # noqa: F401

MENTOR_CHAT = 900000001  # Budi Santoso, JO-KJ-FOOD (Kebon Jeruk, food) in the handoff ROSTER
OWNER = "+6281399990001"


def command(harness, text: str, chat_id: int = MENTOR_CHAT, bot_name: str = "") -> dict:
    """What Telegram posts when someone types a command: the entity marks "/word" (and @bot)."""
    word, _, rest = text.partition(" ")
    typed = f"{word}@{bot_name}" + (f" {rest}" if rest else "") if bot_name else text
    length = len(word) + (len(bot_name) + 1 if bot_name else 0)
    return harness.telegram_message(typed, chat_id=chat_id,
                                    entities=[{"type": "bot_command", "offset": 0, "length": length}])


def owner_asks_for_a_mentor(harness):
    make_owner(harness.db, name="Sari Dewi", address=OWNER)
    form = harness.twilio_form("saya mau bicara dengan pendamping", sender=f"whatsapp:{OWNER}")
    assert harness.twilio_post(form).status_code == 200
    harness.send()


def to_mentor(harness) -> list[str]:
    return [m["text"] for m in harness.fake.telegram_messages(str(MENTOR_CHAT))]


def to_owner(harness) -> list[str]:
    return [m.get("Body", "") for m in harness.fake.twilio_messages(f"whatsapp:{OWNER}")]


def test_typed_mentor_commands_work_on_telegram_and_never_reach_the_owner(roster, harness, clock):
    owner_asks_for_a_mentor(harness)
    with harness.db.session() as s:
        case_id = s.scalars(select(Ticket.id)).one()
    before = len(to_owner(harness))

    harness.telegram_post(command(harness, "/kasus"))
    harness.send()
    assert f"#{case_id}" in to_mentor(harness)[-1] and "Menunggu diambil" in to_mentor(harness)[-1]

    harness.telegram_post(command(harness, f"/ambil {case_id}", bot_name="asisten_umkm_bot"))
    harness.send()
    assert any(f"Kasus #{case_id} sekarang Anda pegang" in t for t in to_mentor(harness))

    harness.telegram_post(command(harness, f"/balas {case_id} Halo Bu Sari, boleh kirim foto labelnya?"))
    harness.telegram_post(command(harness, f"/catat {case_id} sudah ditelepon, label belum ada komposisi"))
    harness.telegram_post(command(harness, f"/selesai {case_id} Sudah dijelaskan syarat label"))
    harness.send()

    owner = to_owner(harness)[before:]
    assert any("Budi (pendamping): Halo Bu Sari, boleh kirim foto labelnya?" in t for t in owner)
    assert any("Catatannya: Sudah dijelaskan syarat label" in t for t in owner)
    for word in ("kasus", "ambil", "balas", "catat", "selesai", "ditelepon"):
        assert not any(f"(pendamping): {word}" in t or "ditelepon" in t for t in owner), word
    with harness.db.session() as s:
        ticket = s.get(Ticket, case_id)
        assert ticket.status == "resolved" and ticket.resolution_note == "Sudah dijelaskan syarat label"
        notes = s.scalars(select(TicketEvent.note).where(TicketEvent.action == "note")).all()
        assert notes == ["sudah ditelepon, label belum ada komposisi"]


def test_tapping_the_take_button_takes_the_case(roster, harness, clock):
    owner_asks_for_a_mentor(harness)
    offer = [m for m in harness.fake.telegram_messages(str(MENTOR_CHAT)) if "reply_markup" in m][-1]
    button = json.loads(offer["reply_markup"])["inline_keyboard"][0][0]
    assert button["text"].startswith("/ambil ")
    harness.telegram_post(harness.telegram_callback(button["callback_data"], chat_id=MENTOR_CHAT))
    harness.send()
    assert any("sekarang Anda pegang" in t for t in to_mentor(harness))


def test_owner_commands_still_read_as_plain_words(harness, clock):
    harness.telegram_post(command(harness, "/start", chat_id=70001))
    harness.send()
    assert harness.fake.telegram_messages("70001")  # the owner was greeted (consent first)


def test_commands_are_published_to_telegram_per_mentor_chat(roster, harness, clock):
    import asyncio

    async def publish():
        try:
            return await harness.rt.telegram.publish_commands(harness.db, harness.services.content)
        finally:
            await harness.rt.telegram.close()

    assert asyncio.run(publish()) == 6  # the active mentors and supervisors with a Telegram chat
    calls = harness.fake.calls("telegram", "setMyCommands")
    default = [c.data for c in calls if json.loads(c.data["scope"])["type"] == "default"]
    assert [c["command"] for c in json.loads(default[0]["commands"])] == ["menu", "bantuan"]
    budi = [c.data for c in calls if json.loads(c.data["scope"]).get("chat_id") == MENTOR_CHAT]
    words = [c["command"] for c in json.loads(budi[0]["commands"])]
    assert words[:5] == ["kasus", "ambil", "balas", "catat", "selesai"]
