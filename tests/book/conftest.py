"""The book, built once per test session in the quick setting, and a browser to read it."""

import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import threading

import pytest
import yaml

from tests.conftest import BIN, ROOT, quick_env

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def toc_pages():
    """Every page of _toc.yml (without suffix), in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return pages


class Build:
    def __init__(self, returncode, log, html):
        self.returncode, self.log, self.html = returncode, log, html


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """Build the book with warnings as errors into a temporary folder (quick setting)."""
    output = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "-W", "--keep-going",
         "--path-output", str(output)],
        cwd=ROOT, env=quick_env(), capture_output=True, text=True, timeout=1800,
    )
    log = result.stdout + result.stderr
    reports = output / "_build" / "html" / "reports"
    if reports.exists():
        log += "".join(p.read_text() for p in reports.glob("**/*.log"))
    return Build(result.returncode, log, output / "_build" / "html")


def chromium_executable():
    """Debian's chromium (what CI installs), or COURSEKIT_CHROMIUM; never a download."""
    for candidate in (os.environ.get("COURSEKIT_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium")):
        if candidate and pathlib.Path(candidate).exists():
            return candidate
    return None  # Playwright's own browser, if `playwright install chromium` was run


@pytest.fixture(scope="session")
def site(book):
    """Serve the built book on 127.0.0.1 (a random free port); yields its base URL."""
    assert book.returncode == 0, f"the book did not build:\n{book.log[-5000:]}"

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(book.html))
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
