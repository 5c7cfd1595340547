"""ViT (frame mean), CViT (joint or divided space-time) and RViT (recurrent), one registry.

All three share the frame stem (patch embedding, CLS token, spatial position embedding), the
Block, the per-frame pooling and the head. A video model maps (B, T, C, H, W) to per-frame
features (B, T, D); the clip logits are head(mean_t f_t) and the per-frame logits head(f_t).
"""

import warnings
from dataclasses import asdict, dataclass, field, fields

import torch
from einops import rearrange
from torch import nn

from .gate import AttentionGate
from .inputs import check_step
from .layers import ATTENTION_KINDS, Block, PatchEmbed


@dataclass(frozen=True)
class ModelConfig:
    """What a model computes: its architecture and sizes. How it runs (the wavefront, compile,
    CUDA graphs, frame checkpointing) is not here but in `rm.accelerate` (accelerate.py).

    arch: "vit" (the image ViT on every frame, features averaged), "cvit" (attention over the
        whole clip) or "rvit" (one frame per step, a hidden state per layer).
    img_size, patch_size, in_chans: frames are in_chans x img_size x img_size, cut into
        (img_size / patch_size)^2 patches.
    dim, depth, num_heads, mlp_ratio: token width D, blocks (gates) L, heads, MLP width / D.
    num_classes: K, the head's outputs.
    attention: "softmax" (SDPA) or "linear" ((elu + 1) feature maps, Katharopoulos et al.).
    pool: how a frame's tokens become its feature f_t: the "cls" token or the token "mean".
    pixel_mean, pixel_std: inputs are in [0, 1]; the stem normalises them as IN-21K ViTs expect.
    CViT only - num_frames: the longest clip its temporal embedding covers;
        space_time: "joint" (one attention over all T x N tokens) or "divided" (time, then space).
    RViT only - tbptt: in training, cut the hidden state from the graph every `tbptt` frames
        (0: never); fp32_state: keep the hidden state in float32 under autocast.
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

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {self.arch!r}")
        for name in ("img_size", "patch_size", "in_chans", "num_classes", "dim", "depth",
                     "num_heads", "num_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.tbptt, bool) or not isinstance(self.tbptt, int) or self.tbptt < 0:
            raise ValueError(f"tbptt must be an integer >= 0 (0: never cut), got {self.tbptt!r}")
        if not self.mlp_ratio > 0 or not self.pixel_std > 0:
            raise ValueError(f"mlp_ratio and pixel_std must be positive, got {self.mlp_ratio!r} "
                             f"and {self.pixel_std!r}")
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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> "ModelConfig":
        """A config saved by to_dict(), also by versions whose configs held run options
        (execution, compile, cuda_graphs, frame_checkpoint: now rm.accelerate's)."""
        return cls(**{k: v for k, v in saved.items() if k not in FORMER_RUN_OPTIONS})


FORMER_RUN_OPTIONS = ("execution", "compile", "cuda_graphs", "frame_checkpoint")


class VideoTransformer(nn.Module):
    """Shared stem, pooling, head and input checks. Subclasses define forward_features.

    `arch` names the architecture in ModelConfig; `own_options` are the config fields that only
    this architecture reads (create_model refuses them for the others)."""

    arch: str
    own_options: tuple = ()

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.arch != self.arch:
            raise ValueError(f"{type(self).__name__} needs a config with arch={self.arch!r}, "
                             f"got {cfg.arch!r}; build_model(cfg) picks the class")
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg.img_size, cfg.patch_size, cfg.in_chans, cfg.dim)
        self.num_tokens = self.patch_embed.num_patches + (cfg.pool == "cls")
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim)) if cfg.pool == "cls" else None
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_tokens, cfg.dim))
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)

    def init_weights(self) -> None:
        for p in (self.pos_embed, self.cls_token):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # -- input checks ------------------------------------------------------------------------
    def check_frames(self, x: torch.Tensor, layout: str = "(B, C, H, W)") -> None:
        """Raise ValueError unless the last three dims of x are (C, H, W) this model accepts."""
        cfg = self.cfg
        if x.ndim != len(layout.split(",")):
            raise ValueError(f"expected a tensor {layout}, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(
                f"expected a floating-point tensor with values in [0, 1], got {x.dtype}; "
                "convert with x.float() / 255"
            )
        c, h, w = x.shape[-3:]
        if c != cfg.in_chans:
            raise ValueError(f"expected {cfg.in_chans} channels, got {c} (shape {tuple(x.shape)})")
        p = cfg.patch_size
        if h % p or w % p:
            lo_h, lo_w = max(p, h // p * p), max(p, w // p * p)
            raise ValueError(
                f"frame size {h}x{w} is not divisible by patch size {p}; "
                f"resize to {lo_h}x{lo_w} or {lo_h + p}x{lo_w + p}"
            )
        if (h, w) != (cfg.img_size, cfg.img_size):
            raise ValueError(
                f"this model takes {cfg.img_size}x{cfg.img_size} frames, got {h}x{w}; "
                f"resize the frames or create the model with img_size={h}"
            )
        warn_if_not_unit_range(x)

    def check_video(self, video: torch.Tensor) -> None:
        self.check_frames(video, "(B, T, C, H, W)")
        if video.shape[1] == 0:
            raise ValueError(f"the clip has no frames (shape {tuple(video.shape)})")

    # -- shared pieces -----------------------------------------------------------------------
    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, C, H, W) in [0, 1] -> tokens (B, N, D), CLS first where pool == 'cls'."""
        x = self.patch_embed((frames - self.cfg.pixel_mean) / self.cfg.pixel_std)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        return x + self.pos_embed

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (..., N, D) -> feature (..., D): LN, then the CLS token or the token mean."""
        tokens = self.norm(tokens)
        return tokens[..., 0, :] if self.cfg.pool == "cls" else tokens.mean(dim=-2)

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) -> per-frame features (B, T, D)."""
        raise NotImplementedError

    def forward(self, video: torch.Tensor, per_frame: bool = False) -> torch.Tensor:
        """video (B, T, C, H, W) float in [0, 1] -> clip logits (B, K) = head(mean_t f_t), or
        with per_frame, every frame's logits (B, T, K) = head(f_t)."""
        features = self.forward_features(video)
        return self.head(features if per_frame else features.mean(dim=1))

    def frame_logits(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) -> per-frame logits (B, T, K) = head(f_t)."""
        return self(video, per_frame=True)


_warned_range = False


def warn_if_not_unit_range(x: torch.Tensor) -> None:
    """Warn once per process when frames look like 0-255 values: the models expect [0, 1], and
    a trained model given 0-255 floats still answers, wrongly."""
    global _warned_range
    if _warned_range or torch.compiler.is_compiling() or x.device.type == "meta" or not x.numel():
        return
    if float(x.detach().amax()) > 1.5:
        _warned_range = True
        warnings.warn(f"frames have values up to {float(x.detach().amax()):.1f}, but the model "
                      "expects floats in [0, 1]; divide 0-255 frames by 255", stacklevel=3)


class ViT(VideoTransformer):
    """The image ViT on every frame, features averaged over time: blind to frame order."""

    arch = "vit"

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(
            Block(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.attention) for _ in range(cfg.depth)
        )
        self.init_weights()

    def frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, C, H, W) -> features (B, D)."""
        x = self.embed(frames)
        for blk in self.blocks:
            x = blk(x)
        return self.pool(x)

    def init_state(self, batch_size: int, device=None) -> list:
        """No state: the frame-mean ViT streams frame by frame like RViT, remembering nothing."""
        return []

    def step(self, frame: torch.Tensor, state: list):
        """frame (B, C, H, W) -> feature (B, D), the (empty) state unchanged."""
        check_step(self, frame, state)
        return self.frame_features(frame), state

    def forward_image(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> logits (B, K): the plain image classifier."""
        self.check_frames(images)
        return self.head(self.frame_features(images))

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        self.check_video(video)
        feats = self.frame_features(rearrange(video, "b t c h w -> (b t) c h w"))
        return rearrange(feats, "(b t) d -> b t d", t=video.shape[1])  # t > 0: also for b = 0


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """(length, dim): sin and cos of position / 10000^(2i/dim), as in "Attention Is All You Need"."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    freq = 1e4 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    out = torch.zeros(length, dim)
    out[:, 0::2], out[:, 1::2] = torch.sin(position * freq), torch.cos(position * freq)
    return out


class CViT(VideoTransformer):
    """Conventional video ViT: every block attends over the whole clip at once.

    joint: one Block over all T*N tokens (ViViT model 1). divided: per layer a temporal Block
    over each token position's T steps, then a spatial Block over each frame's N tokens.
    """

    arch = "cvit"
    own_options = ("num_frames", "space_time")

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        # learned, but started as sinusoids of the tokens' scale: order is visible from step 0
        # (a 0.02-std start leaves the model frame-order-blind for thousands of steps)
        self.time_embed = nn.Parameter(sinusoids(cfg.num_frames, cfg.dim)[None, :, None])

        def blocks():
            return nn.ModuleList(
                Block(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.attention)
                for _ in range(cfg.depth)
            )

        self.blocks = blocks()
        self.time_blocks = blocks() if cfg.space_time == "divided" else None
        self.init_weights()

    def check_video(self, video: torch.Tensor) -> None:
        super().check_video(video)
        t, max_t = video.shape[1], self.cfg.num_frames
        if t > max_t:
            raise ValueError(
                f"the clip has {t} frames but this CViT supports at most {max_t} "
                f"(its temporal embedding has num_frames={max_t}); sample at most {max_t} "
                f"frames or create the model with num_frames={t}"
            )

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        self.check_video(video)
        t = video.shape[1]
        x = self.embed(rearrange(video, "b t c h w -> (b t) c h w"))
        x = rearrange(x, "(b t) n d -> b t n d", t=t) + self.time_embed[:, :t]  # also for b = 0
        n = x.shape[2]
        if self.time_blocks is None:
            x = rearrange(x, "b t n d -> b (t n) d")
            for blk in self.blocks:
                x = blk(x)
            x = rearrange(x, "b (t n) d -> b t n d", t=t)
        else:
            for time_blk, space_blk in zip(self.time_blocks, self.blocks):
                x = rearrange(x, "b t n d -> (b n) t d")
                x = rearrange(time_blk(x), "(b n) t d -> (b t) n d", n=n)
                x = rearrange(space_blk(x), "(b t) n d -> b t n d", t=t)
        return self.pool(x)


class RViT(VideoTransformer):
    """Recurrent ViT: one frame per step, one hidden state per layer, causal by construction.

    At time step t, frame t's tokens y^0_t climb the L gates; gate l also reads its own hidden
    state h^l_{t-1} and leaves y^l_t as h^l_t (gate.py). The frame's feature f_t is the pooled
    top output y^L_t. A clip is T x L gate calls, frame by frame (how to run them faster,
    with the same result, is rm.accelerate's concern).
    """

    arch = "rvit"
    own_options = ("tbptt", "fp32_state")

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(
            AttentionGate(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.attention)
            for _ in range(cfg.depth)
        )
        self.init_weights()
        for blk in self.blocks:
            blk.init_hidden_weights_orthogonal()

    def init_state(self, batch_size: int, device=None) -> list[torch.Tensor]:
        """Zero hidden states h^l_{-1}, one (B, N, D) per layer."""
        device = device if device is not None else self.pos_embed.device
        shape = (batch_size, self.num_tokens, self.cfg.dim)
        return [torch.zeros(shape, device=device) for _ in self.blocks]

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]):
        """frame t (B, C, H, W), state [h^l_{t-1}] -> feature f_t (B, D), new state [h^l_t]."""
        check_step(self, frame, state)
        return self.gates(self.embed(frame), state)

    def gates(self, x: torch.Tensor, state: list[torch.Tensor]):
        """One frame's tokens y^0_t (B, N, D) up the L gates -> (f_t (B, D), [h^l_t])."""
        new_state = []
        for blk, h in zip(self.blocks, state):
            x = blk(x, h.to(x.dtype))  # y^l_t = Gate_l(y^{l-1}_t, h^l_{t-1})
            new_state.append(x.float() if self.cfg.fp32_state else x)
        return self.pool(x), new_state

    def forward_features(self, video: torch.Tensor, state=None) -> torch.Tensor:
        """video (B, T, C, H, W) -> (B, T, D); `state` continues from an earlier clip."""
        self.check_video(video)
        if state is None:
            state = self.init_state(video.shape[0], video.device)
        else:
            check_step(self, video[:, 0], state)
        feats = []
        for t in range(video.shape[1]):  # the frames are checked: gates, not step
            if truncates(t, self.cfg.tbptt):
                state = [h.detach() for h in state]
            feat, state = self.gates(self.embed(video[:, t]), state)
            feats.append(feat)
        return torch.stack(feats, dim=1)


def truncates(frame: int, tbptt: int) -> bool:
    """Truncated BPTT: is the hidden state entering `frame` cut from the graph (every `tbptt`
    frames; never when tbptt is 0)?"""
    return bool(tbptt) and frame > 0 and frame % tbptt == 0


# -- the registry ---------------------------------------------------------------------------

ARCHS = {cls.arch: cls for cls in (ViT, CViT, RViT)}

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
    others = {opt: arch for arch, cls in ARCHS.items() if arch != variant.arch
              for opt in cls.own_options if opt not in ARCHS[variant.arch].own_options}
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
