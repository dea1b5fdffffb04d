"""Staff and mentor accounts: password hashing, sign-in with lockout, and the audit log.

Passwords are hashed with argon2id sized for a small (2-core) server: 19 MiB, 2 passes, one
lane (the OWASP minimum for argon2id), about 30 ms a hash. Hashes made with other parameters
(argon2-cffi's defaults, 64 MiB and 4 lanes, before) still verify and are re-hashed with these
on the next successful sign-in.

Hashing never runs inside a database transaction (on SQLite every transaction holds the write
lock, which the webhooks need too): `sign_in_split` reads the account, verifies in the caller's
pool, then writes the outcome in a second short transaction.

Lockout is per client address and username, not per account: after `MAX_FAILED_ATTEMPTS` wrong
passwords in a row from one address for one name, that pair is refused for `LOCKOUT`, even with
the right password. A stranger elsewhere cannot lock the admin out, and a name that does not
exist gets exactly the same answers (bad, then locked) and costs the same hash verification, so
nothing tells which usernames exist.
"""
from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from storage.models.staff import ROLES, AuditLog, StaffUser

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn CPU
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "common_passwords.txt"

# 19 MiB, t=2, p=1: OWASP's argon2id minimum, ~30 ms on one core of a small server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("a password nobody has")


class _Lockouts:
    """Failed sign-ins per (client address, username), in this process's memory (bounded)."""

    MAX_KEYS = 20_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()

    def locked(self, key: str, now: datetime) -> bool:
        with self._lock:
            _failures, until = self._state.get(key, (0, None))
            return until is not None and until > now

    def fail(self, key: str, now: datetime) -> bool:
        """Count one failure; True when this one locks the pair."""
        with self._lock:
            failures, until = self._state.pop(key, (0, None))
            if until is not None and until <= now:
                failures, until = 0, None
            failures += 1
            locked = failures >= MAX_FAILED_ATTEMPTS
            self._state[key] = (0, now + LOCKOUT) if locked else (failures, None)
            while len(self._state) > self.MAX_KEYS:
                self._state.popitem(last=False)
            return locked

    def reset(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)

    def reset_user(self, username: str) -> None:
        with self._lock:
            for key in [k for k in self._state if k.endswith("|" + username)]:
                del self._state[key]

    def clear(self) -> None:
        with self._lock:
            self._state.clear()


lockouts = _Lockouts()


class Busy(Exception):
    """Too many sign-ins are already waiting for the hashing pool."""


class SignInThrottle:
    """What stands between a stranger and the password hash.

    - `admit(client)`: a per-address and a global rate limit (moving windows of `limits`),
      checked in the event loop before the form is even read;
    - `run(...)`: the hash runs in `HASH_POOL`, a pool of its own (one thread: argon2 with one lane
      uses one core, the other core stays free for webhooks and pages); at most `MAX_IN_FLIGHT`
      sign-ins wait or run there, the next one is refused at once (`Busy`) instead of queueing.
    """

    PER_CLIENT = "10/minute"
    GLOBAL = "120/minute"
    # the sign-in page itself (its GET hands out the CSRF token): cheap, but a flood of it is not
    PAGE_PER_CLIENT = "20/minute"
    PAGE_GLOBAL = "300/minute"
    MAX_IN_FLIGHT = 4

    def __init__(self, per_client: str = PER_CLIENT, global_limit: str = GLOBAL,
                 max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-hash")
        self.configure(per_client, global_limit, max_in_flight)

    def configure(self, per_client: str = PER_CLIENT, global_limit: str = GLOBAL,
                  max_in_flight: int = MAX_IN_FLIGHT, page_per_client: str = PAGE_PER_CLIENT,
                  page_global: str = PAGE_GLOBAL) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._post = (parse(per_client), parse(global_limit))
        self._page = (parse(page_per_client), parse(page_global))
        self.max_in_flight = max_in_flight
        self._in_flight = 0

    def admit(self, client: str, method: str = "POST") -> bool:
        """One sign-in attempt (POST) or one view of the sign-in page (GET) from `client`."""
        per_client, overall = self._post if method == "POST" else self._page
        if not self._limiter.test(per_client, method, client) or not self._limiter.test(overall, method):
            return False
        return self._limiter.hit(per_client, method, client) and self._limiter.hit(overall, method)

    async def run(self, func, *args):
        if self._in_flight >= self.max_in_flight:
            raise Busy()
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)
        finally:
            self._in_flight -= 1


throttle = SignInThrottle()
_common: frozenset[str] | None = None


def common_passwords() -> frozenset[str]:
    global _common
    if _common is None:
        lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
        _common = frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))
    return _common


def check_password_strength(password: str) -> None:
    """At least 12 characters, not one of the shipped common passwords (nor one of them with a
    few digits or a "!" added), not a single repeated character or a run like 123456789012."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise UserError("password", f"password: at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!.?@#$ ")
    common = common_passwords()
    if lowered in common or stem in common or len(set(lowered)) <= 2 or _is_sequence(lowered):
        raise UserError("password_common", "password: too common or too easy to guess; choose another")


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return len(steps) == 1 and steps <= {1, -1, 0}


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
    check_password_strength(password)
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
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    audit(session, by, "password_set", f"user:{user.id}")


def unlock(session: Session, user: StaffUser, by: StaffUser | str) -> None:
    user.failed_attempts = 0
    user.locked_until = None
    lockouts.reset_user(user.username)
    audit(session, by, "user_unlocked", f"user:{user.id}")


def is_locked(user: StaffUser, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def sign_in(session: Session, username: str, password: str, now: datetime | None = None,
            client: str = "-") -> SignIn:
    """Check a username and password in one session (the CLI and tests; the web page uses
    `sign_in_split`, which keeps the hash out of the transaction)."""
    now = now or utcnow()
    name = normalize_username(username)
    account = _lookup(session, name)
    verdict = _judge(account, name, password, now, client)
    return _record(session, account, name, verdict, now)


def sign_in_split(db, username: str, password: str, client: str = "-", now: datetime | None = None) -> SignIn:
    """The same check as `sign_in`: read the account, verify with no transaction open, then
    write the outcome. Call it from the hashing pool, never from the event loop."""
    now = now or utcnow()
    name = normalize_username(username)
    with db.session() as session:
        account = _lookup(session, name)
    verdict = _judge(account, name, password, now, client)
    with db.session() as session:
        result = _record(session, account, name, verdict, now)
        if result.user is not None:
            session.flush()
            session.expunge(result.user)
        return result


def sign_in_outcome(db, username: str, password: str, client: str) -> tuple:
    """`sign_in_split` as plain values for the web page: (user id, session version, lang, outcome)."""
    result = sign_in_split(db, username, password, client)
    if result.ok:
        return result.user.id, result.user.session_version, result.user.lang, "ok"
    return None, None, None, result.outcome


@dataclass(frozen=True)
class _Account:
    id: int
    username: str
    password_hash: str
    active: bool


@dataclass(frozen=True)
class _Verdict:
    outcome: str  # ok | bad | locked | refused (already locked)
    key: str
    new_hash: str | None = None  # a re-hash with today's parameters, made outside the transaction


def _lookup(session: Session, name: str) -> _Account | None:
    user = session.scalars(select(StaffUser).where(StaffUser.username == name)).first()
    if user is None:
        return None
    return _Account(user.id, user.username, user.password_hash, bool(user.active))


def _judge(account: _Account | None, name: str, password: str, now: datetime, client: str) -> _Verdict:
    key = f"{client}|{name}"
    if lockouts.locked(key, now):
        return _Verdict("refused", key)
    usable = account is not None and account.active
    good = _verify(account.password_hash if usable else _DUMMY_HASH, password) and usable
    if good:
        lockouts.reset(key)
        rehash = hash_password(password) if _hasher.check_needs_rehash(account.password_hash) else None
        return _Verdict("ok", key, rehash)
    return _Verdict("locked" if lockouts.fail(key, now) else "bad", key)


def _record(session: Session, account: _Account | None, name: str, verdict: _Verdict, now: datetime) -> SignIn:
    user = session.get(StaffUser, account.id) if account is not None else None
    subject = f"user:{user.id}" if user is not None else ""
    who: StaffUser | str = user if user is not None else (name[:64] or "-")
    if verdict.outcome == "refused":
        audit(session, who, "login_refused_locked", subject, now=now)
        return SignIn(None, "locked")
    if verdict.outcome == "locked":
        audit(session, who, "locked", subject, f"{MAX_FAILED_ATTEMPTS} failed attempts", now)
        return SignIn(None, "locked")
    if verdict.outcome == "bad" or user is None or not user.active:
        reason = "wrong password" if user is not None and user.active else "unknown or inactive"
        if user is not None:
            user.failed_attempts = (user.failed_attempts or 0) + 1
        audit(session, who, "login_failed", subject, reason, now)
        return SignIn(None, "bad")
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    if verdict.new_hash and user.password_hash == account.password_hash:
        user.password_hash = verdict.new_hash
    audit(session, user, "login", subject, now=now)
    return SignIn(user, "ok")


def _verify(password_hash: str, password: str) -> bool:
    if len(password or "") > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
