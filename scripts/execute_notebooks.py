"""Execute the notebooks in place, as they are committed: top to bottom in a fresh kernel.

    python scripts/execute_notebooks.py [NOTEBOOK ...]     # `make notebooks`: all of notebooks/
    python scripts/execute_notebooks.py --check [NOTEBOOK ...]

Each notebook runs with nbclient in a kernel of this Python environment, in its own folder, with
RVIT_MINI_STATIC=1 (as `make test-notebooks` runs them: static figures, which every viewer shows).
Consecutive prints are merged into one output (as nbconvert does), an earlier run's widget state is
dropped, no per-cell timing metadata is written, and the execution counts are numbered 1..n
over the code cells that ran, so that a reader sees them in step. `--check` executes nothing: it fails
when a notebook's counts are not 1..n.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def counts_in_step(nb) -> bool:
    return [c.execution_count for c in code_cells(nb)] == list(range(1, len(code_cells(nb)) + 1))


def renumber(nb) -> None:
    """Execution counts 1..n over the non-empty code cells, their results' counts with them."""
    for n, cell in enumerate(code_cells(nb), 1):
        cell.execution_count = n
        for out in cell.outputs:
            if out.output_type == "execute_result":
                out.execution_count = n


def execute(path: Path, timeout: int = 1200, write: bool = True) -> None:
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    class ThisPython(KernelSpecManager):
        """The notebooks' python3 kernel is this interpreter, whatever kernels are installed."""

        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=RESOURCES, **get_kernel_dict())

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # an earlier run's widget state; this run stores its own
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
    try:
        NotebookClient(nb, km=km, timeout=timeout, record_timing=False, coalesce_streams=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if km.has_kernel:
            km.shutdown_kernel()  # nbclient leaves a kernel it was given running
    renumber(nb)
    if write:
        nbformat.write(nb, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="only check the execution counts")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.check:
        bad = [p.name for p in paths if not counts_in_step(nbformat.read(p, as_version=4))]
        if bad:
            raise SystemExit(f"execution counts not 1..n in {', '.join(bad)}: "
                             "run python scripts/execute_notebooks.py (make notebooks)")
        print(f"{len(paths)} notebooks: execution counts 1..n")
        return
    # the kernel imports this checkout's rvit_mini and draws static figures
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    os.environ["RVIT_MINI_STATIC"] = "1"
    for path in paths:
        start = time.perf_counter()
        print(f"{path.name} ...", end=" ", flush=True)
        execute(path)
        print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
