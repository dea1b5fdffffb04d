"""The message budget over every dialogue: each message at most about 400 characters (checked
per reply in tests/dialogue_runner.py, with at most 2 messages per reply and no long text twice
in a row) and the median message under 250 characters (here, over all of them).

Run after tests/test_dialogues.py it reads what those runs collected; run alone it plays every
dialogue once on SQLite itself."""
from __future__ import annotations

import statistics

import tests.dialogue_runner as runner
from tests.conftest import _empty

MEDIAN_UNDER = 250


def test_median_message_is_short(_sqlite_db, content):
    if not runner.SEEN:
        for _name, dialogue in runner.load_dialogues():
            _empty(_sqlite_db)
            runner.run_dialogue(dialogue, _sqlite_db, content)
    lengths = [len(text) for _where, texts in runner.SEEN for text in texts]
    assert len(lengths) > 300, "too few messages seen to judge the budget"
    median = statistics.median(lengths)
    longest = max(lengths)
    print(f"\nmessage budget: {len(lengths)} messages, median {median:.0f} characters, longest {longest}, "
          f"most per reply {max(len(texts) for _w, texts in runner.SEEN)}")
    assert median < MEDIAN_UNDER
    assert longest <= runner.MAX_MESSAGE_CHARS
