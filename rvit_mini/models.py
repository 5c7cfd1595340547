"""ViT (frame mean), CViT (joint or divided space-time) and RViT (recurrent), one registry.

All three share the frame stem (patch embedding, CLS token, spatial position embedding), the
Block, the per-frame pooling and the head. A video model maps (B, T, C, H, W) to per-frame
features (B, T, D); the clip logits are head(mean_t f_t) and the per-frame logits head(f_t).
"""

from dataclasses import asdict, dataclass, fields, replace

import torch
from einops import rearrange
from torch import nn
from torch.utils.checkpoint import checkpoint

from .gate import AttentionGate
from .graphs import GraphedStep
from .layers import ATTENTION_KINDS, Block, PatchEmbed
from .wavefront import Wavefront, truncates


@dataclass(frozen=True)
class ModelConfig:
    arch: str  # "vit" | "cvit" | "rvit"
    img_size: int = 224
    patch_size: int = 16
    in_chans: int = 3
    num_classes: int = 400
    dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    attention: str = "softmax"  # "softmax" | "linear"
    pool: str = "cls"  # "cls" | "mean": how a frame's tokens become its feature f_t
    num_frames: int = 32  # CViT: the longest clip its temporal embedding covers
    space_time: str = "joint"  # CViT: "joint" | "divided"
    frame_checkpoint: bool = False  # RViT: recompute each frame in backward, keep only h
    tbptt: int = 0  # RViT: detach the hidden state every `tbptt` frames (0: never)
    fp32_state: bool = False  # RViT: keep the hidden state in float32 under autocast
    execution: str = "sequential"  # RViT on a clip: "sequential" (T x L steps) | "wavefront"
    compile: bool = False  # RViT: torch.compile the per-frame step, or the wavefront's diagonal
    cuda_graphs: bool = False  # RViT inference on CUDA: replay the per-frame step from a graph
    pixel_mean: float = 0.5  # inputs are [0, 1]; the stem normalises them as IN-21K ViTs expect
    pixel_std: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """to_dict() without RUN_OPTIONS: what a checkpoint must match to be resumed."""
        return {k: v for k, v in self.to_dict().items() if k not in RUN_OPTIONS}


# how an RViT runs, not what it computes: a checkpoint resumes under any of them
RUN_OPTIONS = ("frame_checkpoint", "execution", "compile", "cuda_graphs")


class VideoTransformer(nn.Module):
    """Shared stem, pooling, head and input checks. Subclasses define forward_features."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {cfg.pool!r}")
        if cfg.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {cfg.attention!r}")
        if cfg.execution not in ("sequential", "wavefront"):
            raise ValueError(f"execution must be 'sequential' or 'wavefront', got {cfg.execution!r}")
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

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) float in [0, 1] -> clip logits (B, K) = head(mean_t f_t)."""
        return self.head(self.forward_features(video).mean(dim=1))

    def frame_logits(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) -> per-frame logits (B, T, K) = head(f_t)."""
        return self.head(self.forward_features(video))


class ViT(VideoTransformer):
    """The image ViT on every frame, features averaged over time: blind to frame order."""

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
        return self.frame_features(frame), state

    def forward_image(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> logits (B, K): the plain image classifier."""
        self.check_frames(images)
        return self.head(self.frame_features(images))

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        self.check_video(video)
        feats = self.frame_features(rearrange(video, "b t c h w -> (b t) c h w"))
        return rearrange(feats, "(b t) d -> b t d", b=video.shape[0])


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

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        if cfg.space_time not in ("joint", "divided"):
            raise ValueError(f"space_time must be 'joint' or 'divided', got {cfg.space_time!r}")
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
        b, t = video.shape[:2]
        x = self.embed(rearrange(video, "b t c h w -> (b t) c h w"))
        x = rearrange(x, "(b t) n d -> b t n d", b=b) + self.time_embed[:, :t]
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
                x = rearrange(space_blk(x), "(b t) n d -> b t n d", b=b)
        return self.pool(x)


class RViT(VideoTransformer):
    """Recurrent ViT: one frame per step, one hidden state per layer, causal by construction."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.blocks = nn.ModuleList(
            AttentionGate(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.attention)
            for _ in range(cfg.depth)
        )
        self.init_weights()
        for blk in self.blocks:
            blk.init_hidden_weights_orthogonal()
        # torch.compile is lazy: it compiles on the first call; so is graph capture
        self._run_gates = torch.compile(self._gates) if cfg.compile else self._gates
        self._graphed_gates = GraphedStep(self._run_gates, self) if cfg.cuda_graphs else None
        self._wavefront = Wavefront(self.blocks, cfg.compile) if cfg.execution == "wavefront" \
            else None

    def init_state(self, batch_size: int, device=None) -> list[torch.Tensor]:
        """Zero hidden states, one (B, N, D) per layer."""
        device = device if device is not None else self.pos_embed.device
        shape = (batch_size, self.num_tokens, self.cfg.dim)
        return [torch.zeros(shape, device=device) for _ in self.blocks]

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]):
        """frame (B, C, H, W), state [L x (B, N, D)] -> feature (B, D), new state."""
        return self.step_tokens(self.embed(frame), state)

    def step_tokens(self, x: torch.Tensor, state: list[torch.Tensor]):
        """One frame's tokens (B, N, D) through the L gates -> feature (B, D), new state."""
        if self._graphed_gates is not None and x.is_cuda and not torch.is_grad_enabled():
            return self._graphed_gates(x, state)
        return self._run_gates(x, state)

    def _gates(self, x: torch.Tensor, state: list[torch.Tensor]):
        new_state = []
        for blk, h in zip(self.blocks, state):
            x = blk(x, h.to(x.dtype))
            new_state.append(x.float() if self.cfg.fp32_state else x)
        return self.pool(x), new_state

    def _step_flat(self, x, *state):
        feat, new_state = self.step_tokens(x, list(state))
        return (feat, *new_state)

    def _checkpointed_step(self, x, state):
        """step_tokens() that keeps only its inputs for backward and recomputes the rest."""
        feat, *new_state = checkpoint(self._step_flat, x, *state, use_reentrant=False)
        return feat, new_state

    def forward_features(self, video: torch.Tensor, state=None) -> torch.Tensor:
        """video (B, T, C, H, W) -> (B, T, D); `state` continues from an earlier clip.

        The patch embedding does not depend on the hidden state, so the whole clip is embedded
        in one call before the recurrence.
        """
        self.check_video(video)
        b, t = video.shape[:2]
        state = self.init_state(b, video.device) if state is None else state
        tokens = self.embed(video.flatten(0, 1)).unflatten(0, (b, t))  # (B, T, N, D)
        use_ckpt = self.cfg.frame_checkpoint and torch.is_grad_enabled()
        if self.cfg.execution == "wavefront":
            if use_ckpt:
                raise ValueError("frame_checkpoint needs execution='sequential'")
            return self.pool(self._wavefront(tokens, state, self.cfg.tbptt, self.cfg.fp32_state))
        feats = []
        for i in range(t):
            if truncates(i, self.cfg.tbptt):
                state = [h.detach() for h in state]
            step = self._checkpointed_step if use_ckpt else self.step_tokens
            feat, state = step(tokens[:, i], state)
            feats.append(feat)
        return torch.stack(feats, dim=1)


ARCHS = {"vit": ViT, "cvit": CViT, "rvit": RViT}

# Widths: "paper" is ViT-B/16; "mini" trains on 32x32 StickActions clips on a CPU in minutes.
SCALES = {
    "paper": dict(img_size=224, patch_size=16, dim=768, num_heads=12, mlp_ratio=4.0,
                  num_classes=400, num_frames=32),
    "mini": dict(img_size=32, patch_size=8, dim=64, num_heads=4, mlp_ratio=4.0,
                 num_classes=9, num_frames=16),
}

# name -> (arch, extra config, depth at paper scale, depth at mini scale)
VARIANTS = {
    "vit": ("vit", {}, 12, 4),
    "cvit": ("cvit", {}, 12, 4),
    "cvit_divided": ("cvit", {"space_time": "divided"}, 12, 4),
    "rvit_s": ("rvit", {}, 4, 2),
    "rvit": ("rvit", {}, 6, 3),
    "rvit_l": ("rvit", {}, 8, 4),
    "rvit_xl": ("rvit", {}, 12, 6),
    "rvit_linear": ("rvit", {"attention": "linear"}, 6, 3),
}


def list_models() -> list[str]:
    return sorted(VARIANTS)


def model_config(name: str, scale: str = "mini", **overrides) -> ModelConfig:
    """The config of a registered variant at a scale, with overrides (e.g. num_frames=64)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose 'mini' or 'paper'")
    known = {f.name for f in fields(ModelConfig)} - {"arch"}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(known)}")
    arch, extra, paper_depth, mini_depth = VARIANTS[name]
    depth = paper_depth if scale == "paper" else mini_depth
    return replace(ModelConfig(arch, depth=depth, **SCALES[scale], **extra), **overrides)


def build_model(cfg: ModelConfig) -> VideoTransformer:
    return ARCHS[cfg.arch](cfg)


def create_model(name: str, scale: str = "mini", **overrides) -> VideoTransformer:
    """create_model("rvit_s", scale="mini", num_classes=10) -> an initialised model."""
    return build_model(model_config(name, scale, **overrides))
