"""The teacher's view: `python -m rvit_mini grade NOTEBOOK.ipynb [...]` runs a student's copy of a
notebook in a fresh kernel and prints, for each notebook, which pieces and exercises pass their
checks. No grading server is needed: the checks record their outcomes as they print them
(rvit_mini.lessons.check.RESULTS), and one cell added at the end reads them back.
"""

import json
import os
from pathlib import Path

from ..common.text import printable
from .args import positive_int

READ_RESULTS = "import json\nfrom rvit_mini.lessons.check import RESULTS\nprint(json.dumps(RESULTS))"


def grade(path: Path, timeout: int) -> tuple[dict, list[str]]:
    """Run the notebook at `path` top to bottom (its errors do not stop the run) -> ({check:
    outcome}, the cells that raised, as 'cell N: ErrorName')."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        raise ValueError("grade runs notebooks with nbclient: pip install nbclient ipykernel "
                         "(or the project's [lab] extra)") from None
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds for a file that is not a notebook
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ValueError(f"cannot read {path} as a notebook: {reason}") from None
    nb.cells.append(nbformat.v4.new_code_cell(READ_RESULTS))
    os.environ["RVIT_MINI_STATIC"] = "1"  # the playgrounds draw their pictures, no widgets
    NotebookClient(nb, timeout=timeout, allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [f"cell {i}: {out['ename']}" for i, cell in enumerate(nb.cells[:-1])
              if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    printed = "".join(out.get("text", "") for out in nb.cells[-1].get("outputs", []))
    return json.loads(printed or "{}"), errors


def cmd_grade(args) -> None:
    """Run students' notebooks in a fresh kernel; print which pieces and exercises pass."""
    for name in args.notebooks:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"notebook not found: {path}")
        results, errors = grade(path, args.timeout)
        passed = sum(outcome == "right" for outcome in results.values())
        print(f"{printable(path.name)}: {passed} of {len(results)} checks right")
        for check, outcome in results.items():  # names and outcomes from the student's kernel
            print(f"  {printable(outcome):<14}{printable(check)}")
        for error in errors:
            print(f"  error         {printable(error)}")


def add_parsers(sub) -> None:
    p = sub.add_parser("grade", help=cmd_grade.__doc__)
    p.add_argument("notebooks", nargs="+", help="students' copies of the notebooks (.ipynb)")
    p.add_argument("--timeout", type=positive_int, default=600, help="seconds a cell may take")
    p.set_defaults(func=cmd_grade)
