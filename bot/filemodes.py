"""Data at rest is the owner's business only: owner-only file modes for everything we write.

`umkm-bot` sets the process umask to 077 before anything opens a file, so the SQLite database
(and its -wal/-shm files), the data folder, the evidence folder and every kept photo are
created 600/700. `restrict_existing` tightens what an older version created 644/755.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

UMASK = 0o077


def set_umask() -> None:
    os.umask(UMASK)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(mode)
    except OSError:  # not ours to change (a mounted volume): leave it, never crash the start
        pass


def restrict_existing(data_dir: Path, database_url: str, evidence_dir: Path | None = None) -> None:
    for folder in (data_dir, evidence_dir or data_dir / "evidence"):
        _chmod(folder, 0o700)
        if folder.is_dir():
            for child in folder.rglob("*"):
                _chmod(child, 0o700 if child.is_dir() else 0o600)
    if database_url.startswith("sqlite:///"):
        database = Path(database_url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm", "-journal"):
            _chmod(database.with_name(database.name + suffix), 0o600)
