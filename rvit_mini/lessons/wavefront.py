"""Notebook 07, the recurrence and its cost: its playground (the sequential and wavefront
schedules, step by step)."""

import numpy as np
from matplotlib.figure import Figure

from . import viz
from .schedules import sequential_schedule, wavefront_schedule
from .widgets import Picture, figure, slider
from .widgets import playground as make_playground


def draw_schedule(layers: int = 4, frames: int = 6, step: int = 5) -> Figure:
    step = min(step, layers * frames - 1)
    fig = figure(11, 0.45 * layers + 2.2)
    axes = fig.subplots(1, 2)
    for ax, (name, schedule) in zip(axes, (
            ("sequential", sequential_schedule(layers, frames)),
            ("wavefront", wavefront_schedule(layers, frames)))):
        done = int((schedule <= step).sum())
        viz.plot_schedule(schedule, ax, f"{name}: {int(schedule.max()) + 1} steps; after step "
                          f"{step}, {done} of {layers * frames} cells done")
        ax.imshow(np.where(schedule.numpy() > step, 1.0, np.nan), origin="lower", cmap="gray",
                  vmin=0, vmax=1, alpha=0.8)  # cells still to run: greyed out
        ax.title.set_fontsize(9)
    return fig


def playground(live=None):
    """Choose L gates and T frames and step through both schedules: the sequential loop
    runs one cell a step (T x L steps), the wavefront a whole anti-diagonal (T + L - 1)."""
    box = make_playground("schedule", draw_schedule, {
        "step": slider("step", 0, 95), "layers": slider("L (gates)", 1, 8),
        "frames": slider("T (frames)", 1, 12)}, live)
    if isinstance(box, Picture):
        return box
    step, layers, frames = box.children[0].children

    def limit(_):
        step.max = layers.value * frames.value - 1

    layers.observe(limit, names="value")
    frames.observe(limit, names="value")
    limit(None)
    return box
