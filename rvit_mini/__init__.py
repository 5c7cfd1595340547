"""rvit-mini: the Recurrent Vision Transformer (RViT, CVPR 2022), small enough to read and train.

    import rvit_mini as rm
    model = rm.create_model("rvit_s", scale="mini", num_classes=9)
    logits = model(video)                      # (B, T, C, H, W) -> (B, K)
    fast = rm.accelerate(model, execution="wavefront")   # the same outputs, faster

The packages, each importing only from those before it (data stands alone):
    rm.model      what a model computes: layers, the gate, ViT / CViT / RViT, registry, FLOPs
    rm.execution  how it runs: rm.accelerate's strategies, streaming, the memory estimate
    rm.training   recipes, prepare_run, fit, checkpoints, cards, loading, evaluation
    rm.data       StickActions, streams, video files, real data sets
    rm.online     online recognition: recognisers, metrics, rivals, boundaries
    rm.lessons    what only the notebooks use: checks, playgrounds, figures
    rm.results    the committed benchmark results the notebooks and the docs quote
They load on first use, so that `import rvit_mini` does not import matplotlib, PyAV or tqdm.
rm.train, rm.memory and rm.flops name rm.training, rm.execution.memory and rm.model.flops.
"""

import importlib

from . import _moved
from .execution import StreamingClassifier, accelerate
from .model import (
    Attention,
    AttentionGate,
    Block,
    CViT,
    Mlp,
    ModelConfig,
    PatchEmbed,
    RViT,
    ViT,
    build_model,
    create_model,
    init_cvit_from_vit,
    init_from_vit,
    init_rvit_from_vit,
    list_models,
    model_config,
    vit_state_dict_from_timm,
)

__version__ = "0.1.0"

__all__ = [  # sorted
    "Attention", "AttentionGate", "Block", "CViT", "Mlp", "ModelConfig", "PatchEmbed", "RViT",
    "StreamingClassifier", "ViT", "accelerate", "build_model", "create_model", "init_cvit_from_vit",
    "init_from_vit", "init_rvit_from_vit", "list_models", "list_pretrained", "load_checkpoint",
    "load_pretrained", "model_config", "vit_state_dict_from_timm",
]

PACKAGES = ("cli", "common", "data", "execution", "lessons", "model", "online", "results",
            "training")
NAMES = {"train": "training", "memory": "execution.memory", "flops": "model.flops"}
LOADERS = ("list_pretrained", "load_checkpoint", "load_pretrained")  # training.loading's

_moved.install()


def __getattr__(name: str):
    """rm.data, rm.training, ...: imported on first use (PEP 562)."""
    if name in PACKAGES or name in NAMES:
        return importlib.import_module(f".{NAMES.get(name, name)}", __name__)
    if name in LOADERS:
        return getattr(importlib.import_module(".training.loading", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *PACKAGES, *NAMES, *LOADERS])
