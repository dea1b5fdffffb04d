"""`umkm-bot legality ...`: try the rules after editing content/legality or content/faq.

    umkm-bot legality classify "sambel botol"         every yes/no path and the route it ends in
    umkm-bot legality faq "pirt brp lama berlaku?"    the top topics with their scores and the verdict
"""
from __future__ import annotations

import click

from bot.config import load_settings
from bot.content import Content


def register(group: click.Group) -> None:
    @group.group("legality")
    @click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False), default=None,
                  help="Content folder (default: CONTENT_DIR or ./content).")
    @click.pass_context
    def legality_group(ctx: click.Context, directory: str | None) -> None:
        """Try the legality rules (product routes, FAQ matching) from the command line."""
        ctx.obj = Content(directory or load_settings().content_dir)

    @legality_group.command("classify")
    @click.argument("text")
    @click.pass_obj
    def classify_command(content: Content, text: str) -> None:
        """Show how the product in TEXT is classified, for every way the owner may answer."""
        from bot.legality import classify

        decision, matches = classify.classify_text(text, content)
        if matches:
            click.echo(f"product: {matches[0].key} (matched '{matches[0].alias}')")
        stack = [(decision, [])]
        while stack:
            current, path = stack.pop()
            if current.status == "ask":
                for answer in (False, True):
                    stack.append((classify.answer(content, current, answer), path + [f"{current.question}={answer}"]))
                continue
            answers = ", ".join(path) or "no questions"
            click.echo(f"  [{answers}] -> {current.status}: route={current.route} ({current.reason}), "
                       f"halal={current.halal_route}, steps={' > '.join(current.steps) or '-'}")

    @legality_group.command("faq")
    @click.argument("text")
    @click.pass_obj
    def faq_command(content: Content, text: str) -> None:
        """Show the FAQ topics closest to TEXT and what the bot would do."""
        from bot.legality import faq

        matcher = faq.FaqMatcher(content)
        query, scored = matcher.scores(text)
        click.echo(f"normalised: {query!r}")
        for topic, score in scored[:5]:
            click.echo(f"  {score:6.1f}  {topic.key}")
        result = matcher.match(text)
        click.echo(f"verdict: {result.status}" + (f" {result.best.key}" if result.status == "answer" else ""))
