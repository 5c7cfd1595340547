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


def shipped_path(name, root=CHECKPOINTS, suffix: str = ".pt") -> Path:
    """root/<name><suffix> of a shipped model's name, refused for anything else: a path never
    loads by name, so that what a name means does not depend on the working directory."""
    names = list_pretrained(root)
    if not isinstance(name, str) or name not in names:
        looks_like_a_file = isinstance(name, (str, Path)) and (
            any(sep in str(name) for sep in "/\\") or str(name).endswith(".pt")
            or Path(name).exists())
        hint = ("; a checkpoint file loads with load_checkpoint(path), on the command line "
                f"with --checkpoint {name}" if looks_like_a_file else "")
        raise ValueError(f"no shipped model {str(name)!r} in {root}; available: "
                         f"{', '.join(names) or 'none (make checkpoints retrains them)'}{hint}")
    return Path(root) / f"{name}{suffix}"


def model_card(name: str, root=CHECKPOINTS) -> dict:
    """A shipped model's card (root/<name>.json)."""
    path = shipped_path(name, root, ".json")
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the model card {path}: {err}") from None
    if not isinstance(card, dict):
        raise ValueError(f"the model card {path} is not a JSON object of fields")
    return card


def config_from(saved, path) -> ModelConfig:
    """The ModelConfig that a checkpoint or card at `path` records, refused in one line naming
    the file where it is not one."""
    try:
        return ModelConfig.from_dict(saved)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: its model_config is not a model's: {err}") from None


def load_pretrained(name: str, root=CHECKPOINTS) -> VideoTransformer:
    """A shipped StickActions model by name, in eval mode; `model.classes`: its outputs' names.
    Names only (list_pretrained()); a checkpoint file loads with load_checkpoint(path)."""
    path = shipped_path(name, root)
    card = model_card(name, root)
    model = build_model(config_from(card.get("model_config"), path.with_suffix(".json")))
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
    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder; give a checkpoint file, e.g. "
                         f"{Path(path) / 'last.pt'}")
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict) or "model_config" not in ckpt:
        raise ValueError(f"{path} holds weights but no model config, so it is not a training "
                         "checkpoint (OUT/last.pt); a trained model NAME.pt loads by name with "
                         "its card NAME.json beside it, rm.load_pretrained(NAME, folder)")
    model = build_model(config_from(ckpt["model_config"], path))
    load_weights(model, ckpt.get("model"), path)
    model.classes = ckpt.get("classes")
    return model.eval()


def load_model(source, root=CHECKPOINTS) -> VideoTransformer:
    """A shipped model's name (in `root`, where `make checkpoints` writes them), or else a
    checkpoint file's path -> its model, in eval mode. A shipped name always means the shipped
    model, whatever files the working directory holds."""
    if str(source) in list_pretrained(root):
        return load_pretrained(str(source), root)
    if Path(source).suffix == ".pt" or Path(source).exists():
        return load_checkpoint(source)
    raise ValueError(f"{str(source)!r} is neither a checkpoint file nor a shipped model "
                     f"({', '.join(list_pretrained(root)) or 'none shipped; run make checkpoints'})")
