"""TRecViT, RViT's successor: a gated linear recurrence over time, then a ViT block over space.

Viorica Pătrăucean et al., "TRecViT: A Recurrent Video Transformer", arXiv:2412.14294 (the
public JAX model: github.com/google-deepmind/trecvit, trecvit/modules.py). Per layer, for a
clip's tokens x (B, T, N, D):

    1. time: at each token position n, along t,   x^n_t <- x^n_t + LRUBlock(RMSNorm(x^n))_t
       (the N "temporal tubes" share parameters and never mix)
    2. space and channels: in each frame,        x_t   <- Block(x_t)   (attention, MLP)

The gated LRU block is Griffin's recurrent block (De et al., arXiv:2402.19427; we read
recurrentgemma's torch/layers.py RGLRU and Conv1D and torch/modules.py RecurrentBlock and
ResidualBlock). For u_t = RMSNorm(x_t) of one tube:

    g_t = GeLU(W_g u_t + b_g)                                      gate branch
    v_t = Conv1D_w(W_v u + b_v)_t                                  causal, per channel, w = 4
    i_t = σ(W_i v_t + b_i)                                         input gate
    r_t = σ(W_r v_t + b_r)                                         recurrence gate
    a_t = σ(Λ)^(c r_t),  computed as  log a_t = -c softplus(-Λ) r_t,   c = 8
    h_t = a_t ⊙ h_{t-1} + sqrt(1 - a_t^2) ⊙ (i_t ⊙ v_t)            the RG-LRU
    LRUBlock(u)_t = W_o (h_t ⊙ g_t) + b_o

At a sequence's first frame h_{-1} is dropped and i_0 ⊙ v_0 enters unscaled (recurrentgemma's
reset at segment_pos == 0). σ(Λ)^2 starts uniform in [min_rad^2, 0.999^2]. The widths of
W_g, W_v and the state are D; W_i and W_r are block-diagonal, one block per head.

Because h_t is linear in h_{t-1}, a clip's recurrence is a scan (`linear_scan`) and a clip
trains in parallel over T; `TRecViT.step` runs the same model one frame at a time in constant
memory (tests/test_trecvit.py checks that the two agree). Read-out as the other models: the
frame feature f_t is the pooled top output, the clip logits head(mean_t f_t).

Where ours differs from the public model (trecvit_model.get_model("B"): modules.LRUViT with
recurrentgemma's JAX ResidualBlock, lru_only_real=True and use_mlp=False, which we read as the
paper's "no MLP block after the LRU", Sec. 3.2):
- state width: the public model sets lru_width = 2 D (state_multiplier=2, about 136M parameters
  at B/16); we use D, our reading of the paper, whose 111.3M parameters and 1.44 TFLOPs for 32
  frames (Table 3) fit D and not 2 D.
- min_rad: 0.6 by default, the paper's best (Tables 1 and 15); the public get_model passes 0.5
  (LRUViT's own default is 0.7, recurrentgemma's Griffin 0.9).
- read-out: the public decoder maps each frame's CLS token through tanh(Dense 3072), averages
  over time, then Dense K; ours is the project's head(mean_t f_t), without that layer's 2.4M
  parameters at B/16 (108.5M; with it 111.2M, beside the paper's 111.3M: tests/test_trecvit.py).
- stem: the public tokenizer adds the position embedding to the patches and then prepends the
  CLS token; ours is the project's stem (the CLS token has a position too) with its init.
- ViT block: the project's layers.Block (exact GELU); the public big_vision block uses the
  tanh-approximate GELU (flax's default) and Xavier init. The LRU block's GeLU is the tanh
  approximation, as recurrentgemma's.
- 1 - a_t^2 is computed as -expm1(2 log a_t), exact near a_t = 1, where recurrentgemma writes
  1 - exp(2 log a_t); the square root's gradient is bounded at 1000, as theirs.
- the scan: recurrentgemma's torch rnn_scan loops over time and the JAX model uses a native or
  Pallas linear scan; ours is a doubling (associative) scan in plain torch, log2 T steps.
"""

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from . import inputs
from .config import ModelConfig
from .models import VideoTransformer, blocks
from .recurrence import entering, reset_mask, truncates

C = 8.0  # the exponent's constant c (Griffin's, and TRecViT's)
MAX_RAD = 0.999  # σ(Λ) starts below this (recurrentgemma's max_rad)
MAX_SQRT_GRADIENT = 1000.0  # recurrentgemma's bound on d sqrt(x) / dx


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t for every t, from h_{-1} = h0: a, b (S, T, L), h0 (S, L) ->
    h (S, T, L), in log2(T) steps over the whole clip rather than T steps.

    Doubling scan (Hillis and Steele): after the step of span k, b_t holds the recurrence over
    the frames t-k+1..t started from zero and a_t their product a_{t-k+1} ... a_t; combining each
    frame with the one k before doubles the span. The products of a_t in (0, 1) may underflow
    to zero, which is harmless: they only multiply. (The closed form h_t = A_t cumsum_s(b_s / A_s)
    with A_t = a_0 ... a_t divides by them, and overflows once A_t underflows.) The price of the
    log2(T) steps is memory: in training each step keeps its a and b for backward, 2 log2(T)
    tensors of (S, T, L), where a loop over t keeps one, its states (tests/test_trecvit.py
    counts them).
    """
    b = torch.cat([b[:, :1] + a[:, :1] * h0[:, None], b[:, 1:]], dim=1)  # h_0 = a_0 h0 + b_0
    k = 1
    while k < b.shape[1]:
        b = torch.cat([b[:, :k], b[:, k:] + a[:, k:] * b[:, :-k]], dim=1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], dim=1)
        k *= 2
    return b


class SqrtBoundedGradient(torch.autograd.Function):
    """sqrt(x), with its gradient 1 / (2 sqrt(x)) bounded at MAX_SQRT_GRADIENT (as
    recurrentgemma's SqrtBoundDerivative): 1 - a^2 reaches 0 where a gate shuts, a_t = 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sqrt()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (4 * x).clamp(min=MAX_SQRT_GRADIENT ** -2).sqrt()


class BlockDiagonalLinear(nn.Module):
    """(..., L) -> (..., L): one (L/H, L/H) linear map per block of L/H channels, H blocks."""

    def __init__(self, width: int, num_blocks: int):
        super().__init__()
        if width % num_blocks:
            raise ValueError(f"width {width} is not divisible by {num_blocks} blocks")
        self.num_blocks, block = num_blocks, width // num_blocks
        self.weight = nn.Parameter(torch.empty(num_blocks, block, block))
        self.bias = nn.Parameter(torch.empty(num_blocks, block))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """LeCun normal, zero bias (recurrentgemma's BlockDiagonalLinear)."""
        nn.init.normal_(self.weight, std=self.weight.shape[1] ** -0.5)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = rearrange(x, "... (h i) -> ... h i", h=self.num_blocks)
        y = torch.einsum("...hi,hij->...hj", x, self.weight) + self.bias
        return rearrange(y, "... h j -> ... (h j)")


class RGLRU(nn.Module):
    """The real-gated linear recurrent unit: v (S, T, L) -> h (S, T, L), one state per channel.

    `scan` runs a whole sequence at once, `step` one time step; both from a state h (S, L)
    and `fresh` (S,) bool, True where the sequence starts here (h_{-1} dropped, input unscaled).
    """

    def __init__(self, width: int, num_heads: int, min_rad: float):
        super().__init__()
        self.min_rad = min_rad
        self.input_gate = BlockDiagonalLinear(width, num_heads)  # W_i, b_i
        self.recurrence_gate = BlockDiagonalLinear(width, num_heads)  # W_r, b_r
        self.lam = nn.Parameter(torch.empty(width))  # Λ: a_t = σ(Λ)^(c r_t)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Gates LeCun normal; σ(Λ)^2 uniform in [min_rad^2, MAX_RAD^2], uniform over the area of
        that ring of the complex plane (recurrentgemma's rnn_param_init)."""
        self.input_gate.reset_parameters()
        self.recurrence_gate.reset_parameters()
        with torch.no_grad():
            radius = self.lam.uniform_(self.min_rad ** 2, MAX_RAD ** 2).sqrt()
            self.lam.copy_(torch.logit(radius))

    def coefficients(self, v: torch.Tensor, fresh: torch.Tensor):
        """v (S, T, L), fresh (S,) -> a_t and b_t (S, T, L) of h_t = a_t h_{t-1} + b_t, float32."""
        i = torch.sigmoid(self.input_gate(v))  # i_t
        r = torch.sigmoid(self.recurrence_gate(v))  # r_t
        log_a = -C * F.softplus(-self.lam) * r  # log a_t = log σ(Λ)^(c r_t)
        a = torch.exp(log_a)
        scale = SqrtBoundedGradient.apply(-torch.expm1(2 * log_a))  # sqrt(1 - a_t^2)
        first = torch.zeros_like(r[..., :1], dtype=torch.bool)  # (S, T, 1)
        first[:, 0, 0] = fresh  # a sequence's first frame: h_{-1} dropped, input unscaled
        a = a.masked_fill(first, 0.0)
        scale = torch.where(first, 1.0, scale)
        return a.float(), (scale * (i * v)).float()

    def scan(self, v: torch.Tensor, h: torch.Tensor, fresh: torch.Tensor):
        """v (S, T, L), h_{-1} (S, L), fresh (S,) -> (h_0..h_{T-1} (S, T, L), h_{T-1} (S, L)).
        h_{T-1} is a copy: a view would keep the whole clip's states alive as long as the state."""
        states = linear_scan(*self.coefficients(v, fresh), h.float())
        return states, states[:, -1].clone()

    def step(self, v: torch.Tensor, h: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
        """v_t (S, L), h_{t-1} (S, L), fresh (S,) -> h_t (S, L)."""
        a, b = self.coefficients(v[:, None], fresh)
        return a[:, 0] * h.float() + b[:, 0]


class LRUBlock(nn.Module):
    """The residual temporal block over tubes (S = B N sequences): x (S, T, D) ->
    x + LRUBlock(RMSNorm(x)), with its state (h (S, D), the conv's last w - 1 inputs
    (S, w - 1, D)). `forward` runs a clip with the RG-LRU's scan, `step` one frame."""

    def __init__(self, dim: int, num_heads: int, conv_width: int, min_rad: float,
                 out_scale: float = 1.0):
        super().__init__()
        self.out_scale = out_scale  # variance scale of W_o's init (TRecViT: 2 / depth)
        self.norm = nn.RMSNorm(dim, eps=1e-6)
        self.gate_proj = nn.Linear(dim, dim)  # W_g, recurrentgemma's linear_y
        self.in_proj = nn.Linear(dim, dim)  # W_v, linear_x
        # depthwise over time: weight (D, 1, w), weight[..., -1] multiplies the newest input
        self.conv = nn.Conv1d(dim, dim, conv_width, groups=dim)
        self.rg_lru = RGLRU(dim, num_heads, min_rad)
        self.out_proj = nn.Linear(dim, dim)  # W_o, linear_out
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """recurrentgemma's RecurrentBlock init: W_g, W_v normal with variance 1 / D, W_o with
        out_scale / D, the conv with 0.01 / w; biases zero."""
        dim, width = self.in_proj.in_features, self.conv.kernel_size[0]
        for linear, variance in ((self.gate_proj, 1 / dim), (self.in_proj, 1 / dim),
                                 (self.out_proj, self.out_scale / dim)):
            nn.init.normal_(linear.weight, std=variance ** 0.5)
            nn.init.zeros_(linear.bias)
        nn.init.normal_(self.conv.weight, std=(0.01 / width) ** 0.5)
        nn.init.zeros_(self.conv.bias)
        nn.init.ones_(self.norm.weight)
        self.rg_lru.reset_parameters()

    def causal_conv(self, v: torch.Tensor, past: torch.Tensor):
        """v (S, T, D) and the w - 1 inputs before it (S, w - 1, D) -> the conv's outputs
        (S, T, D) and the last w - 1 inputs (the new `past`, a copy, not a view of the window)."""
        window = torch.cat([past.to(v.dtype), v], dim=1)  # (S, w - 1 + T, D)
        out = rearrange(self.conv(rearrange(window, "s t d -> s d t")), "s d t -> s t d")
        return out, window[:, window.shape[1] - past.shape[1]:].clone()

    def forward(self, x: torch.Tensor, state, fresh: torch.Tensor):
        """x (S, T, D), state (h_{-1}, past), fresh (S,) -> (x + LRUBlock(RMSNorm(x)) (S, T, D),
        the state after the clip)."""
        h, past = state
        u = self.norm(x)
        g = F.gelu(self.gate_proj(u), approximate="tanh")  # g_t
        v, past = self.causal_conv(self.in_proj(u), past)  # v_t
        states, h = self.rg_lru.scan(v, h, fresh)  # h_t
        return x + self.out_proj(states.to(g.dtype) * g), (h, past)

    def step(self, x: torch.Tensor, state, fresh: torch.Tensor):
        """x_t (S, D), state (h_{t-1}, past), fresh (S,) -> (x_t + LRUBlock(...)_t (S, D), the
        state after frame t)."""
        h, past = state
        u = self.norm(x)
        g = F.gelu(self.gate_proj(u), approximate="tanh")
        v, past = self.causal_conv(self.in_proj(u)[:, None], past)
        h = self.rg_lru.step(v[:, 0], h, fresh)
        return x + self.out_proj(h.to(g.dtype) * g), (h, past)


class TRecViT(VideoTransformer):
    """TRecViT: per layer an LRU block along time at each token position, then a ViT block
    in each frame. Causal; trains on a clip with a parallel scan (`scan`), streams one frame at
    a time (`frame_step`) with the same result; `recur` runs either, as RViT.recur's contract
    says (resets, truncated BPTT).

    The state: per layer l, h^l (B, N, D) and the conv's last w - 1 inputs (B, N, w - 1, D);
    last, the frames seen so far (B,) (a stream whose count is 0 starts afresh)."""

    arch = "trecvit"
    own_options = ("conv_width", "min_rad", "tbptt")

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.lru_blocks = nn.ModuleList(
            LRUBlock(cfg.dim, cfg.num_heads, cfg.conv_width, cfg.min_rad, 2 / cfg.depth)
            for _ in range(cfg.depth))
        self.blocks = blocks(cfg)
        self.init_weights()  # ViT's, for the stem and the ViT blocks; then Griffin's:
        for blk in self.lru_blocks:
            blk.reset_parameters()

    def init_state(self, batch_size: int, device=None) -> list[torch.Tensor]:
        """A fresh stream: zero states and conv inputs per layer, then zero frames seen."""
        device = device if device is not None else self.pos_embed.device
        n, d, w = self.num_tokens, self.cfg.dim, self.cfg.conv_width
        state = []
        for _ in self.lru_blocks:
            state += [torch.zeros(batch_size, n, d, device=device),
                      torch.zeros(batch_size, n, w - 1, d, device=device)]
        return state + [torch.zeros(batch_size, dtype=torch.long, device=device)]

    def recur(self, video: torch.Tensor, state=None, *, resets=None, detach_every=None,
              observe=None):
        """The recurrence over a clip, as RViT.recur: video (B, T, C, H, W), state (None: a
        fresh stream) -> (features f_t (B, T, D), the state after the clip). resets: frames
        (indices, or a bool mask (T,) or (B, T)) before which a stream starts afresh;
        detach_every: cut the state from the graph every k frames (default cfg.tbptt).

        The frames between two such cuts run as one parallel scan over time (`scan`); a single
        frame, as a stream feeds them, runs the step (`frame_step`)."""
        if observe is not None:
            raise ValueError("observe follows an RViT's gates; TRecViT has none")
        batch, frames = video.shape[:2]
        state = self.init_state(batch, video.device) if state is None else state
        inputs.check_step(self, video, state, "(B, T, C, H, W)")
        resets = reset_mask(resets, batch, frames)
        zeros = self.init_state(batch, video.device) if resets is not None else None
        detach_every = self.cfg.tbptt if detach_every is None else detach_every
        cuts = {t for t in range(1, frames) if truncates(t, detach_every) or
                (resets is not None and resets[:, t].any())}
        tokens = self.embed_clip(video)  # (B, T, N, D)
        features, bounds = [], [0, *sorted(cuts), frames]
        for start, stop in zip(bounds[:-1], bounds[1:]):
            state = entering(list(state), start, resets, detach_every, zeros)
            if stop - start == 1:
                feature, state = self.frame_step(tokens[:, start], state)
                features.append(feature[:, None])
            else:
                feature, state = self.scan(tokens[:, start:stop], state)
                features.append(feature)
        return torch.cat(features, dim=1), state

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]):
        """frame t (B, C, H, W), state after frame t - 1 -> feature f_t (B, D), state after t."""
        inputs.check_step(self, frame, state)
        return self.frame_step(self.embed(frame), state)

    def frame_step(self, x: torch.Tensor, state: list[torch.Tensor]):
        """One frame's tokens (B, N, D), state after frame t - 1 -> (f_t (B, D), state after t):
        each layer's RG-LRU takes one step."""
        b, n = x.shape[:2]
        fresh = (state[-1] == 0).repeat_interleave(n)  # (B N,)
        new_state = []
        for layer, (lru_blk, blk) in enumerate(zip(self.lru_blocks, self.blocks)):
            h, past = (s.flatten(0, 1) for s in state[2 * layer:2 * layer + 2])
            x, (h, past) = lru_blk.step(x.flatten(0, 1), (h, past), fresh)  # (B N, D)
            x = blk(x.unflatten(0, (b, n)))  # (B, N, D)
            new_state += [h.unflatten(0, (b, n)), past.unflatten(0, (b, n))]
        return self.pool(x), new_state + [state[-1] + 1]

    def scan(self, x: torch.Tensor, state: list[torch.Tensor]):
        """A clip's tokens (B, T, N, D), the state before it -> (features (B, T, D), the state
        after it): every frame at once, each layer's recurrence a parallel scan over T."""
        b, t, n = x.shape[:3]
        fresh = (state[-1] == 0).repeat_interleave(n)  # (B N,)
        new_state = []
        for layer, (lru_blk, blk) in enumerate(zip(self.lru_blocks, self.blocks)):
            h, past = (s.flatten(0, 1) for s in state[2 * layer:2 * layer + 2])
            tubes = rearrange(x, "b t n d -> (b n) t d")  # time, at each token position
            tubes, (h, past) = lru_blk(tubes, (h, past), fresh)
            frames = rearrange(tubes, "(b n) t d -> (b t) n d", n=n, t=t)  # space, per frame
            x = rearrange(blk(frames), "(b t) n d -> b t n d", t=t)
            new_state += [h.unflatten(0, (b, n)), past.unflatten(0, (b, n))]
        return self.pool(x), new_state + [state[-1] + t]

    def forward_features(self, video: torch.Tensor, state=None) -> torch.Tensor:
        """video (B, T, C, H, W) -> (B, T, D); `state` continues from an earlier clip."""
        self.check_video(video)
        return self.recur(video, state)[0]
