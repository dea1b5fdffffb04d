"""Runs every conversation in tests/dialogues/ through the real pipeline, on both databases.

The format is documented in tests/dialogue_runner.py.
"""
from __future__ import annotations

import pytest

from tests.dialogue_runner import load_dialogues, run_dialogue

CASES = load_dialogues()


@pytest.mark.parametrize("dialogue", [d for _, d in CASES], ids=[name for name, _ in CASES])
def test_dialogue(dialogue, db, content):
    run_dialogue(dialogue, db, content)
