"""The channel harness (real webhooks, fake providers) for the understanding step's end-to-end tests."""
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401
