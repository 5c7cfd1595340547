"""Notebook 08, after RViT: the RG-LRU step and the linear scan the student writes (their checks
and known mistakes)."""

import torch
import torch.nn.functional as F

from ..model.trecvit import RGLRU, linear_scan
from .check import Mistake, Piece

C = 8.0  # Griffin's constant in a_t = σ(Λ)^(c r_t)


# -- the first piece: one step of the RG-LRU ---------------------------------------------------

def rg_lru_step(rglru: RGLRU, v: torch.Tensor, h: torch.Tensor, mistake: str = "") -> torch.Tensor:
    """One step of Griffin's RG-LRU, inside a stream: v_t (S, L), h_{t-1} (S, L) -> h_t (S, L).

        i_t = σ(W_i v_t + b_i)            r_t = σ(W_r v_t + b_r)
        a_t = σ(Λ)^(c r_t), c = 8         h_t = a_t ⊙ h_{t-1} + sqrt(1 - a_t²) ⊙ (i_t ⊙ v_t)

    `mistake` names a known mistake to make (the check's variants)."""
    i = torch.sigmoid(rglru.input_gate(v))
    r = torch.sigmoid(rglru.recurrence_gate(v))
    c = 1.0 if mistake == "no c" else C
    log_a = -c * F.softplus(-rglru.lam) * r  # log σ(Λ)^(c r) = -c softplus(-Λ) r
    a = torch.sigmoid(rglru.lam) * r if mistake == "gate times decay" else torch.exp(log_a)
    x = v if mistake == "no input gate" else i * v
    scale = 1.0 if mistake == "unscaled" else torch.sqrt(1 - a ** 2)
    decayed = h if mistake == "no decay" else a * h
    return decayed + scale * x


def rg_lru_inputs() -> list[tuple]:
    """Two RG-LRUs of their own weights (width 8, 2 heads), each with inputs and states."""
    out = []
    for seed in (0, 1):
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        rglru = RGLRU(8, 2, min_rad=0.6)
        out.append((rglru, torch.randn(3, 8, generator=generator),
                    torch.randn(3, 8, generator=generator)))
    return out


STEP = Piece(
    "the RG-LRU step",
    reference=lambda rglru, v, h: rglru.step(v, h, torch.zeros(len(v), dtype=torch.bool)),
    inputs=rg_lru_inputs, mistakes=[
        Mistake("a_t is σ(Λ) ⊙ r_t: the recurrence gate goes in the exponent, a_t = σ(Λ)^(c r_t)",
                lambda *args: rg_lru_step(*args, mistake="gate times decay")),
        Mistake("c is missing: a_t = σ(Λ)^(c r_t) with c = 8",
                lambda *args: rg_lru_step(*args, mistake="no c")),
        Mistake("the input is not scaled by sqrt(1 - a_t²)",
                lambda *args: rg_lru_step(*args, mistake="unscaled")),
        Mistake("the input gate is missing: what enters is i_t ⊙ v_t",
                lambda *args: rg_lru_step(*args, mistake="no input gate")),
        Mistake("h_{t-1} is not decayed: it enters as a_t ⊙ h_{t-1}",
                lambda *args: rg_lru_step(*args, mistake="no decay")),
    ])


# -- the second piece: the recurrence over a whole clip at once --------------------------------

def scan_variant(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, mistake: str) -> torch.Tensor:
    """linear_scan with a known mistake: a, b (S, T, L), h0 (S, L) -> h (S, T, L)."""
    if mistake == "cumulative product":  # the closed form h_t = A_t (h0 + sum_s b_s / A_s)
        products = torch.cumprod(a, dim=1)
        return products * (h0[:, None] + torch.cumsum(b / products, dim=1))
    if mistake == "no h0":
        return linear_scan(a, b, torch.zeros_like(h0))
    if mistake == "products not carried":
        b = torch.cat([b[:, :1] + a[:, :1] * h0[:, None], b[:, 1:]], dim=1)
        k = 1
        while k < b.shape[1]:
            b = torch.cat([b[:, :k], b[:, k:] + a[:, k:] * b[:, :-k]], dim=1)
            k *= 2
        return b
    if mistake == "one frame late":
        h = linear_scan(a, b, h0)
        return torch.cat([h0[:, None], h[:, :-1]], dim=1)
    raise ValueError(f"unknown mistake {mistake!r}")


def scan_inputs() -> list[tuple]:
    """Clips of 1, 5 and 64 steps with decays in (0, 1), and one of 96 steps whose decays are
    small enough that their running product underflows to zero in float32."""
    out = []
    for seed, (steps, low, high) in enumerate([(1, 0.1, 0.99), (5, 0.1, 0.99), (64, 0.5, 1.0),
                                               (96, 0.2, 0.3)]):
        generator = torch.Generator().manual_seed(seed)
        a = low + (high - low) * torch.rand(2, steps, 4, generator=generator)
        out.append((a, torch.randn(2, steps, 4, generator=generator),
                    torch.randn(2, 4, generator=generator)))
    return out


SCAN = Piece("the linear scan", reference=linear_scan, inputs=scan_inputs, mistakes=[
    Mistake("it divides by a running product of the decays, which underflows to 0 in a long "
            "clip (inf, then nan): combine steps instead of dividing",
            lambda *args: scan_variant(*args, mistake="cumulative product")),
    Mistake("h_{-1} is left out: the first step is h_0 = a_0 h_{-1} + b_0",
            lambda *args: scan_variant(*args, mistake="no h0")),
    Mistake("the decays are not carried: when two spans combine, their decays multiply too",
            lambda *args: scan_variant(*args, mistake="products not carried")),
    Mistake("each h_t comes one frame late: output t must include b_t",
            lambda *args: scan_variant(*args, mistake="one frame late")),
], atol=1e-4)

PIECES = [STEP, SCAN]
