"""Drawn figures for the lessons: Fig. S1 (what CViT and RViT take in and keep), the attention
gate's data flow, and what the hidden state contributes (the size of its term in q, k, v, the
attention maps with and without it, how far back a change of the past still moves a feature).

Each function draws into the axes it is given (or new ones) and returns them.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .viz import to_image

FRAME, TOKENS, GATE, HIDDEN, STATE = "0.92", "#dbe9f6", "#e6e3f5", "#ffd9b3", "C1"


def _box(ax, x, y, w, h, text, face, fontsize=10, gid=None):
    """A rounded box centred at (x, y), w x h, with text in it."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, facecolor=face, edgecolor="0.3",
                                boxstyle="round,pad=0.02", gid=gid))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, color="0.3", gid=None, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, lw=1.3,
                                 color=color, gid=gid, **kw))


def _finish(ax, xlim, ylim, title):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    return ax


def draw_fig_s1(frames: int = 4, depth: int = 2, axes=None):
    """Fig. S1 drawn: left, CViT takes all `frames` frames' tokens at once into each of its
    blocks, so what it holds grows with T; right, RViT takes one frame and its hidden states
    (one per layer, orange) per step, so what it holds is the same at every T.

    Returns the two axes (CViT, RViT); RViT's state arrows carry gid "state"."""
    if frames < 2 or depth < 1:
        raise ValueError(f"frames must be >= 2 and depth >= 1, got {frames} and {depth}")
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(11, 2.2 + 0.8 * depth), layout="constrained")[1]
    cvit, rvit = axes
    top = depth + 1
    for t in range(frames):  # CViT: every frame into one wide stack of blocks
        _box(cvit, t, 0, 0.7, 0.5, f"frame {t}", FRAME, 9)
        _arrow(cvit, (t, 0.25), (t, 0.7))
    for layer in range(1, depth + 1):
        _box(cvit, (frames - 1) / 2, layer, frames - 0.2, 0.55,
             f"block {layer}: attention over all T x N = {frames} x N tokens", TOKENS, 9)
        if layer < depth:
            _arrow(cvit, ((frames - 1) / 2, layer + 0.28), ((frames - 1) / 2, layer + 0.72))
    _arrow(cvit, ((frames - 1) / 2, depth + 0.28), ((frames - 1) / 2, top - 0.15))
    cvit.text((frames - 1) / 2, top, "clip logits, after the last frame arrives", ha="center",
              fontsize=9)
    cvit.text((frames - 1) / 2, -0.7, "holds T x N tokens per block: grows with T", ha="center",
              fontsize=10, color="C3")
    _finish(cvit, (-0.6, frames - 0.4), (-0.95, top + 0.35), "CViT: the whole clip at once")

    for t in range(frames):  # RViT: one column of gates per frame, states passed right
        _box(rvit, t, 0, 0.7, 0.5, f"frame {t}", FRAME, 9)
        _arrow(rvit, (t, 0.25), (t, 0.72))
        for layer in range(1, depth + 1):
            _box(rvit, t, layer, 0.6, 0.5, f"gate {layer}", GATE, 9)
            if layer < depth:
                _arrow(rvit, (t, layer + 0.25), (t, layer + 0.75))
            if t:
                _arrow(rvit, (t - 0.7, layer), (t - 0.3, layer), STATE, gid="state")
        _arrow(rvit, (t, depth + 0.25), (t, top - 0.15))
        rvit.text(t, top, f"$f_{t}$", ha="center", fontsize=10)
    for layer in range(1, depth + 1):
        rvit.text(frames - 0.55, layer + 0.3, f"$h^{layer}$", color=STATE, fontsize=10)
    rvit.text((frames - 1) / 2, -0.7, "holds one frame + L hidden states (N x D): the same "
              "at every T", ha="center", fontsize=10, color="C2")
    _finish(rvit, (-0.6, frames - 0.4), (-0.95, top + 0.35),
            "RViT: one frame and a hidden state per step")
    return cvit, rvit


def draw_gate(ax=None):
    """The attention gate's data flow: q, k, v are each the sum of a term from the frame's
    tokens x (LN_x, W_x) and a term from the hidden state h (LN_h, W_h); the softmax then
    weighs the N token positions; W_O, the residual and the MLP give y, the new h.

    Boxes of the hidden state's path carry gid "hidden". Returns the axes."""
    ax = ax or plt.subplots(figsize=(7.5, 5.6), layout="constrained")[1]
    _box(ax, 0, 0, 2.2, 0.55, "$x = y^{l-1}_t$  (N, D)\nframe t, layer below", TOKENS, 9)
    _box(ax, 4, 0, 2.2, 0.55, "$h = h^l_{t-1}$  (N, D)\nthis layer, frame t-1", HIDDEN, 9,
         gid="hidden")
    _box(ax, 0, 1.1, 1.6, 0.45, "$\\mathrm{LN}_x$, $W_x^{Q,K,V}$", TOKENS, 9)
    _box(ax, 4, 1.1, 1.6, 0.45, "$\\mathrm{LN}_h$, $W_h^{Q,K,V}$", HIDDEN, 9, gid="hidden")
    _arrow(ax, (0, 0.28), (0, 0.87))
    _arrow(ax, (4, 0.28), (4, 0.87), STATE)
    for x, name in zip((1.2, 2, 2.8), "qkv"):  # q = x-term + h-term, same for k, v
        _box(ax, x, 2.2, 0.6, 0.45, f"${name}$", "white", 10)
        _arrow(ax, (0.4, 1.33), (x - 0.1, 1.97))
        _arrow(ax, (3.6, 1.33), (x + 0.1, 1.97), STATE)
        _arrow(ax, (x, 2.43), (2 + (x - 2) * 0.5, 2.92))
    ax.text(3.3, 2.2, "$q = \\mathrm{LN}_x(x)\\,W_x^Q + \\mathrm{LN}_h(h)\\,W_h^Q$\n(the same for k, v)",
            va="center", fontsize=9)
    _box(ax, 2, 3.2, 3.6, 0.55, "softmax$(q k^\\top / \\sqrt{d})\\, v$ per head:\n"
         "weights over the N token positions", GATE, 9)
    _box(ax, 2, 4.15, 2.4, 0.45, "$W_O$, + x (residual)", GATE, 9)
    _box(ax, 2, 5.0, 2.4, 0.45, "LN, MLP, + (residual)", GATE, 9)
    _box(ax, 2, 5.85, 2.6, 0.45, "$y^l_t$ = new $h^l_t$  (N, D)", TOKENS, 9)
    _arrow(ax, (2, 3.48), (2, 3.92))
    _arrow(ax, (2, 4.38), (2, 4.77))
    _arrow(ax, (2, 5.23), (2, 5.62))
    _arrow(ax, (-1.1, 0.15), (0.8, 4.15), connectionstyle="arc3,rad=-0.25", ls="--")
    _arrow(ax, (3.3, 5.85), (4.6, 5.85), STATE)
    ax.text(4.7, 5.85, "to layer l\nat frame t+1", va="center", fontsize=9, color=STATE)
    ax.text(2, -0.75, "$W_x$ and $W_h$ are fixed weights: their terms add inside every token's "
            "q, k and v", ha="center", fontsize=9)
    return _finish(ax, (-1.4, 6.0), (-1.0, 6.3), "One attention gate (layer l, frame t)")


def plot_term_ratio(x_term: torch.Tensor, h_term: torch.Tensor, boundary: int | None = None,
                    axes=None):
    """|h term| / |x term| of q, k and v (one panel each), per layer, along a clip.

    x_term, h_term (T, L, 3) from rm.analysis.qkv_terms; `boundary`: the first frame of a new
    action, marked. Returns the three axes."""
    if x_term.shape != h_term.shape or x_term.ndim != 3 or x_term.shape[-1] != 3:
        raise ValueError(f"expected x_term and h_term of one shape (T, L, 3), got "
                         f"{tuple(x_term.shape)} and {tuple(h_term.shape)}")
    if axes is None:
        axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True, layout="constrained")[1]
    ratio = (h_term / x_term).numpy()
    for i, (ax, name) in enumerate(zip(axes, "qkv")):
        for layer in range(ratio.shape[1]):
            ax.plot(ratio[:, layer, i], "o-", ms=3, label=f"layer {layer + 1}")
        if boundary is not None:
            ax.axvline(boundary - 0.5, color="k", ls="--", lw=1)
        ax.set_title(f"{name}: hidden state's term / frame's term", fontsize=10)
        ax.set_xlabel("frame t")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylabel("ratio of norms")
    axes[0].set_ylim(0, None)
    axes[0].legend(fontsize=8, loc="lower right")
    return axes


def cls_attention(maps: torch.Tensor) -> np.ndarray:
    """Attention maps (..., heads, N, N) with the CLS token first -> where CLS looks among the
    patches, heads averaged, as a square grid (..., g, g)."""
    row = maps[..., 0, 1:].mean(dim=-2)
    side = int(round(row.shape[-1] ** 0.5))
    if side * side != row.shape[-1]:
        raise ValueError(f"expected a CLS token and a square grid of patches, got N = "
                         f"{maps.shape[-1]} tokens")
    return row.unflatten(-1, (side, side)).numpy()


def plot_cls_attention(frame: torch.Tensor, with_h: torch.Tensor, without_h: torch.Tensor,
                       axes=None):
    """The frame, then where its CLS token looks in each layer, with the hidden state's term
    (top row) and without it (bottom row). frame (3, H, W); with_h, without_h (L, heads, N, N),
    one frame's maps from rm.analysis.attention_maps. Returns the axes (2, L + 1)."""
    grids = cls_attention(with_h), cls_attention(without_h)
    depth = grids[0].shape[0]
    if axes is None:
        axes = plt.subplots(2, depth + 1, figsize=(2.1 * (depth + 1), 4.4),
                            layout="constrained")[1]
    vmax = max(g.max() for g in grids)
    for row, (grid, name) in enumerate(zip(grids, ("with h", "without h"))):
        axes[row, 0].imshow(to_image(frame))
        axes[row, 0].set_title("frame", fontsize=9)
        for layer in range(depth):
            axes[row, layer + 1].imshow(grid[layer], cmap="viridis", vmin=0, vmax=vmax)
            axes[row, layer + 1].set_title(f"layer {layer + 1}, {name}", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    return axes


def plot_past_change(changes: dict, ax=None, low: float = 0.1, high: float = 0.9):
    """How far back a change of the past still moves the present feature: for each model,
    changes (B, K) from rm.analysis.past_change, the mean over clips against the lag k
    (a line) and the low-high quantile range (a band). Returns the axes."""
    ax = ax or plt.subplots(figsize=(6.5, 3.6))[1]
    for (name, change), style in zip(changes.items(), ("o-", "s--", "^:", "d-.")):
        lags = np.arange(1, change.shape[1] + 1)
        line, = ax.plot(lags, change.mean(dim=0).numpy(), style, label=name)
        ax.fill_between(lags, change.quantile(low, dim=0).numpy(),
                        change.quantile(high, dim=0).numpy(), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("k: frames k or more steps back were replaced")
    ax.set_ylabel("$|f'_t - f_t| \\,/\\, |f_t|$ at the present t")
    ax.set_ylim(0, None)
    ax.legend(fontsize=9, title=f"mean, {low:.0%}-{high:.0%} of clips", title_fontsize=9)
    return ax
