"""The message budget's packing (bot/turn.py): short messages joined, long ones cut where a
paragraph or line ends, at most two sent, the rest waiting for LANJUT."""
from __future__ import annotations

from bot.messages import Reply
from bot.turn import MAX_CHARS, _split, pack

HINT = "Ketik LANJUT untuk bagian berikutnya."


def test_two_short_messages_stay_as_they_are():
    said = [Reply("Halo!"), Reply("Apakah Anda setuju?", options=["Setuju", "Tidak setuju"])]
    shown, waiting = pack(said, HINT)
    assert shown == said and waiting == []


def test_three_short_messages_become_two_and_options_stay_last():
    said = [Reply("Jawaban singkat."), Reply("Kita lanjutkan yang tadi ya:"), Reply("Siapa nama Anda?", options=["x"])]
    shown, waiting = pack(said, HINT)
    assert [r.text for r in shown] == ["Jawaban singkat.\n\nKita lanjutkan yang tadi ya:\n\nSiapa nama Anda?"]
    assert shown[0].options == ["x"] and waiting == []


def test_a_long_message_is_cut_where_a_paragraph_ends():
    text = "\n\n".join(["Paragraf satu " * 12, "Paragraf dua " * 12, "Paragraf tiga " * 12]).strip()
    parts = _split(text, MAX_CHARS)
    assert all(len(p) <= MAX_CHARS for p in parts) and len(parts) >= 2
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_what_does_not_fit_waits_and_the_hint_says_how_to_get_it():
    said = [Reply("q" * 380), Reply("w" * 380), Reply("v" * 380, options=["Selesai"])]  # letters not in HINT
    shown, waiting = pack(said, HINT)
    assert len(shown) == 2 and all(len(r.text) <= MAX_CHARS for r in shown)
    assert shown[-1].text.endswith(HINT)
    assert "".join(r.text for r in waiting).count("v") == 380 and waiting[-1].options == ["Selesai"]
    # the owner loses nothing: every letter is in what was sent or what waits
    sent = "".join(r.text for r in shown + waiting)
    assert sent.count("q") == 380 and sent.count("w") == 380


def test_one_very_long_text_without_breaks_is_still_cut():
    shown, waiting = pack([Reply("kata " * 300)], HINT)
    assert len(shown) == 2 and all(len(r.text) <= MAX_CHARS for r in shown) and waiting
