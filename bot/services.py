"""The long-lived parts a process needs, built once and handed to the web app, CLI and workers."""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings, load_settings
from bot.content import Content, get_content
from storage.db import Database, get_database


@dataclass
class Services:
    settings: Settings
    db: Database
    content: Content


def build_services(settings: Settings | None = None, db: Database | None = None) -> Services:
    settings = settings or load_settings()
    return Services(
        settings=settings,
        db=db or get_database(settings.database_url),
        content=get_content(settings.content_dir),
    )
