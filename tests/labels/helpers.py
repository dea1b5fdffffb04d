"""Label images for the tests: a clean, known label drawn by the generator (bot.labels.synth)."""
from __future__ import annotations

from bot.labels import synth

FULL = [
    ("title", "KERIPIK PISANG"),
    ("text", "Komposisi: pisang kepok, minyak sawit, gula pasir, garam"),
    ("text", "Berat bersih: 150 g"),
    ("text", "Diproduksi oleh: UD Sari Rasa"),
    ("text", "Jl. Melati No. 12 RT 03/RW 05, Duren Sawit, Jakarta Timur"),
    ("text", "P-IRT No. 2063175010123-29"),
    ("text", "Kode produksi: A2311"),
    ("text", "Baik digunakan sebelum: 12/05/2027"),
]
RENDER = {"font": "DejaVuSans.ttf", "size": 26, "rotate": 2.0, "blur": 0, "low_contrast": False, "jpeg": 80,
          "width": 900, "seed": 1}


def label_photo(drop: tuple[str, ...] = (), replace: dict[str, str] | None = None, halal_logo: bool = False) -> bytes:
    """The full label without the lines starting with any of `drop`, lines replaced by prefix."""
    lines = []
    for role, text in FULL:
        if any(text.startswith(d) for d in drop):
            continue
        for prefix, new in (replace or {}).items():
            if text.startswith(prefix):
                text = new
        lines.append((role, text))
    case = synth.Case(name="test", lines=lines, expected={}, halal_logo=halal_logo, render=dict(RENDER))
    return synth.render(case)
