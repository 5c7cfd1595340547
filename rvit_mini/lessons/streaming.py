"""Notebook 05, streaming and variable length: the pieces the student writes (the streaming
loop, the per-frame loss with truncated BPTT, and, as an exercise, a stream with resets), their
checks and known mistakes, a prediction, the claims about the rivals, and the playground (a
stream played frame by frame, RViT against its rivals, each on its own row)."""

import functools
from functools import partial

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ..data import CLASSES, StickStreams
from ..execution.stream import StreamingClassifier
from ..model import create_model
from ..online import Recurrent, Window, predict_stream
from . import viz
from .check import Mistake, Piece, Prediction
from .evidence import claim  # noqa: F401  (the notebook's claims: rm.lessons.streaming.claim)
from .widgets import Picture, figure, shipped, slider
from .widgets import playground as make_playground


def rvit_inputs(shapes) -> list[tuple]:
    """A mini RViT of its own random weights (eval mode) and a random video, per (B, T)."""
    inputs = []
    for seed, (b, t) in enumerate(shapes):
        torch.manual_seed(seed)
        model = create_model("rvit").eval()
        g = torch.Generator().manual_seed(seed)
        inputs.append((model, torch.rand(b, t, 3, 32, 32, generator=g)))
    return inputs


# -- the first piece: the streaming loop --------------------------------------------------------

def library_stream(model, video):
    """rm.StreamingClassifier fed one frame at a time -> the logits so far (B, T, K)."""
    stream = StreamingClassifier(model)
    return torch.stack([stream.update(video[:, t]) for t in range(video.shape[1])], dim=1)


@torch.no_grad()
def stream_logits(model, video, carry: bool = True, mean: str = "so far",
                  axes: str = "batch, time"):
    """The streaming loop in plain torch, as the student writes it; the other arguments make
    the known mistakes: carry=False, mean="clip length" | "newest frame", axes="time, batch"."""
    if axes == "time, batch":
        video = video.transpose(0, 1)
    batch, frames = video.shape[:2]
    state, total, out = model.init_state(batch), 0, []
    for t in range(frames):
        f, new_state = model.step(video[:, t], state)  # f_t (B, D)
        state = new_state if carry else model.init_state(batch)
        total = total + f
        feature = {"so far": total / (t + 1), "clip length": total / frames,
                   "newest frame": f}[mean]
        out.append(model.head(feature))
    return torch.stack(out, dim=1)


STREAM = Piece(
    "the streaming loop", reference=library_stream,
    inputs=lambda: rvit_inputs([(2, 5), (1, 4)]), mistakes=[
        Mistake("the state is not carried: each frame starts from init_state, so the model "
                "remembers nothing (pass on the state that step returns)",
                partial(stream_logits, carry=False)),
        Mistake("the sum is divided by the clip's length T: after t + 1 frames, the mean of "
                "the features so far divides by t + 1", partial(stream_logits, mean="clip length")),
        Mistake("the logits are the newest frame's alone, head(f_t): the clip so far is "
                "head(mean of f_0 ... f_t)", partial(stream_logits, mean="newest frame")),
        Mistake("the batch and time axes are swapped: video is (B, T, C, H, W), frame t is "
                "video[:, t]", partial(stream_logits, axes="time, batch")),
    ])


# -- the second piece: the per-frame loss with truncated BPTT -----------------------------------

def gradients(model) -> dict:
    """{name: gradient} of every parameter (None where there is none)."""
    return {name: None if p.grad is None else p.grad.detach().clone()
            for name, p in model.named_parameters()}


def library_tbptt(model, video, labels, k):
    """The library's per-frame loss with truncated BPTT: model.recur(video, detach_every=k)
    (rm.training.loss_fn through a model with tbptt=k computes the same), then backward
    -> (the loss, {name: gradient})."""
    model.zero_grad(set_to_none=True)
    features, _ = model.recur(video, detach_every=k)  # f_t (B, T, D)
    loss = F.cross_entropy(model.head(features).flatten(0, 1), labels.flatten())
    loss.backward()
    return loss.detach(), gradients(model)


def tbptt_loss(model, video, labels, k, cut: str = "every k", carry: bool = True,
               logits: str = "per frame", shift: int = 0):
    """The per-frame loss with truncated BPTT in plain torch, as the student writes it; the other
    arguments make the known mistakes: cut="every frame" | "never", carry=False, logits="clip",
    shift=1."""
    model.zero_grad(set_to_none=True)
    batch, frames = video.shape[:2]
    state, out = model.init_state(batch), []
    for t in range(frames):
        new_chunk = t > 0 and t % k == 0
        if new_chunk and not carry:
            state = model.init_state(batch)  # a fresh state for every chunk
        elif cut == "every frame" or (cut == "every k" and new_chunk):
            state = [h.detach() for h in state]
        f, state = model.step(video[:, t], state)  # f_t (B, D)
        out.append(model.head(f))
    every = torch.stack(out, dim=1)  # head(f_t): (B, T, K)
    if logits == "clip":  # head(mean_t f_t) (B, K), compared with every frame's label
        every = every.mean(1, keepdim=True).expand(-1, frames, -1)
    if shift:  # frame t's logits against frame t + 1's label
        every, labels = every[:, :-shift], labels[:, shift:]
    loss = F.cross_entropy(every.flatten(0, 1), labels.flatten())
    loss.backward()
    return loss.detach(), gradients(model)


def tbptt_inputs() -> list[tuple]:
    """Mini RViTs of their own random weights (train mode) with random videos and per-frame
    labels: 6 frames cut every 3, and 7 frames cut every 3 (a last chunk of one frame)."""
    inputs = []
    for (model, video), k in zip(rvit_inputs([(2, 6), (1, 7)]), (3, 3)):
        g = torch.Generator().manual_seed(video.shape[1])
        labels = torch.randint(0, model.cfg.num_classes, video.shape[:2], generator=g)
        inputs.append((model.train(), video, labels, k))
    return inputs


TBPTT = Piece(
    "the per-frame loss with truncated BPTT", reference=library_tbptt, inputs=tbptt_inputs,
    mistakes=[
        Mistake("the state is detached at every frame: the gradient then reaches back no "
                "further than its own frame; cut it only before frames k, 2k, ...",
                partial(tbptt_loss, cut="every frame")),
        Mistake("the state is never detached: the gradient reaches back to the first frame; "
                "cut it (h.detach()) before frames k, 2k, ...", partial(tbptt_loss, cut="never")),
        Mistake("the state is reset at each chunk: carry it on (its values) and only cut its "
                "graph (detach), or every chunk forgets the stream before it",
                partial(tbptt_loss, carry=False)),
        Mistake("the loss is on the clip logits head(mean_t f_t), one prediction for the whole "
                "clip: every frame's own logits head(f_t) meet its own label",
                partial(tbptt_loss, logits="clip")),
        Mistake("the labels are shifted by one: frame t's logits are compared with frame t + 1's "
                "label; compare them with labels[:, t]", partial(tbptt_loss, shift=1)),
    ])


# -- an exercise: a stream whose state is reset where an action begins ---------------------------

def library_resets(model, video, starts):
    """rm.online.predict_stream with resets: every frame's logits head(f_t) (B, T, K)."""
    return predict_stream(model, video, resets=list(starts))


@torch.no_grad()
def stream_with_resets(model, video, starts, when: str = "before", read: str = "newest frame"):
    """Every frame's logits with the state zeroed at `starts`, as the student writes it; the
    other arguments make the known mistakes: when="after" | "never", read="so far"."""
    batch = video.shape[0]
    state, total, out = model.init_state(batch), 0, []
    for t in range(video.shape[1]):
        if t in starts and when == "before":
            state = model.init_state(batch)
        f, state = model.step(video[:, t], state)
        if t in starts and when == "after":
            state = model.init_state(batch)
        total = total + f
        out.append(model.head(f if read == "newest frame" else total / (t + 1)))
    return torch.stack(out, dim=1)


RESETS = Piece(
    "the stream with resets", reference=library_resets,
    inputs=lambda: [(*args, starts) for args, starts in zip(rvit_inputs([(2, 7), (1, 6)]),
                                                             ((3, 5), (2,)))],
    mistakes=[
        Mistake("the state is zeroed after the start frame: zero it before, so that the first "
                "frame of an action is read from a clean state", partial(stream_with_resets,
                                                                        when="after")),
        Mistake("the state is never zeroed: before each frame in `starts`, start from "
                "model.init_state again", partial(stream_with_resets, when="never")),
        Mistake("the logits are the clip's so far, head(mean of the features): each frame's own "
                "head(f_t) names the action now", partial(stream_with_resets, read="so far")),
    ])

PIECES = [STREAM, TBPTT, RESETS]


# -- a prediction: how far back the gradient reaches --------------------------------------------

REACH_CHOICES = ("all 10 frames", "frames 6 to 9", "frames 8 and 9", "frame 9 only")


def gradient_reach(tbptt: int = 4, frames: int = 10) -> str:
    """Which frames of a clip get a gradient from the last frame's logits, for a mini RViT with
    `tbptt`: read off the input's gradient, as one of REACH_CHOICES."""
    torch.manual_seed(0)
    model = create_model("rvit", tbptt=tbptt)
    clip = torch.rand(1, frames, 3, 32, 32, requires_grad=True)
    model.frame_logits(clip)[0, -1].sum().backward()
    reached = (clip.grad[0].flatten(1).abs().sum(1) > 0).nonzero().flatten().tolist()
    first = reached[0]
    return {0: REACH_CHOICES[0], 6: REACH_CHOICES[1], 8: REACH_CHOICES[2],
            9: REACH_CHOICES[3]}.get(first, f"frames {first} to {frames - 1}")


REACH = Prediction(
    "the frames the last frame's gradient reaches, tbptt=4, 10 frames", choices=REACH_CHOICES,
    truth=gradient_reach,
    why="the cut falls before frames 4 and 8: which chunk does frame 9 belong to?")


RIVALS = ("rvit_online", "rvit", "vit_online", "cvit_online@w8")


@functools.cache
def _stream(num_frames: int = 96, seed: int = 1):
    streams = StickStreams("test", num_frames=num_frames, num_streams=1, action_frames=(8, 8),
                           seed=seed)
    return streams[0]


def _recogniser(spec: str):
    name, _, window = spec.partition("@w")
    return Window(shipped(name), int(window)) if window else Recurrent(shipped(name))


def keeps_state(spec: str) -> bool:
    """Does the rival carry a state from frame to frame (an RViT), which a reset zeroes? A
    frame ViT keeps none, a window only its last frames."""
    return "@w" not in spec and bool(shipped(spec).init_state(1))


def stream_predictions(spec: str, resets: tuple = ()) -> torch.Tensor:
    """A rival's per-frame predictions (T,) on the playground's stream; `resets`: frames
    before which a recurrent rival's state is zeroed (a window keeps no state: it ignores them)."""
    return _predictions(spec, tuple(sorted(set(resets))) if keeps_state(spec) else ())


@functools.cache
def _predictions(spec: str, resets: tuple) -> torch.Tensor:
    video, _ = _stream()
    return predict_stream(_recogniser(spec), video, list(resets) or None).argmax(-1)


def draw_stream(frame: int = 60, resets: tuple = ()) -> Figure:
    """The frame now, and one row per rival: the true action (black), the rival's prediction
    for every frame so far (dots: green right, red wrong); with resets, the frames whose
    prediction the resets changed are shaded, and what it was without them drawn hollow."""
    video, labels = _stream()
    shown = sorted({int(c) for c in labels} | {int(c) for spec in RIVALS
                                               for c in stream_predictions(spec)})
    row = {c: i for i, c in enumerate(shown)}  # only the actions that occur, one line each
    fig = figure(11, 1.05 + 1.25 * len(RIVALS))
    grid = fig.add_gridspec(len(RIVALS), 2, width_ratios=[1, 4.2])
    now = fig.add_subplot(grid[:2, 0])
    now.imshow(viz.to_image(video[frame]))
    now.set_title(f"frame {frame} of {len(labels)}\ntrue: {CLASSES[labels[frame]]}", fontsize=9)
    now.axis("off")
    note = fig.add_subplot(grid[2:, 0])
    note.axis("off")
    note.text(0, 0.95, "red dotted line: the state\nzeroed before that frame\n\n"
              "shaded: a prediction the\n"
              "reset changed; hollow grey:\nwhat it was without it" if resets else
              "Reset state zeroes the\nrecurrent models' state\nbefore the frame shown:\nthe rows "
              "then show which\npredictions it changes", fontsize=8, va="top",
              transform=note.transAxes)
    upto = torch.arange(frame + 1)
    truth = [row[int(c)] for c in labels]
    for k, spec in enumerate(RIVALS):
        ax = fig.add_subplot(grid[k, 1])
        plain, pred = stream_predictions(spec), stream_predictions(spec, resets)
        changed = (plain != pred)[:frame + 1].nonzero().flatten().tolist()
        for t in changed:
            ax.axvspan(t - 0.5, t + 0.5, color="C1", alpha=0.25, lw=0)
        ax.step(range(len(labels)), truth, "k-", where="mid", lw=1.5)
        right = (pred == labels)[:frame + 1]
        ys = torch.tensor([row[int(c)] for c in pred[:frame + 1]])
        ax.scatter(upto[right], ys[right], s=9, color="tab:green", zorder=3)
        ax.scatter(upto[~right], ys[~right], s=9, color="tab:red", zorder=3)
        if changed:
            ax.scatter(changed, [row[int(plain[t])] for t in changed], s=16, facecolor="none",
                       edgecolor="0.45", zorder=3)
        for t in resets if keeps_state(spec) else ():
            ax.axvline(t - 0.5, color="C3", ls=":", lw=1.5)
        ax.axvline(frame, color="0.6", lw=1)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set_ylim(-0.7, len(shown) - 0.3)
        ax.set_yticks(range(len(shown)), [CLASSES[c] for c in shown], fontsize=6)
        ax.tick_params(axis="x", labelsize=7, labelbottom=k == len(RIVALS) - 1)
        hits = int(right.sum())
        title = (f"{spec}: now {CLASSES[pred[frame]]} ({'right' if right[-1] else 'wrong'}); "
                 f"{hits} of {frame + 1} frames so far right")
        if resets and not keeps_state(spec):
            title += "; it keeps no state: nothing to reset"
        elif resets:
            gained = sum(int(pred[t] == labels[t]) - int(plain[t] == labels[t]) for t in changed)
            title += (f"; the reset changed {len(changed)} prediction{'s' * (len(changed) != 1)}"
                      + (f": {abs(gained)} {'more' if gained > 0 else 'fewer'} right" if gained
                         else ""))
        ax.set_title(title, fontsize=8, loc="left")
    ax.set_xlabel("frame (black line: the true action; dots: the prediction, green right, red "
                  "wrong)", fontsize=8)
    return fig


def playground(live=None):
    """05: play a stream of 8-frame actions frame by frame (Play, or drag the frame): each
    rival names the action now, from what it has seen so far; "Reset state" zeroes the
    recurrent models' state at the current frame, as a restarted stream would."""
    resets = []
    last = len(_stream()[1]) - 1

    def draw(frame: int = 60) -> Figure:
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
