"""Loading a model: a shipped one by name, or a training run's checkpoint by path.

    rm.list_pretrained()                   # ['cvit', 'cvit_online', 'rvit', 'rvit_online', ...]
    model = rm.load_pretrained("rvit")     # a shipped model, eval mode; its card: model_card("rvit")
    model = rm.load_checkpoint("runs/rvit/last.pt")     # a run's model, eval mode

The shipped models are package data (rvit_mini/checkpoints), so they load from a wheel as well
as from a source checkout; `python -m rvit_mini checkpoints` retrains them, each with
`python -m rvit_mini train --recipe R`, R the recipe its card names. A loaded model's `classes`
are the names of its outputs, in order.
"""

import json
from pathlib import Path

from ..model import ModelConfig, VideoTransformer, build_model
from .checkpoint import load_weights, read_checkpoint

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


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
    load_weights(model, read_checkpoint(path), path)
    model.classes = card_classes(card)
    return model.eval()


def card_classes(card: dict) -> list[str] | None:
    """The names of a shipped model's outputs, in order: the card's classes, or (older cards)
    the keys of its per-class test accuracy."""
    return card.get("classes") or list(card.get("test_per_class", {})) or None


def load_checkpoint(path) -> VideoTransformer:
    """A training checkpoint's model (OUT/last.pt), rebuilt from its own config, in eval mode;
    `model.classes`: the names of its outputs, where the checkpoint records them (else None)."""
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict) or "model_config" not in ckpt:
        raise ValueError(f"{path} holds weights but no model config, so it is not a training "
                         "checkpoint (OUT/last.pt); a shipped model's weights load by name, "
                         "rm.load_pretrained(name) or `python -m rvit_mini evaluate NAME`")
    model = build_model(ModelConfig.from_dict(ckpt["model_config"]))
    load_weights(model, ckpt.get("model"), path)
    model.classes = ckpt.get("classes")
    return model.eval()


def load_model(source, root=CHECKPOINTS) -> VideoTransformer:
    """A shipped model's name (in `root`, where `make checkpoints` writes them), or a checkpoint
    file's path -> its model, in eval mode."""
    if str(source) in list_pretrained(root):
        return load_pretrained(str(source), root)
    if Path(source).is_dir():
        raise ValueError(f"{source} is a folder; give a checkpoint file, e.g. "
                         f"{Path(source) / 'last.pt'}")
    if Path(source).suffix == ".pt" or Path(source).exists():
        return load_checkpoint(source)
    raise ValueError(f"{str(source)!r} is neither a checkpoint file nor a shipped model "
                     f"({', '.join(list_pretrained(root)) or 'none shipped; run make checkpoints'})")
