"""`umkm-bot nlu ...`: how well the bot understands owners' own words.

    umkm-bot nlu eval                    the held-out corpus (tests/nlu/heldout.yaml): accuracy,
                                         per-interpretation precision/recall, confusions, slots
    umkm-bot nlu eval --part dev -e 30   the development corpus, with the first 30 misses
    umkm-bot nlu read "izin keripik apa" every interpretation of one message, scored
"""
from __future__ import annotations

from pathlib import Path

import click

from bot.config import load_settings
from bot.content import Content
from bot.nlu.evaluate import PARTS as CORPUS_PARTS


def register(group: click.Group) -> None:
    @group.group("nlu")
    @click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False), default=None,
                  help="Content folder (default: CONTENT_DIR or ./content).")
    @click.pass_context
    def nlu_group(ctx: click.Context, directory: str | None) -> None:
        """Measure and try the understanding step (bot/nlu/)."""
        ctx.obj = Content(directory or load_settings().content_dir)

    @nlu_group.command("eval")
    @click.option("--part", type=click.Choice(sorted(CORPUS_PARTS)), default="heldout", show_default=True)
    @click.option("--corpus", type=click.Path(exists=True, file_okay=False), default=None,
                  help="Folder of the labelled corpus (default: tests/nlu of the repository).")
    @click.option("--errors", "-e", type=int, default=0, help="Also list this many misses.")
    @click.option("--min-accuracy", type=float, default=None, help="Exit 1 below this accuracy (0-1).")
    @click.pass_obj
    def eval_command(content: Content, part: str, corpus: str | None, errors: int, min_accuracy: float | None) -> None:
        """Evaluate the understanding step on the labelled corpus."""
        from bot.nlu import evaluate

        items = evaluate.load(part, Path(corpus) if corpus else evaluate.CORPUS_DIR)
        if not items:
            raise click.ClickException("no labelled messages found")
        report = evaluate.evaluate(items, content)
        click.echo(evaluate.render(report, part, errors))
        if min_accuracy is not None and report.accuracy < min_accuracy:
            raise SystemExit(1)

    @nlu_group.command("read")
    @click.argument("text")
    @click.pass_obj
    def read_command(content: Content, text: str) -> None:
        """Show every interpretation of TEXT with its score and slots, and the decision."""
        from bot.nlu.understand import interpret

        understanding = interpret(text, content)
        reading = understanding.reading
        click.echo(f"words: {' '.join(reading.words)}\nmodel: {reading.model_text}\nact: {reading.act}"
                   f"  negated: {reading.negated}  slots: {reading.slots}")
        for candidate in understanding.fixed:
            click.echo(f"  fixed {candidate.label:<18}{candidate.score:.2f} {candidate.slots}")
        for candidate in understanding.free[:6]:
            click.echo(f"  {candidate.label:<24}{candidate.score:.2f} {candidate.slots}")
        click.echo(f"decision: {understanding.decision} -> {understanding.label} {understanding.slots}")
