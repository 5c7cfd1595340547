"""Each notebook's run time and peak memory on one CPU core, as Binder runs it (1 CPU, 2 GB).

    python scripts/binder_budget.py [NOTEBOOK ...]     # all of notebooks/ by default

Each notebook runs top to bottom in a fresh kernel (nothing is written back), in a process
pinned to one core with one torch thread; the peak is the kernel's largest resident set
(ru_maxrss of the finished kernel process). The kernel imports rvit_mini as installed in this
environment, as Binder's does (`pip install . nbclient ipykernel`). Prints a markdown table.
"""

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(path: Path) -> None:
    """Execute one notebook in this process's kernel; print seconds and the kernel's peak MiB."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from execute_notebooks import execute

    start = time.perf_counter()
    execute(path, write=False)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB
    print(f"{time.perf_counter() - start:.0f} {peak_kib / 1024:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.one:
        return run_one(args.one)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    spec = importlib.util.find_spec("rvit_mini")
    if spec is None:
        raise SystemExit("rvit_mini is not installed here: run pip install . nbclient ipykernel")
    print(f"the kernels import {spec.origin}", file=sys.stderr)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RVIT_MINI_STATIC": "1"}
    core = min(os.sched_getaffinity(0))
    print("| notebook | seconds on 1 core | peak memory (MiB) |\n| --- | --: | --: |")
    for path in paths:
        out = subprocess.run([sys.executable, __file__, "--one", str(path)], env=env, text=True,
                             capture_output=True, preexec_fn=lambda: os.sched_setaffinity(0, {core}))
        if out.returncode:
            raise SystemExit(f"{path.name} failed:\n{out.stderr[-2000:]}")
        seconds, mib = out.stdout.split()[-2:]
        print(f"| {path.stem} | {seconds} | {mib} |", flush=True)


if __name__ == "__main__":
    main()
