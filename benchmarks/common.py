"""Helpers for the benchmarks: where they ran, and writing results."""

import json
from pathlib import Path

from rvit_mini.execution.timing import frames_per_second
from rvit_mini.training.cards import machine

# the package's results folder in this checkout (rvit_mini.results reads it, installed or not)
RESULTS = Path(__file__).resolve().parents[1] / "rvit_mini" / "results"


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def seconds(fn, repeats: int, sync=lambda: None) -> float:
    """Median wall time of fn() after one warm-up call; `sync` waits for queued GPU work."""
    return seconds_each({"fn": fn}, repeats, sync)["fn"]


def seconds_each(fns: dict, repeats: int, sync=lambda: None) -> dict:
    """{label: median wall time of fn()}, after one warm-up call each, timed in turn round after
    round (rm.execution.timing.frames_per_second: a slow spell of a shared machine hits all alike)."""
    fps = frames_per_second({label: (fn, 1) for label, fn in fns.items()}, repeats, sync)
    return {label: 1 / f for label, f in fps.items()}
