"""Wavefront execution of RViT: T + L - 1 sequential steps instead of T x L.

Cell (layer l, frame t) reads the output of (l - 1, t) and the hidden state (l, t - 1), so every
cell on an anti-diagonal l + t = d depends only on diagonal d - 1:

    d = 0:  (0, 0)
    d = 1:  (0, 1) (1, 0)
    d = 2:  (0, 2) (1, 1) (2, 0)          all cells of a diagonal run as one batched call

The layers' weights are stacked along a new leading dimension and the one `AttentionGate`'s
steps are applied to all cells of a diagonal at once: its projections and its output half with
`torch.func.vmap` over that dimension, the attention itself (which has no weights) as one plain
call with the layers folded into the batch, so that it runs on the fused kernels (vmap has no
batching rule for their backward, pytorch#117016). The arithmetic is the sequential loop's,
reordered.
"""

import torch
from einops import rearrange
from torch import nn
from torch.func import functional_call, vmap


def stacked_parameters(blocks, linear_dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """{name: (L, ...)}: each parameter of the L blocks stacked (differentiable, unlike
    torch.func.stack_module_state, so gradients reach the blocks' own parameters).

    linear_dtype: cast the linear layers' parameters once here, as autocast would cast them
    again in every diagonal.
    """
    per_block = [dict(b.named_parameters()) for b in blocks]
    linear = {f"{module_name}.{name}" for module_name, module in blocks[0].named_modules()
              if isinstance(module, nn.Linear) for name, _ in module.named_parameters()}
    stacked = {name: torch.stack([p[name] for p in per_block]) for name in per_block[0]}
    return {name: p.to(linear_dtype) if linear_dtype is not None and name in linear else p
            for name, p in stacked.items()}


class Method(nn.Module):
    """block.<name> as a module's forward: torch.func.functional_call calls forward only."""

    def __init__(self, block: nn.Module, name: str):
        super().__init__()
        self.block, self.name = block, name

    def forward(self, *args):
        return getattr(self.block, self.name)(*args)


def layerwise(block: nn.Module, name: str):
    """f(params {name: (L', ...)}, *args (L', ...)) -> block.<name>(*args) for each of the L' layers."""
    method = Method(block, name)  # a block ties no weights: skip functional_call's search for them
    return vmap(lambda params, *args: functional_call(method, params, args, tie_weights=False))


class Wavefront:
    """RViT's blocks run by anti-diagonals (built once per model)."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.project = layerwise(blocks[0], "project")
        self.finish = layerwise(blocks[0], "finish")

    def diagonal(self, params: dict, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The L' cells of one anti-diagonal: x, h (L', B, N, D) and the L' layers' stacked
        parameters -> outputs (L', B, N, D). The attention runs with the layers in the batch."""
        qkv = self.project(params, x, h)  # (L', B, N, 3D)
        attended = self.blocks[0].attn.attend(rearrange(qkv, "l b n c -> (l b) n c"))
        return self.finish(params, x, rearrange(attended, "(l b) n c -> l b n c", l=x.shape[0]))

    def __call__(self, tokens: torch.Tensor, state: list, tbptt: int = 0,
                 fp32_state: bool = False) -> torch.Tensor:
        """tokens (B, T, N, D): every frame embedded at once; state [L x (B, N, D)]: hidden
        states before the first frame. Returns the top layer's tokens for every frame (B, T, N, D).
        """
        num_layers, num_frames = len(self.blocks), tokens.shape[1]
        device_type = tokens.device.type
        autocast = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) \
            else None
        params = {f"block.{name}": p
                  for name, p in stacked_parameters(self.blocks, autocast).items()}
        latest = list(state)  # latest[l]: output of layer l at the last frame it has processed
        top = []
        for d in range(num_frames + num_layers - 1):
            layers = range(max(0, d - num_frames + 1), min(num_layers - 1, d) + 1)
            x = torch.stack([tokens[:, d] if layer == 0 else latest[layer - 1] for layer in layers])
            h = torch.stack([latest[layer].detach() if truncates(d - layer, tbptt)
                             else latest[layer] for layer in layers]).to(x.dtype)
            p = params if len(layers) == num_layers else \
                {name: w[layers.start:layers.stop] for name, w in params.items()}
            out = self.diagonal(p, x, h)
            for layer, y in zip(layers, out):
                latest[layer] = y.float() if fp32_state else y
            if layers[-1] == num_layers - 1:
                top.append(out[-1])
        return torch.stack(top, dim=1)


def truncates(frame: int, tbptt: int) -> bool:
    """Truncated BPTT: is the hidden state entering `frame` cut from the graph (every `tbptt`
    frames; never when tbptt is 0)?"""
    return bool(tbptt) and frame > 0 and frame % tbptt == 0
