"""The channel tests' harness (the app with both channels on, real twilio / python-telegram-bot
clients against the local fake providers) serves the security tests too."""
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401  (fixtures)
from tests.dashboard.conftest import client, services  # noqa: F401,E402  (the dashboard over plain http)
