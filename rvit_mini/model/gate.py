"""RViT's attention gate: a ViT block whose attention also reads the previous hidden state.

Layer l at time step t takes x = y^{l-1}_t, the output of the layer below at the same frame
(y^0_t: the frame's tokens), and its own hidden state h = h^l_{t-1} (zeros before the first
frame). Our reading of the paper (the supplementary names W_x^{Q,K,V} and W_h^{Q,K,V}):

    q^l_t = LN_x(y^{l-1}_t) W_x^Q + LN_h(h^l_{t-1}) W_h^Q     (same for k and v; W_h has no bias)
    a^l_t = Attn(q^l_t, k^l_t, v^l_t) W_O                      (W_O on the heads, concatenated)
    z^l_t = y^{l-1}_t + a^l_t
    y^l_t = z^l_t + MLP(LN(z^l_t))
    h^l_t = y^l_t                                              (the new hidden state)

"Gate" is the paper's name; no weight here chooses between past and present. The two terms add,
with fixed weights, inside every token's q, k and v, and the softmax weighs the N token positions;
the past acts only through those sums (rm.lessons.analysis measures how much).
With h = 0 and LN_h's bias at zero, LN_h(h) W_h = 0 exactly, so the gate *is* a ViT block.
"""

import torch
from torch import nn

from .layers import Block


class HiddenProjection(nn.Linear):
    """W_h^Q, W_h^K, W_h^V stacked, (D) -> (3D), no bias, each D x D block orthogonal
    (Sec. 3.2). Its init is its own: a model's init_weights leaves it alone."""

    def __init__(self, dim: int):
        super().__init__(dim, 3 * dim, bias=False)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for w in self.weight.chunk(3, dim=0):
            nn.init.orthogonal_(w)


class AttentionGate(Block):
    """forward(x, h): tokens x = y^{l-1}_t and hidden state h = h^l_{t-1}, (..., N, D) each
    -> y^l_t (..., N, D), which is also the new hidden state h^l_t."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, attention="softmax"):
        super().__init__(dim, num_heads, mlp_ratio, attention)
        self.norm_h = nn.LayerNorm(dim, eps=1e-6)  # LN_h (norm1 is LN_x)
        self.qkv_h = HiddenProjection(dim)  # W_h^Q, W_h^K, W_h^V (attn.qkv: W_x^Q, W_x^K, W_x^V)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # z = x + a W_O, one expression, so that q, k, v and a are freed before the MLP runs
        z = x + self.attn.proj(self.attn.attend(self.qkv(x, h)))
        return z + self.mlp(self.norm2(z))

    def qkv(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """q, k, v stacked, (..., N, 3D) = LN_x(x) W_x + LN_h(h) W_h: all that sets the gate
        apart from a ViT block."""
        return self.attn.qkv(self.norm1(x)) + self.qkv_h(self.norm_h(h))
