"""Fixtures for the legality tests: a writable copy of content/ for tests that change a rule."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.content import Content

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def content_copy(tmp_path):
    """A fresh copy of content/ and a function to edit one YAML file in it: edit(path, fn)."""
    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)

    def edit(relative: str, change) -> Content:
        path = root / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return Content(root)

    edit.root = root
    return edit
