"""Every notebook's worked solutions run and pass their own self-checks.

A solution is a fenced ```python block inside a folded `<details>` block of a markdown cell. Each
one is self-contained (it imports and builds what it needs) and checks its answer with the
lesson's own check (a `Piece` or a `Prediction` of rvit_mini.lessons.check), which prints
"right: ..." or "not yet: ...".
"""

import contextlib
import io
import os
import re
from pathlib import Path

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DETAILS = re.compile(r"<details>.*?</details>", re.S)
PYTHON = re.compile(r"```python\n(.*?)```", re.S)


def solutions(path: Path) -> list[str]:
    """The python blocks inside the <details> blocks of a notebook's markdown cells, in order."""
    nb = nbformat.read(path, as_version=4)
    return [code for cell in nb.cells if cell.cell_type == "markdown"
            for block in DETAILS.findall(cell.source) for code in PYTHON.findall(block)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_worked_solution_passes_its_checks(path, monkeypatch):
    blocks = solutions(path)
    assert len(blocks) >= 2, f"{path.name} has {len(blocks)} worked solutions; each has two or more"
    monkeypatch.chdir(path.parent)                       # where the notebook runs
    monkeypatch.setitem(os.environ, "RVIT_MINI_STATIC", "1")
    for i, code in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{path.stem} solution {i + 1}", "exec"), {"__name__": "__main__"})
        printed = out.getvalue()
        assert "right:" in printed, f"{path.stem} solution {i + 1} checks nothing:\n{printed}"
        assert "not yet:" not in printed, f"{path.stem} solution {i + 1} fails its check:\n{printed}"
