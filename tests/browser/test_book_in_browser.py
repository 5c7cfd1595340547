"""The book as a reader opens it: build/book (`make book`: the manual and the notebooks as
committed) in headless Chromium, every page of its navigation loaded, every image drawn.

    make test-browser        # builds the book first, then python -m pytest -m browser tests/browser
"""

from pathlib import Path

import pytest
from test_notebooks_in_browser import CHROMIUM_FLAGS, SHOTS, chromium

pytestmark = pytest.mark.browser

BOOK = Path(__file__).resolve().parents[2] / "build" / "book"

BROKEN_IMAGES = "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
NAVIGATION = ("[...document.querySelectorAll('nav.bd-docs-nav a.reference.internal')]"
              ".map(a => a.href)")


@pytest.fixture(scope="module")
def page():
    if not (BOOK / "index.html").is_file():
        pytest.fail(f"no book in {BOOK}: build it with `make book`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def test_every_page_of_the_book_opens_with_its_images(page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto((BOOK / "index.html").as_uri())
    assert "rvit-mini" in page.title()
    page.screenshot(path=SHOTS / "book-index.png")
    pages = list(dict.fromkeys(href.split("#")[0] for href in page.evaluate(NAVIGATION)))
    names = [Path(href).name for href in pages]
    assert "01_video_to_tokens.html" in names and "model.html" in names, names
    for href in pages:
        page.goto(href)
        page.wait_for_load_state("load")
        assert page.locator("h1").count() >= 1, f"{href} has no title"
        assert page.evaluate(BROKEN_IMAGES) == 0, f"{href} shows a broken image"


def test_a_notebook_page_shows_the_lesson_as_committed(page):
    page.goto((BOOK / "notebooks" / "01_video_to_tokens.html").as_uri())
    text = page.inner_text("main")
    assert "Recurring the Transformer for Video Action Recognition" in text
    assert "NotImplementedError" in text  # the skeleton the student completes ...
    assert "not written yet" in text      # ... and what its check printed, as committed
    assert page.locator("main img").count() >= 3  # the figures, drawn from the saved outputs
    page.screenshot(path=SHOTS / "book-01_video_to_tokens.png", full_page=True)
