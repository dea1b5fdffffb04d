"""Configuration from the environment, with embedded defaults that need no tokens.

Every variable is documented in `.env.example` (a test checks that every variable the code and
compose.yaml read is there). The command line loads a `.env` file first when one is present
(`load_env_file`): in the working directory, or the file named by UMKM_ENV_FILE. A variable set in
the real environment always wins over the file, so a process manager or `docker compose` can
override any line of it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_env_file(path: str | os.PathLike | None = None) -> Path | None:
    """Load `.env` (or UMKM_ENV_FILE, or `path`) into the environment without overriding it.

    Returns the file loaded, or None when there is none. A file named explicitly must exist.
    """
    from dotenv import load_dotenv

    explicit = path or os.environ.get("UMKM_ENV_FILE", "").strip()
    candidate = Path(explicit) if explicit else Path.cwd() / ".env"
    if not candidate.is_file():
        if explicit:
            raise FileNotFoundError(f"UMKM_ENV_FILE={explicit}: no such file")
        return None
    load_dotenv(candidate, override=False)
    return candidate


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw else default


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    content_dir: Path
    data_dir: Path
    timezone: str = "Asia/Jakarta"
    default_lang: str = "id"
    public_base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    # WhatsApp through Twilio: off unless both the account SID and auth token are set.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_base: str = ""  # only for tests and local fakes; empty means Twilio's real API
    # Telegram: off unless the bot token is set.
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base: str = ""  # only for tests and local fakes
    # Sender rates (messages per second).
    whatsapp_rate: float = 80.0
    telegram_rate: float = 30.0
    telegram_per_chat_rate: float = 1.0
    quiet_start_hour: int = 20
    quiet_end_hour: int = 7
    extra: dict = field(default_factory=dict)

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)


def load_settings() -> Settings:
    data_dir = Path(_env("UMKM_DATA_DIR", str(REPO_ROOT / "var")))
    default_db = f"sqlite:///{data_dir / 'umkm.sqlite3'}"
    return Settings(
        database_url=_env("DATABASE_URL", default_db),
        content_dir=Path(_env("CONTENT_DIR", str(REPO_ROOT / "content"))),
        data_dir=data_dir,
        timezone=_env("UMKM_TIMEZONE", "Asia/Jakarta"),
        default_lang=_env("UMKM_DEFAULT_LANG", "id"),
        public_base_url=_env("PUBLIC_BASE_URL").rstrip("/"),
        host=_env("UMKM_HOST", "127.0.0.1"),
        port=_env_int("UMKM_PORT", 8000),
        secret_key=_env("SECRET_KEY"),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=_env("TWILIO_AUTH_TOKEN"),
        twilio_whatsapp_from=_env("TWILIO_WHATSAPP_FROM"),
        twilio_api_base=_env("TWILIO_API_BASE"),
        telegram_bot_token=_env("TELEGRAM_BOT_TOKEN"),
        telegram_webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET"),
        telegram_api_base=_env("TELEGRAM_API_BASE"),
        whatsapp_rate=_env_float("WHATSAPP_RATE", 80.0),
        telegram_rate=_env_float("TELEGRAM_RATE", 30.0),
        telegram_per_chat_rate=_env_float("TELEGRAM_PER_CHAT_RATE", 1.0),
        quiet_start_hour=_env_int("QUIET_START_HOUR", 20),
        quiet_end_hour=_env_int("QUIET_END_HOUR", 7),
    )
