"""Online action recognition: name the action happening now, one frame at a time.

A recogniser takes frames in order and gives logits for the newest frame, never looking ahead:

    Recurrent(model)               an RViT (or the memoryless frame ViT): head(f_t) after each step
    Recurrent(model, oracle=True)  the same, its state reset where each action begins (an
                                   ablation that is told the boundaries)
    Window(cvit, w)                a CViT over the last w frames
    Constant(k, num_classes)       always class k: the majority-class guess

    logits = predict_stream(rvit, video)             # (T, C, H, W) -> (T, K), frame by frame
    streams = StickStreams("test", num_frames=480, num_streams=8)
    rows = compare({"rvit": Recurrent(rvit), "cvit w8": Window(cvit, 8)}, streams)
    print(markdown(rows))

    # or by name, on the same held-out streams, with the switch at the composite pairs:
    print(markdown(evaluate_streams(["majority", "shown", "vit_online", "rvit", "rvit_online",
                                     "cvit_online@w8"], action_frames=(8, 8), clips_per_pair=20)))
    #   (python -m rvit_mini evaluate-stream prints the same table)

Metrics follow the online action detection literature (THUMOS'14, TVSeries; LSTR's stream
mode): per-frame accuracy, per-frame mAP and calibrated mAP (De Geest et al., "Online Action
Detection", ECCV 2016), accuracy by position inside an action, switch delay at the boundary of
a composite clip, and per frame: latency, FLOPs and the memory a recogniser holds.

An action's first frame, and at times its second, still shows the last pose of the action
before (the figure starts to move a little after the label changes; StickStreams.shown): the
"shown" row scores those labels as predictions, the ceiling for a recogniser that names what it
sees (85 % of the frames of streams of 8-frame actions).
"""

import math
import statistics
import time

import numpy as np
import torch
from torch import nn

from .analysis import change_point, switch_delay, trace
from .data import CLASSES, COMPOSITES, StickStreams, composite_clip
from .data.streams import motion_onsets
from .flops import clip_flops
from .memory import MemoryTracker
from .models import CViT, RViT
from .pretrained import CHECKPOINTS, load_pretrained


# -- recognisers --------------------------------------------------------------------------------
class Recurrent:
    """An RViT (or the frame ViT) through init_state/step: logits head(f_t) of the newest frame.

    oracle=True marks the ablation that compare() tells where each action begins, to reset the
    state there: what a perfect boundary detector would give the same model.
    """

    def __init__(self, model: nn.Module, oracle: bool = False):
        if not hasattr(model, "step"):
            raise TypeError(f"{type(model).__name__} attends over the whole clip at once and "
                            "cannot step frame by frame; use Window(model, w)")
        self.model, self.oracle = model, oracle

    def reset(self, batch_size: int, device=None) -> None:
        self.state = self.model.init_state(batch_size, device)

    def forget(self, rows: torch.Tensor) -> None:
        """Reset the state of the streams where rows (B,) bool is True."""
        fresh = self.model.init_state(len(rows), rows.device)
        self.state = [torch.where(rows.view(-1, *[1] * (h.ndim - 1)), h0, h)
                      for h0, h in zip(fresh, self.state)]

    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """frame (B, C, H, W) -> logits (B, K) for it."""
        feat, self.state = self.model.step(frame, self.state)
        return self.model.head(feat)

    def held(self) -> list:
        """The tensors kept from one frame to the next."""
        return self.state

    def flops(self) -> int:
        """Forward FLOPs of one update: one frame through the model and the head."""
        return clip_flops(self.model.cfg, 1, per_frame=True)


class Window:
    """A CViT over the last `window` frames: the logits of frame t are head(f_t), the newest
    frame's feature after attending over the window.

    We read the newest frame's feature rather than the clip logits head(mean of the window's
    features): the mean weighs the frames w/2 steps back as much as the present, so it lags a
    boundary by about w/2 frames by construction, and head(f_t) is the same read-out as the
    RViT's and the frame ViT's, so the rivals differ only in what f_t can see.
    """

    oracle = False

    def __init__(self, model: CViT, window: int):
        if not 1 <= window <= model.cfg.num_frames:
            raise ValueError(f"window must be 1 to {model.cfg.num_frames} frames, the time "
                             f"embeddings this CViT holds, got {window}; create a CViT with "
                             f"num_frames={window} for a longer window")
        self.model, self.window = model, window

    def reset(self, batch_size: int, device=None) -> None:
        self.frames = None

    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """frame (B, C, H, W) -> logits (B, K) from the last `window` frames."""
        frames = frame[:, None] if self.frames is None else \
            torch.cat([self.frames, frame[:, None]], 1)  # (B, <= w, C, H, W)
        self.frames = frames[:, max(0, frames.shape[1] + 1 - self.window):]
        return self.model.frame_logits(frames)[:, -1]

    def held(self) -> list:
        """The last window - 1 frames, kept for the next window."""
        return [self.frames]

    def flops(self) -> int:
        """Forward FLOPs of one update once the window is full: the whole window again."""
        return clip_flops(self.model.cfg, self.window, per_frame=True)


class Constant:
    """Always class `label`: the majority-class guess when `label` is the commonest class."""

    oracle = False

    def __init__(self, label: int, num_classes: int):
        self.logits = nn.functional.one_hot(torch.tensor(label), num_classes).float()

    def reset(self, batch_size: int, device=None) -> None:
        self.logits = self.logits.to(device)

    def update(self, frame: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(frame), -1)

    def held(self) -> list:
        return []

    def flops(self) -> int:
        return 0


def as_recogniser(model):
    """A recogniser as is; a model that steps (RViT, ViT) as Recurrent(model)."""
    return Recurrent(model) if isinstance(model, nn.Module) else model


def _reset_mask(resets, batch_size: int, num_frames: int) -> torch.Tensor:
    """Frame indices, or a bool mask (T,) or (B, T) -> bool mask (B, T)."""
    if isinstance(resets, torch.Tensor) and resets.dtype == torch.bool:
        return resets.expand(batch_size, num_frames)
    mask = torch.zeros(num_frames, dtype=torch.bool)
    mask[list(resets)] = True
    return mask.expand(batch_size, num_frames)


@torch.no_grad()
def predict_stream(model, video: torch.Tensor, resets=None) -> torch.Tensor:
    """video (T, C, H, W) or (B, T, C, H, W) -> per-frame logits (T, K) or (B, T, K), one frame
    at a time through a recogniser (an RViT or ViT is streamed through init_state/step).

    `resets` (frame indices, or a bool mask (T,) or (B, T)): reset the state just before those
    frames, as if each segment were a stream of its own.
    """
    rec = as_recogniser(model)
    single = video.ndim == 4
    video = video[None] if single else video
    b, t = video.shape[:2]
    mask = None if resets is None else _reset_mask(resets, b, t)
    if mask is not None and not hasattr(rec, "forget"):
        raise TypeError(f"{type(rec).__name__} keeps no state to reset; drop `resets`")
    rec.reset(b, video.device)
    logits = []
    for i in range(t):
        if mask is not None and i and mask[:, i].any():
            rec.forget(mask[:, i].to(video.device))
        logits.append(rec.update(video[:, i]))
    logits = torch.stack(logits, 1)
    return logits[0] if single else logits


def oracle_resets(recogniser, labels: torch.Tensor):
    """Where an oracle recogniser's state is reset, predict_stream's `resets`: where each action
    begins in labels (B, T), a bool mask (B, T); None for any other recogniser."""
    return positions(labels) == 0 if recogniser.oracle else None


# -- metrics ------------------------------------------------------------------------------------
def frame_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """logits (..., K), labels (...) -> the fraction of frames whose top class is the label."""
    return (logits.argmax(-1) == labels).double().mean().item()


def average_precision(scores: torch.Tensor, positives: torch.Tensor,
                      calibrated: bool = False) -> float:
    """AP of ranking frames by scores (N,) against positives (N,) bool: the precision at each
    positive's rank, averaged over the positives; tied scores count as one rank (as sklearn's
    average_precision_score).

    calibrated: TVSeries' cAP (De Geest et al. 2016), precision with the true positives weighted
    by w = negatives / positives, cPrec = w TP / (w TP + FP), as if the class filled half the
    frames, so that classes of any frequency compare.
    """
    order = scores.argsort(descending=True)
    ranked, hits = scores[order], positives[order].double()
    tp, fp = hits.cumsum(0), (1 - hits).cumsum(0)
    last = torch.ones_like(ranked, dtype=torch.bool)  # the last frame of each run of ties
    last[:-1] = ranked[1:] != ranked[:-1]
    tp, fp = tp[last], fp[last]
    num_pos, num_neg = tp[-1], fp[-1]
    if num_pos == 0:
        raise ValueError("average precision needs at least one positive frame")
    w = num_neg / num_pos if calibrated else 1.0
    precision = w * tp / (w * tp + fp)
    new_hits = torch.diff(tp, prepend=tp.new_zeros(1))
    return (precision * new_hits).sum().item() / num_pos.item()


def frame_ap(logits: torch.Tensor, labels: torch.Tensor, calibrated: bool = False) -> torch.Tensor:
    """Per-class AP (K,) over all frames: logits (..., K) scored by their softmax, labels (...);
    NaN for a class no frame has. calibrated: cAP."""
    scores = logits.flatten(0, -2).float().softmax(-1)  # (N, K)
    labels = labels.flatten()
    return torch.tensor([average_precision(scores[:, k], labels == k, calibrated)
                         if (labels == k).any() else float("nan")
                         for k in range(scores.shape[1])])


def frame_map(logits: torch.Tensor, labels: torch.Tensor, calibrated: bool = False) -> float:
    """Per-frame mAP: frame_ap averaged over the classes present (calibrated: mcAP)."""
    return frame_ap(logits, labels, calibrated).nanmean().item()


def positions(labels: torch.Tensor) -> torch.Tensor:
    """labels (..., T) -> frames since the current action began (..., T); the label changes
    where an action begins, and a stream's first action counts from its first frame."""
    t = labels.shape[-1]
    begins = torch.ones_like(labels, dtype=torch.bool)
    begins[..., 1:] = labels[..., 1:] != labels[..., :-1]
    index = torch.arange(t).expand_as(labels)
    return index - torch.where(begins, index, 0).cummax(-1).values


def accuracy_by_position(logits: torch.Tensor, labels: torch.Tensor,
                         edges: tuple = (0, 1, 2, 3, 6)) -> dict:
    """Frame accuracy by position inside the action: buckets [edges[i], edges[i+1]) and the
    last one open, e.g. {"0": .., "1": .., "2": .., "3-5": .., "6+": ..}; NaN where empty.
    logits (..., T, K), labels (..., T)."""
    pos, hit = positions(labels), logits.argmax(-1) == labels
    out = {}
    for lo, hi in zip(edges, [*edges[1:], None]):
        name = f"{lo}+" if hi is None else str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"
        inside = (pos >= lo) & (pos < hi) if hi is not None else pos >= lo
        out[name] = hit[inside].double().mean().item() if inside.any() else float("nan")
    return out


def stream_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """logits (B, T, K), labels (B, T) -> frame accuracy (over all frames, and the standard
    deviation of the B streams' own accuracies), mAP, mcAP, accuracy in the first three frames
    of an action and after them, and accuracy at positions 0, 1, 2, 3-5, 6+."""
    first3, rest = accuracy_by_position(logits, labels, (0, 3)).values()
    per_stream = (logits.argmax(-1) == labels).double().mean(-1)  # (B,)
    return {"accuracy": frame_accuracy(logits, labels),
            "accuracy_sd": per_stream.std().item() if len(per_stream) > 1 else float("nan"),
            "mAP": frame_map(logits, labels),
            "mcAP": frame_map(logits, labels, calibrated=True), "first3": first3, "rest": rest,
            "by_position": accuracy_by_position(logits, labels)}


# -- cost per frame -----------------------------------------------------------------------------
def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@torch.no_grad()
def cost(recogniser, frames: torch.Tensor, timed: int = 32, after: int | None = None) -> dict:
    """Per-frame cost on one stream, in the steady state. frames (T, C, H, W): the first
    `after` frames (default w - 1: those that fill the window, w = 1 without one) are streamed
    first, FLOPs and memory are counted on the next; up to `timed` of the frames after it are
    timed one by one.

    Returns {"ms": median latency per frame, "mflops": forward MFLOPs per frame (rm.flops's
    count of the architecture, the same on every torch build), "state_bytes":
    what the recogniser holds from one frame to the next, "peak_bytes": the most its update
    allocates at once}.
    """
    rec = as_recogniser(recogniser)
    after = getattr(rec, "window", 1) - 1 if after is None else after
    if len(frames) <= after + 1:
        raise ValueError(f"cost streams {after} frames first, then counts one and times at "
                         f"least one more: it needs more than {after + 1} frames, got {len(frames)}")
    rec.reset(1, frames.device)
    for frame in frames[:after]:
        rec.update(frame[None])
    with MemoryTracker() as tracker:
        rec.update(frames[after][None])
    times = []
    for frame in frames[after + 1:after + 1 + timed]:
        start = time.perf_counter()
        rec.update(frame[None])
        times.append(time.perf_counter() - start)
    return {"ms": 1e3 * statistics.median(times), "mflops": rec.flops() / 1e6,
            "state_bytes": _bytes(rec.held()), "peak_bytes": tracker.peak}


# -- rivals on the same streams -----------------------------------------------------------------
def compare(recognisers: dict, streams, batch_size: int = 8) -> list[dict]:
    """Each recogniser (or model that steps) on the same streams -> one row each: name,
    stream_metrics and cost. streams: a StickStreams, or any sequence of (video (T, C, H, W),
    labels (T,)) of one length. An oracle recogniser has its state reset where each action
    begins."""
    items = [streams[i] for i in range(len(streams))]
    videos, labels = torch.stack([v for v, _ in items]), torch.stack([y for _, y in items])
    rows = []
    for name, rec in recognisers.items():
        rec = as_recogniser(rec)
        logits = torch.cat([predict_stream(rec, v, oracle_resets(rec, y)) for v, y in
                            zip(videos.split(batch_size), labels.split(batch_size))])
        rows.append({"name": name, **stream_metrics(logits, labels),
                     **cost(rec, videos[0])})
    return rows


COLUMNS = {"accuracy": ("frame acc", "{:.1%}"), "accuracy_sd": ("sd over streams", "{:.1%}"),
           "mAP": ("mAP", "{:.1%}"),
           "mcAP": ("mcAP", "{:.1%}"), "first3": ("acc, first 3 frames", "{:.1%}"),
           "rest": ("acc, later frames", "{:.1%}"),
           "settled": ("settled <= 3 frames, all pairs", "{:.0%}"),
           "worst_pair": ("settled, worst pair", "{:.0%}"), "ms": ("ms/frame", "{:.2f}"),
           "mflops": ("MFLOPs/frame", "{:.1f}"), "state_bytes": ("state KiB", "{:.1f}"),
           "peak_bytes": ("peak KiB", "{:.0f}")}


def markdown(rows: list[dict], columns=None) -> str:
    """Rows from compare() as a markdown table: `columns` (keys of COLUMNS), by default those
    any row has; "-" where a row has none (no cost for the "shown" ceiling)."""
    keys = [k for k in COLUMNS if any(k in row for row in rows)] if columns is None else columns
    lines = ["| " + " | ".join(["", *(COLUMNS[k][0] for k in keys)]) + " |",
             "|---" + "|--:" * len(keys) + "|"]
    for row in rows:
        cells = [COLUMNS[k][1].format(row[k] / 1024 if k.endswith("bytes") else row[k])
                 if k in row else "-" for k in keys]
        lines.append("| " + " | ".join([row["name"], *cells]) + " |")
    return "\n".join(lines)


def rival(spec: str, majority: int | None = None, root=CHECKPOINTS):
    """A rival by name: "majority" (always class `majority`); a shipped model ("rvit", "vit":
    Recurrent; "cvit": Window over the frames it was trained on); "rvit@reset" (oracle reset);
    "cvit@w4" (a window of 4 frames). Models load from `root` (the shipped ones by default)."""
    if spec == "majority":
        if majority is None:
            raise ValueError("the majority guess needs the majority class: pass majority=k")
        return Constant(majority, len(CLASSES))
    name, _, option = spec.partition("@")
    model = load_pretrained(name, root)
    if isinstance(model, CViT) and (option == "" or option[:1] == "w" and option[1:].isdigit()):
        return Window(model, int(option[1:]) if option else model.cfg.num_frames)
    if not isinstance(model, CViT) and option in ("", "reset"):
        return Recurrent(model, oracle=option == "reset")
    choices = f"{name}@w4" if isinstance(model, CViT) else f"{name}@reset"
    raise ValueError(f"unknown rival {spec!r}; use {name} or {choices}")


def majority_class(num_frames: int = 480, action_frames: tuple = (6, 20), seed: int = 0) -> int:
    """The commonest label of the train split's first 64 streams of this kind."""
    train = StickStreams("train", num_frames, seed=seed, num_streams=64,
                         action_frames=action_frames)
    return torch.cat([train.labels(i) for i in range(len(train))]).bincount().argmax().item()


def shown_row(streams, name: str = "shown") -> dict:
    """The ceiling for a recogniser that names what it sees: stream_metrics of the labels of
    the action each frame shows (StickStreams.shown) taken as predictions."""
    labels = torch.stack([streams.labels(i) for i in range(len(streams))])
    shown = torch.stack([streams.shown(i) for i in range(len(streams))])
    return {"name": name, **stream_metrics(nn.functional.one_hot(shown, len(CLASSES)).float(),
                                           labels)}


def evaluate_streams(names: list, num_streams: int = 8, num_frames: int = 480, seed: int = 0,
                     split: str = "test", batch_size: int = 8, action_frames: tuple = (6, 20),
                     clips_per_pair: int = 0, root=CHECKPOINTS) -> list[dict]:
    """The rivals `names` (see rival(); "shown": shown_row, the ceiling) on the same
    StickStreams -> compare() rows, in the order named. The majority class is majority_class()
    of streams of the same kind. With clips_per_pair, each recogniser's rows also say in what
    share of the composite clips (composite_clips(clips_per_pair, seed=seed)) it settles on the
    second action within 3 frames, over all pairs and in its worst pair."""
    majority = majority_class(num_frames, action_frames, seed)
    streams = StickStreams(split, num_frames, seed=seed, num_streams=num_streams,
                           action_frames=action_frames)
    rivals = {name: rival(name, majority, root) for name in names if name != "shown"}
    rows = {row["name"]: row for row in compare(rivals, streams, batch_size)}
    if "shown" in names:
        rows["shown"] = shown_row(streams)
    clips = composite_clips(clips_per_pair, seed=seed) if clips_per_pair else None
    for name, rec in rivals.items() if clips else ():
        settled = [row["settled"] for row in switch_delays(rec, clips)]
        rows[name].update(settled=sum(settled) / len(settled), worst_pair=min(settled))
    return [rows[name] for name in names]


# -- at a boundary: the composite pairs ---------------------------------------------------------
def composite_clips(clips_per_pair: int = 8, num_frames: int = 16, size: int = 32,
                    seed: int = 0, pairs=COMPOSITES, anywhere: bool = False) -> dict:
    """{pair: (videos (N, T, 3, H, W), labels (N, T), boundaries [N])}, clip i of a pair drawn
    from seed + i. The boundary lies in the clip's middle third (composite_clip), or with
    `anywhere`, at a frame drawn uniformly from 4 to T - 4."""
    def lengths(i):
        if not anywhere:
            return None
        if num_frames < 8:
            raise ValueError(f"a boundary anywhere from frame 4 to T - 4 needs T >= 8 frames, "
                             f"got {num_frames}")
        b = int(np.random.default_rng([seed + i, num_frames]).integers(4, num_frames - 3))
        return [b, num_frames - b]

    out = {}
    for pair in pairs:
        clips = [composite_clip(list(pair), num_frames, size, seed + i, lengths=lengths(i))
                 for i in range(clips_per_pair)]
        out[pair] = (torch.stack([c[0] for c in clips]), torch.stack([c[1] for c in clips]),
                     [c[2] for c in clips])
    return out


def switch_delays(recogniser, clips: dict, within: int = 3) -> list[dict]:
    """Per composite pair: the fraction of clips whose prediction settles on the second action
    at most `within` frames after the boundary (analysis.switch_delay), the median delay in
    frames (None where most never settle) and the fraction that never settle. An oracle
    recogniser has its state reset at each clip's boundary."""
    rec, rows = as_recogniser(recogniser), []
    for (first, second), (videos, labels, bounds) in clips.items():
        pred = predict_stream(rec, videos, oracle_resets(rec, labels)).argmax(-1)
        delays = [switch_delay(p, b, CLASSES.index(second)) for p, b in zip(pred, bounds)]
        delays = [float("inf") if d is None else d for d in delays]
        median = statistics.median(delays)
        rows.append({"pair": f"{first} > {second}",
                     "settled": sum(d <= within for d in delays) / len(delays),
                     "median_delay": None if median == float("inf") else median,
                     "never": sum(d == float("inf") for d in delays) / len(delays)})
    return rows


def shown_switch_delays(clips: dict, seed: int = 0, within: int = 3) -> list[dict]:
    """switch_delays' rows for the action each frame shows, in composite_clips(..., seed=seed)'s
    clips (boundaries in the middle third): the delay of a recogniser that names what it sees
    at once, the frames until the second action's figure starts to move."""
    rows = []
    for (first, second), (videos, _, bounds) in clips.items():
        delays = [math.ceil(motion_onsets([first, second], videos.shape[1], seed + i)[1]) - b
                  for i, b in enumerate(bounds)]
        rows.append({"pair": f"{first} > {second}",
                     "settled": sum(d <= within for d in delays) / len(delays),
                     "median_delay": statistics.median(delays), "never": 0.0})
    return rows


@torch.no_grad()
def memory_of_the_past(model, clips: dict, frames: int = 6, per_clip: bool = False) -> torch.Tensor:
    """How much of a recurrent model's top-layer state after a composite boundary comes from
    the frames before it: each clip streamed twice, as it is and with the state reset at the
    boundary (so both runs see the same frames from there on); the mean over clips of
    |h_t - h_t(reset)| / |h_t| at t = boundary + k, k = 0 .. frames - 1 -> (frames,), or with
    per_clip every clip's (clips, frames). Zero for a model without memory."""
    out = []
    for videos, _, bounds in clips.values():
        if max(bounds) + frames > videos.shape[1]:
            raise ValueError(f"a clip of {videos.shape[1]} frames with its boundary at frame "
                             f"{max(bounds)} has fewer than {frames} frames after it")
        for video, b in zip(videos, bounds):
            whole = trace(model, video[:b + frames])["states"][b:]
            fresh = trace(model, video[b:b + frames])["states"]
            out.append((whole - fresh).flatten(1).norm(dim=1) / whole.flatten(1).norm(dim=1))
    return torch.stack(out) if per_clip else torch.stack(out).mean(0)


def switch_table(rows: dict) -> str:
    """{rival: switch_delays rows} -> markdown: per pair, the share settled within 3 frames
    and the median delay in frames ("never" where most clips never settle)."""
    names = list(rows)
    lines = ["| pair | " + " | ".join(f"{n}: settled <= 3 / median" for n in names) + " |",
             "|---" + "|--:" * len(names) + "|"]
    for i, pair in enumerate(r["pair"] for r in rows[names[0]]):
        cells = [f"{rows[n][i]['settled']:.0%} / "
                 + ("never" if rows[n][i]["median_delay"] is None
                    else f"{rows[n][i]['median_delay']:g}") for n in names]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@torch.no_grad()
def change_point_errors(clips: dict, models: dict) -> dict:
    """Mean |found - true| boundary in frames over all clips, the change point found
    (analysis.change_point) from each of `models` {name: model}: an RViT's top-layer hidden
    state, a ViT's per-frame features; from the pixels; and the constant guess of the clip's
    middle frame."""
    errors = {**{name: [] for name in models}, "pixels": [], "middle frame": []}
    for videos, _, bounds in clips.values():
        found = {name: [change_point(trace(m, v)["states"]) for v in videos]
                 if isinstance(m, RViT) else [change_point(f) for f in m.forward_features(videos)]
                 for name, m in models.items()}
        found["pixels"] = [change_point(v) for v in videos]
        found["middle frame"] = [videos.shape[1] // 2] * len(videos)
        for source, points in found.items():
            errors[source] += [abs(f - b) for f, b in zip(points, bounds)]
    return {source: sum(e) / len(e) for source, e in errors.items()}
