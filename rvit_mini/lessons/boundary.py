"""Notebook 06, the hidden state across an action boundary (the supplementary's Sec. 2, Fig. S2):
the switch delay the student writes and the change point of the exercises (their checks and
known mistakes), the runs over the composite clips (per-frame predictions and top-layer states,
with the state carried, reset at the boundary, or switched off), the lag-matched contrast,
intervals (Wilson, paired bootstrap), the claim helper, the exercises' predictions, and the
playground (an action pair, its boundary, three models' answers)."""

import functools
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..data import CLASSES, COMPOSITES, composite_clip
from ..data.streams import motion_onsets, shown_labels
from ..execution.stream import trace
from ..model import RViT
from ..online import change_point as library_change_point
from ..online import composite_clips, two_sided_switch_delay
from . import viz
from .check import Mistake, Piece, Prediction
from .evidence import claim, difference, paired, rate, wilson  # noqa: F401 (the notebook's lesson.claim ...)
from .widgets import dropdown, figure, shipped, slider
from .widgets import playground as make_playground

# -- the piece the student writes: the switch delay -------------------------------------------

def switch_delay(predictions: torch.Tensor, labels: torch.Tensor, count_from: str = "last first",
                 settle: str = "for good", between: bool = True, never: str = "none",
                 last_of: str = "before the boundary"):
    """predictions, labels (T,) -> the frames strictly between the last frame before the
    boundary that names the first action (-1 if none) and the first frame, from the boundary
    on, from which every prediction names the second; None if there is none
    (online.two_sided_switch_delay). The other arguments make the known mistakes:
    count_from="boundary" | "start", settle="first hit", between=False,
    never="frames left", last_of="before settling"."""
    boundary = int((labels != labels[0]).nonzero()[0])
    first, second = labels[0], labels[-1]
    if settle == "for good":
        settled = next((t for t in range(boundary, len(predictions))
                        if bool((predictions[t:] == second).all())), None)
    else:  # the first frame from the boundary on that names the second action
        settled = next((t for t in range(boundary, len(predictions))
                        if predictions[t] == second), None)
    if settled is None:
        return len(predictions) - boundary if never == "frames left" else None
    if count_from == "boundary":
        return settled - boundary
    if count_from == "start":
        return settled
    end = boundary if last_of == "before the boundary" else settled
    named = (predictions[:end] == first).nonzero()
    last = int(named[-1]) if len(named) else -1
    return settled - last - 1 if between else settled - last


def switch_inputs() -> list[tuple]:
    """Predictions and labels (T,) that tell the known mistakes apart: right on every frame,
    late after a wrong run before the boundary, never settled, early, never naming the first
    action, back and forth after the boundary; then two clips of random guesses."""
    labels = torch.tensor([0] * 5 + [1] * 5)
    cases = [[0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 2, 2, 1, 0, 1, 1, 1],
             [0, 0, 0, 0, 0, 1, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
             [2, 2, 2, 2, 2, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 2, 1, 2, 1, 1]]
    inputs = [(torch.tensor(c), labels.clone()) for c in cases]
    g = torch.Generator().manual_seed(6)
    for boundary in (6, 9):
        labels = torch.tensor([3] * boundary + [4] * (16 - boundary))
        guess = torch.randint(2, 6, (16,), generator=g)
        guess[boundary + 3:] = 4
        inputs.append((guess, labels))
    return inputs


SWITCH_DELAY = Piece("the switch delay", reference=two_sided_switch_delay, inputs=switch_inputs,
                     mistakes=[
    Mistake("it counts only from the boundary: a wrong frame just before the boundary is a "
            "frame the switch has not yet happened in", partial(switch_delay, count_from="boundary")),
    Mistake("it counts from frame 0: count from the last frame before the boundary that names "
            "the first action", partial(switch_delay, count_from="start")),
    Mistake("it settles on the first frame that names the second action: it must keep naming "
            "it to the end of the clip", partial(switch_delay, settle="first hit")),
    Mistake("it counts one frame too many: the frames strictly between the last one naming the "
            "first action and the settled one (0 when both are right)",
            partial(switch_delay, between=False)),
    Mistake("it looks for the first action after the boundary too: only frames before the "
            "boundary count as naming it", partial(switch_delay, last_of="before settling")),
    Mistake("where the prediction never settles it returns a number: return None",
            partial(switch_delay, never="frames left")),
])


# -- the exercise's piece: the change point --------------------------------------------------

def change_point(states: torch.Tensor, cost: str = "sums of squares", split: str = "first of second"):
    """states (T, ...) -> the frame b (1 <= b < T) that best splits the flattened states into
    states[:b] | states[b:], each segment close to its own mean: the least total sum of squared
    distances to the segment means (online.change_point). The other arguments make the known
    mistakes: cost="mean squares" | "largest jump" | "unweighted means", split="last of first"."""
    x = states.flatten(1).double()
    n = len(x)
    if cost == "largest jump":
        b = int((x[1:] - x[:-1]).norm(dim=1).argmax()) + 1
    else:
        scores = []
        for b in range(1, n):
            left, right = x[:b], x[b:]
            if cost == "unweighted means":  # the negative distance between the two means
                scores.append(-float((left.mean(0) - right.mean(0)).norm()))
                continue
            sse = [float(((s - s.mean(0)) ** 2).sum()) for s in (left, right)]
            scores.append(sum(sse) if cost == "sums of squares"
                          else sse[0] / len(left) + sse[1] / len(right))
        b = 1 + int(np.argmin(scores))
    return b - 1 if split == "last of first" else b


def change_point_inputs() -> list[tuple]:
    """Made-up states (T, N, D) that tell the known mistakes apart: two segments of unequal
    length and spread, with a short burst of noise inside the longer one."""
    inputs = []
    for seed, (t, b) in enumerate([(12, 3), (16, 11), (10, 6)]):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(t, 3, 4, generator=g)
        x[b:] += 2.0                                  # the second segment's mean moves
        x[:b] *= 0.3                                  # the first is tight
        x[b + 1] += 3.0 * torch.randn(3, 4, generator=g)  # one frame far off in the second
        inputs.append((x,))
    return inputs


CHANGE_POINT = Piece("the change point", reference=library_change_point,
                     inputs=change_point_inputs, mistakes=[
    Mistake("it returns the last frame of the first segment: the split b is the first frame of "
            "the second, states[:b] | states[b:]", partial(change_point, split="last of first")),
    Mistake("it splits at the largest jump between neighbouring frames: one odd frame makes a "
            "jump; sum the squared distances of every frame to its segment's mean",
            partial(change_point, cost="largest jump")),
    Mistake("it divides each segment's sum of squares by its length: a long segment's spread "
            "must weigh more than a short one's", partial(change_point, cost="mean squares")),
    Mistake("it maximises the distance between the two means without weighing the segments' "
            "lengths: minimise the sums of squares instead", partial(change_point,
                                                                     cost="unweighted means")),
])
PIECES = [SWITCH_DELAY, CHANGE_POINT]


# -- the composite clips, run through the models -----------------------------------------------

SHORT = {"sit_down": "sit", "stand_up": "stand", "pick_up_cup": "pick", "put_down_cup": "put",
         "drink": "drink", "wave": "wave", "jump": "jump", "walk_left": "walkL",
         "walk_right": "walkR"}


def row(predictions) -> str:
    """Per-frame class indices (T,) -> their short names in columns of 5: "sit   sit   drink"."""
    return " ".join(f"{SHORT[CLASSES[int(k)]]:<5}" for k in predictions).rstrip()


def flat(clips: dict) -> tuple:
    """online.composite_clips' {pair: (videos, labels, boundaries)} -> videos (N, T, 3, H, W),
    labels (N, T), boundaries (N,) long, pairs: each clip's "first > second"."""
    videos = torch.cat([v for v, _, _ in clips.values()])
    labels = torch.cat([y for _, y, _ in clips.values()])
    bounds = torch.tensor([b for _, _, bs in clips.values() for b in bs])
    pairs = [f"{a} > {b}" for (a, b), (v, _, _) in clips.items() for _ in range(len(v))]
    return videos, labels, bounds, pairs


def at(bounds: torch.Tensor, num_frames: int) -> torch.Tensor:
    """boundaries (N,) -> a bool mask (N, T), True at each clip's boundary: recur's resets."""
    return torch.arange(num_frames)[None] == bounds[:, None]


@torch.no_grad()
def run(model, videos: torch.Tensor, resets: torch.Tensor | None = None,
        memory: bool = True) -> dict:
    """videos (N, T, 3, H, W) through a model one frame at a time -> {"logits": (N, T, K) head(f_t),
    "states": an RViT's top-layer hidden state after each frame (N, T, tokens, D), a ViT's
    per-frame feature (N, T, D)}. resets (N, T) bool: the state goes back to zeros before those
    frames; memory=False: before every frame (the same model with its memory switched off)."""
    model.eval()
    if not isinstance(model, RViT):
        features = model.forward_features(videos)
        return {"logits": model.head(features), "states": features}
    if not memory:
        n, t = videos.shape[:2]
        out = run(model, videos.flatten(0, 1)[:, None])  # every frame a clip of its own
        return {key: value.unflatten(0, (n, t)).squeeze(2) for key, value in out.items()}
    top, states = len(model.blocks) - 1, []

    def keep_top(t, layer, x, h, y):
        if layer == top:
            states.append(y.float())

    features, _ = model.recur(videos, resets=resets, observe=keep_top)
    return {"logits": model.head(features), "states": torch.stack(states, 1)}


def shown(clips: dict, seed: int = 0) -> torch.Tensor:
    """The action each frame of composite_clips(..., seed=seed)'s clips shows (N, T), in flat()'s
    order: the first action's, then the second's once its figure starts to move."""
    rows = []
    for pair, (videos, _, _) in clips.items():
        for i in range(len(videos)):
            onsets = motion_onsets(list(pair), videos.shape[1], seed + i)
            rows.append(shown_labels(list(pair), onsets, videos.shape[1]))
    return torch.stack(rows)


def memory_curves(carried: torch.Tensor, reset: torch.Tensor, bounds: torch.Tensor,
                  frames: int = 6) -> torch.Tensor:
    """How much of the state after the boundary comes from before it: states (N, T, ...) with
    the state carried and reset at the boundary -> |h_t - h_t(reset)| / |h_t| at
    t = boundary + k, k = 0 .. frames - 1, per clip (N, frames)."""
    rows = torch.arange(len(bounds))[:, None]
    t = bounds[:, None] + torch.arange(frames)[None]
    if int(t.max()) >= carried.shape[1]:
        raise ValueError(f"a clip of {carried.shape[1]} frames with its boundary at frame "
                         f"{int(bounds.max())} has fewer than {frames} frames after it")
    h, fresh = carried[rows, t].flatten(2), reset[rows, t].flatten(2)
    return (h - fresh).norm(dim=-1) / h.norm(dim=-1)


def lag_contrast(states: torch.Tensor, bounds: torch.Tensor, lags=range(1, 6)) -> torch.Tensor:
    """The block contrast at matched lags: states (N, T, ...) of N clips, their boundaries (N,)
    -> (N, len(lags)): for each clip and lag d, the mean cosine similarity of the states of
    frames t and t + d on the same side of the boundary minus that of frames t and t + d on
    opposite sides. Both means compare frames d apart, so a state that merely changes slowly
    (nearby frames alike whatever the action) gives 0."""
    x = torch.nn.functional.normalize(states.flatten(2).double(), dim=-1)
    out = []
    for d in lags:
        if not 1 <= d < x.shape[1] - 1:
            raise ValueError(f"lags must be 1 to T - 2 = {x.shape[1] - 2} frames, got {d}")
        sim = (x[:, :-d] * x[:, d:]).sum(-1)                  # cos(t, t + d): (N, T - d)
        t = torch.arange(sim.shape[1])[None]
        across = ((t < bounds[:, None]) & (t + d >= bounds[:, None])).double()
        within = 1 - across
        if bool((within.sum(1) == 0).any()):
            raise ValueError(f"at lag {d} a clip has no two frames on one side of its boundary")
        out.append((sim * within).sum(1) / within.sum(1) - (sim * across).sum(1) / across.sum(1))
    return torch.stack(out, 1).float()


def change_points(states: torch.Tensor, bounds: torch.Tensor, find=library_change_point) -> torch.Tensor:
    """|found - true| boundary in frames per clip (N,), found by `find` on states (N, T, ...)."""
    return torch.tensor([abs(find(s) - int(b)) for s, b in zip(states, bounds)], dtype=torch.float)


def change_point_errors(videos: torch.Tensor, bounds: torch.Tensor, states: dict) -> dict:
    """|found - true| boundary in frames per clip (N,), the change point found from each of
    `states` {name: (N, T, ...)}, from the pixels of videos (N, T, 3, H, W), and the constant
    guess of the clip's middle frame."""
    return {**{name: change_points(s, bounds) for name, s in states.items()},
            "pixels": change_points(videos, bounds),
            "middle frame": (bounds - videos.shape[1] // 2).abs().float()}


def frames_of_second(bounds: torch.Tensor, num_frames: int, start: int = 0,
                     stop: int | None = None) -> torch.Tensor:
    """A bool mask (N, T): the frames boundary + start .. boundary + stop - 1 of each clip (stop
    None: to the end), frames of the second action."""
    t = torch.arange(num_frames)[None] - bounds[:, None]
    return (t >= start) & (t < (num_frames if stop is None else stop))


def accuracy(predictions: torch.Tensor, labels: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Per clip, the share of `frames` (N, T) bool whose prediction is the label -> (N,)."""
    return ((predictions == labels) & frames).sum(1) / frames.sum(1)


def settled(delays: list, within: int = 3) -> torch.Tensor:
    """Switch delays per clip (None: never settles) -> (N,) 1.0 where the delay is at most
    `within` frames, else 0.0."""
    return torch.tensor([float(d is not None and d <= within) for d in delays])


def named(predictions: torch.Tensor, frames: torch.Tensor) -> str:
    """What the predictions name on `frames` (N, T) bool, commonest first: "drink 142, wave 3"."""
    counts = torch.bincount(predictions[frames], minlength=len(CLASSES))
    order = counts.argsort(descending=True, stable=True)
    return ", ".join(f"{CLASSES[k]} {int(counts[k])}" for k in order if counts[k])


def per_pair(after, before, pairs: list) -> dict:
    """{pair: paired(after, before) on that pair's clips}, pairs in their first order."""
    after, before = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    out = {}
    for pair in dict.fromkeys(pairs):
        rows = [i for i, p in enumerate(pairs) if p == pair]
        out[pair] = paired(after[rows], before[rows])
    return out


def by_pair(after, before, pairs: list, scale: float = 100.0, unit: str = " points",
            digits: int = 1) -> str:
    """Paired differences after - before per pair of actions, each with its bootstrap interval,
    one line per pair."""
    return "\n".join(f"  {pair:<22} " + f"{scale * m:+.{digits}f}{unit} [{scale * lo:+.{digits}f}, "
                     f"{scale * hi:+.{digits}f}]"
                     for pair, (m, lo, hi) in per_pair(after, before, pairs).items())


def settled_rows(delays: dict, pairs: list, within: int = 3) -> str:
    """{recogniser: switch delays per clip (None: never)} -> a text table: per pair and over all
    clips, the clips settled within `within` frames, k/n and the Wilson interval in %."""
    names, order = list(delays), list(dict.fromkeys(pairs))
    hits = {n: settled(delays[n], within) for n in names}
    width = max(len(p) for p in order) + 1
    lines = [f"{'':<{width}}" + "".join(f"{n:>17}" for n in names)]
    for pair in order + ["all clips"]:
        rows = [i for i, p in enumerate(pairs) if p == pair or pair == "all clips"]
        cells = []
        for n in names:
            k = int(hits[n][rows].sum())
            lo, hi = wilson(k, len(rows))
            cells.append(f"{k}/{len(rows)} [{100 * lo:.0f}-{100 * hi:.0f}]")
        lines.append(f"{pair:<{width}}" + "".join(f"{c:>17}" for c in cells))
    return "\n".join(lines)


def draw_settled(delays: dict, pairs: list, within: int = 3):
    """The share of each pair's clips settled within `within` frames, per recogniser, with
    Wilson intervals (95 %); a pyplot figure."""
    names, order = list(delays), list(dict.fromkeys(pairs))
    fig, ax = plt.subplots(figsize=(10, 3.6), layout="constrained")
    for j, name in enumerate(names):
        hits = settled(delays[name], within)
        shares, lows, highs = [], [], []
        for pair in order:
            rows = [i for i, p in enumerate(pairs) if p == pair]
            k = int(hits[rows].sum())
            lo, hi = wilson(k, len(rows))
            shares.append(k / len(rows))
            lows.append(k / len(rows) - lo)
            highs.append(hi - k / len(rows))
        x = np.arange(len(order)) + (j - (len(names) - 1) / 2) * 0.14
        ax.errorbar(x, shares, yerr=[lows, highs], fmt="o", ms=4, capsize=2, color=f"C{j}",
                    label=name)
    ax.set_xticks(range(len(order)), [p.replace(" > ", "\n> ") for p in order], fontsize=8)
    ax.set_ylabel(f"share of clips, delay <= {within}")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"switch delay at most {within} frames, per pair of 20 clips "
                 "(bars: Wilson 95 % intervals)", fontsize=10)
    ax.legend(fontsize=8, ncol=len(names), loc="lower center", bbox_to_anchor=(0.5, 1.1))
    return fig


def draw_lag_contrast(curves: dict, lags=range(1, 6)):
    """{source: per-clip lag contrasts (N, len(lags))} -> their means against the lag, each with
    the 95 % bootstrap interval of the mean; a pyplot figure."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
    lags = list(lags)
    colours = {}
    for j, (name, c) in enumerate(curves.items()):
        source = name.split(",")[0]
        colour = "0.45" if name == "pixels" else colours.setdefault(source, f"C{len(colours)}")
        mean = c.mean(0).numpy()
        ends = np.array([paired(c[:, i], np.zeros(len(c)))[1:] for i in range(len(lags))])
        ax.errorbar(np.array(lags) + (j - (len(curves) - 1) / 2) * 0.05, mean,
                    yerr=[mean - ends[:, 0], ends[:, 1] - mean], fmt="o", ms=4, capsize=2,
                    color=colour, ls=":" if "off" in name or name == "pixels" else "-",
                    label=name)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(lags)
    ax.set_xlabel("lag d: frames between the two states compared")
    ax.set_ylabel("cos within - cos across")
    ax.set_title("lag-matched block contrast, mean over the clips (95 % intervals)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def lag_table(curves: dict, lags=range(1, 6)) -> str:
    """{source: per-clip lag contrasts (N, len(lags))} -> their means, one row per source."""
    width = max(len(n) for n in curves) + 2
    lines = [f"{'lag d':<{width}}" + "".join(f"{d:>7}" for d in lags)]
    lines += [f"{n:<{width}}" + "".join(f"{v:>+7.2f}" for v in c.mean(0).tolist())
              for n, c in curves.items()]
    return "\n".join(lines)


def draw_memory(curves: dict):
    """{model: |h - h(reset)| / |h| per clip (N, k)} -> the mean curve of each with the band of
    the middle half of the clips; the memoryless frame ViT's 0 for reference; a pyplot figure."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
    for j, (name, c) in enumerate(curves.items()):
        low, high = c.quantile(torch.tensor([0.25, 0.75]), dim=0)
        untrained = name.startswith("untrained")
        ax.plot(c.mean(0), "o-" if not untrained else ".:", color=f"C{j}",
                label=f"{name} (mean)")
        if not untrained:
            ax.fill_between(range(c.shape[1]), low, high, color=f"C{j}", alpha=0.2)
    ax.plot([0, curves[name].shape[1] - 1], [0, 0], "s--", color="k", lw=1.5,
            label="vit_online (no state): 0")
    ax.set_xlabel("frames after the boundary, k")
    ax.set_ylabel("|h - h(reset)| / |h|")
    ax.set_title("how much of the state comes from before the boundary", fontsize=10)
    ax.set_ylim(-0.05, None)
    ax.legend(fontsize=7)
    return fig


# -- the exercises' predictions ---------------------------------------------------------------

@functools.cache
def late_reset_effect(late: int = 2) -> float:
    """rvit_online's accuracy on the second action's frames, with its state reset `late` frames
    after the boundary minus never reset, on the 120 composite clips (seeds 0 to 19)."""
    videos, labels, bounds, _ = flat(composite_clips(clips_per_pair=20, num_frames=16, seed=0))
    model = shipped("rvit_online")
    after = torch.arange(videos.shape[1])[None] >= bounds[:, None]
    right = {}
    for name, resets in (("never", None), ("late", at(bounds + late, videos.shape[1]))):
        pred = run(model, videos, resets)["logits"].argmax(-1)
        right[name] = ((pred == labels) & after).sum(1) / after.sum(1)
    return float((right["late"] - right["never"]).mean())


def late_reset_answer(late: int = 2, margin: float = 0.02) -> str:
    effect = late_reset_effect(late)
    return "within 2 points" if abs(effect) <= margin else ("up" if effect > 0 else "down")


LATE_RESET = Prediction(
    "a reset 2 frames after the boundary", choices=("up", "down", "within 2 points"),
    truth=late_reset_answer,
    why="the reset at the boundary forgot the first action; 2 frames later it also forgets "
        "what the model has seen of the second: measure it with run(..., resets=at(bounds + 2, T))")


# -- the playground ---------------------------------------------------------------------------

BOUNDARY_MODELS = ("rvit", "rvit_online", "vit_online")
PAIRS = [f"{a} > {b}" for a, b in COMPOSITES]


@functools.cache
def _composite(pair: str, boundary: int, num_frames: int = 16, seed: int = 0):
    actions = pair.split(" > ")
    return composite_clip(actions, num_frames, 32, seed,
                          lengths=[boundary, num_frames - boundary])


@torch.no_grad()
def _states_and_predictions(name: str, video: torch.Tensor):
    """A model's per-frame predictions (T,) and the states it reads them from (T, ...): an
    RViT's top-layer hidden state, the frame ViT's per-frame feature."""
    model = shipped(name)
    if hasattr(model, "blocks") and name.startswith("rvit"):
        out = trace(model, video)
        return out["frame_logits"].argmax(-1), out["states"]
    return model.frame_logits(video[None])[0].argmax(-1), model.forward_features(video[None])[0]


def delay_text(delay) -> str:
    return "never (it does not settle)" if delay is None else f"{delay} frame{'s' * (delay != 1)}"


def draw_boundary(pair: str = PAIRS[0], boundary: int = 8) -> Figure:
    video, labels, _ = _composite(pair, boundary)
    fig = figure(11, 5.2)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1])
    axes = top.subplots(1, len(BOUNDARY_MODELS), sharey=True)
    sims = bottom.subplots(1, len(BOUNDARY_MODELS) + 1)
    shown_classes = sorted(set(labels.tolist()))
    for name, ax, sim_ax in zip(BOUNDARY_MODELS, axes, sims[1:]):
        pred, states = _states_and_predictions(name, video)
        delay = two_sided_switch_delay(pred, labels)
        ax.step(range(len(labels)), labels, "k-", where="mid", lw=2, label="true")
        ax.plot(pred, "o", color="C1", ms=5, label="predicted")
        ax.axvline(boundary - 0.5, color="0.6", ls="--")
        ax.set_title(f"{name}: switch delay {delay_text(delay)}", fontsize=9)
        ax.set_xlabel("frame")
        ax.set_xticks(range(0, len(labels), 2))
        shown_classes = sorted(set(shown_classes) | set(pred.tolist()))
        sim = viz.cosine_similarity_matrix(states)
        sim_ax.imshow(sim.numpy(), cmap="viridis", vmin=-0.25, vmax=1)
        sim_ax.axhline(boundary - 0.5, color="w", lw=1)
        sim_ax.axvline(boundary - 0.5, color="w", lw=1)
        sim_ax.set_title(("state" if name.startswith("rvit") else "feature") + " similarity",
                         fontsize=8)
        sim_ax.set_xticks([])
        sim_ax.set_yticks([])
    axes[0].set_yticks(shown_classes, [CLASSES[k] for k in shown_classes], fontsize=8)
    axes[0].legend(fontsize=7, loc="center left")
    top.suptitle("switch delay: frames between the last one naming the first action (before "
                 "the boundary) and naming the second for good", fontsize=9)
    sims[0].imshow(viz.to_image(torch.cat([video[boundary - 1], video[boundary]], 2)))
    sims[0].set_title(f"frames {boundary - 1} | {boundary}", fontsize=8)
    sims[0].axis("off")
    return fig


def playground(live=None):
    """06: choose a pair of actions and the frame where the second begins: each model's
    per-frame prediction, its switch delay (counting the wrong frames just before the boundary
    too), and the cosine similarity of its states over the clip (clip-trained rvit,
    stream-trained rvit_online, and the memoryless vit_online)."""
    return make_playground("boundary", draw_boundary, {
        "boundary": slider("boundary frame", 3, 13), "pair": dropdown("actions", PAIRS)}, live)
