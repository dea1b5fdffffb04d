"""Staff and mentor accounts: password hashing, sign-in with lockout, and the audit log.

Passwords are hashed with argon2id (argon2-cffi's defaults). A name that does not exist still
costs one hash verification, so response time does not tell which usernames exist. After
`MAX_FAILED_ATTEMPTS` wrong passwords in a row the account is locked for `LOCKOUT`; a correct
password during the lock is refused too (otherwise the lock would not slow a guesser down).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from storage.models.staff import ROLES, AuditLog, StaffUser

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has")


class UserError(ValueError):
    """A user could not be created or changed. `code` names the reason; the web page shows the
    text `users.err_<code>` from content/web, the CLI shows the English message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SignIn:
    user: StaffUser | None
    outcome: str  # ok | bad | locked

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def audit(session: Session, who: StaffUser | str, action: str, subject: str = "", detail: str = "",
          now: datetime | None = None) -> None:
    """Append one line to the audit log (in the caller's transaction)."""
    if isinstance(who, StaffUser):
        name, user_id = who.username, who.id
    else:
        name, user_id = str(who)[:64], None
    session.add(AuditLog(who=name, user_id=user_id, action=action[:32], subject=subject[:64],
                         detail=(detail or "")[:2000], at=now or utcnow()))


def create_user(session: Session, username: str, password: str, role: str, mentor_id: int | None = None,
                lang: str = "id", by: StaffUser | str = "cli") -> StaffUser:
    username = normalize_username(username)
    if not USERNAME_RE.match(username):
        raise UserError("username", "username: 3-64 characters, lower-case letters, digits, dot, dash or underscore")
    if role not in ROLES:
        raise UserError("role", f"role must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError("password", f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if role == "mentor" and mentor_id is None:
        raise UserError("mentor", "a mentor account needs the mentor it belongs to (the roster's mentor code)")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise UserError("exists", f"user {username!r} already exists")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role,
                     mentor_id=mentor_id if role == "mentor" else None, lang=lang if lang in ("id", "en") else "id",
                     active=True, failed_attempts=0, session_version=1, created_at=utcnow())
    session.add(user)
    session.flush()
    audit(session, by, "user_created", f"user:{user.id}", f"{username} ({role})")
    return user


def set_password(session: Session, user: StaffUser, password: str, by: StaffUser | str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError("password", f"password: at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.session_version += 1
    audit(session, by, "password_set", f"user:{user.id}")


def unlock(session: Session, user: StaffUser, by: StaffUser | str) -> None:
    user.failed_attempts = 0
    user.locked_until = None
    audit(session, by, "user_unlocked", f"user:{user.id}")


def is_locked(user: StaffUser, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def sign_in(session: Session, username: str, password: str, now: datetime | None = None) -> SignIn:
    """Check a username and password; count failures and lock the account after too many."""
    now = now or utcnow()
    name = normalize_username(username)
    user = session.scalars(select(StaffUser).where(StaffUser.username == name).with_for_update()).first()
    if user is None or not user.active:
        _verify(_DUMMY_HASH if user is None else user.password_hash, password)
        audit(session, name or "-", "login_failed", f"user:{user.id}" if user else "", "unknown or inactive", now)
        return SignIn(None, "bad")
    if is_locked(user, now):
        audit(session, user, "login_refused_locked", f"user:{user.id}", now=now)
        return SignIn(user, "locked")
    if not _verify(user.password_hash, password):
        user.failed_attempts = (user.failed_attempts or 0) + 1
        if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
            user.failed_attempts = 0
            user.locked_until = now + LOCKOUT
            audit(session, user, "locked", f"user:{user.id}", f"{MAX_FAILED_ATTEMPTS} failed attempts", now)
            return SignIn(user, "locked")
        audit(session, user, "login_failed", f"user:{user.id}", "wrong password", now)
        return SignIn(user, "bad")
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit(session, user, "login", f"user:{user.id}", now=now)
    return SignIn(user, "ok")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
