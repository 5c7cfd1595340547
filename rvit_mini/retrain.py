"""Retraining the shipped models on StickActions, on a CPU, each with its model card.

    python -m rvit_mini checkpoints          # `make checkpoints`: retrains every shipped model

The frame-mean ViT first (it is also the image ViT that initialises the others, Sec. 3.2), then
RViT-S and RViT from it, RViT from scratch (the comparison), and CViT. The files land in
rvit_mini/checkpoints (package data), replacing the shipped ones.
"""

import json
import platform
import subprocess
import time
from pathlib import Path

import torch

from .data import CLASSES, REVERSED_PAIRS, StickActions
from .pretrained import CHECKPOINTS, load_pretrained
from .train import RECIPES, evaluate, fit, model_for_recipe
from .weights import init_from_vit

# shipped name -> recipe; in training order (the models initialised from a ViT need vit)
SHIPPED = {"vit": "mini_vit", "rvit_s": "mini_rvit_s", "rvit": "mini_rvit",
           "rvit_scratch": "mini_rvit_scratch", "cvit": "mini_cvit"}
DATA_SEED = 0


def reversed_pair_accuracy(metrics: dict) -> float:
    """Mean accuracy over the classes of the time-reversed pairs."""
    idx = [CLASSES.index(c) for pair in REVERSED_PAIRS for c in pair]
    return sum(metrics["per_class"][i] for i in idx) / len(idx)


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def stick_actions(split: str) -> StickActions:
    """The StickActions split every shipped model trains and is tested on."""
    return StickActions(split, RECIPES["mini_rvit_s"].num_frames, 32, DATA_SEED)


def train_shipped(name: str, out: Path, splits: dict, workers: int = 0) -> dict:
    """Train one shipped model; `splits` {"train", "val", "test"} are shared between models."""
    recipe = RECIPES[SHIPPED[name]]
    train_set, test_set = splits["train"], splits["test"]
    torch.manual_seed(0)
    model = model_for_recipe(recipe)
    if recipe.init == "vit":
        init_from_vit(model, load_pretrained("vit", out))
    started = time.perf_counter()
    run = out / "runs" / name
    fit(model, train_set, splits["val"], recipe, run, workers=workers, save_every=500,
        overwrite=True)
    seconds = time.perf_counter() - started
    metrics = evaluate(model, test_set)
    torch.save(model.state_dict(), out / f"{name}.pt")
    card = {
        "name": name, "recipe": recipe.to_dict(), "model_config": model.cfg.to_dict(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "data": {"set": "StickActions", "seed": DATA_SEED, "size": 32,
                 "train_clips": len(train_set), "test_clips": len(test_set)},
        "classes": list(train_set.classes),
        "test_top1": round(metrics["top1"], 4),
        "test_reversed_pairs_top1": round(reversed_pair_accuracy(metrics), 4),
        "test_per_class": dict(zip(CLASSES, [round(a, 4) for a in metrics["per_class"]])),
        "test_confusion": metrics["confusion"],
        "training_seconds": round(seconds), "machine": f"{platform.processor() or platform.machine()}"
        f", {torch.get_num_threads()} CPU threads, torch {torch.__version__}",
        "commit": commit(),
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    (run / "last.pt").unlink()
    return card


def train_all(out=CHECKPOINTS, names=tuple(SHIPPED), workers: int = 0) -> None:
    """Retrain the shipped models in order, each with its model card, into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    splits = {split: stick_actions(split) for split in ("train", "val", "test")}
    for name in names:
        card = train_shipped(name, out, splits, workers)
        print(f"{name:<14} test top-1 {card['test_top1']:.3f}  reversed pairs "
              f"{card['test_reversed_pairs_top1']:.3f}  {card['training_seconds']} s")
