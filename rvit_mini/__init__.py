"""rvit-mini: the Recurrent Vision Transformer (RViT, CVPR 2022), small enough to read and train.

    import rvit_mini as rm
    model = rm.create_model("rvit_s", scale="mini", num_classes=9)
    logits = model(video)                      # (B, T, C, H, W) -> (B, K)
"""

from .gate import AttentionGate
from .layers import Attention, Block, Mlp, PatchEmbed
from .models import (
    CViT,
    ModelConfig,
    RViT,
    ViT,
    build_model,
    create_model,
    list_models,
    model_config,
)
from .stream import StreamingClassifier
from .weights import init_cvit_from_vit, init_from_vit, init_rvit_from_vit, vit_state_dict_from_timm

__version__ = "0.1.0"

__all__ = [
    "Attention", "AttentionGate", "Block", "CViT", "Mlp", "ModelConfig", "PatchEmbed", "RViT",
    "ViT", "build_model", "create_model", "init_rvit_from_vit", "list_models", "model_config",
    "vit_state_dict_from_timm", "StreamingClassifier", "init_cvit_from_vit", "init_from_vit",
    "list_pretrained", "load_pretrained",
]

from . import data, memory, train, viz  # noqa: E402, F401  (submodules as rm.data, ...)
from .pretrained import list_pretrained, load_pretrained  # noqa: E402
