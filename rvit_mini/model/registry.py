"""The registered variants (vit, cvit, rvit_s ... rvit_xl, trecvit) at two scales, and create_model."""

from dataclasses import dataclass, field, fields

from .config import FORMER_RUN_OPTIONS, ModelConfig
from .models import CViT, RViT, VideoTransformer, ViT
from .trecvit import TRecViT

ARCHS = {cls.arch: cls for cls in (ViT, CViT, RViT, TRecViT)}

# Widths: "paper" is ViT-B/16; "mini" trains on 32x32 StickActions clips on a CPU in minutes.
SCALES = {
    "paper": dict(img_size=224, patch_size=16, dim=768, num_heads=12, mlp_ratio=4.0,
                  num_classes=400),
    "mini": dict(img_size=32, patch_size=8, dim=64, num_heads=4, mlp_ratio=4.0, num_classes=9),
}
# the clip length CViT's temporal embedding covers, at each scale
CVIT_FRAMES = {"paper": 32, "mini": 16}


@dataclass(frozen=True)
class Variant:
    """A registered model: its architecture, its depth at each scale, what else it sets."""

    arch: str
    depth: dict  # {"paper": L, "mini": L}
    about: str
    options: dict = field(default_factory=dict)


VARIANTS = {
    "vit": Variant("vit", {"paper": 12, "mini": 4},
                   "ViT-B/16 on every frame, features averaged over time (the frame-mean "
                   "baseline, and the image ViT that initialises RViT and CViT)"),
    "cvit": Variant("cvit", {"paper": 12, "mini": 4},
                    "joint space-time attention over all T x N tokens (ViViT model 1)"),
    "cvit_divided": Variant("cvit", {"paper": 12, "mini": 4},
                            "divided space-time attention (TimeSformer): time, then space",
                            {"space_time": "divided"}),
    "rvit_s": Variant("rvit", {"paper": 4, "mini": 2}, "RViT-S; its depth is our assumption"),
    "rvit": Variant("rvit", {"paper": 6, "mini": 3}, "RViT; its depth is our assumption"),
    "rvit_l": Variant("rvit", {"paper": 8, "mini": 4},
                      "RViT-L: 8 gates give the published 72.0M parameters"),
    "rvit_xl": Variant("rvit", {"paper": 12, "mini": 6},
                       "RViT-XL: ViT-B/16 with W_h, the published 107.7M parameters"),
    "rvit_linear": Variant("rvit", {"paper": 6, "mini": 3},
                           "RViT with linear attention in its gates", {"attention": "linear"}),
    "trecvit": Variant("trecvit", {"paper": 12, "mini": 3},
                       "TRecViT-B: per layer a gated linear recurrence over time, then a ViT "
                       "block; 12 layers, the paper's 111.3M parameters with its read-out"),
}


def list_models() -> list[str]:
    return sorted(VARIANTS)


def model_config(name: str, scale: str = "mini", **overrides) -> ModelConfig:
    """The config of a registered variant at a scale, with overrides (e.g. num_classes=10).

    An option that only another architecture reads (tbptt for a ViT, space_time for an RViT)
    is refused rather than ignored."""
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose 'mini' or 'paper'")
    known = {f.name for f in fields(ModelConfig)} - {"arch"}
    unknown = set(overrides) - known
    if unknown:
        hint = (" (how a model runs is rm.accelerate's: rm.accelerate(model, execution=..., "
                "compile=..., cuda_graphs=..., frame_checkpoint=...))"
                if unknown & set(FORMER_RUN_OPTIONS) else "")
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(known)}{hint}")
    variant = VARIANTS[name]
    mine = ARCHS[variant.arch].own_options
    others = {opt: " and ".join(arch for arch, cls in ARCHS.items() if opt in cls.own_options)
              for cls in ARCHS.values() for opt in cls.own_options if opt not in mine}
    ignored = sorted(set(overrides) & set(others))
    if ignored:
        raise ValueError(f"{name} ({variant.arch}) does not use {ignored}: "
                         + ", ".join(f"{o} is for {others[o]}" for o in ignored))
    base = dict(SCALES[scale], depth=variant.depth[scale], **variant.options)
    if variant.arch == "cvit":
        base["num_frames"] = CVIT_FRAMES[scale]
    return ModelConfig(variant.arch, **{**base, **overrides})


def build_model(cfg: ModelConfig) -> VideoTransformer:
    return ARCHS[cfg.arch](cfg)


def create_model(name: str, scale: str = "mini", **overrides) -> VideoTransformer:
    """create_model("rvit_s", scale="mini", num_classes=10) -> an initialised model."""
    return build_model(model_config(name, scale, **overrides))
