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
the past acts only through those sums (rm.analysis.qkv_terms and attention_maps measure how much).
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
    """forward(x, h): tokens x = y^{l-1}_t (B, N, D) and hidden state h = h^l_{t-1} (B, N, D)
    -> y^l_t (B, N, D), which is also the new hidden state h^l_t."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, attention="softmax"):
        super().__init__(dim, num_heads, mlp_ratio, attention)
        self.norm_h = nn.LayerNorm(dim, eps=1e-6)  # LN_h (norm1 is LN_x)
        self.qkv_h = HiddenProjection(dim)  # W_h^Q, W_h^K, W_h^V (attn.qkv: W_x^Q, W_x^K, W_x^V)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # q, k, v (B, N, D) each -> a = Attn(q, k, v), the heads concatenated (B, N, D) -> y;
        # one expression, so that no intermediate outlives its use (inference memory)
        return self.finish(x, self.attn.attend(*self.project(x, h)))

    # forward in three parts; the wavefront (wavefront.py) runs them on many cells at once
    def project(self, x: torch.Tensor, h: torch.Tensor):
        """x, h (B, N, D) -> q, k, v (B, N, D) each: LN_x(x) W_x + LN_h(h) W_h."""
        qkv = self.attn.qkv(self.norm1(x)) + self.qkv_h(self.norm_h(h))  # (B, N, 3D)
        return qkv.chunk(3, dim=-1)

    def finish(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """x and the heads' outputs a (B, N, D) -> y = z + MLP(LN(z)), z = x + a W_O."""
        z = x + self.attn.proj(a)
        del a  # not held through the MLP
        return z + self.mlp(self.norm2(z))
