"""Content checks for the handoff area (run by `umkm-bot content check` and the tests)."""
from __future__ import annotations

import re
from pathlib import Path

from bot.content import Content, ContentError, content_check
from bot import casetools  # noqa: F401  (registers the canned-reply and label content check)
from bot.handoff.workhours import check_sla_content

COMMANDS = ("list", "show", "take", "reply", "note", "transfer", "resolve", "template", "label", "help")
# Keys the code builds from data (f"handoff.topic_{...}"), so the reference scan cannot see them.
DYNAMIC_KEYS = (
    [f"handoff.topic_{t}" for t in ("asked", "complaint", "misunderstood", "permit_rejected", "gmp_critical",
                                    "media", "other")]
    + [f"handoff.sector_{s}" for s in ("food", "cosmetics", "herbal", "other")]
    + [f"handoff.status_{s}" for s in ("open", "taken", "resolved")]
    + [f"handoff.media_{m}" for m in ("image", "audio", "video", "document", "other")]
    + [f"handoff.rate_{n}" for n in range(1, 6)]
)
DEMO_ROSTER = "handoff/demo_mentors.csv"
# Keys passed to Refused(...), notify.to_mentor(...) and friends are not seen by the generic scan of
# say()/t() calls, so every quoted handoff.* key in the handoff code is checked here.
_KEY_LITERAL = re.compile(r"""["'](handoff\.[a-z0-9_]+)["']""")
_SOURCES = [Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "cases.py",
            Path(__file__).resolve().parents[2] / "flows" / "mentor.py"]


def _key_literals() -> set[tuple[str, str]]:
    found = set()
    for source in _SOURCES:
        for path in sorted(source.rglob("*.py")) if source.is_dir() else [source]:
            for match in _KEY_LITERAL.finditer(path.read_text(encoding="utf-8")):
                found.add((match.group(1), path.name))
    return found


@content_check
def check_handoff_content(content: Content) -> list[str]:
    errors = check_sla_content(content)
    try:
        commands = content.data("handoff/commands.yaml")
        triggers = content.data("handoff/triggers.yaml")
    except ContentError as exc:
        return errors + [str(exc)]
    for name, raw in (("commands.yaml", commands), ("triggers.yaml", triggers)):
        for field in ("source", "last_reviewed"):
            if not raw.get(field):
                errors.append(f"handoff/{name}: missing {field}")
    words: dict[str, str] = {}
    table = commands.get("commands") or {}
    for command in COMMANDS:
        if not table.get(command):
            errors.append(f"handoff/commands.yaml: command {command!r} needs at least one word")
    for command, listed in table.items():
        if command not in COMMANDS:
            errors.append(f"handoff/commands.yaml: unknown command {command!r}")
        for word in listed or []:
            if not str(word).isalnum():
                errors.append(f"handoff/commands.yaml: {command}: {word!r} must be one word of letters/digits")
            if str(word).lower() in words:
                errors.append(f"handoff/commands.yaml: {word!r} is used by {words[str(word).lower()]} and {command}")
            words[str(word).lower()] = command
    if not triggers.get("complaint"):
        errors.append("handoff/triggers.yaml: complaint needs at least one phrase")
    for lang in ("id", "en"):
        for key in DYNAMIC_KEYS:
            if not content.has(key, lang):
                errors.append(f"texts/{lang}.yaml: missing key {key!r} (used by the handoff code)")
        for key, where in sorted(_key_literals()):
            if not content.has(key, lang):
                errors.append(f"texts/{lang}.yaml: missing key {key!r} (used in {where})")
    roster = content.root / DEMO_ROSTER
    if roster.exists():
        from bot.handoff.roster import parse_roster

        _rows, roster_errors = parse_roster(roster.read_bytes(), content)
        errors.extend(f"{DEMO_ROSTER}: {error}" for error in roster_errors)
    return errors
