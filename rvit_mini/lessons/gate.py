"""Notebook 02, the attention gate from scratch: its playground (edit a past frame, watch the
hidden states carry it)."""

import torch
from matplotlib.figure import Figure

from ..data import CLASSES
from . import viz
from .widgets import clip, dropdown, figure, shipped, slider
from .widgets import playground as make_playground

EDITS = ("blank", "noise", "another action's frame", "none")


def edited_clip(video: torch.Tensor, at: int, edit: str) -> torch.Tensor:
    """video (T, 3, H, W) with frame `at` replaced: blank (grey), noise, another action's frame
    (the same frame of the first 'jump' clip, or 'wave' for a jump), or none."""
    if edit not in EDITS:
        raise ValueError(f"edit must be one of {EDITS}, got {edit!r}")
    out = video.clone()
    if edit == "blank":
        out[at] = 0.5
    elif edit == "noise":
        out[at] = torch.rand(out[at].shape, generator=torch.Generator().manual_seed(at))
    elif edit == "another action's frame":
        other = clip("jump" if not torch.equal(video, clip("jump")[:len(video)]) else "wave")
        out[at] = other[at]
    return out


@torch.no_grad()
def layer_states(model, video: torch.Tensor, reset_before: int | None = None):
    """Stream video (T, 3, H, W) through an RViT: every layer's state after every frame
    (T, L, N, D) and the per-frame probabilities head(f_t) (T, K); reset_before: zero the
    state just before that frame."""
    states = []
    features, _ = model.recur(video[None], resets=None if reset_before is None else [reset_before],
                              observe=lambda t, layer, x, h, y: states.append(y[0]))
    return torch.stack(states).unflatten(0, (len(video), -1)), model.head(features[0]).softmax(-1)


def draw_gate_memory(action: str = "drink", edit: str = "blank", edited_frame: int = 2,
                     layer: int = 3) -> Figure:
    model = shipped("rvit")
    video = clip(action)[:model.cfg.num_frames]
    edited = edited_clip(video, edited_frame, edit)
    _, probs = layer_states(model, video)
    # each edited run against the clip as shot, run the same way
    runs = {"edited": (layer_states(model, edited), layer_states(model, video)),
            "both with h reset after the edit": (layer_states(model, edited, edited_frame + 1),
                                                 layer_states(model, video, edited_frame + 1))}
    fig = figure(11, 3.3)
    pics, change, belief = fig.subplots(1, 3, width_ratios=[0.8, 1.3, 1.3])
    pics.imshow(viz.to_image(torch.cat([video[edited_frame], edited[edited_frame]], 2)))
    pics.set_title(f"frame {edited_frame}\nas shot | {edit}", fontsize=9)
    pics.axis("off")
    ts = range(len(video))
    belief.plot(ts, probs[:, CLASSES.index(action)], "k.-", label="as shot")
    for (name, ((s, p), (s0, _))), style in zip(runs.items(), ("o-", "s--")):
        s, s0 = s[:, layer - 1].flatten(1), s0[:, layer - 1].flatten(1)
        change.plot(ts, (s - s0).norm(dim=1) / s0.norm(dim=1), style, label=name)
        belief.plot(ts, p[:, CLASSES.index(action)], style, label=name)
    for ax in (change, belief):
        ax.axvline(edited_frame, color="0.6", lw=4, alpha=0.4)
        ax.set_xlabel("frame t")
        ax.set_xticks(ts)
    change.set_ylim(bottom=0)
    change.set_ylabel(r"$|h_t - h_t(\mathrm{as\ shot})|\ /\ |h_t|$")
    change.set_title(f"layer {layer}'s hidden state: the change the edit leaves", fontsize=9)
    change.legend(fontsize=8)
    belief.set_ylim(0, 1.02)
    belief.set_ylabel(f"p({action})")
    belief.set_title("rvit's per-frame prediction of the true action", fontsize=9)
    belief.legend(fontsize=8)
    return fig


def playground(live=None):
    """02: edit one past frame of a clip and pick a layer: the shipped RViT's hidden state
    carries the change to every later frame, and resetting h after the edit removes it."""
    depth = shipped("rvit").cfg.depth
    return make_playground("gate_memory", draw_gate_memory, {
        "action": dropdown("clip", CLASSES), "edit": dropdown("edit", EDITS),
        "edited_frame": slider("edited frame", 0, shipped("rvit").cfg.num_frames - 2),
        "layer": slider("layer", 1, depth)}, live)
