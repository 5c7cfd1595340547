"""Playgrounds: one per notebook, where a student changes an input and watches the models answer.

    rm.playgrounds.tokens()        # 01 a clip, a frame, a patch size -> its patches and tokens
    rm.playgrounds.gate_memory()   # 02 edit a past frame -> how the hidden states carry it
    rm.playgrounds.memory()        # 03 T, batch, depth, width, dtype -> CViT vs RViT memory
    rm.playgrounds.boundary()      # 04 an action pair and its boundary -> three models' answers
    rm.playgrounds.training()      # 05 a recipe and a few steps -> a live, stoppable training run
    rm.playgrounds.stream()        # 06 a stream played frame by frame -> RViT against its rivals
    rm.playgrounds.schedule()      # 07 L and T -> the sequential and wavefront schedules

Each returns an ipywidgets tree: its controls and an `Image` whose PNG bytes (drawn with
matplotlib, no pyplot state) are redrawn whenever a control changes, so the picture is a widget
value that plain Python can read. Only controls that ipywidgets 7.7 (Colab) and 8 share are
used. Where no widget frontend runs (RVIT_MINI_STATIC set, as the notebook tests do, or outside
a notebook kernel; see rm.viz.widget_frontend) a playground returns a `Picture` of its default
drawing instead, so a rendered notebook shows a plain PNG and holds no widget; `live=True`
builds the widgets anyway (the tests do). Each picture's default arguments are its defaults.
"""

import functools
import inspect
import io
import threading

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from . import cost, viz
from .accelerate import accelerate
from .analysis import switch_delay, trace
from .data import CLASSES, COMPOSITES, StickActions, StickStreams, composite_clip
from .memory import GiB, estimate_peak
from .online import Recurrent, Window, predict_stream
from .pretrained import load_pretrained
from .recipes import RECIPES
from .registry import create_model
from .train import evaluate, optimisation, train_step
from .weights import start_from

DPI = 72


# -- the machinery ------------------------------------------------------------------------------
class Picture:
    """A playground's default drawing, where no widget can be shown: a plain PNG output."""

    def __init__(self, name: str, png: bytes):
        self.name, self.png = name, png

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"the {self.name} playground's default picture (run the notebook to play)"


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, without a timestamp or version (the same drawing, the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _defaults(draw) -> dict:
    return {name: p.default for name, p in inspect.signature(draw).parameters.items()
            if p.default is not inspect.Parameter.empty}


def playground(name: str, draw, controls: dict, live=None, extras=None):
    """The widget tree: `controls` {argument of draw: function default -> widget}, each made
    with draw's default for its argument, and an Image of draw(**their values), redrawn when
    one changes. `extras`: function (redraw, values) -> widgets added after the controls
    (buttons that change what draw reads; values() gives the controls' values). Without a
    widget frontend (live=None), or with live=False: a Picture of draw()."""
    live = viz.widget_frontend() if live is None else live
    if not live:
        return Picture(name, png(draw()))
    defaults = _defaults(draw)
    made = {arg: make(defaults[arg]) for arg, make in controls.items()}
    image = widgets.Image(value=png(draw()), format="png")

    def values() -> dict:
        return {arg: w.value for arg, w in made.items()}

    def redraw(change=None):
        image.value = png(draw(**values()))

    for w in made.values():
        w.observe(redraw, names="value")
    row = widgets.HBox([*made.values(), *(extras(redraw, values) if extras else ())],
                       layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([row, image])


def _wide(description: str) -> dict:
    return {"description": description, "style": {"description_width": "initial"}}


def _slider(description, lo, hi, step=1):
    return lambda v: widgets.IntSlider(v, lo, hi, step, continuous_update=False,
                                       **_wide(description))


def _dropdown(description, options):
    return lambda v: widgets.Dropdown(options=options, value=v, **_wide(description))


def _checkbox(description):
    return lambda v: widgets.Checkbox(value=v, **_wide(description))


@functools.cache
def _model(name: str):
    return load_pretrained(name)


@functools.cache
def _clip(action: str, split: str = "test", num_frames: int = 16) -> torch.Tensor:
    """The first clip of `action` in StickActions(split): (T, 3, 32, 32)."""
    return StickActions(split, num_frames=num_frames)[CLASSES.index(action)][0]


# -- 01 ------------------------------------------------------------------------------------------
def patch_tokens(frame: torch.Tensor, patch_size: int) -> torch.Tensor:
    """frame (3, H, W) -> (N, 3 p p): its p x p patches in raster order, each flattened, the
    values a ViT's patch embedding projects to D."""
    c, h, w = frame.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f"patch size {patch_size} must divide the frame's {h}x{w} pixels")
    patches = frame.unfold(1, patch_size, patch_size).unfold(2, patch_size, patch_size)
    return patches.permute(1, 2, 0, 3, 4).reshape(-1, c * patch_size ** 2)


def draw_tokens(action: str = "wave", frame: int = 5, patch_size: int = 8) -> Figure:
    image = _clip(action)[frame]
    tokens = patch_tokens(image, patch_size)
    fig = figure(10.5, 3.2)
    grid, strip, matrix = fig.subplots(1, 3, width_ratios=[1, 1.4, 1.4])
    viz.patch_grid(image, patch_size, grid)
    grid.set_title(f"{action}, frame {frame}\n{len(tokens)} patches of {patch_size}x{patch_size}",
                   fontsize=9)
    side = image.shape[-1] // patch_size
    cells = tokens.reshape(len(tokens), 3, patch_size, patch_size)
    pad = torch.nn.functional.pad(cells, (1, 1, 1, 1), value=1.0)  # a white frame round each
    per_row = max(side, 8)
    rows = -(-len(pad) // per_row)
    pad = torch.cat([pad, torch.ones(rows * per_row - len(pad), *pad.shape[1:])])
    mosaic = pad.reshape(rows, per_row, 3, patch_size + 2, patch_size + 2)
    strip.imshow(viz.to_image(mosaic.permute(2, 0, 3, 1, 4).reshape(
        3, rows * (patch_size + 2), per_row * (patch_size + 2))))
    strip.set_title("the patches in raster order: a sequence", fontsize=9)
    strip.axis("off")
    matrix.imshow(tokens.numpy(), aspect="auto", cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
    matrix.set_xlabel(f"3 x {patch_size} x {patch_size} = {tokens.shape[1]} values")
    matrix.set_ylabel("token")
    matrix.set_title(f"tokens ({tokens.shape[0]}, {tokens.shape[1]}): one row per patch",
                     fontsize=9)
    return fig


def tokens(live=None):
    """01: pick a clip, a frame and a patch size; see the frame cut into patches and the
    (N, 3 p p) tokens they become."""
    return playground("tokens", draw_tokens, {
        "action": _dropdown("clip", CLASSES), "frame": _slider("frame", 0, 15),
        "patch_size": _dropdown("patch size", [4, 8, 16])}, live)


# -- 02 ------------------------------------------------------------------------------------------
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
        other = _clip("jump" if not torch.equal(video, _clip("jump")[:len(video)]) else "wave")
        out[at] = other[at]
    return out


@torch.no_grad()
def layer_states(model, video: torch.Tensor, reset_before: int | None = None):
    """Stream video (T, 3, H, W) through an RViT: every layer's state after every frame
    (T, L, N, D) and the per-frame probabilities head(f_t) (T, K); reset_before: zero the
    state just before that frame."""
    state, states, probs = model.init_state(1), [], []
    for t, frame in enumerate(video):
        if t == reset_before:
            state = model.init_state(1)
        feat, state = model.step(frame[None], state)
        states.append(torch.stack(state)[:, 0])
        probs.append(model.head(feat)[0].softmax(-1))
    return torch.stack(states), torch.stack(probs)


def draw_gate_memory(action: str = "drink", edit: str = "blank", edited_frame: int = 2,
                     layer: int = 3) -> Figure:
    model = _model("rvit")
    video = _clip(action)[:model.cfg.num_frames]
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


def gate_memory(live=None):
    """02: edit one past frame of a clip and pick a layer: the shipped RViT's hidden state
    carries the change to every later frame, and resetting h after the edit removes it."""
    depth = _model("rvit").cfg.depth
    return playground("gate_memory", draw_gate_memory, {
        "action": _dropdown("clip", CLASSES), "edit": _dropdown("edit", EDITS),
        "edited_frame": _slider("edited frame", 0, _model("rvit").cfg.num_frames - 2),
        "layer": _slider("layer", 1, depth)}, live)


# -- 03 ------------------------------------------------------------------------------------------
SCALES = {"mini (32 px, patch 8)": "mini", "paper (224 px, patch 16)": "paper"}
LONGEST = 128  # frames: the longest clip drawn, and the CViT's time embeddings
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
HEADS = {64: 4, 192: 3, 384: 6, 768: 12}  # the mini width's heads; DeiT-Ti, -S and ViT-B's


SHORT = (4, 6)  # the two clip lengths estimated; the line runs from the first


@functools.cache
def peak_line(name: str, scale: str, depth: int, dim: int, batch: int, dtype: str,
              train: bool, frame_checkpoint: bool) -> tuple[float, float]:
    """estimate_peak (bytes) of a model at T = SHORT[0] and its growth per frame after that:
    from a few frames on, every frame adds the same activations, so the peak is affine in T
    and two short clips give the whole line. A CViT is built for the longest clip."""
    extra = {"num_frames": LONGEST} if name == "cvit" else {}
    with torch.device("meta"):
        model = create_model(name, scale, depth=depth, dim=dim, num_heads=HEADS[dim], **extra)
    if frame_checkpoint and name != "cvit":
        model = accelerate(model, frame_checkpoint=True)
    side = model.cfg.img_size
    lo, hi = (estimate_peak(model, (batch, t, 3, side, side), train=train, dtype=DTYPES[dtype])
              for t in SHORT)
    return float(lo), (hi - lo) / (SHORT[1] - SHORT[0])


def memory_curve(name, lengths, **setting) -> np.ndarray:
    """Estimated peak GiB at each clip length (>= SHORT[0])."""
    start, per_frame = peak_line(name, **setting)
    return (start + per_frame * (np.asarray(lengths) - SHORT[0])) / GiB


def draw_memory(setting: str = "mini (32 px, patch 8)", frames: int = 32, batch: int = 8, depth: int = 3,
                width: int = 64, dtype: str = "fp32", train: bool = False,
                frame_checkpoint: bool = False) -> Figure:
    scale = SCALES[setting]
    common = dict(scale=scale, depth=depth, dim=width, batch=batch, dtype=dtype, train=train)
    lengths = np.arange(SHORT[0], LONGEST + 1)
    rvit = memory_curve("rvit", lengths, frame_checkpoint=frame_checkpoint, **common)
    cvit = memory_curve("cvit", lengths, frame_checkpoint=False, **common)
    fig = figure(7.5, 3.4)
    ax = fig.subplots()
    ax.plot(lengths, cvit, label="CViT (joint space-time)")
    ax.plot(lengths, rvit, label="RViT" + (", frame checkpointing" if frame_checkpoint else ""))
    at = frames - SHORT[0]
    for curve, colour in ((cvit, "C0"), (rvit, "C1")):
        ax.plot(frames, curve[at], "o", color=colour)
        ax.annotate(f"{curve[at]:.3g} GiB", (frames, curve[at]), xytext=(6, -4),
                    textcoords="offset points", fontsize=9, color=colour)
    ax.set_xlabel("clip length T (frames)")
    ax.set_ylabel("estimated peak memory (GiB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{scale} scale, {depth} layers, width {width}, batch {batch}, {dtype}, "
                 f"{'training' if train else 'inference'}: CViT / RViT at T={frames} = "
                 f"{cvit[at] / rvit[at]:.2f}", fontsize=9)
    ax.legend(loc="upper left", fontsize=9)
    return fig


def memory(live=None):
    """03: choose T, the batch, depth, width, dtype, training and frame checkpointing, at mini
    or paper scale: rm.memory.estimate_peak's figure for CViT and RViT, along all T."""
    return playground("memory", draw_memory, {
        "frames": _slider("T", SHORT[0], LONGEST), "batch": _slider("batch", 1, 32),
        "depth": _slider("depth", 1, 12), "width": _dropdown("width", list(HEADS)),
        "setting": _dropdown("scale", list(SCALES)), "dtype": _dropdown("dtype", list(DTYPES)),
        "train": _checkbox("training"), "frame_checkpoint": _checkbox("frame checkpointing")},
        live)


# -- 04 ------------------------------------------------------------------------------------------
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
    model = _model(name)
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


def boundary(live=None):
    """04: choose a pair of actions and the frame where the second begins: each model's
    per-frame prediction, its switch delay, and the cosine similarity of its states over the
    clip (clip-trained rvit, stream-trained rvit_online, and the memoryless vit_online)."""
    return playground("boundary", draw_boundary, {
        "boundary": _slider("boundary frame", 3, 13), "pair": _dropdown("actions", PAIRS)}, live)


# -- 05 ------------------------------------------------------------------------------------------
TRAINABLE = ("mini_rvit_s", "mini_rvit", "mini_rvit_scratch", "mini_vit")


@functools.cache
def _training_data(num_frames: int):
    """A small train set (256 clips, rendered once) and a val set (90 clips)."""
    train = StickActions("train", num_frames=num_frames, num_clips=256)
    val = StickActions("val", num_frames=num_frames, num_clips=90)
    return train, val


def draw_training(recipe: str = "mini_rvit_s", steps: int = 60, run=None) -> Figure:
    """The curves of `run` (a TrainingRun) so far; before one, the empty axes of the run to be."""
    records = list(run.records) if run else []
    fig = figure(7, 3.4)
    ax = fig.subplots()
    title = f"{recipe}, {steps} steps: press Train" if run is None else \
        f"{run.recipe.name}: step {run.step} of {run.steps}" + (f" ({run.error})" if run.error
                                                                else "")
    viz.plot_history(records, ax, title=title)
    ax.set_xlim(0, max(steps, run.steps if run else 0))
    if not records:  # the empty axes of the run to come
        ax.set_ylim(0, 2.5)
        ax.text(0.5, 0.5, "the loss and validation top-1 appear here as it trains",
                ha="center", va="center", transform=ax.transAxes, color="0.4")
    return fig


class TrainingRun:
    """A short run of a recipe on a small StickActions set, in a thread: `records` grows (loss
    every step, validation top-1 every `val_every` steps and at the end), `on_record()` is
    called after each; `stop()` ends it after the step in flight."""

    def __init__(self, recipe: str, steps: int, on_record, val_every: int = 20, seed: int = 0):
        self.recipe, self.steps, self.on_record = RECIPES[recipe], steps, on_record
        self.val_every, self.seed, self.records = val_every, seed, []
        self.step, self.error = 0, None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _run(self):
        try:
            self._train()
        except Exception as err:  # shown in the picture: a thread has no cell to raise into
            self.error = f"stopped by {type(err).__name__}: {err}"
            self.on_record(self.step)

    def _train(self):
        torch.manual_seed(self.seed)
        recipe = self.recipe
        clip_length = {"num_frames": recipe.num_frames} if recipe.model.startswith("cvit") else {}
        model = create_model(recipe.model, scale=recipe.scale, num_classes=len(CLASSES),
                             **clip_length)
        if recipe.init != "scratch":  # e.g. Sec. 3.2, from the shipped image ViT
            start_from(model, _model(recipe.init))
        train, val = _training_data(recipe.num_frames)
        # the recipe's schedule (warm-up, LR steps) squeezed into the steps asked for
        optimizer, scheduler, scaler = optimisation(
            model, recipe, max(1, self.steps // recipe.epochs), "cpu", None)
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed))
        while self.step < self.steps and not self._stop.is_set():
            batch = order[(self.step * 16) % len(train):][:16].tolist()  # batch 16: quick steps
            video = torch.stack([train[i][0] for i in batch])
            target = torch.tensor([train.label(i) for i in batch])
            model.train()
            loss = train_step(model, video, target, optimizer, scaler, scheduler, None)
            self.step += 1
            self.records.append({"step": self.step, "loss": loss.item()})
            if self.step % self.val_every == 0 or self.step == self.steps or self._stop.is_set():
                self.records.append({"step": self.step,
                                     "val_top1": evaluate(model, val)["top1"]})
            self.on_record(self.step)


def training(live=None):
    """05: choose a recipe and a number of steps, press Train: the loss and validation
    top-1 are drawn as it trains (batches of 16 clips, well under a second a step on a CPU);
    Stop ends the run after the step in flight."""
    runs = []

    def draw(recipe: str = "mini_rvit_s", steps: int = 60) -> Figure:
        return draw_training(recipe, steps, runs[-1] if runs else None)

    def buttons(redraw, values):
        train = widgets.Button(description="Train")
        stop = widgets.Button(description="Stop", disabled=True)
        progress = widgets.IntProgress(value=0, min=0, max=1, description="step")

        def on_record(step):
            progress.value = step
            redraw()

        def watch(run):
            run.thread.join()
            train.disabled, stop.disabled = False, True

        def start(_):
            chosen = values()
            progress.max, progress.value = chosen["steps"], 0
            runs.append(TrainingRun(chosen["recipe"], chosen["steps"], on_record))
            train.disabled, stop.disabled = True, False
            runs[-1].start()
            threading.Thread(target=watch, args=(runs[-1],), daemon=True).start()

        train.on_click(start)
        stop.on_click(lambda _: runs[-1].stop())
        return [train, stop, progress]

    return playground("training", draw, {
        "recipe": _dropdown("recipe", TRAINABLE), "steps": _slider("steps", 10, 100, 10)},
        live, buttons)


# -- 06 ------------------------------------------------------------------------------------------
RIVALS = ("rvit_online", "rvit", "vit_online", "cvit_online@w8")


@functools.cache
def _stream(num_frames: int = 96, seed: int = 1):
    streams = StickStreams("test", num_frames=num_frames, num_streams=1, action_frames=(8, 8),
                           seed=seed)
    return streams[0]


def _recogniser(spec: str):
    name, _, window = spec.partition("@w")
    return Window(_model(name), int(window)) if window else Recurrent(_model(name))


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


def stream(live=None):
    """06: play a stream of 8-frame actions frame by frame (Play, or drag the frame): each
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

    box = playground("stream", draw, {"frame": _slider("frame", 0, last)}, live, controls)
    if isinstance(box, Picture):
        return box
    slider, play = box.children[0].children[:2]
    widgets.link((play, "value"), (slider, "value"))
    return box


# -- 07 ------------------------------------------------------------------------------------------
def draw_schedule(layers: int = 4, frames: int = 6, step: int = 5) -> Figure:
    step = min(step, layers * frames - 1)
    fig = figure(11, 0.45 * layers + 2.2)
    axes = fig.subplots(1, 2)
    for ax, (name, schedule) in zip(axes, (
            ("sequential", cost.sequential_schedule(layers, frames)),
            ("wavefront", cost.wavefront_schedule(layers, frames)))):
        done = int((schedule <= step).sum())
        viz.plot_schedule(schedule, ax, f"{name}: {int(schedule.max()) + 1} steps; after step "
                          f"{step}, {done} of {layers * frames} cells done")
        ax.imshow(np.where(schedule.numpy() > step, 1.0, np.nan), origin="lower", cmap="gray",
                  vmin=0, vmax=1, alpha=0.8)  # cells still to run: greyed out
        ax.title.set_fontsize(9)
    return fig


def schedule(live=None):
    """07: choose L gates and T frames and step through both schedules: the sequential loop
    runs one cell a step (T x L steps), the wavefront a whole anti-diagonal (T + L - 1)."""
    box = playground("schedule", draw_schedule, {
        "step": _slider("step", 0, 95), "layers": _slider("L (gates)", 1, 8),
        "frames": _slider("T (frames)", 1, 12)}, live)
    if isinstance(box, Picture):
        return box
    step, layers, frames = box.children[0].children

    def limit(_):
        step.max = layers.value * frames.value - 1

    layers.observe(limit, names="value")
    frames.observe(limit, names="value")
    limit(None)
    return box
