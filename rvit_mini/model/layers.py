"""Transformer parts shared by ViT, CViT and RViT: patch embedding, attention, MLP, Block.

One `Block` serves all three families. RViT's attention gate (gate.py) is a Block whose
queries, keys and values get a second term computed from the hidden state.
"""

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

ATTENTION_KINDS = ("softmax", "linear")


class PatchEmbed(nn.Module):
    """Cut a frame into non-overlapping p x p patches and embed each: (B, C, H, W) -> (B, N, D)."""

    def __init__(self, img_size: int, patch_size: int, in_chans: int, dim: int):
        super().__init__()
        if img_size % patch_size:
            raise ValueError(
                f"image size {img_size} is not divisible by patch size {patch_size}"
            )
        self.img_size, self.patch_size, self.in_chans = img_size, patch_size, in_chans
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(self.proj(x), "b d gh gw -> b (gh gw) d")


def linear_attention(q, k, v, eps: float = 1e-6):
    """Kernelised attention with feature map elu(x) + 1 (Katharopoulos et al., 2020).

    q, k, v (B, H, N, d) -> (B, H, N, d); cost linear in N.
    """
    q, k = F.elu(q) + 1, F.elu(k) + 1
    kv = torch.einsum("bhnd,bhne->bhde", k, v)  # (B, H, d, d)
    normaliser = torch.einsum("bhnd,bhd->bhn", q, k.sum(dim=2)) + eps  # (B, H, N)
    return torch.einsum("bhnd,bhde->bhne", q, kv) / normaliser.unsqueeze(-1)


class Attention(nn.Module):
    """Multi-head self-attention among the tokens of the last-but-one axis: (..., N, D) -> (..., N, D).

    W_x^Q, W_x^K, W_x^V are one stacked linear layer, `qkv` (as in timm's ViT), W_O is `proj`;
    `attend` is the attention itself. RViT's gate adds its hidden state's term to qkv's output
    before attend (gate.py)."""

    # softmax attention is torch's fused kernel (flash or memory-efficient, as the device has).
    # rm.memory.estimate_peak sets, on its meta-device copy of a model, the fused CPU kernel,
    # which has a meta implementation: on the meta device F.scaled_dot_product_attention takes
    # the math path and stores the (N, N) matrix that no fused kernel keeps
    softmax_attention = staticmethod(F.scaled_dot_product_attention)

    def __init__(self, dim: int, num_heads: int, attention: str = "softmax"):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
        self.num_heads, self.attention = num_heads, attention
        self.qkv = nn.Linear(dim, 3 * dim)  # W_x^Q, W_x^K, W_x^V stacked
        self.proj = nn.Linear(dim, dim)  # W_O, applied to the heads' outputs concatenated

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.attend(self.qkv(x)))

    def attend(self, qkv: torch.Tensor) -> torch.Tensor:
        """q, k, v stacked (..., N, 3D) -> the heads' outputs, concatenated (..., N, D)."""
        lead = qkv.shape[:-2]  # batch dimensions, one or more (the wavefront adds the layers)
        q, k, v = (rearrange(t, "... n (h d) -> ... h n d", h=self.num_heads).flatten(0, -4)
                   for t in qkv.chunk(3, dim=-1))  # (B, H, N, d) each
        if self.attention == "softmax":
            out = self.softmax_attention(q, k, v)
        else:
            out = linear_attention(q, k, v)
        return rearrange(out.unflatten(0, lead), "... h n d -> ... n (h d)")


class Mlp(nn.Sequential):
    """Two linear layers with a GELU between: (..., D) -> (..., D)."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)


class Block(nn.Module):
    """Pre-norm transformer block, (..., N, D) -> (..., N, D)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, attention="softmax"):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, attention)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x
