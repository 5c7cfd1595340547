"""pytest on copies of the notebooks, the kernel importing rvit_mini as a student's does: installed
from a wheel, not from this checkout.

    python scripts/nbval_installed.py PYTEST_ARGUMENT ...      # `make test-notebooks`

Builds a wheel from a copy of the package's sources (pip wheel --no-deps --no-build-isolation),
installs it with --no-deps into a folder of its own, the only entry of the kernel's PYTHONPATH
(so it comes before any editable install of this checkout), copies the repository's files named
among the arguments (the notebooks, the sanitizer) to the same paths in a temporary folder
outside the repository, and runs `python -m pytest` there once with the arguments (and this
project's pytest settings). Each notebook's first cell (tagged colab-setup) also asserts in the
copy that rvit_mini comes from that folder. A notebook that reads a file through the
working directory, or a file the wheel leaves out, fails here as it would in Colab or on Binder.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "rvit_mini")  # what the wheel is built from
CHECK = ("\nassert __import__('rvit_mini').__file__.startswith({site!r}), "
         "'rvit_mini does not come from the wheel installed in {site}'")


def install_wheel(tmp: Path) -> Path:
    """Build the wheel from a copy of the sources, install it into tmp/site; the folder."""
    source, site = tmp / "source", tmp / "site"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp, source],
                   check=True)
    (wheel,) = tmp.glob("rvit_mini-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)
    return site


def copy_notebook(path: Path, copy: Path, site: Path) -> None:
    """The notebook at `copy`, its colab-setup cell asserting where rvit_mini comes from."""
    nb = json.loads(path.read_text())
    setup = [c for c in nb["cells"] if "colab-setup" in c["metadata"].get("tags", [])]
    if not setup:
        raise SystemExit(f"{path.name} has no cell tagged colab-setup: run `make links`")
    setup[0]["source"] = "".join(setup[0]["source"]) + CHECK.format(site=str(site))
    copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False))


def main(args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="rvit-mini-notebooks-") as tmp:
        tmp = Path(tmp)
        site = install_wheel(tmp)
        for i, arg in enumerate(args):  # the repository's files named: copied to the same place
            path = Path(arg).resolve()
            if path.is_file() and path.is_relative_to(ROOT):
                args[i] = str(path.relative_to(ROOT))
                (tmp / args[i]).parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".ipynb":
                    copy_notebook(path, tmp / args[i], site)
                else:
                    shutil.copy(path, tmp / args[i])
        print(f"rvit_mini installed from a wheel in {site}; pytest runs in {tmp}", flush=True)
        env = {**os.environ, "PYTHONPATH": str(site)}
        pytest = [sys.executable, "-m", "pytest", "-c", ROOT / "pyproject.toml", "--rootdir", tmp]
        return subprocess.run([*pytest, *args], cwd=tmp, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
