"""Read-API clients: per-client tokens created by an admin, scoped to one city area (or all of
Jakarta), revocable at once. Only the token's SHA-256 is stored, so a leaked database does not leak
working tokens; the token itself is shown once, when it is created."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import locations
from bot.clock import utcnow
from bot.content import Content
from storage.models.api import ApiClient

TOKEN_PREFIX = "umkm_"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class ClientError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClientView:
    """What a request needs of its client, detached from any session."""

    id: int
    name: str
    area: str
    per_minute: int


def create_client(session: Session, content: Content, name: str, area: str = "", per_minute: int = 60,
                  by: str = "cli") -> tuple[ApiClient, str]:
    """A new client and its token (returned once; only its hash is kept)."""
    name = (name or "").strip().lower()
    if not NAME_RE.match(name):
        raise ClientError("name: 3-64 characters, lower-case letters, digits, dot, dash or underscore")
    if area and locations.area_by_key(content, area) is None:
        keys = ", ".join(a.key for a in locations.areas(content))
        raise ClientError(f"area {area!r} is not a city area key ({keys}); leave it out for all of Jakarta")
    if not 1 <= per_minute <= 6000:
        raise ClientError("per-minute limit: 1 to 6000 requests")
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise ClientError(f"a client named {name!r} exists already")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(name=name, token_hash=hash_token(token), token_prefix=token[:12], area=area,
                       per_minute=per_minute, created_by=by[:64], created_at=utcnow())
    session.add(client)
    session.flush()
    return client, token


def revoke_client(session: Session, name: str) -> bool:
    client = session.scalars(select(ApiClient).where(ApiClient.name == name.strip().lower())).first()
    if client is None or client.revoked_at is not None:
        return False
    client.revoked_at = utcnow()
    return True


def authenticate(session: Session, token: str) -> ClientView | None:
    """The active client holding `token`, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    client = session.scalars(select(ApiClient).where(ApiClient.token_hash == hash_token(token),
                                                     ApiClient.revoked_at.is_(None))).first()
    if client is None:
        return None
    return ClientView(client.id, client.name, client.area, client.per_minute)
