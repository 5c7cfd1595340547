"""The models: the frame-mean ViT, CViT (the whole clip at once) and RViT (one frame per step).

All three share the frame stem (patch embedding, CLS token, spatial position embedding), the
transformer block (layers.py; RViT's is the attention gate, gate.py), the per-frame pooling and
the head. A video model maps a clip (B, T, C, H, W) to per-frame features f_t (B, T, D); the
clip logits are head(mean_t f_t), the per-frame logits head(f_t). What a model is made of is
its ModelConfig (config.py); the registered variants are registry.py's; how an RViT runs
faster with the same result is rm.accelerate's (execution/).
"""

from functools import partial

import torch
from einops import rearrange
from torch import nn

from . import inputs
from .config import ModelConfig
from .gate import AttentionGate, HiddenProjection
from .layers import Block, PatchEmbed
from .recurrence import reset_mask, run_frames


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
        """ViT's initialisation: positions, CLS and linear weights truncated normal (std 0.02),
        biases zero. RViT's W_h keep their own (orthogonal, gate.HiddenProjection)."""
        for p in (self.pos_embed, self.cls_token):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear) and not isinstance(m, HiddenProjection):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def check_frames(self, x: torch.Tensor, layout: str = "(B, C, H, W)") -> None:
        inputs.check_frames(self.cfg, x, layout)

    def check_video(self, video: torch.Tensor) -> None:
        inputs.check_video(self.cfg, video)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (B, C, H, W) in [0, 1] -> tokens (B, N, D), CLS first where pool == 'cls'."""
        x = self.patch_embed((frames - self.cfg.pixel_mean) / self.cfg.pixel_std)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        return x + self.pos_embed

    def embed_clip(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) -> every frame's tokens (B, T, N, D), in one call."""
        tokens = self.embed(rearrange(video, "b t c h w -> (b t) c h w"))
        return rearrange(tokens, "(b t) n d -> b t n d", t=video.shape[1])  # also for b = 0

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (..., N, D) -> feature (..., D): LN, then the CLS token or the token mean.
        LN is per token, so the CLS feature norms only the CLS row: a tensor of its own, not a
        view that would keep every frame's normed (..., N, D) tokens alive."""
        if self.cfg.pool == "cls":
            return self.norm(tokens[..., 0, :])
        return self.norm(tokens).mean(dim=-2)

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


def blocks(cfg: ModelConfig, block=Block) -> nn.ModuleList:
    """L blocks (or gates) of the config's width."""
    return nn.ModuleList(block(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.attention)
                         for _ in range(cfg.depth))


class ViT(VideoTransformer):
    """The image ViT on every frame, features averaged over time: blind to frame order."""

    arch = "vit"

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.blocks = blocks(cfg)
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

    def recur(self, video: torch.Tensor, state=(), *, resets=None, detach_every=None,
              observe=None):
        """RViT.recur's contract for a model without memory: video (B, T, C, H, W) -> (features
        (B, T, D), the (empty) state). There is nothing to reset, cut or observe."""
        inputs.check_step(self, video, list(state or []), "(B, T, C, H, W)")
        if observe is not None:
            raise ValueError("observe follows an RViT's gates; a ViT has no hidden state")
        return self.frames_features(video), []

    def step(self, frame: torch.Tensor, state: list):
        """frame (B, C, H, W) -> feature (B, D), the (empty) state unchanged."""
        inputs.check_step(self, frame, state)
        return self.frame_features(frame), state

    def forward_image(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> logits (B, K): the plain image classifier."""
        self.check_frames(images)
        return self.head(self.frame_features(images))

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        self.check_video(video)
        return self.frames_features(video)

    def frames_features(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) -> features (B, T, D), every frame in one batch."""
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
        self.blocks = blocks(cfg)
        self.time_blocks = blocks(cfg) if cfg.space_time == "divided" else None
        self.init_weights()

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        self.check_video(video)
        t = video.shape[1]
        x = self.embed_clip(video) + self.time_embed[:, :t]  # (B, T, N, D)
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
    top output y^L_t. A clip is T x L gate calls: `gates` is one frame's column of them, `recur`
    the loop over frames (recurrence.py). `execution` says how the loop runs: None, the plain
    loop; rm.accelerate gives an RViT over the same layers whose execution is faster.
    """

    arch = "rvit"
    own_options = ("tbptt", "fp32_state")

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.blocks = blocks(cfg, AttentionGate)
        self.execution = None
        self.init_weights()

    def __setstate__(self, state) -> None:
        """A deep copy or an unpickled model builds its execution's machinery anew: compiled
        functions and CUDA graphs are bound to the model they were made for."""
        super().__setstate__(state)
        if self.execution is not None:
            self.execution.build(self)

    def init_state(self, batch_size: int, device=None) -> list[torch.Tensor]:
        """Zero hidden states h^l_{-1}, one (B, N, D) per layer."""
        device = device if device is not None else self.pos_embed.device
        shape = (batch_size, self.num_tokens, self.cfg.dim)
        return [torch.zeros(shape, device=device) for _ in self.blocks]

    def gates(self, x: torch.Tensor, state: list[torch.Tensor], observe=None):
        """One frame's tokens y^0_t (B, N, D) up the L gates, state [h^l_{t-1}] -> (f_t (B, D),
        [h^l_t]). observe(l, x, h, y), if given, sees every gate's inputs and output."""
        new_state = []
        for layer, (gate, h) in enumerate(zip(self.blocks, state)):
            y = gate(x, h.to(x.dtype))  # y^l_t = Gate_l(y^{l-1}_t, h^l_{t-1})
            if observe is not None:
                observe(layer, x, h, y)
            new_state.append(y.float() if self.cfg.fp32_state else y)
            x = y
        return self.pool(x), new_state

    def recur(self, video: torch.Tensor, state=None, *, resets=None, detach_every=None,
              observe=None):
        """The recurrence over a clip: video (B, T, C, H, W), state [h^l_{-1}] (None: zeros)
        -> (features f_t (B, T, D), the state after the last frame [h^l_{T-1}]).

        resets: frames (indices, or a bool mask (T,) or (B, T)) before which a stream's state
        goes back to zeros; detach_every: cut the state from the graph every k frames
        (truncated BPTT; default cfg.tbptt); observe(t, l, x, h, y): sees every cell, gate l at
        frame t (the plain loop only)."""
        batch, frames = video.shape[:2]
        state = self.init_state(batch, video.device) if state is None else state
        inputs.check_step(self, video, state, "(B, T, C, H, W)")
        state = list(state)
        resets = reset_mask(resets, batch, frames)
        zeros = self.init_state(batch, video.device) if resets is not None else None
        detach_every = self.cfg.tbptt if detach_every is None else detach_every
        if self.execution is not None:
            if observe is not None:
                raise ValueError("observe follows the plain loop; observe the model that "
                                 "rm.accelerate was given")
            return self.execution.recur(self, video, state, zeros, resets, detach_every)

        def frame_step(t, frame, state):
            return self.gates(self.embed(frame), state, observe and partial(observe, t))
        return run_frames(frame_step, video, state, zeros, resets, detach_every)

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]):
        """frame t (B, C, H, W), state [h^l_{t-1}] -> feature f_t (B, D), new state [h^l_t]."""
        features, state = self.recur(frame[:, None], state)
        return features[:, 0], state

    def forward_features(self, video: torch.Tensor, state=None) -> torch.Tensor:
        """video (B, T, C, H, W) -> (B, T, D); `state` continues from an earlier clip."""
        self.check_video(video)
        return self.recur(video, state)[0]
