"""Label tests share the channel harness (the app, the signed Twilio webhook, the local fake)."""
from __future__ import annotations

import shutil

import pytest

from tests.channels.conftest import fake, harness, make_harness  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _tesseract():
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is not installed: run scripts/install-tesseract (make test does)")
