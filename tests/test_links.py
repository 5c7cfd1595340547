"""scripts/links.py: Colab/Binder links from the one repository address, and the Colab cell
(tests/test_colab_setup.py runs the cell in a simulated Colab)."""

import importlib.util
import sys
from pathlib import Path

import pytest

if sys.version_info < (3, 11):  # the script reads pyproject.toml with tomllib
    pytest.skip("scripts/links.py needs Python 3.11 or newer", allow_module_level=True)
spec = importlib.util.spec_from_file_location(
    "links", Path(__file__).parents[1] / "scripts" / "links.py")
links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(links)
NOTEBOOKS = sorted(p.stem for p in links.NOTEBOOKS.glob("[0-9]*.ipynb"))


def test_the_table_lists_every_notebook_with_its_run_time():
    assert list(links.TABLE) == NOTEBOOKS and list(links.RUN_TIMES) == NOTEBOOKS


def test_github_addresses_give_owner_and_repo():
    assert links.github_slug("https://github.com/ada/rvit-mini") == "ada/rvit-mini"
    assert links.github_slug("https://github.com/ada/rvit-mini.git") == "ada/rvit-mini"
    assert links.github_slug("https://gitlab.com/ada/rvit-mini") is None
    assert links.github_slug(None) is None


def test_badges_appear_only_with_an_address():
    with_slug = links.readme_table("ada/rvit-mini")
    n = len(NOTEBOOKS)
    assert with_slug.count("colab.research.google.com/github/ada/rvit-mini/blob/main/notebooks/") == n
    assert with_slug.count("mybinder.org/v2/gh/ada/rvit-mini/HEAD?labpath=notebooks%2F") == n
    without = links.readme_table(None)
    assert "colab" not in without and without.count("make lab") == n


def test_setup_cell_does_nothing_outside_colab(monkeypatch, tmp_path):
    import os
    import subprocess

    code = links.SETUP.format(repository="https://github.com/ada/rvit-mini")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"the cell ran {a}"))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "setup", "exec"), namespace)  # no google.colab here: nothing runs
    assert namespace["REPOSITORY"] == "https://github.com/ada/rvit-mini"
    assert os.getcwd() == str(tmp_path) and not list(tmp_path.iterdir())


def test_setup_cell_is_short_and_installs_the_package_as_a_user_does():
    code = links.SETUP.format(repository=None)
    assert len(code.splitlines()) <= 20
    # a regular install that the running kernel imports (an editable one needs a restart), and
    # nothing that would replace Colab's torch, torchvision or ipywidgets
    assert '"pip", "install", "-q", found[0]]' in code and "importlib.invalidate_caches()" in code
    for never in ('"-e"', "[dev]", "--upgrade", "chdir"):
        assert never not in code, never


def test_committed_notebooks_carry_the_current_setup_cell():
    import json
    url = links.repository()
    expected = links.SETUP.format(repository=url)
    for path in sorted(links.NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        first_code = next(c for c in cells if c["cell_type"] == "code")
        assert "".join(first_code["source"]) == expected, f"{path.name}: run make links"


def test_rewriting_the_setup_cell_keeps_the_execution_counts_in_step(tmp_path):
    import json
    path = tmp_path / "nb.ipynb"
    cells = [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# title"},
             {"cell_type": "code", "execution_count": 1, "id": "colab-setup",
              "metadata": {"tags": ["colab-setup"]}, "outputs": [], "source": "old"},
             {"cell_type": "code", "execution_count": 2, "id": "c", "metadata": {}, "outputs": [],
              "source": "x = 1"}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    links.write_setup_cell(path, "https://github.com/ada/rvit-mini")
    cells = json.loads(path.read_text())["cells"]
    assert [c.get("execution_count") for c in cells] == [None, 1, 2]
    assert "ada/rvit-mini" in "".join(cells[1]["source"])
