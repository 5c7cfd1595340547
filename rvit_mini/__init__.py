"""rvit-mini: the Recurrent Vision Transformer (RViT, CVPR 2022), small enough to read and train.

    import rvit_mini as rm
    model = rm.create_model("rvit_s", scale="mini", num_classes=9)
    logits = model(video)                      # (B, T, C, H, W) -> (B, K)
    fast = rm.accelerate(model, execution="wavefront")   # the same outputs, faster

The submodules rm.analysis, rm.cards, rm.cost, rm.data, rm.diagrams, rm.exercises, rm.flops,
rm.memory, rm.online, rm.playgrounds, rm.recipes, rm.results, rm.train and rm.viz load on first
use, so that `import rvit_mini` does not import matplotlib, PyAV or tqdm.
"""

import importlib

from .accelerate import accelerate
from .config import ModelConfig
from .gate import AttentionGate
from .layers import Attention, Block, Mlp, PatchEmbed
from .models import CViT, RViT, ViT
from .pretrained import list_pretrained, load_pretrained
from .registry import build_model, create_model, list_models, model_config
from .stream import StreamingClassifier
from .weights import init_cvit_from_vit, init_from_vit, init_rvit_from_vit, vit_state_dict_from_timm

__version__ = "0.1.0"

__all__ = [  # sorted
    "Attention", "AttentionGate", "Block", "CViT", "Mlp", "ModelConfig", "PatchEmbed", "RViT",
    "StreamingClassifier", "ViT", "accelerate", "build_model", "create_model", "init_cvit_from_vit",
    "init_from_vit", "init_rvit_from_vit", "list_models", "list_pretrained", "load_pretrained",
    "model_config", "vit_state_dict_from_timm",
]

SUBMODULES = ("analysis", "cards", "cli", "cost", "data", "diagrams", "exercises", "flops", "memory",
              "online", "playgrounds", "recipes", "results", "train", "viz")


def __getattr__(name: str):
    """rm.data, rm.train, ...: imported on first use (PEP 562)."""
    if name in SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *SUBMODULES])
