"""Retraining the shipped models on StickActions, on a CPU, each with its model card.

    python -m rvit_mini checkpoints          # `make checkpoints`: retrains every shipped model

The frame-mean ViT first (it is also the image ViT that initialises the others, Sec. 3.2), then
RViT-S and RViT from it, RViT from scratch (the comparison), and CViT. The files land in
rvit_mini/checkpoints (package data), replacing the shipped ones.

Then the online recognisers (ours), trained on StickStreams with per-frame labels
(STREAM_TRAINED): rvit_online from the shipped rvit; vit_online, the memoryless control, from
the shipped vit on the same streams; and the rival cvit_online, a CViT over a sliding window,
from the shipped cvit. Their cards report per-frame accuracy on held-out
streams; on a busy machine `OMP_NUM_THREADS=1` trains them fastest.
"""

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from .data import CLASSES, REVERSED_PAIRS, StickActions, StickStreams
from .data.streams import StreamWindows
from .pretrained import CHECKPOINTS, load_pretrained
from .train import RECIPES, evaluate, fit, model_for_recipe
from .weights import init_from_vit

# shipped name -> recipe; in training order (the models initialised from a ViT need vit, the
# online ones the clip-trained model they start from)
SHIPPED = {"vit": "mini_vit", "rvit_s": "mini_rvit_s", "rvit": "mini_rvit",
           "rvit_scratch": "mini_rvit_scratch", "cvit": "mini_cvit",
           "rvit_online": "mini_rvit_online", "vit_online": "mini_vit_online",
           "cvit_online": "mini_cvit_online"}
DATA_SEED = 0

# The models trained on streams: StickStreams' arguments (train split, DATA_SEED), CViT's
# window widths, the model's options. Actions of 3 to 12 frames cover the 8 of the goal streams
# and the 6 to 10 of the composite pairs; half of the streams begin or end with a walk
# (action_chain never walks, two composite pairs do); the labels are those of the action each
# frame shows (StickStreams.shown), so that a model is not taught to guess the next action
# before the figure moves.
STREAMS = dict(num_frames=64, num_streams=1500, action_frames=(3, 12), walks=0.5,
               target="shown")
STREAM_TRAINED = {
    "rvit_online": {"streams": STREAMS, "model": {"tbptt": 16}},
    "vit_online": {"streams": STREAMS},
    "cvit_online": {"streams": STREAMS, "windows": dict(widths=(8, 16, 32), per_stream=8)},
}
# what the recipes were chosen on; the test split's streams and the composite clips of seeds 0 to
# 19 were not looked at until the models were trained
TUNED_ON = ("the val split's streams (seeds 0 and 10000) and the composite clips of seeds 10000 "
            "and up")
# the held-out test of the cards: 8 test streams of 60 actions of 8 frames (480 frames), and
# 20 clips of each composite pair
CARD_TEST = dict(num_streams=8, num_frames=480, action_frames=(8, 8), clips_per_pair=20)


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
    if name in STREAM_TRAINED:
        return train_on_streams(name, out, workers)
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
        "training_seconds": round(seconds), "machine": machine(), "commit": commit(),
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    (run / "last.pt").unlink()
    return card


@torch.no_grad()
def init_from_shipped(model, shipped) -> None:
    """Start `model` from a shipped model of the same architecture and width: every tensor
    copied; a CViT's time embeddings, where it has more, copied for the frames `shipped` has
    (the others keep their sinusoids)."""
    mine = model.state_dict()
    for key, value in shipped.state_dict().items():
        if key == "time_embed" and value.shape[1] < mine[key].shape[1]:
            mine[key][:, :value.shape[1]] = value
        elif mine[key].shape != value.shape:
            raise ValueError(f"{key}: the shipped model has shape {tuple(value.shape)}, this "
                             f"model {tuple(mine[key].shape)}")
        else:
            mine[key].copy_(value)


def stream_data(name: str, split: str = "train"):
    """The streams (or, for a CViT, their windows) a stream-trained model learns from."""
    spec = STREAM_TRAINED[name]
    streams = StickStreams(split, seed=DATA_SEED, keep=True, **spec["streams"])
    return StreamWindows(streams, **spec["windows"]) if "windows" in spec else streams


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU "
            f"threads, torch {torch.__version__}")


def train_on_streams(name: str, out: Path, workers: int = 0) -> dict:
    """Train a stream-trained model (STREAM_TRAINED) from the shipped model its recipe names,
    and test it on held-out streams (CARD_TEST) for its card."""
    from .online import evaluate_streams  # online imports pretrained, as retrain does

    recipe, spec = RECIPES[SHIPPED[name]], STREAM_TRAINED[name]
    torch.manual_seed(0)
    model = model_for_recipe(recipe, **spec.get("model", {}))
    init_from_shipped(model, load_pretrained(recipe.init, out))
    train_set = stream_data(name)
    load_before = [round(x, 1) for x in os.getloadavg()]
    started, cpu = time.perf_counter(), time.process_time()
    run = out / "runs" / name
    fit(model, train_set, None, recipe, run, workers=workers, save_every=500, overwrite=True)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    torch.save(model.state_dict(), out / f"{name}.pt")
    (run / "last.pt").unlink()
    card = {"name": name, "recipe": recipe.to_dict(), "model_config": model.cfg.to_dict()}
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")  # to load it by name
    tested = [f"{name}@w{w}" for w in spec["windows"]["widths"]] if "windows" in spec else [name]
    test = {}
    for kind, action_frames in (("8-frame actions", (8, 8)), ("6- to 20-frame actions", (6, 20))):
        shown, *rows = evaluate_streams(["shown", *tested], split="test", seed=DATA_SEED,
                                        root=out, **dict(CARD_TEST, action_frames=action_frames))
        test[kind] = {"shown_ceiling": round(shown["accuracy"], 4),
                      **{row["name"]: {k: round(v, 4) for k, v in row.items()
                                       if k in ("accuracy", "mAP", "mcAP", "first3", "rest",
                                                "settled", "worst_pair")} for row in rows}}
    card.update({
        "parameters": sum(p.numel() for p in model.parameters()),
        "init": f"the shipped {recipe.init}",
        "data": {"set": "StickStreams", "split": "train", "seed": DATA_SEED, "size": 32,
                 **spec["streams"], **({"windows": spec["windows"]} if "windows" in spec else {}),
                 "labelled_frames_seen": recipe.epochs * len(train_set)
                 * (1 if "windows" in spec else spec["streams"]["num_frames"])},
        "classes": list(CLASSES),
        "test": test,
        "test_streams": f"{CARD_TEST['num_streams']} test-split streams of "
                        f"{CARD_TEST['num_frames']} frames (seed {DATA_SEED}); "
                        f"{CARD_TEST['clips_per_pair']} clips of each composite pair (seeds "
                        f"{DATA_SEED} to {DATA_SEED + CARD_TEST['clips_per_pair'] - 1})",
        "training_seconds": round(seconds), "training_cpu_seconds": round(cpu_seconds),
        "tuned_on": TUNED_ON,
        "load_average": {"before": load_before, "after": [round(x, 1) for x in os.getloadavg()]},
        "machine": machine(), "commit": commit(),
    })
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    return card


def train_all(out=CHECKPOINTS, names=tuple(SHIPPED), workers: int = 0) -> None:
    """Retrain the shipped models in order, each with its model card, into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    splits = {split: stick_actions(split) for split in ("train", "val", "test")}
    for name in names:
        card = train_shipped(name, out, splits, workers)
        if name in STREAM_TRAINED:
            test = card["test"]["8-frame actions"]
            for rival, row in test.items():
                if rival != "shown_ceiling":
                    print(f"{rival:<16} per-frame accuracy {row['accuracy']:.3f} on 480-frame "
                          f"test streams of 8-frame actions (the frames show "
                          f"{test['shown_ceiling']:.3f}), settled within 3 frames "
                          f"{row['settled']:.2f}  {card['training_seconds']} s")
            continue
        print(f"{name:<14} test top-1 {card['test_top1']:.3f}  reversed pairs "
              f"{card['test_reversed_pairs_top1']:.3f}  {card['training_seconds']} s")
