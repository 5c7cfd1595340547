"""`python -m rvit_mini grade`: a student's notebook run in a fresh kernel, its checks tallied."""

import nbformat
import pytest

from rvit_mini.cli import main

CELLS = [
    "from rvit_mini.lessons import tokens",
    "def stem(model, frames):\n    return model.embed(frames)\nstem = tokens.STEM.check(stem)",
    "def stem(model, frames):\n    raise NotImplementedError\nstem = tokens.STEM.check(stem)",
    "1 / 0",
]


def test_grade_runs_a_students_notebook_and_tallies_its_checks(tmp_path, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS[:2]])
    right = tmp_path / "right.ipynb"
    nbformat.write(nb, right)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in CELLS[2:]]
    unwritten = tmp_path / "unwritten.ipynb"
    nbformat.write(nb, unwritten)
    main(["grade", str(right), str(unwritten)])
    out = capsys.readouterr().out.splitlines()
    assert out == ["right.ipynb: 1 of 1 checks right", "  right         the stem",
                   "unwritten.ipynb: 0 of 1 checks right", "  not written   the stem",
                   "  error         cell 3: ZeroDivisionError"]


def test_grade_refuses_what_is_not_a_notebook(tmp_path, capsys):
    (tmp_path / "x.ipynb").write_text("not json")
    for path in (tmp_path / "x.ipynb", tmp_path / "missing.ipynb"):
        with pytest.raises(SystemExit):
            main(["grade", str(path)])
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err
