"""What a model computes: the layers, RViT's attention gate, the paper's models (the frame-mean
ViT, CViT, RViT), their config and registry, FLOPs counted from the architecture, and weights
from elsewhere (timm's ViT, Sec. 3.2's initialisation). How a model runs faster is execution/'s.
"""

from .config import ModelConfig
from .gate import AttentionGate
from .layers import Attention, Block, Mlp, PatchEmbed
from .models import CViT, RViT, VideoTransformer, ViT
from .registry import build_model, create_model, list_models, model_config
from .weights import init_cvit_from_vit, init_from_vit, init_rvit_from_vit, vit_state_dict_from_timm

__all__ = [
    "Attention", "AttentionGate", "Block", "CViT", "Mlp", "ModelConfig", "PatchEmbed", "RViT",
    "VideoTransformer", "ViT", "build_model", "create_model", "init_cvit_from_vit",
    "init_from_vit", "init_rvit_from_vit", "list_models", "model_config",
    "vit_state_dict_from_timm",
]
