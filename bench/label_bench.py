"""How long reading and checking one label photo takes on this machine (target: p95 < 2 s).

    .venv/bin/python bench/label_bench.py [--count 30] [--seed 11]

Labels come from the generated set (bot/labels/synth.py: several fonts and sizes, turned, blurred,
low contrast, JPEG noise), read one at a time as the bot does in a turn: decode, grey, deskew,
threshold, Tesseract, the checks. Prints p50/p95/max seconds per label, split into pre-processing,
Tesseract and checking, and the machine's load (the CPUs are shared).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from bot.content import get_content  # noqa: E402
from bot.labels import check, ocr, synth  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if not ocr.available():
        raise SystemExit("tesseract is not installed: scripts/install-tesseract")
    content = get_content()
    photos = [synth.render(c) for c in synth.generate(args.count, seed=args.seed)]
    ocr.read_bytes(photos[0])  # first call loads the language data into the page cache
    total, pre, tess, checking = [], [], [], []
    for data in photos:
        started = time.perf_counter()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            processed, angle = ocr.preprocess(image)
        t1 = time.perf_counter()
        words = ocr._parse_tsv(ocr.tesseract_tsv(processed))
        t2 = time.perf_counter()
        check.check_reading(ocr.Reading(words=words, skew=angle), content, today=date.today())
        t3 = time.perf_counter()
        total.append(t3 - started)
        pre.append(t1 - started)
        tess.append(t2 - t1)
        checking.append(t3 - t2)
    load = os.getloadavg()[0]
    print(f"labels: {len(total)} photos ({Image.open(io.BytesIO(photos[0])).width}-px-ish JPEGs), "
          f"{os.cpu_count()} CPUs, load average {load:.1f} during the run")
    print(f"seconds per label: p50 {statistics.median(total):.2f}  p95 {pct(total, 0.95):.2f}  "
          f"max {max(total):.2f}  (target p95 < 2 s)")
    print(f"  pre-processing p50 {statistics.median(pre):.3f}  tesseract p50 {statistics.median(tess):.3f}  "
          f"checks p50 {statistics.median(checking):.4f}")


if __name__ == "__main__":
    main()
