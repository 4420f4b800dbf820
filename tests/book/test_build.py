"""The book builds with warnings as errors, and every page of the table of contents exists."""

import pytest

from tests.conftest import toc_pages

pytestmark = pytest.mark.slow


def test_book_builds_without_warnings(book):
    assert book.returncode == 0, f"jupyter-book build -W failed:\n{book.log[-8000:]}"
    # Sphinx's warnings read "WARNING: ..."; the kernel's own "[IPKernelApp] WARNING |" is not one.
    sphinx_warnings = [line for line in book.log.splitlines() if "WARNING: " in line]
    assert not sphinx_warnings
    assert "build succeeded" in book.log


def test_every_toc_page_is_rendered(book):
    missing = [p for p in toc_pages() if not (book.html / f"{p}.html").exists()]
    assert not missing


def test_vendored_scripts_replace_the_cdns(book):
    intro = (book.html / "book" / "intro.html").read_text()
    assert "_static/mathjax/tex-mml-chtml.js" in intro
    assert "cdn.jsdelivr.net" not in intro and "cdnjs.cloudflare.com" not in intro


def test_launch_buttons_and_repository_link_read_the_configured_url(book, root):
    import yaml

    url = yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]
    lab = next(p for p in toc_pages() if p.endswith("-lab"))
    page = (book.html / f"{lab}.html").read_text()
    repository = url.removeprefix("https://github.com/")
    assert f'href="{url}"' in page, "repository button"
    assert f"mybinder.org/v2/gh/{repository}/" in page, "Binder launch button"
    assert f"colab.research.google.com/github/{repository}/" in page, "Colab launch button"
    assert f"git-pull?repo=https%3A//github.com/{repository}" in page, "JupyterHub launch button"
