"""Shared fixtures: the repository root, the environment every test subprocess gets, and the
book, built once per session (the book tests read it, the notebook tests check its labs)."""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


def quick_env(**extra):
    """Environment for subprocesses: the venv's tools first on PATH, labs in the quick setting."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COURSEKIT_QUICK"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def root():
    return ROOT


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
    """A finished build: its exit status, its log (with execution reports), the HTML folder,
    and the folder of notebooks as the build executed them."""

    def __init__(self, returncode, log, html):
        self.returncode, self.log, self.html = returncode, log, html
        self.executed = html.parent / "jupyter_execute"

    def execution_report(self, page):
        """The traceback the build saved for ``page`` (e.g. book/part1/x-lab), or ''."""
        reports = self.html / "reports"
        name = pathlib.PurePosixPath(page).name
        return "".join(p.read_text() for p in reports.glob(f"**/{name}*.log")) if reports.exists() else ""


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """Build the book with warnings as errors into a temporary folder (quick setting)."""
    output = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "-W", "--keep-going",
         "--path-output", str(output)],
        cwd=ROOT, env=quick_env(), capture_output=True, text=True, timeout=1800, check=False,
    )
    log = result.stdout + result.stderr
    reports = output / "_build" / "html" / "reports"
    if reports.exists():
        log += "".join(p.read_text() for p in reports.glob("**/*.log"))
    return Build(result.returncode, log, output / "_build" / "html")


