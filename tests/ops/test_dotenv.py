"""A .env file is read when present; the real environment wins over it."""
from __future__ import annotations

import json
import subprocess

from tests.ops.conftest import BIN, clean_env


def _run(args, cwd, **env):
    return subprocess.run([str(BIN), *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                          timeout=120)


def test_dotenv_in_the_working_directory_is_read_and_the_environment_wins(tmp_path):
    from_file, from_env = tmp_path / "from-file", tmp_path / "from-env"
    (tmp_path / ".env").write_text(f"# settings\nUMKM_DATA_DIR={from_file}\nUMKM_LOG_FORMAT=json\n")
    result = _run(["scheduler", "--once"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (from_file / "umkm.sqlite3").exists()
    assert json.loads(result.stderr.splitlines()[0])["logger"] == "storage.migrate"  # UMKM_LOG_FORMAT from the file
    overridden = _run(["scheduler", "--once"], tmp_path, UMKM_DATA_DIR=str(from_env), UMKM_LOG_FORMAT="plain")
    assert overridden.returncode == 0, overridden.stderr
    assert (from_env / "umkm.sqlite3").exists()
    assert "INFO storage.migrate: database migrated" in overridden.stderr


def test_an_env_file_named_by_umkm_env_file(tmp_path):
    other = tmp_path / "prod.env"
    other.write_text(f"UMKM_DATA_DIR={tmp_path / 'named'}\n")
    result = _run(["db", "upgrade"], tmp_path / "..", UMKM_ENV_FILE=str(other))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "named" / "umkm.sqlite3").exists()
    missing = _run(["db", "upgrade"], tmp_path, UMKM_ENV_FILE=str(tmp_path / "nope.env"))
    assert missing.returncode != 0 and "nope.env: no such file" in missing.stderr
