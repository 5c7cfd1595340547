"""The models shipped inside the package (rvit_mini/checkpoints), each with a model card.

    rm.list_pretrained()               # ['cvit', 'cvit_online', 'rvit', 'rvit_online', ...]: eight
    model = rm.load_pretrained("rvit") # eval mode; its card: rm.pretrained.model_card("rvit")

They are package data, so they load from a wheel or a `pip install git+...` as well as from a
source checkout. `python -m rvit_mini checkpoints` (`make checkpoints`, retrain.py) retrains
them, each with `python -m rvit_mini train --recipe R`, R the recipe its card names.
"""

import json
import pickle
from pathlib import Path

import torch

from .config import ModelConfig
from .models import VideoTransformer
from .registry import build_model

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"


def list_pretrained(root=CHECKPOINTS) -> list[str]:
    return sorted(p.stem for p in Path(root).glob("*.pt"))


def model_card(name: str, root=CHECKPOINTS) -> dict:
    return json.loads((Path(root) / f"{name}.json").read_text())


def load_pretrained(name: str, root=CHECKPOINTS) -> VideoTransformer:
    """A shipped StickActions model, in eval mode."""
    path = Path(root) / f"{name}.pt"
    if not path.is_file():
        raise ValueError(f"no pretrained model {name!r} in {root}; available: "
                         f"{list_pretrained(root)} (make checkpoints retrains them)")
    model = build_model(ModelConfig.from_dict(model_card(name, root)["model_config"]))
    try:
        weights = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ValueError(f"{path} is not a plain weights file that torch.load(weights_only=True) "
                         f"accepts ({str(err).splitlines()[0]}); reinstall rvit-mini or "
                         "retrain with `make checkpoints`") from None
    model.load_state_dict(weights)
    return model.eval()
