"""`umkm-bot chat` as a newcomer and a script use it: a real process on a real database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "umkm-bot"


def _chat(tmp_path, stdin: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}"}
    return subprocess.run([str(BIN), "chat", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60, cwd=REPO)


def test_json_mode_prints_only_json_lines(tmp_path):
    result = _chat(tmp_path, "halo\n1\n", "--user", "6281234567890", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    replies = [json.loads(line) for line in lines]
    assert all(set(r) == {"text", "options"} for r in replies)
    assert replies[1]["options"] == ["Setuju", "Tidak setuju"]
    assert replies[2] == {"text": "Siapa nama Anda?", "options": []}


def test_same_user_continues_across_runs_and_completes_registration(tmp_path):
    first = _chat(tmp_path, "halo\n1\nSiti\n", "--user", "6281234567890", "--json")
    assert first.returncode == 0, first.stderr
    second = _chat(tmp_path, "Warung Siti\n1\nrendang\njaksel\ntebet\n6\n1\n", "--user", "6281234567890", "--json")
    assert second.returncode == 0, second.stderr
    last = json.loads(second.stdout.splitlines()[-1])
    assert last["text"].startswith("Terima kasih, Siti!")


def test_text_mode_renders_options_as_numbered_list(tmp_path):
    result = _chat(tmp_path, "hello\n", "--user", "42", "--channel", "telegram", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "1. I agree\n2. I do not agree" in result.stdout
