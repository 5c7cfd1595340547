"""What a pass costs: frames per second measured fairly on a shared machine, the functions it
times (a clip's forward or training step, a stream frame by frame), and the operator calls and
FLOPs of one pass, counted without computing. benchmarks/ and notebook 07 use them.

    frames_per_second({label: (fn, frames)}, repeats)       # measured, in turn, round-robin
    clip_run(model, video, train), stream_run(model, video)  # the fns it times
    count_ops(model, input_shape, train)                    # operator calls and FLOPs
"""

import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from ..model import VideoTransformer, build_model
from ..model.flops import clip_flops
from .accelerate import accelerate


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
    model.recur, without gradients: an RViT streaming, or the image ViT frame by frame."""
    def run() -> None:
        model.eval()
        with torch.no_grad(), _autocast(video.device, dtype):
            state = model.init_state(video.shape[0], video.device)
            for t in range(video.shape[1]):
                _, state = model.recur(video[:, t:t + 1], state)
    return run


def time_in_turn(runs: dict, repeats: int = 5, sync: Callable[[], None] | None = None,
                 threads: int | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """{label: fn} -> {label: [seconds of each timed fn() call]}.

    Each fn is called once to warm up; then the runs are timed in turn, round after round, so
    that a slow spell of a shared machine slows a whole round alike and the ratios within a
    round stay fair. sync: waits for queued work after each call (torch.cuda.synchronize on a
    GPU). threads: torch's CPU threads while timing (restored after). On a CPU that other
    processes share, threads that wait for one another can slow small operations tenfold; 1
    holds steady. clock: time.process_time counts this process's CPU time alone, which other
    programs do not inflate.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    sync = sync or (lambda: None)
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        for fn in runs.values():
            fn()
        sync()
        seconds = {label: [] for label in runs}
        for _ in range(repeats):
            for label, fn in runs.items():
                start = clock()
                fn()
                sync()
                seconds[label].append(clock() - start)
    finally:
        torch.set_num_threads(before)
    return seconds


def frames_per_second(runs: dict, repeats: int = 5, sync: Callable[[], None] | None = None,
                      threads: int | None = None,
                      clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """{label: (fn, frames)} -> {label: frames / median seconds of one fn() call}, the runs
    timed in turn (time_in_turn)."""
    seconds = time_in_turn({label: fn for label, (fn, _) in runs.items()}, repeats, sync,
                           threads, clock)
    return {label: runs[label][1] / statistics.median(s) for label, s in seconds.items()}


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
    execution = getattr(model, "execution", None)
    options = {k: v for k, v in (execution.options if execution is not None else {}).items()
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
