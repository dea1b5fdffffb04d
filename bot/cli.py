"""`umkm-bot`: the command line for running the service, chatting, and staff tasks.

Commands live in the modules of `bot.commands`, one per area, each with `register(group)`.
"""
from __future__ import annotations

import importlib
import logging
import os
import pkgutil
from pathlib import Path

import click

from bot import commands as commands_package
from bot import logformat, logsafety
from bot.config import load_env_file
from bot import filemodes, logsafety


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
@click.option("--log-format", type=click.Choice(logformat.FORMATS), default=None,
              help="plain lines (default) or one JSON event per line (default from UMKM_LOG_FORMAT).")
def main(verbose: bool, log_format: str | None) -> None:
    """Asisten UMKM: legality and GMP assistant for Indonesian micro and small businesses.

    Settings come from the environment; a .env file in the working directory (or UMKM_ENV_FILE)
    is read first, and the environment wins over it.
    """
    load_env_file()
    logformat.configure(verbose, log_format)
    if not verbose:
        # Migrations and every scheduler tick are noise in normal operation.
        for name in ("alembic", "apscheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logsafety.install(verbose)
    filemodes.set_umask()  # the database, data and evidence folders are owner-only (600/700)
    from bot.config import load_settings

    settings = load_settings()
    evidence = os.environ.get("EVIDENCE_DIR", "").strip()
    filemodes.restrict_existing(settings.data_dir, settings.database_url, Path(evidence) if evidence else None)


for _module in sorted(pkgutil.iter_modules(commands_package.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands_package.__name__}.{_module.name}").register(main)
