"""How fast the understanding step reads an owner's message (bot/nlu/), and how right it is.

    .venv/bin/python bench/understanding_bench.py [--rounds 5]

Prints:
  - start-up: training the classifier and the topic classifier from content/ (once per process);
  - understanding latency per message (interpret: reading, slots, every interpretation scored,
    the decision) over the labelled corpus of tests/nlu/, p50 / p95 / p99 / max in ms (target: p99
    <= 5 ms), as wall-clock time and as this thread's CPU time (on a shared, busy machine the wall
    clock includes waiting for a core); the first round is a warm-up and not counted;
  - the FAQ topic look-up, which runs only when a message is read as an FAQ question;
  - accuracy on the held-out and development parts (as `umkm-bot nlu eval`).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.content import get_content  # noqa: E402
from bot.nlu import evaluate, model  # noqa: E402
from bot.nlu.reading import read_text  # noqa: E402
from bot.nlu.scoring import faq_topic  # noqa: E402
from bot.nlu.understand import interpret  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(name: str, values: list[float]) -> None:
    print(f"{name}: n={len(values)} p50={percentile(values, 0.5):.2f} p95={percentile(values, 0.95):.2f} "
          f"p99={percentile(values, 0.99):.2f} max={max(values):.2f} mean={statistics.mean(values):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    content = get_content()

    started = time.perf_counter()
    model.model(content)
    trained = time.perf_counter()
    model.topic_model(content)
    done = time.perf_counter()
    print(f"start-up: classifier {1000 * (trained - started):.0f} ms, topic classifier {1000 * (done - trained):.0f} ms")

    items = evaluate.load("all")
    texts = [item["t"] for item in items]
    timings: list[float] = []
    cpu: list[float] = []
    first_sight: list[float] = []  # round 0: no product word seen before (nothing cached)
    for round_number in range(args.rounds + 1):
        for text in texts:
            begin, begin_cpu = time.perf_counter(), time.thread_time()
            interpret(text, content)
            if round_number:
                timings.append(1000 * (time.perf_counter() - begin))
                cpu.append(1000 * (time.thread_time() - begin_cpu))
            else:
                first_sight.append(1000 * (time.thread_time() - begin_cpu))
    report("understanding per message, wall clock", timings)
    # CPU time of this thread: what the step costs, without the waits a busy machine adds.
    report("understanding per message, CPU time", cpu)
    report("understanding per message, CPU time, first sight of each wording", first_sight)

    topics = [t for t in texts if interpret(t, content).label == "faq"]
    topic_timings = []
    for text in topics:
        reading = read_text(text, content)
        begin = time.perf_counter()
        faq_topic(reading, content)
        topic_timings.append(1000 * (time.perf_counter() - begin))
    report("FAQ topic look-up (FAQ questions only)", topic_timings)

    for part in ("heldout", "dev"):
        result = evaluate.evaluate(evaluate.load(part), content)
        print(f"{part}: accuracy {result.accuracy:.1%} ({result.correct}/{result.total}), "
              f"slot accuracy {result.slot_accuracy:.1%}")


if __name__ == "__main__":
    main()
