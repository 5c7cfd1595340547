"""Notebook 07, the recurrence and its cost: the two pieces the student writes (the wavefront over
anti-diagonals, and one diagonal's cells batched into one matmul per linear layer), their checks
and known mistakes, the exercises (another schedule, both pieces together, a prediction), the
timing the notebook measures live, and the playground (the schedules, step by step).

Gates, frames, diagonals and steps are numbered from 0 everywhere: cell (l, t) is gate l (gate 0
the lowest, model.blocks[l]) on frame t; it runs on anti-diagonal d = l + t.
"""

import functools
import statistics
import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from ..execution import accelerate, timing
from ..model import create_model
from . import viz
from .check import GradientPiece, Mistake, Piece, Prediction, same
from .evidence import claim  # noqa: F401 (the notebook's lesson.claim)
from .schedules import respects_dependencies, sequential_schedule, wavefront_schedule
from .widgets import Picture, figure, slider
from .widgets import playground as make_playground


def cells_of(d: int, num_layers: int, num_frames: int) -> list[tuple[int, int]]:
    """The cells (l, t) of anti-diagonal d = l + t, gate 0 first."""
    return [(layer, d - layer) for layer in range(num_layers) if 0 <= d - layer < num_frames]


# -- piece 1: the wavefront, one gate call per cell ----------------------------------------------

def wavefront(model, video: torch.Tensor, state: str = "own", below: str = "same frame",
              gate0: str = "tokens", features: str = "top gate") -> torch.Tensor:
    """video (B, T, C, H, W) -> per-frame features f_t (B, T, D), as model.forward_features
    computes them, the L x T cells run anti-diagonal by anti-diagonal: on diagonal d every cell
    (l, t = d - l) reads y^{l-1}_t (frame t's tokens for gate 0) and h^l_{t-1} = y^l_{t-1}
    (zeros for t = 0), both made on diagonal d - 1. The other arguments make the known
    mistakes: state="zeros" | "gate below", below="next frame", gate0="top gate" | "every gate",
    features="every diagonal" | "first T diagonals"."""
    num_frames, num_layers = video.shape[1], len(model.blocks)
    y = {(-1, t): model.embed(video[:, t]) for t in range(num_frames)}  # y^{-1}_t: the tokens
    zeros = torch.zeros_like(y[(-1, 0)])
    pooled = []
    for d in range(num_frames + num_layers - 1):
        highest = None
        for layer, t in cells_of(d, num_layers, num_frames):  # gate 0 first
            x = y[(layer - 1, t)]
            if below == "next frame" and layer > 0 and (layer - 1, t + 1) in y:
                x = y[(layer - 1, t + 1)]  # made earlier on this same diagonal
            if layer == 0 and gate0 == "top gate":  # latest[l - 1] with l = 0: latest[-1]
                x = y.get((num_layers - 1, d - num_layers), zeros)
            if gate0 == "every gate":
                x = y[(-1, t)]
            h = y.get((layer, t - 1), zeros)
            if state == "zeros":
                h = zeros
            elif state == "gate below":
                h = y.get((layer - 1, t - 1), zeros)
            y[(layer, t)] = highest = model.blocks[layer](x, h)
        if features == "every diagonal" or features == "first T diagonals" and d < num_frames:
            pooled.append(model.pool(highest))
    if features == "top gate":
        pooled = [model.pool(y[(num_layers - 1, t)]) for t in range(num_frames)]
    return torch.stack(pooled, dim=1)


def perturbed(model: nn.Module, seed: int, scale: float = 0.2) -> nn.Module:
    """`model` with every parameter moved by noise: biases and LayerNorm weights away from their
    initial zeros and ones, so that a bias or a LayerNorm in the wrong place shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator))
    return model


def wavefront_inputs() -> list[tuple]:
    """Two small RViTs of their own weights, each with a clip: 3 gates over 4 frames, and 4 gates
    over 3 frames (more gates than frames: a diagonal in the middle starts above gate 0)."""
    inputs = []
    for seed, (depth, frames) in enumerate(((3, 4), (4, 3))):
        torch.manual_seed(seed)
        model = perturbed(create_model("rvit", depth=depth, dim=32, num_heads=2), seed)
        inputs.append((model, torch.rand(2, frames, 3, 32, 32)))
    return inputs


class Counter(TorchDispatchMode):
    """Counts the operator calls whose name contains one of `words` (e.g. "mm", "attention")."""

    def __init__(self, words=("mm", "attention")):
        super().__init__()
        self.words, self.calls = words, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if any(word in func.__name__ for word in self.words):
            self.calls += 1
        return func(*args, **(kwargs or {}))


def gate_calls(candidate, model, video) -> list[int]:
    """The gates that `candidate(model, video)` calls, in order (a forward pre-hook on each)."""
    calls = []
    handles = [gate.register_forward_pre_hook(lambda module, args, layer=layer: calls.append(layer))
               for layer, gate in enumerate(model.blocks)]
    try:
        with torch.no_grad():
            candidate(model, video)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def diagonal_order(candidate) -> str | None:
    """None when `candidate` runs one gate call per cell, anti-diagonal by anti-diagonal; else
    what it does instead. The k-th call of gate l is frame k (any order that respects the
    dependencies runs each gate's frames in order), so each call names its cell (l, t)."""
    for model, video in wavefront_inputs():
        layers, frames = len(model.blocks), video.shape[1]
        calls = gate_calls(candidate, model, video)
        if len(calls) != layers * frames:
            return (f"it makes {len(calls)} gate calls on a clip of {layers} x {frames} cells: one "
                    "call model.blocks[l](x, h) per cell")
        if calls == [layer for _ in range(frames) for layer in range(layers)]:
            return ("right result, but the cells run frame by frame, as the plain loop runs them "
                    "(T x L steps): run every cell of anti-diagonal d = l + t on step d")
        if calls == [layer for layer in range(layers) for _ in range(frames)]:
            return ("right result, but the cells run layer by layer (gate 0 on every frame, then "
                    "gate 1, ...): run every cell of anti-diagonal d = l + t on step d")
        seen, diagonals = [0] * layers, []
        for layer in calls:
            diagonals.append(layer + seen[layer])
            seen[layer] += 1
        if diagonals != sorted(diagonals):
            return ("right result, but not diagonal by diagonal: a cell of diagonal d runs after "
                    "one of a later diagonal; run d = 0, 1, ... in order")
    return None


WAVEFRONT = GradientPiece(
    "the wavefront", reference=wavefront,
    inputs=wavefront_inputs, structure=diagonal_order, mistakes=[
        Mistake("every cell reads a zero hidden state: gate l on frame t reads h^l_{t-1}, its own "
                "output on frame t - 1 (not h^l_t, which this very cell makes; zeros only for "
                "t = 0)", partial(wavefront, state="zeros")),
        Mistake("gate l reads the hidden state of the gate below (h^{l-1}_{t-1}): each gate "
                "reads its own, h^l_{t-1}", partial(wavefront, state="gate below")),
        Mistake("gate l reads gate l - 1's output on frame t + 1, made earlier on the same "
                "diagonal: a cell reads only what diagonal d - 1 made (store a diagonal's outputs "
                "after all its cells have run)", partial(wavefront, below="next frame")),
        Mistake("gate 0 reads the top gate's output (with l = 0, index l - 1 is -1, the last "
                "gate, in Python): its input is frame t's tokens, model.embed(video[:, t])",
                partial(wavefront, gate0="top gate")),
        Mistake("every gate reads frame t's tokens: only gate 0 does; gate l reads gate l - 1's "
                "output on the same frame", partial(wavefront, gate0="every gate")),
        Mistake("a feature is pooled on every diagonal, T + L - 1 of them: frame t's feature is "
                "the top gate's output y^{L-1}_t alone", partial(wavefront, features="every diagonal")),
        Mistake("the features are the highest cells of the first T diagonals, and before "
                "diagonal L - 1 the highest cell is not the top gate: frame t's feature is "
                "y^{L-1}_t, made on diagonal t + L - 1",
                partial(wavefront, features="first T diagonals")),
    ])


# -- piece 2: the gates' weights stacked, and one diagonal batched ------------------------------

def stack_weights(gates, order: str = "up", how: str = "stack", which: str = "all") -> dict:
    """gates (model.blocks, L gates) -> {name: (L, *shape)}: every parameter of a gate, the L
    gates' stacked along a new leading axis, gate 0 first (weights[name][l] is gate l's), still
    in the autograd graph so that gradients reach the gates. order="down", how="cat" | "axis 1",
    which="linear weights" make the known mistakes."""
    names = [name for name, _ in gates[0].named_parameters()]
    if which == "linear weights":
        names = [name for name in names if name.endswith("weight") and "norm" not in name]
    per_gate = [dict(gate.named_parameters()) for gate in gates]
    if order == "down":
        per_gate = per_gate[::-1]
    join = {"stack": torch.stack, "cat": torch.cat, "axis 1": partial(torch.stack, dim=1)}[how]
    return {name: join([p[name] for p in per_gate]) for name in names}


def gates_inputs() -> list[tuple]:
    """Two sets of gates of their own weights: 3 gates, and 4."""
    inputs = []
    for seed, depth in enumerate((3, 4)):
        torch.manual_seed(seed)
        inputs.append((perturbed(create_model("rvit", depth=depth, dim=32, num_heads=2), seed).blocks,))
    return inputs


STACK = GradientPiece(
    "the stacked weights", reference=stack_weights, inputs=gates_inputs, mistakes=[
        Mistake("the top gate comes first: stack gate 0 first, so that weights[name][l] is "
                "gate l's", partial(stack_weights, order="down")),
        Mistake("the gates' weights are concatenated (torch.cat), (L out, ...) where a new "
                "leading axis (L, out, ...) is asked for: torch.stack",
                partial(stack_weights, how="cat")),
        Mistake("the gates go on axis 1: stack them on a new leading axis (dim=0), so that "
                "weights[name][l] is gate l's", partial(stack_weights, how="axis 1")),
        Mistake("only the linear layers' weights are stacked: the biases and the LayerNorms' "
                "weights and biases differ from gate to gate too (gate.named_parameters())",
                partial(stack_weights, which="linear weights")),
    ])


def per_cell_diagonal(gates, first: int, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The cells of one anti-diagonal one gate call at a time: cell i is gate first + i, with
    input x[i] and hidden state h[i]; x, h (L', B, N, D) -> outputs (L', B, N, D)."""
    return torch.stack([gates[first + i](x[i], h[i]) for i in range(len(x))])


def batched_diagonal(weights: dict, first: int, x: torch.Tensor, h: torch.Tensor, attend,
                     cells: str = "first + i", bias: str = "cells", norm_h: str = "norm_h",
                     attention: str = "per cell") -> torch.Tensor:
    """per_cell_diagonal's result with one batched matmul per linear layer. weights: the L
    gates' parameters stacked (stack_weights); cell i is gate first + i, with input x[i] and
    hidden state h[i], x, h (L', B, N, D); attend: the gates' attention (no weights), q, k, v
    (..., N, 3D) -> (..., N, D), the cells one more batch axis -> outputs (L', B, N, D).
    cells="reversed" | "0 + i" | "top", bias="clips", norm_h="norm1", attention="across cells"
    make the known mistakes."""
    n = len(x)
    rows = {"first + i": slice(first, first + n), "0 + i": slice(0, n),
            "top": slice(len(weights["norm1.weight"]) - n, None), "reversed": slice(first, first + n)}
    w = {name: v[rows[cells]] for name, v in weights.items()}  # (L', ...): the cells' gates'
    if cells == "reversed":
        w = {name: v.flip(0) for name, v in w.items()}

    def linear(t, name, with_bias=True):  # t (L', B, N, in) -> (L', B, N, out): one bmm
        out = torch.bmm(t.flatten(1, 2), w[f"{name}.weight"].mT).view(*t.shape[:-1], -1)
        if not with_bias:
            return out
        b = w[f"{name}.bias"]  # (L', out)
        return out + (b[:, None] if bias == "clips" else b[:, None, None])

    def norm(t, name):  # LayerNorm over D, each cell with its own gate's weight and bias
        scale, shift = w[f"{name}.weight"][:, None, None], w[f"{name}.bias"][:, None, None]
        return F.layer_norm(t, t.shape[-1:], eps=1e-6) * scale + shift

    qkv = linear(norm(x, "norm1"), "attn.qkv") + linear(norm(h, norm_h), "qkv_h", with_bias=False)
    if attention == "across cells":  # (L', B, N, 3D) -> (B, L' N, 3D): one sequence per clip
        a = attend(qkv.transpose(0, 1).flatten(1, 2)).unflatten(1, (n, -1)).transpose(0, 1)
    else:
        a = attend(qkv)  # (L', B, N, D): the cells a batch axis
    z = x + linear(a, "attn.proj")
    return z + linear(F.gelu(linear(norm(z, "norm2"), "mlp.fc1")), "mlp.fc2")


def diagonal_inputs() -> list[tuple]:
    """The stacked weights of 4 gates (of their own weights) and four diagonals of a clip: the
    rising ramp (2 cells from gate 0), the falling ramp (2 cells from gate 2), a full one (4
    cells) and one of 3 cells from gate 1; x and h random, B = L' clips each."""
    torch.manual_seed(0)
    gates = perturbed(create_model("rvit", depth=4, dim=32, num_heads=2), 0).blocks
    weights = {name: v.detach() for name, v in stack_weights(gates).items()}
    inputs = []
    for first, n in ((0, 2), (2, 2), (0, 4), (1, 3)):
        shape = (n, n, 17, 32)  # (L', B, N, D), B = L'
        inputs.append((weights, first, torch.randn(shape), torch.randn(shape), gates[0].attn.attend))
    return inputs


def batched(candidate) -> str | None:
    """None when the matrix products and attention calls of `candidate` do not grow with the
    diagonal's cell count; else what it does instead."""
    weights, _, x, h, attend = diagonal_inputs()[2]  # 4 cells
    counts = []
    for n in (1, 4):
        counter = Counter()
        with torch.no_grad(), counter:
            candidate(weights, 0, x[:n], h[:n], attend)
        counts.append(counter.calls)
    if counts[1] > counts[0]:
        return (f"right result, but {counts[1]} matrix products and attention calls for 4 cells "
                f"where 1 cell takes {counts[0]}: batch the cells, one torch.bmm per linear layer "
                "and one attention call for the whole diagonal")
    return None


DIAGONAL = GradientPiece(
    "the batched diagonal", reference=batched_diagonal, inputs=diagonal_inputs,
    structure=batched, mistakes=[
        Mistake("the cells' weights go top gate first: cell i is gate first + i, x[0] the "
                "lowest cell", partial(batched_diagonal, cells="reversed")),
        Mistake("the weights are those of gates 0 .. L' - 1, not the cells' gates first .. "
                "first + L' - 1: they differ on the last diagonals, whose cells start above gate 0",
                partial(batched_diagonal, cells="0 + i")),
        Mistake("the weights are those of the top L' gates, not the cells' gates first .. first + "
                "L' - 1: they differ on the first diagonals, whose cells start at gate 0",
                partial(batched_diagonal, cells="top")),
        Mistake("clip b gets the bias of cell b: the bias (L', out) lines up with the clips "
                "axis; shape it (L', 1, 1, out) against (L', B, N, out)",
                partial(batched_diagonal, bias="clips")),
        Mistake("h is normalised with LN_x's weights (norm1): the hidden state has its own "
                "LayerNorm, norm_h", partial(batched_diagonal, norm_h="norm1")),
        Mistake("the cells attend to one another's tokens: each cell attends over its own N "
                "tokens, the cells a batch axis", partial(batched_diagonal, attention="across cells")),
    ])


# -- exercise 1: another order ----------------------------------------------------------------

def layer_by_layer_schedule(num_layers: int, num_frames: int, order: str = "right") -> torch.Tensor:
    """(L, T) long: cell (l, t) runs at step l * T + t (gate 0 on every frame, then gate 1, ...).
    order makes the known mistakes: "frames" (the plain loop's), "from 1", "frames reversed",
    "L per layer"."""
    layer = torch.arange(num_layers)[:, None]
    frame = torch.arange(num_frames)[None, :]
    if order == "frames":
        return sequential_schedule(num_layers, num_frames)
    if order == "frames reversed":
        frame = frame.flip(1)
    step = layer * (num_layers if order == "L per layer" else num_frames) + frame
    return step + 1 if order == "from 1" else step


SCHEDULE = Piece(
    "the layer-by-layer schedule", reference=layer_by_layer_schedule,
    inputs=lambda: [(3, 4), (1, 5), (4, 2)], mistakes=[
        Mistake("that is the plain loop's order, frame by frame: layer by layer runs gate 0 on "
                "every frame first", partial(layer_by_layer_schedule, order="frames")),
        Mistake("the steps count from 1: the first cell runs at step 0",
                partial(layer_by_layer_schedule, order="from 1")),
        Mistake("each gate runs its frames last first: frame 0 comes first",
                partial(layer_by_layer_schedule, order="frames reversed")),
        Mistake("a gate's cells take L steps in your count, but a gate has T frames: cell (l, t) "
                "comes after l whole gates of T cells each",
                partial(layer_by_layer_schedule, order="L per layer")),
    ])

VALID = Prediction(
    "is the layer-by-layer order valid?", choices=("yes", "no"),
    truth=lambda: "yes" if respects_dependencies(layer_by_layer_schedule(4, 6)) else "no",
    why="cell (l, t) reads (l - 1, t) and (l, t - 1): did both run at earlier steps?")


# -- exercise 2: which gains more --------------------------------------------------------------

SETTINGS = {"RViT-XL (6 gates), 8 frames": ("rvit_xl", 8),
            "RViT-S (2 gates), 32 frames": ("rvit_s", 32)}


@functools.cache
def calls_saved(name: str, frames: int, batch: int = 2) -> float:
    """How many times fewer operator calls the wavefront makes than the plain loop on a clip
    batch of mini `name` (counted on the meta device, timing.count_ops)."""
    plain = create_model(name)
    wave = accelerate(plain, execution="wavefront")
    shape = (batch, frames, 3, 32, 32)
    return timing.count_ops(plain, shape)["ops"] / timing.count_ops(wave, shape)["ops"]


GAINS_MORE = Prediction(
    "which gains more from the wavefront?", choices=tuple(SETTINGS),
    truth=lambda: max(SETTINGS, key=lambda k: calls_saved(*SETTINGS[k])),
    why="count the sequential steps of each, T x L, against the wavefront's T + L - 1")


# -- exercise 3: both pieces together ------------------------------------------------------------

def batched_wavefront(model, video: torch.Tensor, first: str = "right", state: str = "carried",
                      features: str = "top gate") -> torch.Tensor:
    """video (B, T, C, H, W) -> features (B, T, D): the weights stacked once, then one
    batched_diagonal call per anti-diagonal, the library's Wavefront in miniature. first="zero",
    state="zeros", features="every diagonal" make the known mistakes."""
    num_frames, num_layers = video.shape[1], len(model.blocks)
    weights, attend = stack_weights(model.blocks), model.blocks[0].attn.attend
    tokens = model.embed_clip(video)  # (B, T, N, D)
    latest = model.init_state(len(video))  # latest[l]: gate l's output on its last frame so far
    pooled = []
    for d in range(num_frames + num_layers - 1):
        lo, hi = max(0, d - num_frames + 1), min(num_layers - 1, d)  # the gates on diagonal d
        x = torch.stack([tokens[:, d] if layer == 0 else latest[layer - 1]
                         for layer in range(lo, hi + 1)])
        h = torch.stack([latest[layer] if state == "carried" else torch.zeros_like(latest[layer])
                         for layer in range(lo, hi + 1)])
        out = batched_diagonal(weights, lo if first == "right" else 0, x, h, attend)
        latest[lo:hi + 1] = list(out)
        if hi == num_layers - 1 or features == "every diagonal":
            pooled.append(model.pool(out[-1]))
    return torch.stack(pooled, dim=1)


def one_attention_per_diagonal(candidate) -> str | None:
    for model, video in wavefront_inputs():
        steps = video.shape[1] + len(model.blocks) - 1
        counter = Counter(words=("attention",))
        with torch.no_grad(), counter:
            candidate(model, video)
        if counter.calls != steps:
            return (f"right result, but {counter.calls} attention calls on a clip of "
                    f"{steps} diagonals: one batched call per diagonal")
    return None


BATCHED_WAVEFRONT = GradientPiece(
    "the batched wavefront", reference=batched_wavefront,
    inputs=wavefront_inputs, structure=one_attention_per_diagonal, mistakes=[
        Mistake("the diagonal's first gate is taken as gate 0 on every diagonal: on diagonal d it "
                "is gate max(0, d - T + 1)", partial(batched_wavefront, first="zero")),
        Mistake("every cell reads a zero hidden state: cell (l, t) reads h^l_{t-1}, gate l's "
                "output on the diagonal before", partial(batched_wavefront, state="zeros")),
        Mistake("a feature is pooled on every diagonal, T + L - 1 of them: only the diagonals "
                "that reach the top gate give one",
                partial(batched_wavefront, features="every diagonal")),
    ])

PIECES = [WAVEFRONT, STACK, DIAGONAL, SCHEDULE, BATCHED_WAVEFRONT]


# -- what the notebook measures ------------------------------------------------------------------

def training_step(forward, model: nn.Module, video: torch.Tensor, target: torch.Tensor):
    """One training step without its update: (logits (B, K), {name: gradient}) of
    cross_entropy(forward(video), target) for every parameter of `model` (zeros where none
    arrives); the gradients are cleared after."""
    model.zero_grad(set_to_none=True)
    logits = forward(video)
    F.cross_entropy(logits, target).backward()
    grads = {name: p.grad.clone() if p.grad is not None else torch.zeros_like(p)
             for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return logits.detach(), grads


def same_step(step, reference, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Do two training_step results agree: the logits within atol + rtol |x| and every
    gradient too?"""
    (logits, grads), (ref_logits, ref_grads) = step, reference
    return grads.keys() == ref_grads.keys() and same(logits, ref_logits, atol, rtol) and all(
        same(grads[name], g, atol, rtol) for name, g in ref_grads.items())


# the notebook's timings: CPU seconds of this process on one thread, 7 rounds unless it says
time_in_turn = partial(timing.time_in_turn, repeats=7, threads=1, clock=time.process_time)


def speedup(seconds: dict, slow: str, fast: str) -> tuple[float, float, float]:
    """(median, lowest, highest) over the rounds of seconds[slow] / seconds[fast], each round's
    pair timed back to back (paired ratios)."""
    ratios = [s / f for s, f in zip(seconds[slow], seconds[fast])]
    return statistics.median(ratios), min(ratios), max(ratios)


# -- the playground: the schedules, step by step -------------------------------------------------

def draw_schedule(layers: int = 4, frames: int = 6, step: int = 5) -> Figure:
    step = min(step, layers * frames - 1)
    fig = figure(11, 0.45 * layers + 2.2)
    axes = fig.subplots(1, 2)
    for ax, (name, schedule) in zip(axes, (
            ("plain loop", sequential_schedule(layers, frames)),
            ("wavefront", wavefront_schedule(layers, frames)))):
        done = int((schedule <= step).sum())
        viz.plot_schedule(schedule, ax, f"{name}: steps 0 to {int(schedule.max())}; after step "
                          f"{step}, {done} of {layers * frames} cells done")
        ax.imshow(np.where(schedule.numpy() > step, 1.0, np.nan), origin="lower", cmap="gray",
                  vmin=0, vmax=1, alpha=0.8)  # cells still to run: greyed out
        for text in ax.texts:  # their step numbers in grey, readable on the grey
            t, layer = (round(v) for v in text.get_position())
            if text.get_text() and schedule[layer, t] > step:
                text.set_color("0.45")
        ax.title.set_fontsize(9)
    return fig


def playground(live=None):
    """Choose L gates and T frames and step through both schedules: the plain loop
    runs one cell a step (T x L steps), the wavefront a whole anti-diagonal (T + L - 1); gates,
    frames and steps numbered from 0."""
    box = make_playground("schedule", draw_schedule, {
        "step": slider("step", 0, 95), "layers": slider("L (gates)", 1, 8),
        "frames": slider("T (frames)", 1, 12)}, live)
    if isinstance(box, Picture):
        return box
    step, layers, frames = box.children[0].children

    def limit(_):
        step.max = layers.value * frames.value - 1

    layers.observe(limit, names="value")
    frames.observe(limit, names="value")
    limit(None)
    return box
