"""Reading a label photo offline: Pillow pre-processing, then Debian's Tesseract (`ind+eng`).

1. Grey, with the contrast stretched (a faint label on a grey table becomes black on white).
2. Scaled so the photo is about `TARGET_WIDTH` pixels wide (phone photos are shrunk, which is most
   of the speed; small crops are enlarged so letters are tall enough for Tesseract).
3. Deskewed: the angle (within +-MAX_SKEW degrees) whose horizontal projection profile is the
   sharpest, i.e. where text lines line up with pixel rows.
4. Thresholded with Otsu's method (the grey level that best separates ink from paper).
5. Tesseract with TSV output, one process per photo, so each word keeps its confidence, its line
   and its height (the product name is usually the tallest line).

The `tesseract` binary is called directly (no wrapper library); `scripts/install-tesseract`
installs it with the Indonesian data.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

TARGET_WIDTH = 1000
MAX_SKEW = 8.0
# Indonesian data only by default: labels are in Bahasa Indonesia, and "ind+eng" costs twice the
# CPU for a small gain on the worst photos (docs/labels.md). LABEL_OCR_LANGS=ind+eng switches.
LANGS = os.environ.get("LABEL_OCR_LANGS", "").strip() or "ind"
TIMEOUT_S = 30


class OcrUnavailable(RuntimeError):
    """Tesseract (or its Indonesian data) is not installed."""


@dataclass(frozen=True)
class Word:
    text: str
    conf: float
    line: int  # index of the line in reading order
    height: int  # pixels, in the processed image


@dataclass
class Reading:
    words: list[Word] = field(default_factory=list)
    skew: float = 0.0  # degrees the photo was turned back
    width: int = 0
    height: int = 0

    @property
    def lines(self) -> list[list[Word]]:
        out: dict[int, list[Word]] = {}
        for word in self.words:
            out.setdefault(word.line, []).append(word)
        return [out[k] for k in sorted(out)]

    @property
    def text(self) -> str:
        return "\n".join(" ".join(w.text for w in line) for line in self.lines)

    def confident(self, min_conf: float) -> list[Word]:
        return [w for w in self.words if w.conf >= min_conf and any(c.isalnum() for c in w.text)]

    @property
    def mean_confidence(self) -> float:
        real = [w.conf for w in self.words if any(c.isalnum() for c in w.text)]
        return sum(real) / len(real) if real else 0.0


def available() -> bool:
    return shutil.which("tesseract") is not None


def _otsu(histogram: list[int]) -> int:
    total = sum(histogram)
    sum_all = sum(i * h for i, h in enumerate(histogram))
    best, best_var, weight_b, sum_b = 127, -1.0, 0, 0.0
    for level in range(256):
        weight_b += histogram[level]
        if weight_b == 0:
            continue
        weight_f = total - weight_b
        if weight_f == 0:
            break
        sum_b += level * histogram[level]
        mean_b = sum_b / weight_b
        mean_f = (sum_all - sum_b) / weight_f
        between = weight_b * weight_f * (mean_b - mean_f) ** 2
        if between > best_var:
            best, best_var = level, between
    return best


def _profile_sharpness(binary: Image.Image, angle: float) -> float:
    """Variance of the row sums of ink after turning the image by `angle` degrees."""
    turned = binary.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0)
    rows = turned.resize((1, turned.height), Image.Resampling.BOX).tobytes()
    mean = sum(rows) / len(rows)
    return sum((r - mean) ** 2 for r in rows) / len(rows)


def estimate_skew(grey: Image.Image) -> float:
    """The small rotation that straightens the text lines (coarse 1-degree search, then 0.25)."""
    small = grey.copy()
    small.thumbnail((400, 400))
    threshold = _otsu(small.histogram())
    ink = small.point(lambda v: 255 if v < threshold else 0)  # ink white on black for row sums

    def best_of(candidates):
        return max(candidates, key=lambda a: _profile_sharpness(ink, a))

    coarse = best_of([a * 1.0 for a in range(-int(MAX_SKEW), int(MAX_SKEW) + 1)])
    return best_of([coarse + d / 4 for d in range(-3, 4)])


def preprocess(image: Image.Image) -> tuple[Image.Image, float]:
    """Grey, scaled, deskewed and thresholded; returns the image and the angle it was turned by."""
    image = ImageOps.exif_transpose(image)
    grey = ImageOps.grayscale(image)
    if grey.width != TARGET_WIDTH:
        scale = TARGET_WIDTH / grey.width
        grey = grey.resize((TARGET_WIDTH, max(1, round(grey.height * scale))), Image.Resampling.LANCZOS)
    grey = ImageOps.autocontrast(grey, cutoff=1)
    angle = estimate_skew(grey)
    if abs(angle) >= 0.25:
        grey = grey.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    grey = grey.filter(ImageFilter.MedianFilter(3))
    threshold = _otsu(grey.histogram())
    return grey.point(lambda v: 255 if v > threshold else 0).convert("L"), angle


def _parse_tsv(tsv: str) -> list[Word]:
    words: list[Word] = []
    line_ids: dict[tuple[str, str, str, str], int] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            conf = -1.0
        if not text or conf < 0:
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        line = line_ids.setdefault(key, len(line_ids))
        words.append(Word(text=text, conf=conf, line=line, height=int(row.get("height") or 0)))
    return words


def tesseract_tsv(image: Image.Image, langs: str = LANGS, psm: int = 3) -> str:
    if not available():
        raise OcrUnavailable("tesseract is not installed (scripts/install-tesseract)")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one core per photo; callers parallelise photos
    # Photos are thresholded to dark ink on white: the second, inverted pass is not needed.
    done = subprocess.run(["tesseract", "stdin", "stdout", "-l", langs, "--psm", str(psm),
                           "-c", "tessedit_do_invert=0", "tsv"],
                          input=buffer.getvalue(), capture_output=True, timeout=TIMEOUT_S, env=env)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        if "Failed loading language" in message or "Error opening data file" in message:
            raise OcrUnavailable(message)
        raise RuntimeError(f"tesseract failed: {message[:300]}")
    return done.stdout.decode("utf-8", "replace")


def read_image(image: Image.Image) -> Reading:
    processed, angle = preprocess(image)
    return Reading(words=_parse_tsv(tesseract_tsv(processed)), skew=angle,
                   width=processed.width, height=processed.height)


def read_file(path: Path | str) -> Reading:
    with Image.open(path) as image:
        image.load()
        return read_image(image)


def read_bytes(data: bytes) -> Reading:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return read_image(image)
