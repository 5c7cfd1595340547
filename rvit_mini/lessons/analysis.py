"""Reading a trained model's hidden state for the lessons: states without memory (the control),
block structure at a boundary, how far an edit of the clip, or of its past alone, moves the
features, and what the hidden state adds inside each gate (its term in q, k, v, and the
attention with and without it)."""

import numpy as np
import torch


@torch.no_grad()
def memoryless_states(model, video: torch.Tensor) -> torch.Tensor:
    """The control for a trace's states: the same model on the same frames with its state reset
    before every frame, so that nothing of the past reaches it. video (T, C, H, W) -> the top
    layer's output for each frame (T, N, D)."""
    model.eval()
    _, state = model.recur(video[:, None])  # the frames as a batch of 1-frame clips
    return state[-1].float()


def block_contrast(states: torch.Tensor, boundary: int) -> float:
    """How much more alike the states (T, ...) are within an action than across the boundary:
    the mean cosine similarity of pairs of different frames on the same side of `boundary`,
    minus that of pairs on opposite sides."""
    if not 2 <= boundary <= len(states) - 2:
        raise ValueError(f"each side of the boundary needs 2 frames: boundary {boundary} in a "
                         f"clip of {len(states)} frames")
    x = torch.nn.functional.normalize(states.flatten(1).double(), dim=1)
    sim = x @ x.T
    side = torch.arange(len(x)) >= boundary
    same = side[:, None] == side[None, :]
    within = same & ~torch.eye(len(x), dtype=torch.bool)
    return (sim[within].mean() - sim[~same].mean()).item()


# -- measurements for the lessons ---------------------------------------------------------------

@torch.no_grad()
def feature_change(model, video: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
    """How far each per-frame feature moves when the clip is edited.

    video, edited (B, T, C, H, W) -> (B, T): |f_t(edited) - f_t(video)| / |f_t(video)|, with
    f_t the model's per-frame features (forward_features). A frame-mean ViT's f_t reads frame t
    alone, so only edited frames move; an RViT carries an edit forward in its hidden state."""
    if video.shape != edited.shape:
        raise ValueError(f"video and edited clip must have one shape, got {tuple(video.shape)} "
                         f"and {tuple(edited.shape)}")
    was_training = model.training
    model.eval()
    try:
        before, after = model.forward_features(video), model.forward_features(edited)
    finally:
        model.train(was_training)
    return (after - before).norm(dim=-1) / before.norm(dim=-1)


def moving_average(values, window: int):
    """Trailing mean over `window` values, only where the window is full (no edge effects):
    values (n,) -> (n - window + 1,) numpy array; output k averages values[k : k + window], so
    it belongs with the x of values[window - 1:]."""
    values = np.asarray(values, dtype=float)
    if not 1 <= window <= len(values):
        raise ValueError(f"window must be between 1 and the number of values ({len(values)}), "
                         f"got {window}")
    csum = np.cumsum(np.concatenate([[0.0], values]))
    return (csum[window:] - csum[:-window]) / window


@torch.no_grad()
def past_change(model, video: torch.Tensor, donor: torch.Tensor) -> torch.Tensor:
    """How much the last frame's feature depends on the past, and how far back.

    video, donor (B, T, C, H, W) -> (B, T - 1): column k - 1 is |f'_t - f_t| / |f_t| at the
    last frame t = T - 1 when every frame k or more steps back (frames 0 .. t - k) is taken
    from the donor clip and frames t - k + 1 .. t stay the same. The present frame never
    changes, so a memoryless model gives exactly 0 at every k."""
    if video.shape != donor.shape or video.ndim != 5 or video.shape[1] < 2:
        raise ValueError(f"video and donor must be (B, T, C, H, W) of one shape with T >= 2, "
                         f"got {tuple(video.shape)} and {tuple(donor.shape)}")
    was_training = model.training
    model.eval()
    try:
        last = video.shape[1] - 1
        present = model.forward_features(video)[:, last]                  # (B, D)
        changes = []
        for lag in range(1, last + 1):
            edited = torch.cat([donor[:, :last - lag + 1], video[:, last - lag + 1:]], dim=1)
            moved = model.forward_features(edited)[:, last] - present
            changes.append(moved.norm(dim=-1) / present.norm(dim=-1))
    finally:
        model.train(was_training)
    return torch.stack(changes, dim=1)


def gate_cells(model, video: torch.Tensor) -> list:
    """Run an RViT over video (T, C, H, W) as model.forward_features does, and keep every cell:
    [(gate, x, h)] for every frame t and layer l in that order, with x = y^{l-1}_t and
    h = h^l_{t-1}, (1, N, D) each."""
    if model.cfg.arch != "rvit" or model.cfg.attention != "softmax":
        raise ValueError(f"expected an RViT with softmax attention, got a {model.cfg.arch} "
                         f"with {model.cfg.attention} attention")
    if video.ndim != 4:
        raise ValueError(f"expected one clip (T, C, H, W), got shape {tuple(video.shape)}; "
                         "pass video[0] for the first clip of a batch")
    model.check_video(video[None])
    cells = []
    model.recur(video[None], observe=lambda t, layer, x, h, y: cells.append(
        (model.blocks[layer], x, h)))
    return cells


@torch.no_grad()
def qkv_terms(model, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of each gate's queries, keys and values over a clip video (T, C, H, W):
    LN_x(x) W_x + b (the frame's) and LN_h(h) W_h (the hidden state's).

    Returns (x_term, h_term), each (T, L, 3): the norm of the term for q, k, v, the mean over
    the N tokens of each token's norm. At t = 0, h = 0 and h_term is LN_h's bias times W_h
    (zero at initialisation, small once trained)."""
    x_norms, h_norms = [], []
    for gate, x, h in gate_cells(model, video):
        x_norms.append(gate.attn.qkv(gate.norm1(x)).unflatten(-1, (3, -1)).norm(dim=-1)[0].mean(0))
        h_norms.append(gate.qkv_h(gate.norm_h(h)).unflatten(-1, (3, -1)).norm(dim=-1)[0].mean(0))
    shape = (video.shape[0], len(model.blocks), 3)
    return torch.stack(x_norms).view(shape), torch.stack(h_norms).view(shape)


@torch.no_grad()
def attention_maps(model, video: torch.Tensor, hidden: bool = True) -> torch.Tensor:
    """The gates' attention weights over a clip video (T, C, H, W) -> (T, L, heads, N, N); row i
    is where token i looks. hidden=False recomputes each gate's weights from the frame's term
    alone (W_h's term left out), with the same inputs x: what the hidden state changes."""
    maps = []
    for gate, x, h in gate_cells(model, video):
        qkv = (gate.qkv(x, h) if hidden else gate.attn.qkv(gate.norm1(x))).chunk(3, dim=-1)
        q, k = (t.unflatten(-1, (gate.attn.num_heads, -1))[0] for t in qkv[:2])  # (N, heads, d)
        scores = torch.einsum("nhd,mhd->hnm", q, k) / q.shape[-1] ** 0.5
        maps.append(scores.softmax(dim=-1))
    return torch.stack(maps).unflatten(0, (video.shape[0], len(model.blocks)))
