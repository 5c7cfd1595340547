"""Notebook 06, the hidden state across an action boundary: its playground (an action pair, its
boundary, three models' answers)."""

import functools

import torch
from matplotlib.figure import Figure

from ..data import CLASSES, COMPOSITES, composite_clip
from ..execution.stream import trace
from ..online import switch_delay
from . import viz
from .widgets import dropdown, figure, shipped, slider
from .widgets import playground as make_playground

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


def draw_boundary(pair: str = PAIRS[0], boundary: int = 8) -> Figure:
    video, labels, _ = _composite(pair, boundary)
    second = labels[-1].item()
    fig = figure(11, 5.2)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1])
    axes = top.subplots(1, len(BOUNDARY_MODELS), sharey=True)
    sims = bottom.subplots(1, len(BOUNDARY_MODELS) + 1)
    shown = sorted({labels[0].item(), second})
    for name, ax, sim_ax in zip(BOUNDARY_MODELS, axes, sims[1:]):
        pred, states = _states_and_predictions(name, video)
        delay = switch_delay(pred, boundary, second)
        ax.step(range(len(labels)), labels, "k-", where="mid", lw=2, label="true")
        ax.plot(pred, "o", color="C1", ms=5, label="predicted")
        ax.axvline(boundary - 0.5, color="0.6", ls="--")
        ax.set_title(f"{name}: switch delay "
                     + ("never" if delay is None else f"{delay} frame{'s' * (delay != 1)}"),
                     fontsize=9)
        ax.set_xlabel("frame")
        ax.set_xticks(range(0, len(labels), 2))
        shown = sorted(set(shown) | set(pred.tolist()))
        sim = viz.cosine_similarity_matrix(states)
        sim_ax.imshow(sim.numpy(), cmap="viridis", vmin=-0.25, vmax=1)
        sim_ax.axhline(boundary - 0.5, color="w", lw=1)
        sim_ax.axvline(boundary - 0.5, color="w", lw=1)
        sim_ax.set_title(("state" if name.startswith("rvit") else "feature") + " similarity",
                         fontsize=8)
        sim_ax.set_xticks([])
        sim_ax.set_yticks([])
    axes[0].set_yticks(shown, [CLASSES[k] for k in shown], fontsize=8)
    axes[0].legend(fontsize=7, loc="center left")
    sims[0].imshow(viz.to_image(torch.cat([video[boundary - 1], video[boundary]], 2)))
    sims[0].set_title(f"frames {boundary - 1} | {boundary}", fontsize=8)
    sims[0].axis("off")
    return fig


def playground(live=None):
    """06: choose a pair of actions and the frame where the second begins: each model's
    per-frame prediction, its switch delay, and the cosine similarity of its states over the
    clip (clip-trained rvit, stream-trained rvit_online, and the memoryless vit_online)."""
    return make_playground("boundary", draw_boundary, {
        "boundary": slider("boundary frame", 3, 13), "pair": dropdown("actions", PAIRS)}, live)
