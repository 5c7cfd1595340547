"""ModelConfig: what a model computes (its architecture and sizes), checked when made."""

import math
from dataclasses import asdict, dataclass, fields
from numbers import Real

from ..common.checks import check_count
from .layers import ATTENTION_KINDS

ARCH_NAMES = ("vit", "cvit", "rvit", "trecvit")
MIN_MLP_RATIO = 0.25  # below it the MLP is narrower than a quarter of the tokens' width


@dataclass(frozen=True)
class ModelConfig:
    """What a model computes: its architecture and sizes. How it runs (the wavefront, compile,
    CUDA graphs, frame checkpointing) is not here but in `rm.accelerate` (accelerate.py).

    arch: "vit" (the image ViT on every frame, features averaged), "cvit" (attention over the
        whole clip), "rvit" (one frame per step, a hidden state per layer) or "trecvit" (per
        layer a gated linear recurrence over time, then a ViT block; trecvit.py).
    img_size, patch_size, in_chans: frames are in_chans x img_size x img_size, cut into
        (img_size / patch_size)^2 patches.
    dim, depth, num_heads, mlp_ratio: token width D, blocks (gates) L, heads, MLP width / D.
    num_classes: K, the head's outputs.
    attention: "softmax" (SDPA) or "linear" ((elu + 1) feature maps, Katharopoulos et al.).
    pool: how a frame's tokens become its feature f_t: the "cls" token or the token "mean".
    pixel_mean, pixel_std: inputs are in [0, 1]; the stem normalises them as IN-21K ViTs expect.
    CViT only - num_frames: the longest clip its temporal embedding covers;
        space_time: "joint" (one attention over all T x N tokens) or "divided" (time, then space).
    RViT and TRecViT - tbptt: in training, cut the hidden state from the graph every `tbptt`
        frames (0: never). RViT only - fp32_state: keep the hidden state in float32 under
        autocast.
    TRecViT only - conv_width: the causal temporal convolution's width w before the RG-LRU;
        min_rad: the RG-LRU's decays σ(Λ) start in [min_rad, 0.999] (the paper's best, 0.6).
    """

    arch: str
    img_size: int = 224
    patch_size: int = 16
    in_chans: int = 3
    num_classes: int = 400
    dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    attention: str = "softmax"
    pool: str = "cls"
    pixel_mean: float = 0.5
    pixel_std: float = 0.5
    num_frames: int = 32
    space_time: str = "joint"
    tbptt: int = 0
    fp32_state: bool = False
    conv_width: int = 4
    min_rad: float = 0.6

    def __post_init__(self):
        if self.arch not in ARCH_NAMES:
            raise ValueError(f"arch must be one of {ARCH_NAMES}, got {self.arch!r}")
        for name in ("img_size", "patch_size", "in_chans", "num_classes", "dim", "depth",
                     "num_heads", "num_frames"):
            check_count(name, getattr(self, name))
        check_count("tbptt", self.tbptt, minimum=0)  # 0: never cut
        check_count("conv_width", self.conv_width)
        self.check_numbers()
        choices = {"attention": ATTENTION_KINDS, "pool": ("cls", "mean"),
                   "space_time": ("joint", "divided")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.img_size % self.patch_size:
            raise ValueError(f"image size {self.img_size} is not divisible by patch size "
                             f"{self.patch_size}; choose an image size that is a multiple of it")
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")

    def check_numbers(self) -> None:
        """The real-valued fields: finite, and where they make sense."""
        for name in ("mlp_ratio", "pixel_mean", "pixel_std", "min_rad"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.mlp_ratio < MIN_MLP_RATIO:
            raise ValueError(f"mlp_ratio must be at least {MIN_MLP_RATIO} (the MLP's width over "
                             f"D; ViTs use 4), got {self.mlp_ratio!r}")
        if not self.pixel_std > 0:
            raise ValueError(f"pixel_std must be positive (the inputs are divided by it), got "
                             f"{self.pixel_std!r}")
        if not 0 < self.min_rad < 0.999:
            raise ValueError(f"min_rad must be in (0, 0.999), the RG-LRU's largest initial decay, "
                             f"got {self.min_rad!r}")
        if not isinstance(self.fp32_state, bool):
            raise ValueError(f"fp32_state must be True or False, got {self.fp32_state!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> "ModelConfig":
        """A config saved by to_dict(), also by versions whose configs held run options
        (execution, compile, cuda_graphs, frame_checkpoint: now rm.accelerate's); anything
        else (not a dict, an unknown key, no arch) is a ValueError saying so."""
        if not isinstance(saved, dict):
            raise ValueError(f"a model config is a dict of its fields, got "
                             f"{type(saved).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(map(str, set(saved) - known - set(FORMER_RUN_OPTIONS)))
        if unknown or "arch" not in saved:
            what = f"unknown keys {unknown}" if unknown else "no arch"
            raise ValueError(f"a model config with {what}; its keys are {sorted(known)}")
        return cls(**{k: v for k, v in saved.items() if k not in FORMER_RUN_OPTIONS})


FORMER_RUN_OPTIONS = ("execution", "compile", "cuda_graphs", "frame_checkpoint")
