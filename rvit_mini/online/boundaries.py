"""At a boundary: the composite pairs, how soon a recogniser switches, what it remembers, and a
change point found from the hidden state alone (Fig. S2's observation, measured)."""

import math
import statistics

import numpy as np
import torch

from ..data import CLASSES, COMPOSITES, composite_clip
from ..data.streams import motion_onsets
from ..execution.stream import trace
from ..model import RViT
from .recognisers import as_recogniser, in_data_order, oracle_resets, predict_stream


def switch_delay(predictions: torch.Tensor, boundary: int, new_label: int) -> int | None:
    """Frames after `boundary` until the per-frame prediction (T,) first names the new action
    and keeps naming it to the end of the clip; None if it never settles on it.

    It does not look before the boundary: a recogniser that never named the first action (the
    majority guess when the second action is the commonest) scores 0. The README's "settled"
    figures use it; two_sided_switch_delay counts the frames before the boundary too."""
    for t in range(boundary, len(predictions)):
        if (predictions[t:] == new_label).all():
            return t - boundary
    return None


def two_sided_switch_delay(predictions: torch.Tensor, labels: torch.Tensor) -> int | None:
    """predictions, labels (T,) class indices, the labels one action and then another -> the
    frames strictly between the last frame before the boundary whose prediction names the first
    action (frame -1 if none does) and the first frame from the boundary on from which the
    prediction names the second action to the end of the clip; None if it never settles.

    0 for a recogniser right on every frame; each wrong frame just before the boundary adds one,
    so one that was not naming the first action has not switched from it."""
    labels = torch.as_tensor(labels)
    changed = (labels != labels[0]).nonzero()
    if len(changed) == 0 or bool((labels[int(changed[0]):] != labels[-1]).any()):
        raise ValueError(f"labels must hold two actions, one after the other: got {labels.tolist()}")
    boundary, first, second = int(changed[0]), labels[0], labels[-1]
    settled = next((t for t in range(boundary, len(predictions))
                    if bool((predictions[t:] == second).all())), None)
    if settled is None:
        return None
    named = (predictions[:boundary] == first).nonzero()
    last = int(named[-1]) if len(named) else -1
    return settled - last - 1


def change_point(states: torch.Tensor) -> int:
    """The frame b (1 <= b < T) that best splits states (T, ...) into two segments, each close
    to its own mean (least squares on the flattened states): states[:b] | states[b:]."""
    x = states.flatten(1).double()
    x = x - x.mean(0)
    csum, csq = x.cumsum(0), (x * x).sum(1).cumsum(0)
    total_sq = csq[-1]
    n = len(x)
    best, best_cost = 1, float("inf")
    for b in range(1, n):
        left, right = csum[b - 1], csum[-1] - csum[b - 1]
        # sum of squares about each segment's mean = sum |x|^2 - |sum x|^2 / count
        cost = total_sq - (left @ left) / b - (right @ right) / (n - b)
        if cost < best_cost:
            best, best_cost = b, float(cost)
    return best


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
        logits = predict_stream(rec, videos, oracle_resets(rec, labels))
        pred = in_data_order(rec, logits, CLASSES).argmax(-1)  # composite labels: CLASSES
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
    if not names:
        raise ValueError("switch_table needs the switch_delays rows of at least one rival")
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
