"""`umkm-bot labels ...`: read a label photo the way the bot does, and measure the reader.

    umkm-bot labels check photo.jpg --product "keripik pisang"     the owner's answer, then the words read
    umkm-bot labels check photo.jpg --json                          each item with found/text, the permit check
    umkm-bot labels eval                                            per-item precision/recall on the generated set
"""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from bot.config import load_settings
from bot.content import Content


def register(group: click.Group) -> None:
    @group.group("labels")
    @click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False), default=None,
                  help="Content folder (default: CONTENT_DIR or ./content).")
    @click.pass_context
    def labels_group(ctx: click.Context, directory: str | None) -> None:
        """Check package-label photos offline (Tesseract) against content/legality/label_rules.yaml."""
        ctx.obj = Content(directory or load_settings().content_dir)

    @labels_group.command("check")
    @click.argument("photo", type=click.Path(exists=True, dir_okay=False))
    @click.option("--product", default=None, help="The product, in the owner's words: sets the route (P-IRT, MD...) "
                  "the permit number is checked against.")
    @click.option("--route", "route_opt", default=None,
                  help="The product's route when known (pirt, md, cosmetics, ukot...); wins over --product.")
    @click.option("--halal-certified/--no-halal-certificate", default=None,
                  help="Whether the owner holds a halal certificate (default: unknown, a halal logo gets a warning).")
    @click.option("--lang", type=click.Choice(["id", "en"]), default="id", help="Language of the owner's answer.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable findings.")
    @click.pass_obj
    def check_command(content: Content, photo: str, product: str | None, route_opt: str | None,
                      halal_certified: bool | None, lang: str, as_json: bool) -> None:
        """Read PHOTO and show what the label seems to lack."""
        from bot.labels import check, ocr
        from bot.labels.answer import messages
        from bot.labels.rules import items as rule_items
        from bot.legality import classify
        from bot.legality import rules as legality_rules
        from bot.legality.rules import lang_text

        route = route_opt
        if product and route is None:
            # Decided from the name alone when it can be; otherwise (the bot would ask the owner
            # yes/no questions) the route stays unknown and any permit kind is accepted.
            decision, _ = classify.classify_text(product, content)
            route = decision.route if decision.decided else None
        routes = (legality_rules.products(content).get("routes") or {})
        if route is not None and route not in routes:
            raise click.BadParameter(f"unknown route {route!r}; one of {', '.join(routes)}", param_hint="--route")
        try:
            reading = ocr.read_file(Path(photo))
        except ocr.OcrUnavailable as exc:
            raise click.ClickException(f"{exc} (run scripts/install-tesseract)")
        result = check.check_reading(reading, content, route=route, halal_certified=halal_certified,
                                     product_names=[product] if product else [], today=date.today())
        if as_json:
            names = rule_items(content)
            data = result.as_dict()
            for item in data["items"]:
                item["name"] = lang_text(names[item["key"]]["name"], lang)
            data["photo"] = str(photo)
            data["product"] = product
            click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))
            return
        for text in messages(result, content, lang, product=product or ""):
            click.echo(text)
            click.echo("")
        click.echo(f"-- verdict: {result.verdict}; route: {route or 'unknown'}; "
                   f"mean confidence {result.mean_confidence}; words read:")
        click.echo(result.text or "(nothing)")

    @labels_group.command("eval")
    @click.option("--count", default=60, show_default=True, help="How many labels to generate.")
    @click.option("--seed", default=2026, show_default=True, help="The generator's seed.")
    @click.option("--workers", default=0, help="Labels read at once (default: one per CPU).")
    @click.option("--keep", type=click.Path(file_okay=False), default=None,
                  help="Also write the images and expected.json here, to look at them.")
    @click.pass_obj
    def eval_command(content: Content, count: int, seed: int, workers: int, keep: str | None) -> None:
        """Per-item precision and recall of "missing" on a generated label set; exits 1 below the
        CI bar (recall >= 90%, no "looks complete" for a label that lacks something)."""
        from bot.labels import evaluate, synth

        if keep:
            synth.write(synth.generate(count, seed=seed), Path(keep))
        evaluation = evaluate.evaluate(content, count=count, seed=seed, workers=workers or None)
        for line in evaluate.report_lines(evaluation):
            click.echo(line)
        if not evaluation.ok:
            sys.exit(1)
