"""Rivals on the same streams: what a recogniser costs per frame, compare(), rivals by name,
and the table."""

import statistics
import time

import torch
from torch import nn

from ..common.text import figure, printable
from ..data import CLASSES, StickStreams
from ..execution.memory import MemoryTracker, tensor_bytes
from ..model import CViT
from ..training.loading import CHECKPOINTS, load_pretrained
from .boundaries import composite_clips, switch_delays
from .metrics import stream_metrics
from .recognisers import (
    Constant,
    Recurrent,
    Window,
    as_recogniser,
    in_data_order,
    oracle_resets,
    predict_stream,
)


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
            "state_bytes": tensor_bytes(rec.held()), "peak_bytes": tracker.peak}


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
        logits = in_data_order(rec, logits, getattr(streams, "classes", None))
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
    any row has; "-" where a row has none (no cost for the "shown" ceiling) or where a figure is
    undefined (NaN: the spread over one stream, a metric of no frames)."""
    keys = [k for k in COLUMNS if any(k in row for row in rows)] if columns is None else columns
    lines = ["| " + " | ".join(["", *(COLUMNS[k][0] for k in keys)]) + " |",
             "|---" + "|--:" * len(keys) + "|"]
    for row in rows:
        cells = [figure(row[k] / 1024 if k.endswith("bytes") else row[k], COLUMNS[k][1])
                 if k in row else "-" for k in keys]
        lines.append("| " + " | ".join([printable(row["name"]), *cells]) + " |")
    return "\n".join(lines)


def rival_from(model):
    """A loaded model as a rival: a CViT over windows as long as its time embeddings, any
    other model frame by frame (Recurrent)."""
    return Window(model, model.cfg.num_frames) if isinstance(model, CViT) else Recurrent(model)


def rival(spec: str, majority: int | None = None, root=CHECKPOINTS):
    """A rival by name: "majority" (always class `majority`); a shipped model ("rvit",
    "trecvit", "vit": Recurrent; "cvit": Window over the frames it was trained on);
    "rvit@reset", "trecvit_online@reset" (oracle reset);
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
                     clips_per_pair: int = 0, root=CHECKPOINTS,
                     extra: dict | None = None) -> list[dict]:
    """The rivals `names` (see rival(); "shown": shown_row, the ceiling) on the same
    StickStreams -> compare() rows, in the order named. The majority class is majority_class()
    of streams of the same kind. With clips_per_pair, each recogniser's rows also say in what
    share of the composite clips (composite_clips(clips_per_pair, seed=seed)) it settles on the
    second action within 3 frames, over all pairs and in its worst pair. extra: {name:
    recogniser} of rivals not shipped (rival_from(load_checkpoint(path))), after the named."""
    if not names and not extra:
        raise ValueError("name at least one rival (e.g. rvit_online, majority, shown)")
    majority = majority_class(num_frames, action_frames, seed) if "majority" in names else None
    rivals = {name: rival(name, majority, root) for name in names if name != "shown"}
    streams = StickStreams(split, num_frames, seed=seed, num_streams=num_streams,
                           action_frames=action_frames)
    rivals.update(extra or {})
    rows = {row["name"]: row for row in compare(rivals, streams, batch_size)}
    if "shown" in names:
        rows["shown"] = shown_row(streams)
    clips = composite_clips(clips_per_pair, seed=seed) if clips_per_pair else None
    for name, rec in rivals.items() if clips else ():
        settled = [row["settled"] for row in switch_delays(rec, clips)]
        rows[name].update(settled=sum(settled) / len(settled), worst_pair=min(settled))
    return [rows[name] for name in [*names, *(extra or {})]]
