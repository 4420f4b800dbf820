"""The two widget demos play in the static book, with no kernel behind the page.

A headless Chromium opens the chapter pages that embed ``wta_vs_wtm_demo()`` and
``som_epochs_demo()``, finds the demo (the root widget carries the CSS class
``coursekit-demo``, its stacks of frames ``coursekit-frames``), and checks that moving the
frame slider and pressing play change the picture: the bytes behind the visible ``<img>``
differ. It then works every visible control: the live controls (``coursekit-live``, which
call Python) must be hidden, and each precomputed one (``coursekit-static``: a button per
control and the chosen control's slider) must change the picture. The frames are embedded
widget state and the links between buttons, sliders and stacks are ``jslink``s, so this works
in the browser alone; the page must also log no console errors, request nothing outside the
machine, and stay within 4 MB.

Point the tests at a book built beforehand with ``COURSEKIT_BOOK_HTML`` (tests/book/conftest.py).
"""

import urllib.request

import pytest

from tests.book.test_browser import KNOWN_CONSOLE_NOISE, visit

pytestmark = pytest.mark.slow

# Chapter pages holding a demo cell (adjust when the chapters move).
DEMO_PAGES = [
    "book/part1-kohonen/02-competitive",
    "book/part1-kohonen/04-som",
]

# Bytes of the visible frame, reduced to a short fingerprint (length and a rolling hash).
VISIBLE_FRAME_FINGERPRINT = """async demo => {
    const visible = [...demo.querySelectorAll('.coursekit-frames img')]
        .filter(img => img.offsetParent !== null);
    if (visible.length !== 1) return `visible frames: ${visible.length}`;
    const bytes = new Uint8Array(await (await fetch(visible[0].src)).arrayBuffer());
    let hash = 0;
    for (const b of bytes) hash = (hash * 31 + b) | 0;
    return `${bytes.length}:${hash}`;
}"""


def open_demo(browser, site, path):
    """Visit ``site + path`` (a page without its suffix) and wait for its one demo to render;
    returns the visit, the demo's locator and a list collecting console errors from now on
    (the visit's own list covers page load only)."""
    visited = visit(browser, site, path)
    later_errors = []
    visited.page.on("console", lambda m: later_errors.append(m.text) if m.type == "error" else None)
    visited.page.on("pageerror", lambda e: later_errors.append(str(e)))
    visited.page.wait_for_selector(".coursekit-demo .coursekit-frames img", timeout=30_000)
    demos = visited.page.locator(".coursekit-demo")
    assert demos.count() == 1, f"expected one demo on the page, found {demos.count()}"
    return visited, demos.first, later_errors


def assert_quiet(visited, later_errors):
    """No console error (load or interaction), no missing file, nothing fetched from outside."""
    errors = visited.console_errors + [
        e for e in later_errors if not any(noise in e for noise in KNOWN_CONSOLE_NOISE)
    ]
    assert errors == []
    assert visited.failed == []
    assert visited.external_requests == []


# Visible widgets a reader can move or press, by kind (the player's and the controls').
VISIBLE_CONTROLS = """demo => [...demo.querySelectorAll(
        '.widget-slider, .widget-play, .widget-toggle-buttons, .widget-dropdown, ' +
        '.widget-checkbox, .widget-text, .widget-button')]
    .filter(e => e.offsetParent !== null)
    .map(e => e.matches('.widget-slider') ? 'slider'
             : e.matches('.widget-play') ? 'play'
             : e.matches('.widget-toggle-buttons') ? 'buttons' : e.className)"""

PAGE_LIMIT = 4_000_000  # bytes of the HTML, embedded widget state (every frame) included


def fingerprint(demo):
    return demo.evaluate(VISIBLE_FRAME_FINGERPRINT)


def press_on(visited, handle, key):
    """Focus a slider's handle and press ``key`` (Home: first value, End: last)."""
    handle.focus()
    visited.page.keyboard.press(key)
    visited.page.wait_for_timeout(300)


def check_slider_changes_the_picture(browser, site, path):
    visited, demo, later_errors = open_demo(browser, site, path)
    first = fingerprint(demo)
    assert first.count(":") == 1, first
    demo.locator(".widget-slider .noUi-handle").first.focus()
    visited.page.keyboard.press("End")  # the slider's last frame
    visited.page.wait_for_timeout(300)
    last = fingerprint(demo)
    assert last.count(":") == 1 and last != first, "the slider did not change the picture"
    visited.page.keyboard.press("Home")
    visited.page.wait_for_timeout(300)
    assert fingerprint(demo) == first, "back at frame 0 the first picture should return"
    assert_quiet(visited, later_errors)


def check_play_changes_the_picture(browser, site, path):
    visited, demo, later_errors = open_demo(browser, site, path)
    first = fingerprint(demo)
    demo.locator(".widget-play button").first.click()  # the play button
    visited.page.wait_for_timeout(1500)
    assert fingerprint(demo) != first, "pressing play did not change the picture"
    assert_quiet(visited, later_errors)


def check_every_control_changes_the_picture(browser, site, path):
    visited, demo, later_errors = open_demo(browser, site, path)
    live = demo.locator(".coursekit-live")
    assert live.count() == 1 and not live.is_visible(), "live controls call Python: hidden"
    buttons = demo.locator(".coursekit-static .widget-toggle-buttons button")
    n_controls = buttons.count()
    assert n_controls >= 4, "one button per control"
    # The reader sees: play, the frame slider, the buttons, and the chosen control's slider.
    assert sorted(demo.evaluate(VISIBLE_CONTROLS)) == ["buttons", "play", "slider", "slider"]
    press_on(visited, demo.locator(".widget-slider .noUi-handle").first, "End")  # last frame
    defaults = shown = fingerprint(demo)
    for i in range(n_controls):
        label = buttons.nth(i).inner_text()
        buttons.nth(i).click()
        visited.page.wait_for_timeout(300)
        # the previous control was left off its default; this one starts at its default
        chosen = fingerprint(demo)
        assert chosen == defaults, f"{label}: should start at the defaults"
        if i > 0:
            assert chosen != shown, f"choosing {label} did not change the picture"
        sliders = demo.locator(".coursekit-static .widget-slider:visible")
        assert sliders.count() == 1, f"{label}: expected its one slider"
        handle = sliders.first.locator(".noUi-handle")
        press_on(visited, handle, "Home")
        first = fingerprint(demo)
        press_on(visited, handle, "End")
        last = fingerprint(demo)
        assert first.count(":") == 1 and last.count(":") == 1, (first, last)
        assert first != last, f"the slider of {label} did not change the picture"
        if last == defaults:  # the default is the last value: leave the control off it
            press_on(visited, handle, "Home")
        shown = fingerprint(demo)
        assert shown != defaults
    buttons.nth(0).click()  # back to the first control, left off its default
    visited.page.wait_for_timeout(300)
    back = fingerprint(demo)
    assert back not in (defaults, shown), "choosing the first control did not change the picture"
    assert_quiet(visited, later_errors)


@pytest.mark.parametrize("path", DEMO_PAGES)
def test_every_visible_demo_control_changes_the_picture_without_a_kernel(browser, site, path):
    check_every_control_changes_the_picture(browser, site, path)


@pytest.mark.parametrize("path", DEMO_PAGES)
def test_demo_page_with_every_precomputed_frame_stays_within_4_mb(site, path):
    with urllib.request.urlopen(site + path + ".html") as page:  # served on 127.0.0.1
        size = len(page.read())
    assert size <= PAGE_LIMIT, f"{path}.html is {size / 1e6:.2f} MB"


@pytest.mark.parametrize("path", DEMO_PAGES)
def test_demo_slider_changes_the_picture_without_a_kernel(browser, site, path):
    check_slider_changes_the_picture(browser, site, path)


@pytest.mark.parametrize("path", DEMO_PAGES)
def test_demo_play_button_animates_the_picture_without_a_kernel(browser, site, path):
    check_play_changes_the_picture(browser, site, path)
