from __future__ import annotations

import click

from bot.config import load_settings
from bot.content import Content, ContentError


def register(group: click.Group) -> None:
    @group.group("content")
    def content_group() -> None:
        """Owner-facing content (texts, templates, rules)."""

    @content_group.command("check")
    @click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False), default=None,
                  help="Content folder (default: CONTENT_DIR or ./content).")
    def check(directory: str | None) -> None:
        """Fail on missing keys in any language, undefined template variables, malformed files."""
        root = directory or load_settings().content_dir
        try:
            result = Content(root).check()
        except ContentError as exc:
            click.echo(f"content check failed: {exc}", err=True)
            raise SystemExit(1)
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
        summary = ", ".join(f"{count} {what}" for what, count in result.checked.items())
        if result.errors:
            click.echo(f"content check failed: {len(result.errors)} error(s) ({summary})", err=True)
            raise SystemExit(1)
        click.echo(f"content check ok: {summary}")

    @content_group.command("facts")
    @click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False), default=None,
                  help="Content folder (default: CONTENT_DIR or ./content).")
    def facts(directory: str | None) -> None:
        """Print every regulatory fact with its sources, last_reviewed and verify flag, as CSV."""
        from bot.legality import facts as legality_facts

        root = directory or load_settings().content_dir
        try:
            click.echo(legality_facts.facts_csv(Content(root)), nl=False)
        except ContentError as exc:
            click.echo(f"content facts failed: {exc}", err=True)
            raise SystemExit(1)
