"""Label check: the owner sends a photo of a package label and learns what seems missing.

Entry: "cek label" (content/labels/texts.yaml `entry_phrases`), the menu item, the pointer in the
label step of the legality pathway, or a photo whose caption mentions label/kemasan
(`photo_hook`, also tried by the understanding step's label row: `detect_label_request`).
Steps:  photo (waits for a photo) -> result (1 a mentor checks it / 2 another photo / 3 menu)
The photo is read offline (bot/labels/: Pillow + Tesseract), checked against
content/legality/label_rules.yaml with the owner's own product route and halal certificate, and
kept as a LabelCheck for the mentor's case card. The bot never says a label passes.

    Owner: cek label
    Bot:   Kirim 1 foto label kemasan Anda ...
    Owner: (photo)
    Bot:   Hasil cek label (dibaca mesin, bisa keliru): ✅ Nama produk ... ❌ Berat/isi bersih ...
    Bot:   Langkah berikut: Tulis "Berat bersih" ... 1. Minta pendamping cek 2. Kirim foto lain 3. Menu
    Owner: 1
    Bot:   Baik, pendamping akan memeriksa label Anda ...
"""
from __future__ import annotations

from functools import lru_cache

import logging

from bot import cases
from bot.choices import Option
from bot.labels import ocr
from bot.labels.answer import messages
from bot.labels.service import check_photo, photo_path
from bot.labels.texts import lt, word_list
from bot.normalize import normalize
from bot.turn import Turn
from flows.base import NOT_UNDERSTOOD, Flow, Step

log = logging.getLogger(__name__)

NAME = "labels"
CASE_TOPIC = "label_check"


def _images(turn: Turn) -> list:
    return [m for m in turn.inbound.media
            if m.kind == "image" or (m.content_type or "").lower().startswith("image/")]


def _options(turn: Turn) -> list[Option]:
    return [Option("mentor", lt(turn, "option_mentor"), ("pendamping", "mentor")),
            Option("again", lt(turn, "option_again"), ("foto lagi", "foto lain", "kirim lagi")),
            Option("menu", lt(turn, "option_menu"))]


# --- steps ---------------------------------------------------------------------------------------
def ask_photo(turn: Turn) -> None:
    turn.say_text(lt(turn, "ask_photo"))


def handle_photo(turn: Turn):
    if not _images(turn):
        if turn.inbound.media:
            turn.say_text(lt(turn, "need_photo"))
            return None
        return NOT_UNDERSTOOD
    _check(turn)
    return None


def ask_result(turn: Turn) -> None:
    turn.say_text(lt(turn, "choose"), _options(turn))


def handle_result(turn: Turn):
    if _images(turn):
        _check(turn)
        return None
    choice = turn.choose(_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "again":
        turn.goto("photo")
    elif choice.key == "menu":
        turn.show_menu()
    else:
        _ask_mentor(turn)
    return None


def _check(turn: Turn) -> None:
    """Read the first image of this message and answer with the checklist."""
    media = _images(turn)[0]
    path = photo_path(media.url)
    if path is None:
        turn.say_text(lt(turn, "not_kept"))
        turn.state.step = "photo"
        return
    if not ocr.available():
        turn.say_text(lt(turn, "unavailable"))
        turn.end_flow()
        return
    try:
        row, result, context = check_photo(turn.session, turn.owner, media.url, path, turn.content,
                                           today=turn.now.date())
    except (OSError, ValueError, RuntimeError) as exc:  # a file that is no image, a Tesseract failure
        log.warning("label photo not read owner=%s: %s", turn.owner.id, exc)
        turn.say_text(lt(turn, "unreadable"))
        turn.state.step = "photo"
        return
    texts = messages(result, turn.content, turn.lang, product=context.product)
    turn.data["label_check_id"] = row.id
    if result.verdict == "unreadable":
        turn.say_text(texts[0])
        turn.state.step = "photo"
        return
    turn.say_text(texts[0])
    turn.say_text(texts[1], _options(turn))
    turn.state.step = "result"


def _ask_mentor(turn: Turn) -> None:
    from storage.models.labels import LabelCheck

    row = turn.session.get(LabelCheck, turn.data.get("label_check_id") or 0)
    result = (row.result if row is not None else {}) or {}
    permit = result.get("permit") or {}
    reason = lt(turn, "case_reason", verdict=row.verdict if row else "-",
                missing=", ".join(result.get("missing") or []) or "-",
                permit=permit.get("problem") or ("ok" if permit.get("ok") else "-"))
    cases.open_case(turn.session, turn.owner, topic=CASE_TOPIC, reason=reason,
                    context={"label_check_id": row.id if row else None}, content=turn.content)
    turn.say_text(lt(turn, "mentor_asked"))
    turn.end_flow()


def start(turn: Turn) -> None:
    turn.goto("photo", remember=False)


FLOW = Flow(
    name=NAME,
    steps={
        "photo": Step(prompt=ask_photo, handle=handle_photo, accepts_media=True),
        "result": Step(prompt=ask_result, handle=handle_result, accepts_media=True),
    },
    start=start,
    description="Check a package label from a photo (offline OCR).",
)


# --- entry from free text and captions -----------------------------------------------------------
def _caption_mentions_label(turn: Turn) -> bool:
    words = set(turn.norm.split()) | set(turn.text.lower().split())
    return bool(words & set(word_list(turn.content, "caption_words")))


def photo_hook(turn: Turn) -> bool:
    """A photo whose caption mentions label/kemasan: check it as a label, wherever the owner is."""
    if not _images(turn) or not turn.text or not _caption_mentions_label(turn):
        return False
    if turn.owner.consent_at is None:
        turn.start_flow(NAME)  # registration first: nothing is stored before consent
        return True
    turn.state.flow, turn.state.step = NAME, "photo"
    turn.data, turn.history = {}, []
    _check(turn)
    return True


def _entry_phrase(turn: Turn) -> bool:
    if turn.looks_like_question():
        return False
    padded = f" {turn.norm} "
    for phrase in word_list(turn.content, "entry_phrases"):
        phrase = normalize(phrase, turn.content)
        if phrase and (turn.norm == phrase or f" {phrase} " in padded):
            return True
    return False


def label_entry(turn: Turn) -> bool:
    if photo_hook(turn):
        return True
    if not _entry_phrase(turn):
        return False
    turn.start_flow(NAME)
    return True


# --- the understanding step's label row (bot/nlu/rules.py: "label_check") ------------------------
def detect_label_request(reading) -> tuple[float, dict] | None:
    """A photo whose caption mentions label/kemasan (score 0.95), or "cek label" typed (0.9)."""
    from bot.content import get_content

    captions, phrases = _label_words(get_content())
    if "image" in reading.media and (set(reading.words) | set(reading.text.lower().split())) & captions:
        return 0.95, {"photo": True}
    if reading.act == "question":
        return None
    padded = f" {reading.norm} "
    if any(reading.norm == phrase or f" {phrase} " in padded for phrase in phrases):
        return 0.9, {"photo": False}
    return None


@lru_cache(maxsize=4)
def _label_words(content) -> tuple[frozenset[str], tuple[str, ...]]:
    """The caption words and the normalised entry phrases, once per content (scored on every message)."""
    phrases = tuple(p for p in (normalize(w, content) for w in word_list(content, "entry_phrases")) if p)
    return frozenset(word_list(content, "caption_words")), phrases


def handle_label_request(turn: Turn, slots: dict) -> bool:
    return label_entry(turn)


def pointer(turn: Turn, step_key: str) -> str:
    """A short line for the label step of the legality pathway: how to get a label checked."""
    return "\n\n" + lt(turn, "pointer") if step_key == "label" else ""


__all__ = ["FLOW", "detect_label_request", "handle_label_request", "photo_hook", "pointer"]
