"""Wavefront execution of RViT: T + L - 1 sequential steps instead of T x L.

Cell (layer l, frame t) reads the output of (l - 1, t) and the hidden state (l, t - 1), so every
cell on an anti-diagonal l + t = d depends only on diagonal d - 1:

    d = 0:  (0, 0)
    d = 1:  (0, 1) (1, 0)
    d = 2:  (0, 2) (1, 1) (2, 0)          all cells of a diagonal run as one batched call

The layers' weights are stacked along a new leading dimension and the one `AttentionGate` is
applied to all cells of a diagonal with `torch.func.vmap` over that dimension, so the arithmetic
is the sequential loop's, reordered. Attention runs on the math kernel here: vmap has no batching
rule for the CPU flash kernel, nor for the fused kernels' backward (pytorch#117016), and would
loop over the layers one by one.
"""

import torch
from torch.func import functional_call, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel


def stacked_parameters(blocks) -> dict[str, torch.Tensor]:
    """{name: (L, ...)}: each parameter of the L blocks stacked (differentiable, unlike
    torch.func.stack_module_state, so gradients reach the blocks' own parameters)."""
    per_block = [dict(b.named_parameters()) for b in blocks]
    return {name: torch.stack([p[name] for p in per_block]) for name in per_block[0]}


def wavefront_features(model, tokens: torch.Tensor, state: list) -> torch.Tensor:
    """Run RViT's blocks over embedded frames by anti-diagonals.

    tokens (B, T, N, D): every frame embedded at once; state [L x (B, N, D)]: hidden states
    before the first frame. Returns the top layer's tokens for every frame (B, T, N, D).
    """
    blocks, cfg = model.blocks, model.cfg
    num_layers, num_frames = len(blocks), tokens.shape[1]
    params = stacked_parameters(blocks)
    cell = vmap(lambda p, x, h: functional_call(blocks[0], p, (x, h)))
    latest = list(state)  # latest[l]: output of layer l at the last frame it has processed
    top = []
    for d in range(num_frames + num_layers - 1):
        lo, hi = max(0, d - num_frames + 1), min(num_layers - 1, d)
        x = torch.stack([tokens[:, d] if layer == 0 else latest[layer - 1]
                         for layer in range(lo, hi + 1)])
        h = torch.stack([latest[layer].detach() if truncates(d - layer, cfg.tbptt)
                         else latest[layer] for layer in range(lo, hi + 1)]).to(x.dtype)
        with sdpa_kernel(SDPBackend.MATH):
            out = cell({name: p[lo:hi + 1] for name, p in params.items()}, x, h)
        for i, layer in enumerate(range(lo, hi + 1)):
            latest[layer] = out[i].float() if cfg.fp32_state else out[i]
        if hi == num_layers - 1:
            top.append(out[-1])
    return torch.stack(top, dim=1)


def truncates(frame: int, tbptt: int) -> bool:
    """Truncated BPTT: is the hidden state entering `frame` cut from the graph (every `tbptt`
    frames; never when tbptt is 0)?"""
    return bool(tbptt) and frame > 0 and frame % tbptt == 0
