"""Notebook 03, memory: RViT against CViT. The two pieces the student writes (counting what a
forward saves for backward; per-frame activation checkpointing), their checks and known mistakes,
the measurements and predictions the notebook makes, and the playground (estimated peak memory
along T, drawn from a precomputed table of rm.memory.estimate_peak)."""

import functools
import warnings
from collections import namedtuple
from functools import partial

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.utils.checkpoint import checkpoint

from .. import results
from ..execution import accelerate
from ..execution.memory import GiB, MemoryTracker, estimate_peak
from ..model import AttentionGate, create_model
from .check import Mistake, Piece, Prediction, plural, same
from .widgets import checkbox, dropdown, figure, slider
from .widgets import playground as make_playground

MiB = 2 ** 20


def claim(text: str, holds) -> None:
    """One line on a claim the notebook makes ("holds: ..."); a claim that stops holding stops
    the notebook there, so its tests fail."""
    print(f"{'holds' if holds else 'DOES NOT HOLD'}: {text}")
    if not holds:
        raise AssertionError(f"the claim does not hold: {text}")


# -- measured on this CPU ------------------------------------------------------------------------

def inference_peak(model, frames: int, batch: int = 8, streaming: bool = False) -> int:
    """Peak bytes (MemoryTracker, real tensors) of one forward pass without gradients whose
    input is decoded inside the measurement: the whole clip (B, T, 3, H, W) at once, or with
    `streaming` one frame (B, 3, H, W) at a time through model.step, the features summed as
    they come."""
    side = model.cfg.img_size
    with torch.no_grad(), MemoryTracker() as tracker:
        if streaming:
            state, total = model.init_state(batch), 0
            for _ in range(frames):
                feature, state = model.step(torch.rand(batch, 3, side, side), state)  # (B, D)
                total = total + feature
            model.head(total / frames)
        else:
            model(torch.rand(batch, frames, 3, side, side))
    return tracker.peak


Pass = namedtuple("Pass", "kept peak features gradients")
Pass.__doc__ = """A training pass, measured: bytes the forward leaves for backward (kept), the
peak of forward and backward (peak), the features (B, T, D) and {name: gradient or None}."""


def training_pass(features_fn, model, video) -> Pass:
    """features_fn(model, video) -> features (B, T, D), then backward of a fixed loss on them
    (the head's log-sum-exp of the mean feature), under MemoryTracker on real tensors."""
    model.zero_grad(set_to_none=True)
    with warnings.catch_warnings():  # a student's checkpoint may warn; the check says what is wrong
        warnings.simplefilter("ignore")
        with MemoryTracker() as tracker:
            features = features_fn(model, video)
            kept = tracker.live
            model.head(features.mean(dim=1)).logsumexp(dim=-1).sum().backward()
    gradients = {name: None if p.grad is None else p.grad.clone()
                 for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return Pass(kept, tracker.peak, features.detach(), gradients)


# -- piece 1: what a forward saves for backward -----------------------------------------------

def saved_bytes_variant(module, *inputs, grad: bool = True, once: bool = True,
                        weights: bool = False, unit: str = "bytes") -> int:
    """Bytes of the tensors autograd saves for backward while module(*inputs) runs, each storage
    once, the module's parameters left out. The keyword arguments make the known mistakes:
    grad=False (run without gradients), once=False (a storage counted at each save),
    weights=True (the parameters counted too), unit="elements"."""
    parameters = {p.untyped_storage().data_ptr() for p in module.parameters()}
    sizes, repeated = {}, []

    def pack(t):
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if weights or key not in parameters:
            size = storage.nbytes() if unit == "bytes" else storage.nbytes() // t.element_size()
            sizes[key] = size
            repeated.append(size)
        return t

    with torch.set_grad_enabled(grad), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(*inputs)
    return sum(sizes.values()) if once else sum(repeated)


def saved_bytes(module, *inputs) -> int:
    """module(*inputs) run with gradients -> the bytes of the tensors autograd saves for its
    backward: each storage once (views share their base's), the module's parameters left out."""
    return saved_bytes_variant(module, *inputs)


def saved_inputs() -> list[tuple]:
    """A mini gate with tokens x and a state h (2, 17, 64), and a mini RViT-S on a one-frame
    and on a three-frame clip (2, T, 3, 32, 32)."""
    torch.manual_seed(0)
    gate = AttentionGate(64, 4)
    model = create_model("rvit_s")
    return [(gate, torch.randn(2, 17, 64), torch.randn(2, 17, 64)),
            (model, torch.rand(2, 1, 3, 32, 32)), (model, torch.rand(2, 3, 3, 32, 32))]


SAVED_BYTES = Piece("saved_bytes", reference=saved_bytes, inputs=saved_inputs, mistakes=[
    Mistake("nothing is saved: the forward ran without gradients (torch.no_grad or "
            "inference_mode); autograd saves tensors only while it records a graph",
            partial(saved_bytes_variant, grad=False)),
    Mistake("a storage is counted each time it is saved: x is saved by LN and by the residual "
            "path, and a view shares its base's storage; count each storage once (key it by "
            "data_ptr)", partial(saved_bytes_variant, once=False)),
    Mistake("the weights are counted: a Linear saves its weight for backward, but a parameter "
            "is no activation; leave out the storages of module.parameters()",
            partial(saved_bytes_variant, weights=True)),
    Mistake("counts elements, not bytes: a storage's size in bytes is storage.nbytes()",
            partial(saved_bytes_variant, unit="elements")),
])


# -- what backward keeps of a frame, from the model's equations --------------------------------

KEPT_BY_A_GATE = [  # (what, token tensors (B, N, D) each, why backward needs it)
    ("x = y^{l-1}_t, the gate's input", 1, "LN_x's backward reads its input"),
    ("LN_x(x)", 1, "W_x's gradient is LN_x(x)^T times the gradient of q, k, v"),
    ("LN_h(h^l_{t-1})", 1, "W_h's gradient is LN_h(h)^T times the same (RViT only)"),
    ("q, k, v", 3, "the attention's backward recomputes its softmax from them"),
    ("the heads' output a", 1, "W_O's gradient reads it"),
    ("z = x + a W_O", 1, "LN's backward reads its input"),
    ("LN(z)", 1, "the MLP's first matrix reads it"),
    ("the MLP's hidden layer, before the GELU", 4, "the GELU's backward reads it"),
    ("the MLP's hidden layer, after the GELU", 4, "the MLP's second matrix reads it"),
]


def kept_per_gate(arch: str) -> int:
    """Token tensors (B, N, D) one gate (RViT) or one block (CViT) keeps of a frame for
    backward: KEPT_BY_A_GATE, less LN_h(h) for a block, which has no hidden state."""
    return sum(n for what, n, _ in KEPT_BY_A_GATE if arch == "rvit" or "LN_h" not in what)


def print_kept_by_a_gate() -> None:
    """KEPT_BY_A_GATE as a table: what, its size in token tensors, why backward needs it."""
    for what, n, why in KEPT_BY_A_GATE:
        print(f"{n:>2} x  {what:<42} {why}")
    print(f"{kept_per_gate('rvit'):>2}    token tensors a gate keeps ({kept_per_gate('cvit')} a "
          "CViT block: no LN_h(h))")


def exact_kept_per_frame(model, batch: int) -> dict:
    """Bytes a training forward of `model` (an RViT or a joint CViT, fp32) keeps for backward
    per frame of a clip, from the tensor sizes alone: {"tokens": L x kept_per_gate + 1 token
    tensors (the +1: the top layer's output, which RViT's next frame reads as h^L_{t-1} and
    CViT's feature LayerNorm reads), "pixels": the normalised frame the stem's convolution
    keeps, "statistics": every LayerNorm's mean and 1/std per token and the attention's
    log-sum-exp per token and head}."""
    cfg = model.cfg
    tokens = (cfg.img_size // cfg.patch_size) ** 2 + 1
    norms = 3 if cfg.arch == "rvit" else 2
    return {"tokens": (cfg.depth * kept_per_gate(cfg.arch) + 1) * batch * tokens * cfg.dim * 4,
            "pixels": batch * cfg.in_chans * cfg.img_size ** 2 * 4,
            "statistics": cfg.depth * (2 * norms + cfg.num_heads) * batch * tokens * 4}


# -- piece 2: frame checkpointing ---------------------------------------------------------------

def frame_checkpointed(model, video):
    """The library's: video (B, T, C, H, W) -> features (B, T, D), each frame's column of gates
    checkpointed (rm.accelerate(model, frame_checkpoint=True))."""
    return accelerate(model, frame_checkpoint=True).forward_features(video)


def checkpointed_variant(model, video, how: str = "frame"):
    """features (B, T, D) of a loop over frames in one of the ways a student may checkpoint it:
    "frame" (right), "none", "clip" (the whole clip in one checkpoint), "detach" (the state cut
    between frames), "first layer" (only gate 0 checkpointed), "reentrant" (use_reentrant=True,
    its inputs the frame's pixels and the state, which need no gradient)."""
    batch, frames = video.shape[:2]
    tokens = model.embed_clip(video)  # (B, T, N, D)
    state = model.init_state(batch)

    def column(x, *state):
        feature, new_state = model.gates(x, list(state))
        return feature, *new_state

    if how == "clip":
        def clip(tokens, *state):
            features, state = [], list(state)
            for t in range(frames):
                feature, state = model.gates(tokens[:, t], state)
                features.append(feature)
            return torch.stack(features, dim=1)
        return checkpoint(clip, tokens, *state, use_reentrant=False)
    features = []
    for t in range(frames):
        if how == "frame":
            feature, *state = checkpoint(column, tokens[:, t], *state, use_reentrant=False)
        elif how == "none":
            feature, state = model.gates(tokens[:, t], state)
        elif how == "detach":
            feature, *state = checkpoint(column, tokens[:, t], *[h.detach() for h in state],
                                         use_reentrant=False)
        elif how == "first layer":
            x = checkpoint(model.blocks[0], tokens[:, t], state[0], use_reentrant=False)
            new_state = [x]
            for gate, h in zip(model.blocks[1:], state[1:]):
                x = gate(x, h)
                new_state.append(x)
            feature, state = model.pool(x), new_state
        elif how == "reentrant":
            def frame_step(frame, *state):
                return column(model.embed(frame), *state)
            feature, *state = checkpoint(frame_step, video[:, t], *state, use_reentrant=True)
        else:
            raise ValueError(f"unknown way {how!r}")
        features.append(feature)
    return torch.stack(features, dim=1)


BANDS = ((0.35, "only each frame's inputs"), (0.8, "part of each frame's activations"),
         (float("inf"), "every frame's activations"))


def band(ratio: float) -> str:
    """What a pass keeps per frame, against the plain loop's per-frame growth, in words."""
    return next(words for bound, words in BANDS if ratio < bound)


def judged(features_fn):
    """(model, video) -> Pass(kept, peak, features, gradients) of a training pass of
    features_fn on the clip, where kept and peak say in words (BANDS) how fast they grow per
    frame against the plain loop (model.forward_features): measured at T/2 and T frames."""
    if getattr(features_fn, "judged", False):
        return features_fn

    def measure(model, video):
        half = video[:, :video.shape[1] // 2]
        short, long = (training_pass(features_fn, model, v) for v in (half, video))
        plain = [training_pass(lambda m, v: m.forward_features(v), model, v) for v in (half, video)]
        kept = (long.kept - short.kept) / (plain[1].kept - plain[0].kept)
        peak = (long.peak - short.peak) / (plain[1].peak - plain[0].peak)
        return Pass(band(kept), band(peak), long.features, long.gradients)
    measure.judged = True
    measure.__name__ = f"judged({getattr(features_fn, '__name__', 'features_fn')})"
    return measure


def checkpoint_inputs() -> list[tuple]:
    """A mini RViT-S (2 gates) of its own random weights and a clip (2, 4, 3, 32, 32)."""
    torch.manual_seed(0)
    return [(create_model("rvit_s"), torch.rand(2, 4, 3, 32, 32))]


class PassPiece(Piece):
    """A piece judged by what a training pass with it does (judged): its features, its
    gradients, and how fast what backward keeps and the peak grow per frame. check() returns the
    judged function: (model, video) -> Pass."""

    def prepared(self, candidate):
        return judged(candidate)

    def what_differs(self, got: Pass, expected: Pass) -> str:
        """The first of features, gradients, memory that differs, said without the expected
        value (what the student's pass does is said)."""
        if not same(got.features, expected.features, self.atol, self.rtol):
            return ("the features differ from model.forward_features(video): each frame's "
                    "tokens go up model.gates with the state the frame before left")
        missing = [n for n, g in got.gradients.items()
                   if g is None and expected.gradients[n] is not None]
        if missing:
            return (f"no gradient reaches {plural(len(missing), 'weight')} ({missing[0]}, ...): "
                    "something cuts the graph (a detach, or a checkpoint whose inputs need no "
                    "gradient)")
        wrong = [n for n in got.gradients
                 if not same(got.gradients[n], expected.gradients[n], self.atol, self.rtol)]
        if wrong:
            return (f"the gradients of {plural(len(wrong), 'weight')} differ ({wrong[0]}, ...): "
                    "the state must carry the graph from frame to frame")
        return (f"the forward keeps {got.kept} for backward and the peak grows by {got.peak}: "
                "checkpoint each frame's column of gates, and only that")


FRAME_CHECKPOINT = PassPiece(
    "frame checkpointing", reference=judged(frame_checkpointed), inputs=checkpoint_inputs,
    mistakes=[
        Mistake("nothing is checkpointed: run each frame's column through checkpoint(fn, x, "
                "*state, use_reentrant=False)", judged(partial(checkpointed_variant, how="none"))),
        Mistake("the whole clip is one checkpoint: the forward keeps little, but backward "
                "recomputes every frame at once, so the peak is the plain loop's; checkpoint "
                "each frame's column inside the loop", judged(partial(checkpointed_variant,
                                                                       how="clip"))),
        Mistake("the state is detached between frames: gradients stop at the frame (no later "
                "frame's loss reaches an earlier frame); hand the state to checkpoint as it is",
                judged(partial(checkpointed_variant, how="detach"))),
        Mistake("only the first gate is checkpointed: the other gates still keep their "
                "activations; checkpoint the whole column, model.gates(x, state)",
                judged(partial(checkpointed_variant, how="first layer"))),
        Mistake("use_reentrant=True with inputs that need no gradient (the frame's pixels, the "
                "zero state): no gradient reaches the weights inside; use use_reentrant=False",
                judged(partial(checkpointed_variant, how="reentrant"))),
    ], atol=1e-5, rtol=1e-4)


# -- exercise: the estimate call --------------------------------------------------------------

def checkpointed_training_mib(frames: int, checkpointed: bool = True, train: bool = True,
                              dtype=torch.bfloat16, unit: int = MiB) -> float:
    """Estimated training peak (MiB) of the mini RViT-S with frame checkpointing, batch 32,
    `frames` frames, bf16 autocast. The other arguments make the known mistakes."""
    with torch.device("meta"):
        model = create_model("rvit_s")
    model = accelerate(model, frame_checkpoint=checkpointed)
    return estimate_peak(model, (32, frames, 3, 32, 32), train=train, dtype=dtype) / unit


ESTIMATE = Piece("the estimate call", reference=checkpointed_training_mib,
                 inputs=lambda: [(4,), (6,)], mistakes=[
                     Mistake("frame checkpointing is off: estimate rm.accelerate(model, "
                             "frame_checkpoint=True)", partial(checkpointed_training_mib,
                                                               checkpointed=False)),
                     Mistake("that is the inference peak: pass train=True",
                             partial(checkpointed_training_mib, train=False)),
                     Mistake("that is fp32: pass dtype=torch.bfloat16",
                             partial(checkpointed_training_mib, dtype=torch.float32)),
                     Mistake("that is in bytes: divide by 2 ** 20 for MiB",
                             partial(checkpointed_training_mib, unit=1)),
                     Mistake("that is in GiB: divide by 2 ** 20 for MiB",
                             partial(checkpointed_training_mib, unit=GiB)),
                 ], rtol=1e-6)

PIECES = [SAVED_BYTES, FRAME_CHECKPOINT, ESTIMATE]


# -- predictions ------------------------------------------------------------------------------

def _depth_changes_inference_peak() -> str:
    peaks = {inference_peak(create_model("cvit", depth=depth).eval(), 16) for depth in (2, 4)}
    return "yes" if len(peaks) > 1 else "no"


def _tbptt_lowers_training_peak() -> str:
    with torch.device("meta"):
        plain, cut = (create_model("rvit_s", tbptt=k) for k in (0, 2))
    peak = [estimate_peak(m, (8, 8, 3, 32, 32), train=True) for m in (plain, cut)]
    return "yes" if peak[1] < peak[0] else "no"


def _streaming_batch_growth() -> str:
    with torch.device("meta"):
        model = create_model("rvit_xl", scale="paper")
    peak = [estimate_peak(model, (b, 8, 3, 224, 224), dtype=torch.bfloat16, streaming=True)
            for b in (8, 32)]
    return "about 4x" if peak[1] > 3.5 * peak[0] else "less than 2x" if peak[1] < 2 * peak[0] \
        else "between"


DEPTH = Prediction("does depth change a CViT's inference peak?", choices=("yes", "no"),
                   truth=_depth_changes_inference_peak,
                   why="think of when a block's activations are freed when nothing is kept for "
                       "backward, then run the cell below")
TBPTT = Prediction("does tbptt=2 lower RViT-S's training peak on an 8-frame clip?",
                   choices=("yes", "no"), truth=_tbptt_lowers_training_peak,
                   why="which activations does backward still need, if the loss reads every "
                       "frame's feature? Run the cell below")
BATCH = Prediction("batch 8 -> 32: how does streaming RViT-XL's peak grow (paper scale)?",
                   choices=("about 4x", "between", "less than 2x"), truth=_streaming_batch_growth,
                   why="what does streaming hold that does not grow with the batch? Look at the "
                       "parameter count above")
PREDICTIONS = [DEPTH, TBPTT, BATCH]


# -- the playground: estimated peaks from a precomputed table ---------------------------------

SCALES = {"mini (32 px, patch 8)": "mini", "paper (224 px, patch 16)": "paper"}
LONGEST = 128  # frames: the longest clip drawn, and the CViT's time embeddings
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
HEADS = {64: 4, 192: 3, 384: 6, 768: 12}  # the mini width's heads; DeiT-Ti, -S and ViT-B's
MODES = {"rvit": ("inference", "training", "training, frame checkpointing", "streaming",
                  "inference, frame checkpointing"),
         "cvit": ("inference", "training")}
SHORT = (4, 6)  # the two clip lengths estimated; from a few frames on the peak is affine in T
DEPTHS = (1, 2, 3)  # the depths estimated; from 2 layers on the whole clip's peak is affine in depth
STREAMING_DEPTHS = tuple(range(1, 13))  # streaming's peak is not: from 11 layers on (bf16) it
# moves to another moment of the step, which grows by more per layer; streaming is one short run,
# so every depth the slider offers is estimated
BATCHES = (2, 3)  # traced; from batch 2 on, the peak at any batch follows from their traces
MAX_BATCH = 32
TABLE = "memory_playground"  # rm.results.load(TABLE): precompute() writes it


def table_key(name: str, mode: str, scale: str, dim: int, dtype: str) -> str:
    return f"{name}, {mode}, {scale}, width {dim}, {dtype}"


def _meta_model(name, scale, depth, dim, mode):
    extra = {"num_frames": LONGEST} if name == "cvit" else {}
    with torch.device("meta"):
        model = create_model(name, scale, depth=depth, dim=dim, num_heads=HEADS[dim], **extra)
    return accelerate(model, frame_checkpoint=True) if mode.endswith("checkpointing") else model


def estimate(name, mode, scale, depth, dim, batch, dtype, frames, record=None) -> int:
    """rm.memory.estimate_peak (bytes) of one playground setting, computed."""
    model = _meta_model(name, scale, depth, dim, mode)
    side = model.cfg.img_size
    return estimate_peak(model, (batch, frames, 3, side, side), train=mode.startswith("training"),
                         dtype=DTYPES[dtype], streaming=mode == "streaming", record=record)


def envelope(name, mode, scale, depth, dim, dtype, frames) -> dict:
    """{"batch 1": the peak at batch 1, "lines": [[a, b], ...]}: at batch B >= 2 the peak is
    max(a + (B - 2)(b - a)). A run allocates and frees in the same order at batch 2 and 3 (and
    any batch above), each storage a constant (the parameters) plus a part that grows with the
    batch: the bytes live at every step are affine in B, and the peak is their maximum."""
    traces = []
    for batch in BATCHES:
        record = []
        peak = estimate(name, mode, scale, depth, dim, batch, dtype, frames, record)
        traces.append(np.asarray(record, dtype=np.int64) + (peak - max(record)))
    if len(traces[0]) != len(traces[1]):
        raise RuntimeError(f"{name}, {mode}: the runs at batch {BATCHES} differ in their steps")
    lines = {tuple(int(v) for v in (traces[0][i], traces[1][i]))
             for b in range(BATCHES[0], MAX_BATCH + 1)
             for i in [int(np.argmax(traces[0] + (b - BATCHES[0]) * (traces[1] - traces[0])))]}
    single = estimate(name, mode, scale, depth, dim, 1, dtype, frames)
    return {"batch 1": single, "lines": sorted(map(list, lines))}


def precompute(progress=print) -> dict:
    """The playground's table: every model, mode, scale, width and dtype at DEPTHS x SHORT,
    each as an envelope over the batch. Written by `python -m rvit_mini.lessons.memory`."""
    import json
    lines = {}
    for name, modes in MODES.items():
        for mode in modes:
            for scale in SCALES.values():
                for dim in HEADS:
                    for dtype in DTYPES:
                        key = table_key(name, mode, scale, dim, dtype)
                        lengths = SHORT[:1] if mode == "streaming" else SHORT
                        depths = STREAMING_DEPTHS if mode == "streaming" else DEPTHS
                        lines[key] = {str(d): {str(t): envelope(name, mode, scale, d, dim, dtype, t)
                                               for t in lengths} for d in depths}
                        progress(key)
    table = {"what": "rm.memory.estimate_peak of the memory playground's settings: at batch 1, "
                     "and as lines over the batch from 2 on (lessons/memory.py, envelope)",
             "torch": torch.__version__, "short": SHORT, "depths": DEPTHS,
             "streaming_depths": STREAMING_DEPTHS, "batches": BATCHES,
             "max_batch": MAX_BATCH, "longest": LONGEST, "lines": lines}
    path = results.FOLDER / f"{TABLE}.json"
    path.write_text(json.dumps(table, indent=0) + "\n")
    return table


@functools.cache
def _table() -> dict:
    return results.load(TABLE)["lines"]


def table_peak(name, mode, scale, depth, dim, batch, dtype, frames) -> int:
    """estimate_peak's bytes for a playground setting, from the table: exact at DEPTHS and
    SHORT (streaming: at STREAMING_DEPTHS), and from the affine growth in depth and in T beyond
    them."""
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"the table holds batches 1 to {MAX_BATCH}, not {batch}")
    entry = _table()[table_key(name, mode, scale, dim, dtype)]

    def at(d, t):
        cell = entry[str(d)][str(t)]
        if batch == 1:
            return cell["batch 1"]
        return max(a + (batch - BATCHES[0]) * (b - a) for a, b in cell["lines"])

    def at_depth(t):
        if str(depth) in entry:
            return at(depth, t)
        return at(3, t) + (depth - 3) * (at(3, t) - at(2, t))

    if mode == "streaming":
        return at_depth(SHORT[0])
    lo, hi = at_depth(SHORT[0]), at_depth(SHORT[1])
    return lo + (frames - SHORT[0]) * (hi - lo) // (SHORT[1] - SHORT[0])


def peak_line(name: str, scale: str, depth: int, dim: int, batch: int, dtype: str,
              train: bool, frame_checkpoint: bool, streaming: bool = False) -> tuple[float, float]:
    """(peak bytes at T = SHORT[0], growth per frame) of a setting, from the table."""
    mode = ("streaming" if streaming else "training" if train else "inference")
    if frame_checkpoint and name == "rvit" and not streaming:
        # in inference nothing is checkpointed, but rm.accelerate's loop over frames is not
        # RViT.recur's, and its peak differs a little: the table holds it too
        mode = f"{mode}, frame checkpointing"
    lo, hi = (table_peak(name, mode, scale, depth, dim, batch, dtype, t) for t in SHORT)
    return float(lo), (hi - lo) / (SHORT[1] - SHORT[0])


def memory_curve(name, lengths, **setting) -> np.ndarray:
    """Estimated peak GiB at each clip length (>= SHORT[0])."""
    start, per_frame = peak_line(name, **setting)
    return (start + per_frame * (np.asarray(lengths) - SHORT[0])) / GiB


def draw_memory(setting: str = "mini (32 px, patch 8)", frames: int = 32, batch: int = 8,
                depth: int = 2, width: int = 64, dtype: str = "fp32", train: bool = False,
                frame_checkpoint: bool = False) -> Figure:
    scale = SCALES[setting]
    unit, unit_name = (MiB, "MiB") if scale == "mini" else (GiB, "GiB")
    common = dict(scale=scale, depth=depth, dim=width, batch=batch, dtype=dtype, train=train)
    lengths = np.arange(SHORT[0], LONGEST + 1)

    def curve(name, **options):
        return memory_curve(name, lengths, frame_checkpoint=options.pop("frame_checkpoint", False),
                            **{**common, **options}) * GiB / unit
    lines = [("CViT (joint)", curve("cvit"), dict(color="C0", lw=3.5, alpha=0.55))]
    if train:
        lines.append(("RViT, whole clip", curve("rvit"), dict(color="C1", lw=1.8, ls="--")))
        if frame_checkpoint:
            lines.append(("RViT, frame checkpointing", curve("rvit", frame_checkpoint=True),
                          dict(color="C3", lw=1.8)))
    else:
        lines.append(("RViT, whole clip", curve("rvit"), dict(color="C1", lw=1.8, ls="--")))
        lines.append(("RViT streaming", curve("rvit", train=False, streaming=True),
                      dict(color="C2", lw=1.8)))
    fig = figure(7.5, 3.6)
    ax = fig.subplots()
    at = frames - SHORT[0]
    for label, values, style in lines:
        ax.plot(lengths, values, label=f"{label}: {values[at]:.3g} {unit_name} at T={frames}",
                **style)
        ax.plot(frames, values[at], "o", color=style["color"])
    ax.axvline(frames, color="0.7", lw=0.8, zorder=0)
    ax.set_xlabel("clip length T (frames)")
    ax.set_ylabel(f"estimated peak memory ({unit_name})")
    ax.set_xlim(0, LONGEST + 2)
    ax.set_ylim(bottom=0)
    cvit, rvit = lines[0][1][at], lines[-1][1][at]
    what = "training" if train else "inference"
    note = ("; frame checkpointing acts in training only" if frame_checkpoint and not train
            else "")
    ax.set_title(f"{scale} scale, {depth} layers, width {width}, batch {batch}, {dtype}, {what}: "
                 f"CViT / {lines[-1][0]} at T={frames} = {cvit / rvit:.2f}{note}", fontsize=8.5)
    ax.legend(loc="upper left", fontsize=8.5)
    return fig


def playground(live=None):
    """03: choose T, the batch, depth, width, dtype, training and frame checkpointing, at mini
    or paper scale: rm.memory.estimate_peak's figures for CViT and RViT (whole clip, streaming,
    frame checkpointing), along all T, from a precomputed table (so every redraw is instant)."""
    return make_playground("memory", draw_memory, {
        "frames": slider("T", SHORT[0], LONGEST), "batch": slider("batch", 1, MAX_BATCH),
        "depth": slider("depth", 1, 12), "width": dropdown("width", list(HEADS)),
        "setting": dropdown("scale", list(SCALES)), "dtype": dropdown("dtype", list(DTYPES)),
        "train": checkbox("training"), "frame_checkpoint": checkbox("frame checkpointing")},
        live)


if __name__ == "__main__":
    precompute()
