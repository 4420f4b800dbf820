"""A real headless Chromium reads the built book: math typeset, lab figures present, no error
output, no console errors, internal links that resolve, and no request leaving the machine."""

import pytest

from tests.conftest import ROOT, toc_pages

pytestmark = pytest.mark.slow

# Console errors the theme makes on every page, harmless for readers.
KNOWN_CONSOLE_NOISE = (
    "Identifier 'THEBE_JS_URL' has already been declared",  # sphinx-thebe declares it twice
    "Got invalid theme mode",  # pydata-sphinx-theme with an empty localStorage
)

PAGES = toc_pages()
LABS = [p for p in PAGES if p.endswith("-lab")]
# a list of works and a how-to page: no formulas
PAGES_WITH_MATH = [p for p in PAGES if p not in ("book/references", "book/instructors")]


class PageVisit:
    def __init__(self, page, external_requests, console_errors, failed):
        self.page = page
        self.external_requests = external_requests
        self.console_errors = console_errors
        self.failed = failed


def visit(browser, site, path):
    """Open a page, wait until the network is idle and MathJax is done, record what happened."""
    context = browser.new_context()
    page = context.new_page()
    external, errors, failed = [], [], []
    context.on("request", lambda r: None if r.url.startswith((site, "data:", "blob:"))
               else external.append(r.url))
    context.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site + path + ".html")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    real_errors = [e for e in errors if not any(n in e for n in KNOWN_CONSOLE_NOISE)]
    return PageVisit(page, external, real_errors, failed)


@pytest.fixture(scope="module")
def visits(browser, site):
    return {path: visit(browser, site, path) for path in PAGES}


@pytest.mark.parametrize("path", PAGES)
def test_page_makes_no_request_leaving_the_machine(visits, path):
    assert visits[path].external_requests == []


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_without_console_errors_or_missing_files(visits, path):
    assert visits[path].console_errors == []
    assert visits[path].failed == []


@pytest.mark.parametrize("path", PAGES_WITH_MATH)
def test_page_math_is_typeset(visits, path):
    page = visits[path].page
    assert page.locator("mjx-container").count() > 0, "no typeset math on the page"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    assert "$$" not in page.locator("article").inner_text(), "raw $$ math left untypeset"


@pytest.mark.parametrize("path", LABS)
def test_lab_shows_its_figures_and_no_error_output(visits, path):
    page = visits[path].page
    figures = page.locator(".cell_output img")
    assert figures.count() >= 3, f"expected the lab's figures, found {figures.count()}"
    for i in range(figures.count()):
        assert figures.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator(".cell_output .output.traceback, .cell_output .output.error").count() == 0
    assert page.locator(".cell_output .output.stderr").count() == 0, "a cell wrote to stderr"


@pytest.mark.parametrize("path", PAGES)
def test_internal_links_resolve(visits, site, path):
    page = visits[path].page
    hrefs = page.eval_on_selector_all(
        "article a[href]", "links => links.map(a => a.href.split('#')[0])"
    )
    internal = sorted({h for h in hrefs if h.startswith(site)})
    broken = [h for h in internal if page.request.get(h).status != 200]
    assert not broken


def has_solutions(page):
    """Whether the source of ``page`` holds a sphinx-exercise solution."""
    source = next((ROOT / f"{page}{suffix}" for suffix in (".md", ".ipynb")
                   if (ROOT / f"{page}{suffix}").exists()), None)
    return source is not None and "{solution}" in source.read_text()


PAGES_WITH_SOLUTIONS = [p for p in PAGES if has_solutions(p)]


@pytest.mark.parametrize("path", PAGES_WITH_SOLUTIONS)
def test_solutions_are_hidden_until_their_toggle_is_clicked(browser, site, path):
    context = browser.new_context()
    page = context.new_page()
    page.goto(site + path + ".html")
    page.wait_for_load_state("networkidle")
    solutions = page.locator("div.solution")
    assert solutions.count() >= 1, "the page's solutions are not rendered"
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        body = solution.locator(":scope > section")
        assert solution.locator(".admonition-title").is_visible()
        assert body.count() == 1 and body.is_hidden(), f"solution {i + 1} shows before a click"
        solution.locator("button.toggle-button").click()
        body.wait_for(state="visible", timeout=5000)
    context.close()
