"""The version matrix: the unit tests and the notebooks (nbval) in fresh environments.

    python scripts/matrix.py [ROW ...]          # `make matrix`: every row, or the rows named

Each row clones the committed HEAD into build/matrix/ROW/, makes a virtual environment there with
the row's Python, installs the row's packages, then the project, and runs `pytest tests` and
nbval on the notebooks as `make test` does (scripts/nbval_installed.py: copies of the notebooks,
the package from a wheel). Rows:
- floor:  Python 3.10, torch 2.5.1 (the declared minimum), ipywidgets 7.7.1;
- colab:  Python 3.13 with what Colab ships installed first (torch 2.11 and its torchvision
          0.26, ipywidgets 7.7.1, matplotlib), then the project as the notebooks' Colab cell
          installs it (a regular `pip install .`), then the test tools (timm finds the matched
          torchvision); the row fails if pip replaced Colab's torch, torchvision or ipywidgets;
- newest: Python 3.13 with the newest torch and ipywidgets the index offers.
A row's Python is found as pythonX.Y on PATH, or through pyenv; set PYTHON3_10 / PYTHON3_13 to
choose one. Logs go to build/matrix/ROW.log; the summary, a markdown table with one line per row
(date, commit, versions, counts, minutes), is printed and written to build/matrix/summary.md.
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "matrix"

# row -> (Python, packages installed before the project, extras, packages that must not change)
ROWS = {
    "floor": ("3.10", ["torch==2.5.1", "torchvision==0.20.1", "ipywidgets==7.7.1"], "dev", ()),
    "colab": ("3.13", ["torch==2.11.*", "torchvision==0.26.*", "ipywidgets==7.7.1", "matplotlib"],
              "dev", ("torch", "torchvision", "ipywidgets")),
    "newest": ("3.13", ["--upgrade", "torch", "torchvision", "ipywidgets"], "dev", ()),
}
VERSIONS = "import sys, torch, torchvision, ipywidgets; print(sys.version.split()[0], " \
           "torch.__version__, ipywidgets.__version__, torchvision.__version__)"


def find_python(version: str) -> str:
    variable = f"PYTHON{version.replace('.', '_')}"
    chosen = os.environ.get(variable) or shutil.which(f"python{version}")
    # a pyenv shim is on PATH for every version pyenv has, but runs only the active ones
    if chosen and subprocess.run([chosen, "-c", ""], capture_output=True).returncode == 0:
        return chosen
    pyenv = shutil.which("pyenv")
    if pyenv:
        for line in subprocess.run([pyenv, "versions", "--bare"], capture_output=True,
                                   text=True).stdout.split():
            if line.startswith(version + "."):
                prefix = subprocess.run([pyenv, "prefix", line], capture_output=True, text=True)
                return str(Path(prefix.stdout.strip()) / "bin" / "python")
    raise SystemExit(f"no Python {version} found: install it, or set {variable} to its interpreter")


def run(cmd, log, cwd, env=None) -> str:
    """Run cmd, appending its output to log; raise CalledProcessError when it fails."""
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(map(str, cmd))}\n")
        f.flush()
        out = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        f.write(out.stdout)
    if out.returncode:
        raise subprocess.CalledProcessError(out.returncode, cmd, out.stdout)
    return out.stdout


def pytest_counts(output: str) -> str:
    """pytest's closing line without its time, warnings and deselected tests, e.g. '272 passed,
    4 skipped' (or what went wrong)."""
    lines = [line.strip("= ") for line in output.splitlines()
             if re.search(r"\d+ (passed|failed|error)", line)]
    if not lines:
        return "no result"
    counts = re.sub(r" in [\d.]+s.*", "", lines[-1]).split(", ")
    return ", ".join(c for c in counts if not re.search(r"warnings?$|deselected$", c))


def row(name: str) -> dict:
    python, before, extras, kept = ROWS[name]
    work, log = OUT / name, OUT / f"{name}.log"
    shutil.rmtree(work, ignore_errors=True)
    log.unlink(missing_ok=True)
    start = time.time()
    run(["git", "clone", "-q", str(ROOT), str(work)], log, ROOT)
    commit = run(["git", "rev-parse", "--short", "HEAD"], log, work).strip()
    run([find_python(python), "-m", "venv", ".venv"], log, work)
    pip = [str(work / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    py = str(work / ".venv" / "bin" / "python")
    run(pip + ["--upgrade", "pip"], log, work)
    run(pip + before, log, work)
    shipped = run([py, "-c", VERSIONS], log, work).split()
    run(pip + ["."], log, work)                       # as the notebooks' Colab cell installs it
    run(pip + [f".[{extras}]"], log, work)            # then the test tools
    versions = run([py, "-c", VERSIONS], log, work).split()
    changed = [pkg for pkg, a, b in zip(("python", "torch", "ipywidgets", "torchvision"), shipped,
                                         versions) if pkg in kept and a != b]
    env = {**os.environ, "RVIT_MINI_STATIC": "1"}
    results = {}
    for label, cmd in (("unit", [py, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]),
                       ("nbval", [py, "scripts/nbval_installed.py", "--nbval",
                                  "--nbval-current-env", "-q", "-p", "no:cacheprovider",
                                  "--nbval-sanitize-with",
                                  "notebooks/sanitize.cfg",
                                  *sorted(str(p) for p in (work / "notebooks").glob("*.ipynb"))])):
        try:
            results[label] = pytest_counts(run(cmd, log, work, env))
        except subprocess.CalledProcessError as err:
            results[label] = pytest_counts(err.output)
    ok = not changed and all("failed" not in r and "error" not in r and "no result" not in r
                             for r in results.values())
    return {"row": name, "commit": commit, "python": versions[0], "torch": versions[1],
            "ipywidgets": versions[2],
            "unit": results["unit"], "nbval": results["nbval"], "ok": ok,
            "changed": changed, "minutes": (time.time() - start) / 60}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", metavar="ROW", help=f"some of {list(ROWS)}; default: all")
    args = parser.parse_args(argv)
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    today = datetime.date.today().isoformat()
    lines = ["| row | date | commit | Python | torch | ipywidgets | unit tests | nbval cells "
             "| minutes |", "| --- | --- | --- | --- | --- | --- | --- | --- | --: |"]
    failed = False
    for name in args.rows or list(ROWS):
        try:
            r = row(name)
        except subprocess.CalledProcessError as err:
            raise SystemExit(f"{name}: `{' '.join(map(str, err.cmd))}` failed; "
                             f"see {OUT / name}.log") from None
        failed |= not r["ok"]
        note = (f" (pip replaced {', '.join(r['changed'])})" if r["changed"] else
                " (kept)" if ROWS[name][3] else "")
        lines.append(f"| {name} | {today} | {r['commit']} | {r['python']} | {r['torch']} | "
                     f"{r['ipywidgets']}{note} | {r['unit']} | {r['nbval']} | {r['minutes']:.0f} |")
        print(lines[-1], flush=True)
    (OUT / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
