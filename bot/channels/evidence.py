"""Photos and documents owners send are kept as evidence (a kitchen photo for a GMP check, a
certificate), because providers delete their copies: Twilio media on request or with the
account's retention, Telegram files behind a link that holds the bot token.

Files go to EVIDENCE_DIR (default DATA_DIR/evidence)/<channel>/<message id>-<n>.<ext>; the message's
`Media.url` then names that file relative to the evidence folder's parent, e.g.
"evidence/whatsapp/SM123-0.jpg", so the message log points at our copy.
"""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

KEPT_KINDS = ("image", "document")
MAX_BYTES = 16 * 1024 * 1024  # WhatsApp's own media limit is 16 MB for images and most documents

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def media_kind(content_type: str) -> str:
    main = (content_type or "").split("/", 1)[0].lower()
    if main in ("image", "audio", "video"):
        return main
    if content_type:
        return "document"
    return "other"


def evidence_path(root: Path, channel: str, message_id: str, index: int, content_type: str) -> Path:
    ext = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ".bin"
    if ext == ".jpe":
        ext = ".jpg"
    name = f"{_SAFE.sub('_', message_id)[:100]}-{index}{ext}"
    return root / channel / name


def save(root: Path, channel: str, message_id: str, index: int, content_type: str, data: bytes) -> str:
    """Write one file and return how the message log names it."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"evidence file too large: {len(data)} bytes")
    path = evidence_path(root, channel, message_id, index, content_type)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return str(Path(root.name) / channel / path.name)


def erase(root: Path, urls) -> int:
    """Delete the kept files these message-log urls name (HAPUS DATA). Only files inside the
    evidence folder are touched, whatever a url says. Returns how many were deleted."""
    base = root.resolve()
    deleted = 0
    for url in urls:
        path = (root.parent / url).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            continue
        path.unlink()
        deleted += 1
    return deleted
