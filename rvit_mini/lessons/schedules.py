"""The order in which RViT's recurrence can run its cells (notebook 07).

A clip of T frames through L gates is a grid of L x T cells: cell (l, t) is gate l on frame t.
It reads cell (l - 1, t), the layer below at the same frame, and cell (l, t - 1), its own hidden
state. A *schedule* is an (L, T) tensor holding the step at which each cell runs; the cells of
one step run together, as one batched call.

    sequential_schedule(L, T)          # the plain loop: one cell per step, T x L steps
    wavefront_schedule(L, T)           # each anti-diagonal l + t = d at once: T + L - 1 steps
    diagonals(schedule)                # the cells (l, t) of each step, in order
    respects_dependencies(schedule)    # every cell after the two cells it reads
    cell_trace(model, video)           # the cells each step computes, as the model runs them

No schedule can take fewer than T + L - 1 steps: cell (L - 1, T - 1) ends a chain of
T + L - 1 cells, each reading the one before.
"""

import torch

from ..common.checks import check_count
from ..model import VideoTransformer


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
    execution = getattr(model, "execution", None)
    if execution is not None and execution.options["compile"]:
        raise ValueError("cell_trace follows eager models; trace the model before compiling it "
                         "(rm.accelerate(model, execution=...) without compile=True)")
    per_cell = video.shape[0] * model.num_tokens * model.cfg.dim  # B x N x D
    trace = []
    blocks = [*model.blocks, *(getattr(model, "time_blocks", None) or [])]
    if execution is not None and execution.options["execution"] == "wavefront":
        blocks = [execution.build(model)["wavefront"].cell]  # x (L', B, N, D): a diagonal
    handles = [blk.register_forward_pre_hook(
        lambda module, args: trace.append(args[0].numel() // per_cell)) for blk in blocks]
    try:
        with torch.no_grad():
            model(video)
    finally:
        for handle in handles:
            handle.remove()
    return trace


