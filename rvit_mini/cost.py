"""What RViT's recurrence costs: the order its cells run in, and how fast they run.

A clip of T frames through L gates is a grid of L x T cells: cell (l, t) is gate l on frame t.
It reads cell (l - 1, t), the layer below at the same frame, and cell (l, t - 1), its own hidden
state. A *schedule* is an (L, T) tensor holding the step at which each cell runs; the cells of
one step run together, as one batched call.

    sequential_schedule(L, T)          # the plain loop: one cell per step, T x L steps
    wavefront_schedule(L, T)           # each anti-diagonal l + t = d at once: T + L - 1 steps
    diagonals(schedule)                # the cells (l, t) of each step, in order
    respects_dependencies(schedule)    # every cell after the two cells it reads
    cell_trace(model, video)           # the cells each step computes, as the model runs them
    frames_per_second({label: (fn, frames)}, repeats)       # measured, in turn, round-robin
    clip_run(model, video, train), stream_run(model, video)  # the fns it times
    count_ops(model, input_shape, train)                    # operator calls and FLOPs

No schedule can take fewer than T + L - 1 steps: cell (L - 1, T - 1) ends a chain of
T + L - 1 cells, each reading the one before.
"""

import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from .accelerate import accelerate
from .checks import check_count
from .flops import clip_flops
from .models import VideoTransformer
from .registry import build_model
from .stream import step_through


def _check_grid(num_layers: int, num_frames: int) -> None:
    check_count("num_layers", num_layers)
    check_count("num_frames", num_frames)


def sequential_schedule(num_layers: int, num_frames: int) -> torch.Tensor:
    """(L, T) long: cell (l, t) runs at step t * L + l (frame by frame, each up the L gates)."""
    _check_grid(num_layers, num_frames)
    layer = torch.arange(num_layers)[:, None]
    frame = torch.arange(num_frames)[None, :]
    return frame * num_layers + layer


def wavefront_schedule(num_layers: int, num_frames: int) -> torch.Tensor:
    """(L, T) long: cell (l, t) runs at step l + t (by anti-diagonals, as wavefront.py does)."""
    _check_grid(num_layers, num_frames)
    return torch.arange(num_layers)[:, None] + torch.arange(num_frames)[None, :]


def diagonals(schedule: torch.Tensor) -> list[list[tuple[int, int]]]:
    """schedule (L, T) -> for each step in order, its cells [(l, t), ...] (t ascending)."""
    steps = [[] for _ in range(int(schedule.max()) + 1)]
    for t in range(schedule.shape[1]):
        for layer in range(schedule.shape[0]):
            steps[int(schedule[layer, t])].append((layer, t))
    return [cells for cells in steps if cells]


def respects_dependencies(schedule: torch.Tensor) -> bool:
    """True when every cell (l, t) runs at a later step than (l - 1, t) and (l, t - 1)."""
    below = bool((schedule[1:] > schedule[:-1]).all())
    before = bool((schedule[:, 1:] > schedule[:, :-1]).all())
    return below and before


def cell_trace(model: VideoTransformer, video: torch.Tensor) -> list[int]:
    """The cells each sequential step of `model` computes on `video` (B, T, C, H, W), in order.

    A cell is one layer on one frame's N tokens. A plain RViT's step is one gate on one frame
    (1 cell; T x L steps); its wavefront (rm.accelerate(model, execution="wavefront")) runs a
    whole anti-diagonal per step; a CViT block takes all T frames' tokens at once (T cells;
    L steps), and so does the frame-mean ViT's (the T frames in its batch). Runs the model once
    without gradients; for eager models (not compiled ones).
    """
    if getattr(model, "options", {}).get("compile"):
        raise ValueError("cell_trace follows eager models; trace the model before compiling it "
                         "(rm.accelerate(model, execution=...) without compile=True)")
    per_cell = video.shape[0] * model.num_tokens * model.cfg.dim  # B x N x D
    trace = []

    def record(tokens: torch.Tensor) -> None:
        trace.append(tokens.numel() // per_cell)

    blocks = [*model.blocks, *(getattr(model, "time_blocks", None) or [])]
    handles = [blk.register_forward_pre_hook(lambda module, args: record(args[0]))
               for blk in blocks]
    wavefront = getattr(model, "wavefront", None)
    if wavefront is not None:
        run_diagonal = wavefront.run_diagonal

        def traced(x, h):  # x (L', B, N, D): the diagonal's L' cells
            record(x)
            return run_diagonal(x, h)
        wavefront.run_diagonal = traced
    try:
        with torch.no_grad():
            model(video)
    finally:
        for handle in handles:
            handle.remove()
        if wavefront is not None:
            wavefront.run_diagonal = run_diagonal
    return trace


def _autocast(device: torch.device, dtype: torch.dtype):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)


def clip_run(model: VideoTransformer, video: torch.Tensor, train: bool = False,
             dtype: torch.dtype = torch.float32) -> Callable[[], None]:
    """A function that runs `model` on `video` (B, T, C, H, W) once: a forward pass, or with
    train=True a training step's forward and backward (cross-entropy against class 0; the
    gradients are dropped after). dtype: autocast to it (bf16, fp16) unless float32."""
    target = torch.zeros(video.shape[0], dtype=torch.long, device=video.device)

    def run() -> None:
        model.train(train)
        with _autocast(video.device, dtype), torch.set_grad_enabled(train):
            logits = model(video)
        if train:
            F.cross_entropy(logits.float(), target).backward()
            model.zero_grad(set_to_none=True)
    return run


def stream_run(model: VideoTransformer, video: torch.Tensor,
               dtype: torch.dtype = torch.float32) -> Callable[[], None]:
    """A function that feeds `video` (B, T, C, H, W) to `model` one frame at a time through
    model.step, without gradients: an RViT streaming, or the image ViT frame by frame."""
    def run() -> None:
        model.eval()
        with torch.no_grad(), _autocast(video.device, dtype):
            for _ in step_through(model, video.unbind(1)):
                pass
    return run


def frames_per_second(runs: dict, repeats: int = 5, sync: Callable[[], None] | None = None,
                      threads: int | None = None,
                      clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """{label: (fn, frames)} -> {label: frames / median seconds of one fn() call}.

    Each fn is called once to warm up; then the runs are timed in turn, round after round, so
    that a slow spell of a shared machine slows them all alike and their ratios stay fair.
    sync: waits for queued work after each call (torch.cuda.synchronize on a GPU).
    threads: torch's CPU threads while timing (restored after). On a CPU that other processes
    share, threads that wait for one another can slow small operations tenfold; 1 holds steady.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    sync = sync or (lambda: None)
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        for fn, _ in runs.values():
            fn()
        sync()
        times = {label: [] for label in runs}
        for _ in range(repeats):
            for label, (fn, _) in runs.items():
                start = clock()
                fn()
                sync()
                times[label].append(clock() - start)
    finally:
        torch.set_num_threads(before)
    return {label: runs[label][1] / statistics.median(seconds) for label, seconds in times.items()}


class OpCounter(TorchDispatchMode):
    """Counts the operator calls dispatched inside the `with` that compute something: views
    (reshapes, transposes, slices) are left out. On a GPU each is at least one kernel launch."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not func.is_view:
            self.calls += 1
        return func(*args, **(kwargs or {}))


def count_ops(model: VideoTransformer, input_shape, train: bool = False) -> dict[str, int]:
    """Operator calls and FLOPs of one pass over a clip batch `input_shape` (B, T, C, H, W).

    Returns {"ops": operator calls that compute (views excluded), counted on the meta device
    without computing, "flops": rm.flops's count of the architecture (multiply-add = 2), times
    3 with train (the backward pass computes two products for each of the forward's: the
    gradients of the inputs and of the weights)}. An rm.accelerate'd model is counted as it runs
    eagerly (the wavefront, frame checkpointing); compile and cuda_graphs, which change how the
    calls are launched, not which are made, are left out.
    """
    options = {k: v for k, v in getattr(model, "options", {}).items()
               if k not in ("compile", "cuda_graphs")}
    with torch.device("meta"):
        meta = accelerate(build_model(model.cfg), **options).train(train)
    video = torch.empty(input_shape, device="meta")
    counter = OpCounter()
    with torch.set_grad_enabled(train), counter:
        out = meta(video)
        if train:
            out.float().sum().backward()
    batch, frames = input_shape[:2]
    return {"ops": counter.calls, "flops": batch * clip_flops(model.cfg, frames) * (3 if train else 1)}
