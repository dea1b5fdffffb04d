"""How long an inbox worker takes to start: `umkm-bot worker --drain` on an empty SQLite database,
first with an empty classifier cache (it trains the understanding classifier and stores it), then
with the cache it left (it loads it). Prints wall and CPU seconds per start and the classifier's own
share (`warm`, timed in-process the same way).

  .venv/bin/python bench/startup_time.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "umkm-bot"
WARM = """
import time
from bot.content import get_content
from bot.nlu.understand import warm
content = get_content()
start = time.perf_counter()
warm(content)
print(f"{time.perf_counter() - start:.3f}")
"""


def _timed(args: list[str], env: dict) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory() as data:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "UMKM_CACHE_DIR")}
            env.update(UMKM_DATA_DIR=data, CONTENT_DIR=str(REPO / "content"))
            subprocess.run([str(BIN), "db", "upgrade"], env=env, capture_output=True, check=True)
            cold = _timed([str(BIN), "worker", "--drain"], env)
            warm = _timed([str(BIN), "worker", "--drain"], env)
            warm_again = _timed([str(BIN), "worker", "--drain"], env)
            classifier = _timed([sys.executable, "-c", WARM], env)[2]
            for stored in (Path(data) / "cache" / "nlu").glob("*.npz"):
                stored.unlink()  # the same again from an empty cache: trained
            classifier_cold = _timed([sys.executable, "-c", WARM], env)[2]
        print(f"run {run}: worker start, empty cache {cold[0]:.2f} s wall / {cold[1]:.2f} s CPU; "
              f"with the cache {warm[0]:.2f} / {warm[1]:.2f} s and {warm_again[0]:.2f} / {warm_again[1]:.2f} s; "
              f"the classifier alone: trained {classifier_cold} s, loaded {classifier} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
