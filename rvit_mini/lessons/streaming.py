"""Notebook 05, streaming and variable length: its playground (a stream played frame by frame,
RViT against its rivals)."""

import functools

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..data import CLASSES, StickStreams
from ..online import Recurrent, Window, predict_stream
from . import viz
from .widgets import Picture, figure, shipped, slider
from .widgets import playground as make_playground

RIVALS = ("rvit_online", "rvit", "vit_online", "cvit_online@w8")


@functools.cache
def _stream(num_frames: int = 96, seed: int = 1):
    streams = StickStreams("test", num_frames=num_frames, num_streams=1, action_frames=(8, 8),
                           seed=seed)
    return streams[0]


def _recogniser(spec: str):
    name, _, window = spec.partition("@w")
    return Window(shipped(name), int(window)) if window else Recurrent(shipped(name))


@functools.cache
def stream_predictions(spec: str, resets: tuple = ()) -> torch.Tensor:
    """A rival's per-frame predictions (T,) on the playground's stream; `resets`: frames
    before which a recurrent rival's state is zeroed."""
    video, _ = _stream()
    rec = _recogniser(spec)
    resets = resets if hasattr(rec, "forget") else ()
    return predict_stream(rec, video, list(resets) or None).argmax(-1)


def draw_stream(frame: int = 20, resets: tuple = ()) -> Figure:
    video, labels = _stream()
    fig = figure(11, 3.4)
    now, timeline = fig.subplots(1, 2, width_ratios=[0.9, 3])
    now.imshow(viz.to_image(video[frame]))
    now.set_title(f"frame {frame}: {CLASSES[labels[frame]]}", fontsize=9)
    now.axis("off")
    timeline.step(range(len(labels)), labels, "k-", where="mid", lw=2, label="true action")
    lines = []
    for k, spec in enumerate(RIVALS):
        pred = stream_predictions(spec, resets)
        ok = "right" if pred[frame] == labels[frame] else "wrong"
        timeline.plot(range(frame + 1), pred[:frame + 1] + 0.12 * (k - 1.5), ".", ms=4,
                      color=f"C{k}", label=spec)
        lines.append(f"{spec}: {CLASSES[pred[frame]]} ({ok})")
    for t in resets:
        timeline.axvline(t - 0.5, color="C3", ls=":", lw=1.5)
    timeline.axvline(frame, color="0.5", lw=1)
    timeline.set_xlim(-0.5, len(labels) - 0.5)
    timeline.set_yticks(range(len(CLASSES)), CLASSES, fontsize=7)
    timeline.set_xlabel("frame" + ("  (dotted: state reset)" if resets else ""))
    timeline.set_title("; ".join(lines), fontsize=8)
    timeline.legend(fontsize=7, loc="upper left", ncols=5, bbox_to_anchor=(0, -0.18),
                    frameon=False)
    return fig


def playground(live=None):
    """05: play a stream of 8-frame actions frame by frame (Play, or drag the frame): each
    rival names the action now, from what it has seen so far; "Reset state" zeroes the
    recurrent models' state at the current frame, as a restarted stream would."""
    resets = []
    last = len(_stream()[1]) - 1

    def draw(frame: int = 20) -> Figure:
        return draw_stream(frame, tuple(sorted(resets)))

    def controls(redraw, values):
        play = widgets.Play(value=values()["frame"], min=0, max=last, step=1, interval=500,
                            description="play")
        reset = widgets.Button(description="Reset state")
        clear = widgets.Button(description="Clear resets")

        def add_reset(_):
            resets.append(values()["frame"])
            redraw()

        def clear_resets(_):
            resets.clear()
            redraw()

        reset.on_click(add_reset)
        clear.on_click(clear_resets)
        return [play, reset, clear]

    box = make_playground("stream", draw, {"frame": slider("frame", 0, last)}, live, controls)
    if isinstance(box, Picture):
        return box
    frame_slider, play = box.children[0].children[:2]
    widgets.link((play, "value"), (frame_slider, "value"))
    return box
