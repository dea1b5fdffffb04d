"""Data at rest is owner-only: the SQLite file 600, the data and evidence folders 700, also
when an older version left them world-readable."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "umkm-bot"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_umkm_bot_keeps_its_data_owner_only(tmp_path):
    data = tmp_path / "data"
    (data / "evidence" / "whatsapp").mkdir(parents=True, mode=0o755)
    os.chmod(data, 0o755)
    old_photo = data / "evidence" / "whatsapp" / "old.jpg"
    old_photo.write_bytes(b"jpeg")
    old_photo.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EVIDENCE_DIR")}
    env["UMKM_DATA_DIR"] = str(data)
    result = subprocess.run([str(BIN), "chat", "--user", "6281234567890", "--json"], input="halo\n", env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _mode(data / "umkm.sqlite3") == 0o600
    assert _mode(data) == 0o700 and _mode(data / "evidence") == 0o700
    assert _mode(old_photo) == 0o600
    assert all(_mode(p) & 0o077 == 0 for p in data.rglob("*"))
