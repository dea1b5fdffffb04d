"""The dashboard has no owner conversation. This module only makes sure the dashboard's content
check (content/web texts, see bot/dashboard/texts.py) is registered whenever `flows` is imported,
which is how `umkm-bot content check` finds every area's checks."""
from __future__ import annotations

import bot.dashboard.texts  # noqa: F401  (registers check_web_texts)
