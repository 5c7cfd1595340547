"""RViT's attention gate: a ViT block whose attention also reads the previous hidden state.

Our reading of the paper (the supplementary names W_x^{Q,K,V} and W_h^{Q,K,V}):

    q = LN_x(x) W_x^Q + LN_h(h) W_h^Q        (same for k and v; W_h has no bias)
    a = Attn(q, k, v) W_O
    y = x + a
    y = y + MLP(LN(y))
    h <- y

With h = 0 and LN_h's bias at zero, LN_h(h) W_h = 0 exactly, so the gate *is* a ViT block.
"""

import torch
from torch import nn

from .layers import Block


class AttentionGate(Block):
    """forward(x, h): frame tokens x (B, N, D) and hidden state h (B, N, D) -> y (B, N, D), the new h.

    Only the projections differ from the Block's: `project` adds LN_h(h) W_h.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, attention="softmax"):
        super().__init__(dim, num_heads, mlp_ratio, attention)
        self.norm_h = nn.LayerNorm(dim, eps=1e-6)  # LN_h
        self.qkv_h = nn.Linear(dim, 3 * dim, bias=False)  # W_h^Q, W_h^K, W_h^V stacked
        self.init_hidden_weights_orthogonal()

    def project(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """x, h (B, N, D) -> LN_x(x) W_x + LN_h(h) W_h, queries, keys and values (B, N, 3D)."""
        return super().project(x) + self.qkv_h(self.norm_h(h))

    @torch.no_grad()
    def init_hidden_weights_orthogonal(self) -> None:
        """Sec. 3.2: W_h^Q, W_h^K, W_h^V each orthogonal (D x D)."""
        for w in self.qkv_h.weight.chunk(3, dim=0):
            nn.init.orthogonal_(w)
