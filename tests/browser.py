"""What every browser test shares: Debian's Chromium driven by Playwright against a live server
of the test app, and a few page checks."""
import os
import threading

import pytest
from werkzeug.serving import make_server

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}

# Browser tests run once, on the SQLite file; they are skipped only where no Chromium exists.
BROWSER_TEST = [pytest.mark.sqlite_only,
                pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")]


@pytest.fixture
def server(app):
    """The app served on a free loopback port, in a daemon thread."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def chromium_browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def sign_in(page, server: str, user, password: str = PASSWORD) -> None:
    page.goto(f"{server}/login")
    page.fill("#username", user.username)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(f"{server}/")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
