"""The models shipped inside the package (rvit_mini/checkpoints), each with a model card.

    rm.list_pretrained()               # ['cvit', 'cvit_online', 'rvit', 'rvit_online', ...]: eight
    model = rm.load_pretrained("rvit") # eval mode; its card: rm.pretrained.model_card("rvit")

They are package data, so they load from a wheel or a `pip install git+...` as well as from a
source checkout. `python -m rvit_mini checkpoints` (`make checkpoints`, retrain.py) retrains
them, each with `python -m rvit_mini train --recipe R`, R the recipe its card names.
"""

import json
from pathlib import Path

from .config import ModelConfig
from .models import VideoTransformer
from .registry import build_model
from .run import load_checkpoint, load_weights

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"


def list_pretrained(root=CHECKPOINTS) -> list[str]:
    return sorted(p.stem for p in Path(root).glob("*.pt"))


def model_card(name: str, root=CHECKPOINTS) -> dict:
    return json.loads((Path(root) / f"{name}.json").read_text())


def load_pretrained(name: str, root=CHECKPOINTS) -> VideoTransformer:
    """A shipped StickActions model, in eval mode; `model.classes`: its outputs' names."""
    path = Path(root) / f"{name}.pt"
    if not path.is_file():
        raise ValueError(f"no pretrained model {name!r} in {root}; available: "
                         f"{list_pretrained(root)} (make checkpoints retrains them)")
    card = model_card(name, root)
    model = build_model(ModelConfig.from_dict(card["model_config"]))
    load_weights(model, load_checkpoint(path), path)
    model.classes = card_classes(card)
    return model.eval()


def card_classes(card: dict) -> list[str] | None:
    """The names of a shipped model's outputs, in order: the card's classes, or (older cards)
    the keys of its per-class test accuracy."""
    return card.get("classes") or list(card.get("test_per_class", {})) or None
