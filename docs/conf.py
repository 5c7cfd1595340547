"""Sphinx configuration of the rvit-mini book: the manual (docs/*.md) and the notebooks, rendered
as committed, with their outputs, without running them (`make book` -> build/book/index.html)."""

import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# the notebooks live in notebooks/; Sphinx reads sources under docs/, so the book takes a copy
shutil.rmtree(DOCS / "notebooks", ignore_errors=True)
shutil.copytree(ROOT / "notebooks", DOCS / "notebooks", ignore=shutil.ignore_patterns("*.cfg"))

project = "rvit-mini"
author = "the rvit-mini authors"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # the committed outputs are the lesson; the tests run the notebooks
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 2  # "page.md#a-section" links reach the section
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = "rvit-mini"
html_theme_options = {"show_toc_level": 2}
suppress_warnings = ["mystnb.unknown_mime_type"]  # widget views: the saved picture shows instead
