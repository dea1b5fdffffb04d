"""The explicit migration step, and processes that start together on an empty database."""
from __future__ import annotations

import json
import subprocess

from tests.ops.conftest import BIN, clean_env


def _run(args, env, **kwargs):
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=120, **kwargs)


def test_four_processes_started_at_once_on_an_empty_postgres_all_come_up(empty_pg_url, tmp_path):
    env = clean_env(DATABASE_URL=empty_pg_url, UMKM_DATA_DIR=str(tmp_path))
    before = _run(["db", "current", "--check"], env)
    assert before.returncode == 1
    assert "never migrated" in before.stdout and "umkm-bot db upgrade" in before.stdout
    # Each `scheduler --once` opens the database (migrating it on first use) and runs a sweep;
    # `db upgrade` is the explicit step. Without the advisory lock three of them crash creating
    # the same types (UniqueViolation pg_type_typname_nsp_index).
    commands = [["scheduler", "--once"]] * 4 + [["db", "upgrade", "--json"]]
    processes = [subprocess.Popen([str(BIN), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for args in commands]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output
    assert all('"queued": 0' in output for output in outputs[:4])
    state = json.loads(outputs[4].strip().splitlines()[-1])
    assert state["up_to_date"] and state["current"] == state["heads"]
    # exactly one of them did the migrating
    assert sum("database migrated: empty" in output for output in outputs) == 1
    after = _run(["db", "current", "--check", "--json"], env)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["up_to_date"]
