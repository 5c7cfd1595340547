"""The benchmark results that the notebooks and the README quote, shipped with the package.

    import rvit_mini as rm
    rm.results.load("memory")      # dict: the committed rvit_mini/results/memory.json
    rm.results.FOLDER / "memory.png"

benchmarks/*.py write them here (each file names the machine that measured it). Reading them
through the package works wherever rvit_mini is installed, whatever the working directory.
This module imports nothing heavy (no torch).
"""

import json
from pathlib import Path

FOLDER = Path(__file__).parent


def names() -> list[str]:
    """The results that load() reads, e.g. ['frame_checkpoint', 'memory', ...]."""
    return sorted(path.stem for path in FOLDER.glob("*.json"))


def load(name: str) -> dict:
    """The committed results `name` (rvit_mini/results/NAME.json) as a dict."""
    path = FOLDER / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results named {name!r}: choose one of {names()}")
    return json.loads(path.read_text())
