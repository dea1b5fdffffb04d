"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium, installed by
`make test` through scripts/install-chromium; Playwright never downloads a browser here) against
the real app served by uvicorn on a free local port, in a thread of the test process.

One browser per test module (see `browser`); a fresh context (cookies) per test. Screenshots go to
test-artifacts/ (the `artifacts_dir` fixture).
"""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
import uvicorn

from bot.app import create_app
from tests.dashboard.conftest import cheap_password_hashing  # noqa: F401  (autouse here too)
from tests.dashboard.scripted import PASSWORD, make_services

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    """Chromium, started once per test module. Not once per session: Playwright's sync API keeps its
    event loop running in the test thread while it is open, and later tests in the same process that
    call asyncio.run() (the sender's drain) would fail; with pytest-xdist a worker runs the browser
    modules between others."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, services):
        self.services = services
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(services), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(db, content, tmp_path):
    with LiveServer(make_services(db, content, tmp_path)) as server:
        yield server


@pytest.fixture
def new_page(browser, live_server, request):
    """new_page(phone=False) -> a page in a fresh context pointed at the live server."""
    contexts = []

    def make(phone: bool = False):
        context = browser.new_context(viewport=PHONE if phone else DESKTOP, base_url=live_server.url,
                                      locale="id-ID", is_mobile=phone, has_touch=phone)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str = PASSWORD, next_path: str = "") -> None:
    page.goto("/dash/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def shot(page, artifacts_dir, name: str, request) -> None:
    kind = request.node.callspec.params.get("db", "") if hasattr(request.node, "callspec") else ""
    page.screenshot(path=str(artifacts_dir / f"web-{name}{'-' + kind if kind else ''}.png"), full_page=True)
