"""A browser to read the book (built once per session by tests/conftest.py's `book` fixture).

To read a book built beforehand instead (say a throwaway build of a few pages), set
``COURSEKIT_BOOK_HTML`` to its HTML folder (``<path-output>/_build/html``): the browser tests
then serve that folder and build nothing, e.g.
``COURSEKIT_BOOK_HTML=/tmp/few-pages/_build/html pytest tests/book/test_demos.py``.
"""

import functools
import http.server
import os
import pathlib
import shutil
import threading

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable():
    """Debian's chromium (what CI installs), or COURSEKIT_CHROMIUM; never a download."""
    for candidate in (os.environ.get("COURSEKIT_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium")):
        if candidate and pathlib.Path(candidate).exists():
            return candidate
    return None  # Playwright's own browser, if `playwright install chromium` was run


@pytest.fixture(scope="session")
def book_html(request):
    """The HTML folder to serve: ``COURSEKIT_BOOK_HTML`` if set, else the session's build."""
    prebuilt = os.environ.get("COURSEKIT_BOOK_HTML")
    if prebuilt:
        html = pathlib.Path(prebuilt)
        assert (html / "index.html").exists(), f"COURSEKIT_BOOK_HTML={prebuilt}: no index.html"
        return html
    book = request.getfixturevalue("book")
    assert book.returncode == 0, f"the book did not build:\n{book.log[-5000:]}"
    return book.html


@pytest.fixture(scope="session")
def site(book_html):
    """Serve the built book on 127.0.0.1 (a random free port); yields its base URL."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(book_html))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()
