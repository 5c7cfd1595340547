"""Retraining the shipped models on StickActions and StickStreams, each with its model card.

    python -m rvit_mini checkpoints          # `make checkpoints`: retrains every shipped model

is `python -m rvit_mini train --recipe R` in a loop over SHIPPED, the recipe each shipped
model's card names, in order: the frame-mean ViT first (it is also the image ViT that
initialises the others, Sec. 3.2), then RViT-S and RViT from it, RViT from scratch (the
comparison), and CViT; then the online recognisers (ours), trained on StickStreams with
per-frame labels: rvit_online from the shipped rvit, vit_online (the memoryless control) from
the shipped vit, and the rival cvit_online, a CViT over a sliding window, from the shipped cvit.
Each lands in rvit_mini/checkpoints (package data), replacing the shipped files; its run's log
stays in checkpoints/runs/<name>. On a busy machine `OMP_NUM_THREADS=1` trains them fastest.
"""

import shutil
from pathlib import Path

from .pretrained import model_card
from .recipes import RECIPES, SHIPPED

# the shipped models trained on streams (their cards report per-frame figures)
STREAM_TRAINED = tuple(name for name, recipe in SHIPPED.items()
                       if RECIPES[recipe].data == "streams")


def publish(run: Path, name: str, out: Path) -> dict:
    """Move a run's trained model and card from its folder to `out`; drop its last.pt."""
    for suffix in (".pt", ".json"):
        shutil.move(run / f"{name}{suffix}", out / f"{name}{suffix}")
    (run / "last.pt").unlink()
    return model_card(name, out)


def summary(card: dict) -> str:
    """One line of a card's test figures."""
    name, seconds = card["name"], card["training_seconds"]
    if "test" not in card:
        return (f"{name:<14} test top-1 {card['test_top1']:.3f}  reversed pairs "
                f"{card['test_reversed_pairs_top1']:.3f}  {seconds} s")
    test = card["test"]["8-frame actions"]
    return "\n".join(f"{rival:<16} per-frame accuracy {row['accuracy']:.3f} on 480-frame test "
                     f"streams of 8-frame actions (the frames show {test['shown_ceiling']:.3f}), "
                     f"settled within 3 frames {row['settled']:.2f}  {seconds} s"
                     for rival, row in test.items() if rival != "shown_ceiling")
