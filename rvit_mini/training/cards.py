"""Model cards: what a trained model is (recipe, config, start, data) and how it tested.

A run of `python -m rvit_mini train` writes its model as OUT/<name>.pt (weights) and
OUT/<name>.json (its card), the form of the shipped models in rvit_mini/checkpoints, so that
rm.load_pretrained(name, OUT) loads it. Models trained on StickActions clips are tested on the
test split; models trained on StickStreams on held-out streams and composite clips, by the
function write_model is given (online.stream_test).
"""

import json
import os
import platform
import subprocess
from pathlib import Path

import torch

from ..common.files import write_atomically
from ..common.text import undefined_as_none
from ..data import CLASSES, REVERSED_PAIRS, StickActions
from .evaluate import evaluate
from .prepare import Setup
from .recipes import run_name


def reversed_pair_accuracy(metrics: dict) -> float:
    """Mean accuracy over the classes of the time-reversed pairs that have clips (evaluate's
    per_class, in the order of its "classes"); NaN, undefined, where none has."""
    classes = list(metrics.get("classes", CLASSES))
    accs = [metrics["per_class"][classes.index(c)] for pair in REVERSED_PAIRS for c in pair
            if c in classes]
    defined = [a for a in accs if a == a]  # NaN: a class without clips
    return sum(defined) / len(defined) if defined else float("nan")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(device=None) -> str:
    """The machine in words: the GPU a run used (device None: the GPU if there is one), else
    the CPU and its thread count."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type == "cuda":
        return (f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}), "
                f"torch {torch.__version__}")
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def load_average() -> list:
    return [round(x, 1) for x in os.getloadavg()]


def describe(setup: Setup) -> dict:
    """The card's first fields: what the model is, how it started, what it learnt from."""
    model = setup.model
    return {"name": run_name(setup.recipe), "recipe": setup.recipe.to_dict(),
            "model_config": model.cfg.to_dict(),
            "parameters": sum(p.numel() for p in model.parameters()),
            "init": setup.init, "data": dict(setup.data),
            "classes": list(setup.train_set.classes)}


def clip_test(setup: Setup, card: dict) -> dict:
    """Top-1, reversed pairs, per class and confusion on the StickActions test split."""
    data = card["data"]
    test_set = StickActions("test", setup.recipe.num_frames, data["size"], data["seed"])
    metrics = evaluate(setup.model, test_set)
    data["test_clips"] = len(test_set)
    return {"test_top1": round(metrics["top1"], 4),
            "test_reversed_pairs_top1": round(reversed_pair_accuracy(metrics), 4),
            "test_per_class": dict(zip(CLASSES, [round(a, 4) for a in metrics["per_class"]])),
            "test_confusion": metrics["confusion"]}


def write_model(setup: Setup, out, timing: dict, device="cpu", stream_test=None) -> dict:
    """Save the trained model and its card into `out` as <name>.pt and <name>.json (each written
    whole or not at all, replacing any there: the caller decides whether it may); test it
    where its data has a test split (StickActions; StickStreams with stream_test(setup, card,
    out) -> the card's test fields). timing: training_seconds and, for streams,
    training_cpu_seconds and the load average before and after; device: the one it was trained
    on, which the card names."""
    out = Path(out)
    setup.model.cpu()
    card = describe(setup)
    path = out / card["name"]
    write_atomically(path.with_suffix(".pt"), lambda tmp: torch.save(setup.model.state_dict(), tmp))
    write_card(path.with_suffix(".json"), card)  # loadable by name
    if setup.recipe.data == "streams":
        card.update(stream_test(setup, card, out))
        card.update(training_seconds=timing["training_seconds"],
                    training_cpu_seconds=timing["training_cpu_seconds"],
                    load_average=timing["load_average"])
    else:
        if card["data"]["set"] == "StickActions":
            card.update(clip_test(setup, card))
        card["training_seconds"] = timing["training_seconds"]
    card.update(machine=machine(device), commit=commit())
    write_card(path.with_suffix(".json"), card)
    return card


def write_card(path: Path, card: dict) -> None:
    """A card as JSON, written whole or not at all; an undefined figure is null."""
    text = json.dumps(undefined_as_none(card), indent=1, allow_nan=False) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text))
