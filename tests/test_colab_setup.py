"""The notebooks' first cell as Colab runs it: `google.colab` imported, the working directory
standing in for /content, rvit_mini nowhere to be found. The cell gets the project from the
repository address, or from a folder or zip uploaded there, installs it so that the same kernel
imports it at once, and does nothing when run again, before or after a restart. Nothing is
downloaded: `git clone` copies this checkout, and pip installs offline into a folder of its own.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CELL = next("".join(cell["source"]) for cell in json.loads(
    (ROOT / "notebooks" / "01_video_to_tokens.ipynb").read_text())["cells"]
    if "colab-setup" in cell["metadata"].get("tags", []))
ADDRESS = "https://github.com/ada/rvit-mini"
SKIP = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*cache")  # not in a clone or zip
IGNORE = shutil.ignore_patterns(*SKIP)

# A kernel in Colab: the cell runs twice, then `import rvit_mini`; prints what it saw as JSON.
KERNEL = r'''
import importlib.machinery, importlib.util, json, shutil, subprocess, sys, types
from pathlib import Path
cell, root, site, ignore = sys.argv[1:]


class SiteOnly(importlib.machinery.PathFinder):  # rvit_mini only from where the cell installs
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        return super().find_spec(name, [site] if name == "rvit_mini" else path, target)


# an editable install's finder out of sight, and any other copy of rvit_mini
sys.meta_path = [SiteOnly if f is importlib.machinery.PathFinder else f for f in sys.meta_path
                 if "__editable__" not in getattr(f, "__module__", "")]
before = importlib.util.find_spec("rvit_mini") is not None
sys.modules["google.colab"] = types.ModuleType("google.colab")
calls, run = [], subprocess.run


def offline(cmd, **kwargs):  # git clone copies the checkout; pip installs offline into `site`
    calls.append(["python" if cmd[0] == sys.executable else cmd[0], *cmd[1:]])
    if cmd[:2] == ["git", "clone"]:
        shutil.copytree(root, cmd[-1], ignore=shutil.ignore_patterns(*ignore.split()))
        return subprocess.CompletedProcess(cmd, 0)
    return run([*cmd, "--no-deps", "--no-index", "--no-build-isolation", "--target", site], **kwargs)


subprocess.run = offline
for _ in range(2):
    exec(cell, {})
import rvit_mini
print(json.dumps({"before": before, "calls": calls, "file": rvit_mini.__file__,
                  "lengths": rvit_mini.results.load("memory")["lengths"]}))
'''


def kernel(content: Path, cell: str) -> subprocess.CompletedProcess:
    """Run the cell twice in a fresh simulated Colab kernel, its working directory `content`."""
    site = content.parent / "site-packages"  # on the kernel's path from the start, as Colab's is
    site.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-c", KERNEL, cell, str(ROOT), str(site), " ".join(SKIP)],
                          cwd=content, env={**os.environ, "PYTHONPATH": str(site)},
                          capture_output=True, text=True)


def colab(content: Path, cell: str = CELL) -> dict:
    """What the kernel saw: whether rvit_mini was there before, the commands the cell ran."""
    out = kernel(content, cell)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.splitlines()[-1])
    site = str(content.parent / "site-packages")
    assert seen["file"].startswith(site), seen["file"]  # the installed copy, not the checkout
    assert seen["lengths"] == [8, 16, 32, 64, 128]  # with its package data
    return seen


def pip_install(path: Path) -> list:
    return ["python", "-m", "pip", "install", "-q", str(path)]  # a regular install, no extras


@pytest.fixture
def content(tmp_path):
    (tmp_path / "content").mkdir()
    return tmp_path / "content"


def test_the_cell_clones_the_repository_and_the_kernel_imports_it_at_once(content):
    cell, named = re.subn(r"^REPOSITORY = .*$", f"REPOSITORY = {ADDRESS!r}", CELL, flags=re.M)
    assert named == 1
    seen = colab(content, cell)
    clone = ["git", "clone", "-q", "--depth", "1", ADDRESS, "rvit-mini"]
    assert not seen["before"] and seen["calls"] == [clone, pip_install(content / "rvit-mini")]
    after_restart = colab(content, cell)  # a new kernel finds the package installed
    assert after_restart["before"] and after_restart["calls"] == []


def test_the_cell_installs_an_uploaded_folder(content):
    shutil.copytree(ROOT, content / "rvit-mini-main", ignore=IGNORE)
    seen = colab(content)
    assert seen["calls"] == [pip_install(content / "rvit-mini-main")]


def test_the_cell_installs_an_uploaded_zip(content, tmp_path):
    shutil.copytree(ROOT, tmp_path / "zip" / "rvit-mini-main", ignore=IGNORE)
    shutil.make_archive(content / "rvit-mini-main", "zip", tmp_path / "zip")  # GitHub's zip
    seen = colab(content)
    assert seen["calls"] == [pip_install(content / "rvit-mini-main" / "rvit-mini-main")]


def test_without_an_address_or_an_upload_the_cell_says_what_to_upload(content):
    cell = re.sub(r"^REPOSITORY = .*$", "REPOSITORY = None", CELL, flags=re.M)
    out = kernel(content, cell)
    assert out.returncode == 1 and out.stderr.splitlines()[-1] == (
        "RuntimeError: Upload the rvit-mini zip (or folder) to /content in the Files pane, "
        "then run this cell again")
