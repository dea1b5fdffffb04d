"""Sign-in: argon2 hashes, lockout after repeated failures, the users CLI."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.dashboard import auth
from storage.models.staff import AuditLog, StaffUser
from tests.dashboard.scripted import PASSWORD, make_user


def test_password_is_stored_as_an_argon2id_hash_never_in_clear(db):
    make_user(db, "siti", "staff")
    with db.session() as session:
        user = session.scalars(select(StaffUser)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert auth.sign_in(session, "Siti ", PASSWORD).ok  # names are trimmed and lower-cased


def test_lockout_after_repeated_failures_refuses_even_the_right_password(db, clock):
    make_user(db, "budi", "staff")
    with db.session() as session:
        outcomes = [auth.sign_in(session, "budi", "wrong guess").outcome for _ in range(auth.MAX_FAILED_ATTEMPTS)]
    assert outcomes == ["bad"] * (auth.MAX_FAILED_ATTEMPTS - 1) + ["locked"]
    with db.session() as session:
        assert auth.sign_in(session, "budi", PASSWORD).outcome == "locked"
    clock.shift(auth.LOCKOUT + timedelta(seconds=1))
    with db.session() as session:
        assert auth.sign_in(session, "budi", PASSWORD).ok
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions.count("login_failed") == auth.MAX_FAILED_ATTEMPTS - 1
    assert "locked" in actions and "login_refused_locked" in actions and actions[-1] == "login"


def test_a_successful_sign_in_resets_the_failure_count(db):
    make_user(db, "ani", "staff")
    with db.session() as session:
        for _ in range(auth.MAX_FAILED_ATTEMPTS - 1):
            auth.sign_in(session, "ani", "nope")
        assert auth.sign_in(session, "ani", PASSWORD).ok
        for _ in range(auth.MAX_FAILED_ATTEMPTS - 1):
            assert auth.sign_in(session, "ani", "nope").outcome == "bad"


def test_unknown_and_inactive_users_get_the_same_answer_as_a_wrong_password(db):
    make_user(db, "rina", "staff")
    with db.session() as session:
        session.scalars(select(StaffUser)).one().active = False
    with db.session() as session:
        assert auth.sign_in(session, "nobody", PASSWORD).outcome == "bad"
        assert auth.sign_in(session, "rina", PASSWORD).outcome == "bad"


def test_users_create_cli_makes_the_first_admin_from_stdin(db, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["users", "create", "--username", "admin", "--role", "admin", "--password-stdin"],
                           input="a very good password\n")
    assert result.exit_code == 0, result.output
    short = runner.invoke(main, ["users", "create", "--username", "staf", "--role", "staff", "--password-stdin"],
                          input="short\n")
    assert short.exit_code != 0 and "at least" in short.output
    mentor = runner.invoke(main, ["users", "create", "--username", "jo", "--role", "mentor", "--password-stdin"],
                           input="a very good password\n")
    assert mentor.exit_code != 0
    with db.session() as session:
        users = session.scalars(select(StaffUser)).all()
        assert [(u.username, u.role) for u in users] == [("admin", "admin")]
        assert auth.sign_in(session, "admin", "a very good password").ok
