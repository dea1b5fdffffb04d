"""`umkm-bot users create|list|unlock|set-password`: dashboard accounts.

The first admin is made here; after that admins can also add users in the dashboard.
Passwords are read from a hidden prompt (asked twice) or, for scripts, from stdin with
--password-stdin; never from a command-line argument, which would land in shell history.
"""
from __future__ import annotations

import sys

import click
from sqlalchemy import select

from bot.dashboard import auth
from bot.services import build_services
from storage.models.staff import ROLES, StaffUser

try:
    from storage.models.handoff import Mentor
except ImportError:  # pragma: no cover - before the handoff area is merged
    Mentor = None  # type: ignore[assignment,misc]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _mentor_id(session, code: str | None) -> int | None:
    if not code:
        return None
    if Mentor is None:
        raise click.ClickException("the mentor roster is not available in this installation")
    mentor = session.scalars(select(Mentor).where(Mentor.code == code)).first()
    if mentor is None:
        raise click.ClickException(f"no mentor with code {code!r} in the roster (umkm-bot mentors import FILE)")
    return mentor.id


def register(group: click.Group) -> None:
    @group.group("users")
    def users() -> None:
        """Dashboard accounts: admins, programme staff and mentors."""

    @users.command("create")
    @click.option("--username", required=True)
    @click.option("--role", type=click.Choice(ROLES), required=True,
                  help="admin manages users; staff sees everything else; mentor sees their area.")
    @click.option("--mentor", "mentor_code", default=None, help="For --role mentor: the roster's mentor code.")
    @click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
    def create(username: str, role: str, mentor_code: str | None, lang: str, password_stdin: bool) -> None:
        """Create a user (the first admin, for example)."""
        services = build_services()
        password = _read_password(password_stdin)
        try:
            with services.db.session() as session:
                user = auth.create_user(session, username, password, role, _mentor_id(session, mentor_code),
                                        lang, by="cli")
                name, role_made = user.username, user.role
        except auth.UserError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"created {role_made} {name!r}; sign in at /dash/login")

    @users.command("list")
    def list_users() -> None:
        """Show every user, with role and state."""
        services = build_services()
        with services.db.session() as session:
            for user in session.scalars(select(StaffUser).order_by(StaffUser.username)):
                state = "inactive" if not user.active else "locked" if auth.is_locked(user) else "active"
                mentor = f" mentor_id={user.mentor_id}" if user.mentor_id else ""
                click.echo(f"{user.username:24} {user.role:8} {state}{mentor}")

    @users.command("unlock")
    @click.argument("username")
    def unlock(username: str) -> None:
        """Lift a lockout after too many wrong passwords."""
        services = build_services()
        with services.db.session() as session:
            user = session.scalars(select(StaffUser).where(StaffUser.username == auth.normalize_username(username))).first()
            if user is None:
                raise click.ClickException(f"no user {username!r}")
            auth.unlock(session, user, by="cli")
        click.echo(f"unlocked {username!r}")

    @users.command("set-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
    def set_password(username: str, password_stdin: bool) -> None:
        """Set a new password (signs the user out everywhere)."""
        services = build_services()
        password = _read_password(password_stdin)
        try:
            with services.db.session() as session:
                user = session.scalars(select(StaffUser).where(
                    StaffUser.username == auth.normalize_username(username))).first()
                if user is None:
                    raise click.ClickException(f"no user {username!r}")
                auth.set_password(session, user, password, by="cli")
        except auth.UserError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"password set for {username!r}")
