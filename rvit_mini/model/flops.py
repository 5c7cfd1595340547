"""Floating-point operations, counted from the architecture (multiply-add = 2).

What is counted is what FLOP counters such as torch.utils.flop_counter count: the matrix products
and convolutions, that is the patch embedding, the attention's projections and its two products
(q k^T and the weighted sum of v, or the linear attention's three), the gate's W_h term, the MLP,
TRecViT's LRU block (its projections, block-diagonal gates and temporal convolution) and the head.
Norms, softmax, GELU, the RG-LRU's recurrence and additions are left out: a few percent at these
widths.

The count is a property of the config, so a notebook that prints it prints the same number on
every torch build (torch's own counter has changed between releases: until 2.14 it skipped the
CPU kernel of scaled_dot_product_attention). tests/test_flops.py checks it against the counter.

    clip_flops(cfg, frames)           # one clip of `frames` frames, batch 1, clip logits
    flops_per_frame(model)            # one frame through the model, no head; CViT: its clip / T
"""

from .config import ModelConfig


def linear(tokens: int, d_in: int, d_out: int) -> int:
    """(tokens, d_in) @ (d_in, d_out)."""
    return 2 * tokens * d_in * d_out


def attention(cfg: ModelConfig, tokens: int) -> int:
    """The attention's products over `tokens` tokens, all heads (projections not included)."""
    if cfg.attention == "softmax":
        return 2 * linear(tokens, tokens, cfg.dim)  # q k^T (n x n per head), then weights @ v
    head_dim = cfg.dim // cfg.num_heads
    # k^T v and q (k^T v): d x d per token; the normaliser q . sum(k): d per token
    per_head = 2 * linear(tokens, head_dim, head_dim) + linear(tokens, head_dim, 1)
    return cfg.num_heads * per_head


def block(cfg: ModelConfig, tokens: int) -> int:
    """A transformer block (layers.Block) over `tokens` tokens."""
    hidden = int(cfg.dim * cfg.mlp_ratio)
    return (linear(tokens, cfg.dim, 3 * cfg.dim) + attention(cfg, tokens)
            + linear(tokens, cfg.dim, cfg.dim) + 2 * linear(tokens, cfg.dim, hidden))


def gate(cfg: ModelConfig, tokens: int) -> int:
    """RViT's attention gate: a block whose q, k, v also get LN_h(h) W_h."""
    return block(cfg, tokens) + linear(tokens, cfg.dim, 3 * cfg.dim)


def lru_block(cfg: ModelConfig, tokens: int) -> int:
    """TRecViT's LRU block (trecvit.LRUBlock, state width D) at `tokens` token positions, one
    frame: W_g, W_v, W_o, the gates W_i and W_r (H blocks of D/H x D/H) and the depthwise
    temporal convolution (w taps per channel)."""
    heads, block_width = cfg.num_heads, cfg.dim // cfg.num_heads
    return (3 * linear(tokens, cfg.dim, cfg.dim) + 2 * heads * linear(tokens, block_width, block_width)
            + 2 * tokens * cfg.dim * cfg.conv_width)


def patches_per_frame(cfg: ModelConfig) -> int:
    return (cfg.img_size // cfg.patch_size) ** 2


def tokens_per_frame(cfg: ModelConfig) -> int:
    return patches_per_frame(cfg) + (cfg.pool == "cls")


def frame_embedding(cfg: ModelConfig) -> int:
    """The patch embedding of one frame: a p x p convolution with stride p."""
    return linear(patches_per_frame(cfg), cfg.in_chans * cfg.patch_size ** 2, cfg.dim)


def features(cfg: ModelConfig, frames: int) -> int:
    """Per-frame features of a clip of `frames` frames, batch 1 (no head)."""
    n = tokens_per_frame(cfg)
    if cfg.arch == "rvit":
        layers = frames * cfg.depth * gate(cfg, n)
    elif cfg.arch == "vit":
        layers = frames * cfg.depth * block(cfg, n)
    elif cfg.arch == "trecvit":
        layers = frames * cfg.depth * (lru_block(cfg, n) + block(cfg, n))
    elif cfg.space_time == "joint":
        layers = cfg.depth * block(cfg, frames * n)
    else:  # divided: attention over time at each token position, then over space in each frame
        layers = cfg.depth * (n * block(cfg, frames) + frames * block(cfg, n))
    return frames * frame_embedding(cfg) + layers


def head(cfg: ModelConfig, outputs: int = 1) -> int:
    """The head on `outputs` features (1 for clip logits, T for per-frame logits)."""
    return linear(outputs, cfg.dim, cfg.num_classes)


def clip_flops(cfg: ModelConfig, frames: int, per_frame: bool = False) -> int:
    """Forward FLOPs of model(video) on one clip (batch 1) of `frames` frames: clip logits, or
    with per_frame, every frame's logits."""
    return features(cfg, frames) + head(cfg, frames if per_frame else 1)


def flops_per_frame(model) -> int:
    """Forward FLOPs to process one frame, without the head; for CViT, a full clip of its
    num_frames frames divided by num_frames. `model`: a model or its ModelConfig."""
    cfg = getattr(model, "cfg", model)
    frames = cfg.num_frames if cfg.arch == "cvit" else 1
    return features(cfg, frames) // frames
