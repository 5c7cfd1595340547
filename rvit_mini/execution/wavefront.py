"""Wavefront execution of RViT: T + L - 1 sequential steps instead of T x L.

Cell (layer l, frame t) reads the output of (l - 1, t) and the hidden state (l, t - 1), so every
cell on an anti-diagonal l + t = d depends only on diagonal d - 1:

    d = 0:  (0, 0)
    d = 1:  (0, 1) (1, 0)
    d = 2:  (0, 2) (1, 1) (2, 0)          all cells of a diagonal run as one batched call

The cells of a diagonal belong to different layers, so each needs its own weights. The layers'
weights are stacked along a new leading dimension, and a copy of the gate whose Linear and
LayerNorm modules take one slice of that dimension per cell (`LayerwiseLinear`, one batched
matmul for all cells; `LayerwiseLayerNorm`) runs the gate's own forward on all cells at once,
the layers a leading dimension; the attention, which has no weights, takes them as one more
batch dimension. The arithmetic is the sequential loop's, reordered.

(torch.func.vmap over torch.func.functional_call does the same with any module, but wraps and
swaps every parameter on every call: on a CPU that costs more than a small diagonal's compute.)
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..model.recurrence import entering


class LayerwiseLinear(nn.Module):
    """L' linear layers, layer i applied to x[i]: x (L', ..., in) -> (L', ..., out).

    weight (L', out, in) and bias (L', out) or None are plain tensors set by the Wavefront.
    """

    def __init__(self):
        super().__init__()
        self.weight = self.bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1, -2)  # (L', M, in)
        if self.bias is None:
            out = torch.bmm(flat, self.weight.mT)
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), flat, self.weight.mT)
        return out.view(*x.shape[:-1], out.shape[-1])


class LayerwiseLayerNorm(nn.Module):
    """L' LayerNorms over the last dimension, layer i's affine weights applied to x[i]."""

    def __init__(self, eps: float):
        super().__init__()
        self.weight = self.bias = None
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)  # (L', 1, ..., D)
        normed = F.layer_norm(x, x.shape[-1:], eps=self.eps)
        return torch.addcmul(self.bias.view(shape), normed, self.weight.view(shape))


def layerwise_copy(block: nn.Module) -> tuple[nn.Module, dict[str, nn.Module]]:
    """A copy of `block` that runs several layers at once, and its {name: layerwise module}.

    Every Linear and LayerNorm is swapped for its layerwise counterpart; the copy's code (the
    gate's forward) is the block's own.
    """
    cell = copy.deepcopy(block)
    swapped = {}
    for name, module in list(cell.named_modules()):
        if isinstance(module, (nn.Linear, nn.LayerNorm)):
            parent, _, child = name.rpartition(".")
            swapped[name] = LayerwiseLayerNorm(module.eps) if isinstance(module, nn.LayerNorm) \
                else LayerwiseLinear()
            setattr(cell.get_submodule(parent), child, swapped[name])
    left = [name for name, _ in cell.named_parameters()]
    if left:  # a weight the swap missed would stay frozen at its value of today
        raise TypeError(f"the wavefront runs blocks whose weights are all in Linear and "
                        f"LayerNorm layers; {type(block).__name__} also has {left}")
    return cell, swapped


class Wavefront:
    """RViT's blocks run by anti-diagonals (built once per model)."""

    def __init__(self, blocks, compile: bool = False):
        self.blocks = blocks
        self.cell, self.layerwise = layerwise_copy(blocks[0])
        # one graph with a dynamic cell count serves all diagonals of 2..L cells
        self.run_diagonal = torch.compile(self.diagonal) if compile else self.diagonal

    def stacked_weights(self, linear_dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
        """{"<module>.weight" or "<module>.bias": (L, ...)}: the L blocks' weights of each
        layerwise module, stacked (differentiable, unlike torch.func.stack_module_state, so
        gradients reach the blocks' own parameters). linear_dtype: cast the linear layers'
        weights once here, as autocast would cast them again in every diagonal."""
        stacked = {}
        for name, module in self.layerwise.items():
            cast = linear_dtype is not None and isinstance(module, LayerwiseLinear)
            for attr in ("weight", "bias"):
                per_block = [getattr(b.get_submodule(name), attr) for b in self.blocks]
                if per_block[0] is not None:
                    weights = torch.stack(per_block)
                    stacked[f"{name}.{attr}"] = weights.to(linear_dtype) if cast else weights
        return stacked

    def load(self, params: dict[str, torch.Tensor], layers: slice) -> None:
        """Point the cell's layerwise modules at the stacked weights of `layers`."""
        for name, module in self.layerwise.items():
            for attr in ("weight", "bias"):
                stacked = params.get(f"{name}.{attr}")
                setattr(module, attr, None if stacked is None else stacked[layers])

    def diagonal(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The L' cells of one anti-diagonal, the cell loaded with their layers' weights:
        x, h (L', B, N, D) -> outputs (L', B, N, D)."""
        return self.cell(x, h)

    def __call__(self, tokens: torch.Tensor, state: list, zeros: list, resets=None,
                 detach_every: int = 0, fp32_state: bool = False):
        """tokens (B, T, N, D): every frame embedded at once; state [L x (B, N, D)]: hidden
        states before the first frame; zeros, resets, detach_every: as recurrence.entering.
        Returns the top layer's tokens for every frame (B, T, N, D) and the state after the
        last frame [L x (B, N, D)]."""
        num_layers, num_frames = len(self.blocks), tokens.shape[1]
        device_type = tokens.device.type
        # the meta device (estimates, operator counts) has no autocast to ask about
        autocast = torch.get_autocast_dtype(device_type) \
            if device_type != "meta" and torch.is_autocast_enabled(device_type) else None
        params = self.stacked_weights(autocast)
        latest = list(state)  # latest[l]: output of layer l at the last frame it has processed
        top, loaded = [], None
        for d in range(num_frames + num_layers - 1):
            layers = slice(max(0, d - num_frames + 1), min(num_layers - 1, d) + 1)
            if layers != loaded:  # only the ramps at either end have fewer than L cells
                self.load(params, layers)
                loaded = layers
            cells = range(layers.start, layers.stop)
            x = torch.stack([tokens[:, d] if layer == 0 else latest[layer - 1] for layer in cells])
            # cell (l, t = d - l) reads h^l_{t-1} as the plain loop hands it to frame t
            h = torch.stack([entering([latest[layer]], d - layer, resets, detach_every,
                                      zeros and [zeros[layer]])[0] for layer in cells]).to(x.dtype)
            out = self.run_diagonal(x, h)
            for layer, y in zip(cells, out):
                latest[layer] = y.float() if fp32_state else y
            if layers.stop == num_layers:
                top.append(out[-1])
        self.load({}, slice(None))  # hold no reference to this clip's weights or their graph
        return torch.stack(top, dim=1), latest
