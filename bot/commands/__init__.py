"""CLI commands, one module per area. Each module defines `register(group)`; `bot.cli` adds all."""
