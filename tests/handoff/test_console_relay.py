"""The console shows what reaches the owner later, as the web chat does: a mentor's relayed answer."""
from __future__ import annotations

import dataclasses
import io

from bot.config import load_settings
from bot.console import run_chat
from bot.services import Services
from tests.handoff.conftest import mentor_says, make_owner, roster  # noqa: F401

BUDI = "900000001"


def test_console_owner_reads_the_mentors_relayed_answer(roster, content, tmp_path, monkeypatch, clock):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = dataclasses.replace(load_settings(), database_url=roster.url, data_dir=tmp_path,
                                   twilio_account_sid="", twilio_auth_token="", telegram_bot_token="")
    services = Services(settings=settings, db=roster, content=content)
    address = make_owner(roster, name="Bu Sumarni")
    out = io.StringIO()
    run_chat(services, address, "whatsapp", None, False, stdin=io.StringIO("saya mau bicara dengan pendamping\n"),
             stdout=out)
    assert "pendamping" in out.getvalue()
    mentor_says(roster, content, BUDI, "/ambil 1")
    mentor_says(roster, content, BUDI, "/balas 1 Halo Bu Sumarni, saya Budi.")
    out = io.StringIO()
    run_chat(services, address, "whatsapp", None, False, stdin=io.StringIO("terima kasih pak\n"), stdout=out)
    shown = out.getvalue()
    assert "Pendamping Budi sudah menerima pertanyaan Anda" in shown
    assert "Budi (pendamping): Halo Bu Sumarni, saya Budi." in shown
    out = io.StringIO()
    run_chat(services, address, "whatsapp", None, False, stdin=io.StringIO(""), stdout=out)
    assert "Budi (pendamping)" not in out.getvalue()  # shown once
