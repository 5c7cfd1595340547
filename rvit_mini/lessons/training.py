"""Notebook 04, training the variants: the pieces the student writes (one epoch of training,
Sec. 3.2's initialisation, the learning-rate schedule), their checks and known mistakes, the
prediction, the claims and Wilson intervals (lessons.evidence's), and the playground (live
training runs drawn one over the other on fixed axes, each a short run through prepare_run and
fit like every other run)."""

import math
import tempfile
import threading
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from ..data import CLASSES, StickActions
from ..model import create_model
from ..training import RECIPES, fit, lr_factor, make_optimizer, prepare_run, train_step
from .check import Mistake, Piece, Prediction
from .evidence import claim, wilson  # noqa: F401  (the notebook's: rm.lessons.training.claim, .wilson)
from .widgets import dropdown, figure, shipped, slider
from .widgets import playground as make_playground


@dataclass
class Effects(Piece):
    """A Piece whose work shows in what it leaves behind (a training loop's weights, an
    initialised model): `compare(args, output)` gives what is compared, for the student's
    function, the reference and each mistake alike."""

    compare: Callable = None

    def verdict(self, candidate: Callable) -> tuple[str, str]:
        def seen(fn):
            def call(*args):
                output = fn(*args)
                return self.compare(args, output)
            return call
        return Piece.verdict(replace(self, reference=seen(self.reference), mistakes=[
            Mistake(m.says, seen(m.variant)) for m in self.mistakes]), seen(candidate))


def weights(model: nn.Module) -> dict:
    """Every parameter and buffer, detached copies."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# -- the piece the student writes first: one epoch of training ---------------------------------

def library_epoch(model, batches, optimizer, scheduler):
    """The library's epoch: the model in train mode, then rm.training.train_step on every batch
    (as fit runs it, without autocast) -> the losses, floats."""
    model.train()
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    return [train_step(model, video, target, optimizer, scaler, scheduler, None).item()
            for video, target in batches]


def train_epoch(model, batches, optimizer, scheduler, zero_grad: bool = True,
                order: str = "backward, step", schedule: bool = True, train_mode: bool = True,
                loss: str = "clip"):
    """One epoch in plain torch, as the student writes it; the other arguments make the known
    mistakes: zero_grad=False, order="step, backward", schedule=False, train_mode=False,
    loss="per frame" | "one-hot"."""
    if train_mode:
        model.train()
    losses = []
    for video, target in batches:
        if loss == "clip":
            value = F.cross_entropy(model(video), target)  # logits (B, K), target (B,)
        elif loss == "per frame":  # every frame's logits (B, T, K) against the clip's label
            value = F.cross_entropy(model(video, per_frame=True).flatten(0, 1),
                                    target.repeat_interleave(video.shape[1]))
        else:  # one-hot targets (B, K) and a binary cross-entropy per class
            logits = model(video)
            value = F.binary_cross_entropy_with_logits(
                logits, F.one_hot(target, logits.shape[1]).float())
        if zero_grad:
            optimizer.zero_grad()
        if order == "step, backward":
            optimizer.step()
            value.backward()
        else:
            value.backward()
            optimizer.step()
        if schedule:
            scheduler.step()
        losses.append(value.item())
    return losses


class NormedVideoNet(nn.Module):
    """A tiny video classifier with a BatchNorm, for the training loop's check: in train mode a
    BatchNorm normalises with the batch's own statistics (and updates its running ones), in
    eval mode with the running ones, so a loop that leaves a model in eval mode shows.
    video (B, T, C, H, W) -> logits (B, K), or (B, T, K) per frame."""

    def __init__(self, pixels: int, num_classes: int = 3, width: int = 16):
        super().__init__()
        self.embed = nn.Linear(pixels, width)
        self.norm = nn.BatchNorm1d(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, video: torch.Tensor, per_frame: bool = False) -> torch.Tensor:
        b, t = video.shape[:2]
        features = self.norm(self.embed(video.flatten(2)).flatten(0, 1)).relu()
        features = features.unflatten(0, (b, t))  # (B, T, width)
        return self.head(features if per_frame else features.mean(1))


def loop_inputs() -> list[tuple]:
    """A mini RViT-S and a tiny video net with a BatchNorm, each in eval mode (as evaluate()
    leaves a model), with 3 batches of 4 random clips of 3 frames and the optimiser and
    schedule of a recipe whose LR warms up over those 3 steps."""
    recipe = replace(RECIPES["mini_rvit_s"], lr=1e-3, warmup_epochs=1.0)
    inputs = []
    for seed, make in ((0, lambda: create_model("rvit_s", num_classes=3)),
                       (1, lambda: NormedVideoNet(3 * 32 * 32))):
        torch.manual_seed(seed)
        model = make().eval()
        g = torch.Generator().manual_seed(seed)
        batches = [(torch.rand(4, 3, 3, 32, 32, generator=g), torch.randint(0, 3, (4,), generator=g))
                   for _ in range(3)]
        optimizer, scheduler = make_optimizer(model, recipe, len(batches))
        inputs.append((model, batches, optimizer, scheduler))
    return inputs


LOOP = Effects(
    "the training loop", reference=library_epoch, inputs=loop_inputs,
    compare=lambda args, losses: (losses, weights(args[0])), mistakes=[
        Mistake("the gradients are never cleared (optimizer.zero_grad() missing): each step "
                "adds this batch's gradients to all the earlier ones",
                partial(train_epoch, zero_grad=False)),
        Mistake("the optimiser steps before loss.backward(): it moves the weights with "
                "gradients that are not this batch's (here, none at all)",
                partial(train_epoch, order="step, backward")),
        Mistake("the scheduler is not stepped: the learning rate stays at its first step's "
                "value (call scheduler.step() after every optimiser step)",
                partial(train_epoch, schedule=False)),
        Mistake("the model stays in eval mode: call model.train() before the first batch (a "
                "BatchNorm or a dropout behaves differently in training)",
                partial(train_epoch, train_mode=False)),
        Mistake("the loss compares every frame's logits (B, T, K) with the clip's label: a clip "
                "has one label, compared with its clip logits model(video) (B, K)",
                partial(train_epoch, loss="per frame")),
        Mistake("the targets are one-hot (B, K) with a binary cross-entropy per class: one label "
                "per clip is a class index (B,), for F.cross_entropy",
                partial(train_epoch, loss="one-hot")),
    ])


# -- the second piece: Sec. 3.2's initialisation ----------------------------------------------

@torch.no_grad()
def init_rvit(rvit, vit, w_h: str = "orthogonal", reset_norm_h: bool = True, stem: bool = True,
              which: str = "first", final_norm: bool = True):
    """Sec. 3.2 in plain torch, as the student writes it; the other arguments make the known
    mistakes: w_h="zero" | "as it was" | "one matrix", reset_norm_h=False, stem=False,
    which="last", final_norm=False."""
    if stem:
        rvit.patch_embed.load_state_dict(vit.patch_embed.state_dict())
        rvit.cls_token.copy_(vit.cls_token)
        rvit.pos_embed.copy_(vit.pos_embed)
    if final_norm:
        rvit.norm.load_state_dict(vit.norm.state_dict())
    depth = len(rvit.blocks)
    blocks = vit.blocks[:depth] if which == "first" else vit.blocks[-depth:]
    for gate, block in zip(rvit.blocks, blocks):
        for part in ("norm1", "attn", "norm2", "mlp"):  # LN_x, W_x^{Q,K,V} and W_O, LN, MLP
            getattr(gate, part).load_state_dict(getattr(block, part).state_dict())
        if w_h == "orthogonal":
            for w in gate.qkv_h.weight.chunk(3, dim=0):  # W_h^Q, W_h^K, W_h^V: D x D each
                nn.init.orthogonal_(w)
        elif w_h == "zero":
            gate.qkv_h.weight.zero_()
        elif w_h == "one matrix":
            nn.init.orthogonal_(gate.qkv_h.weight)  # (3D, D): orthonormal columns only
        if reset_norm_h:
            gate.norm_h.reset_parameters()
    return rvit


def init_summary(rvit) -> dict:
    """What an initialisation leaves in an RViT, comparable whatever the random draws: every
    tensor, but each W_h as the Gram matrices W W^T of its three D x D blocks (the identity
    when each block is orthogonal, whichever orthogonal matrix it is)."""
    summary = weights(rvit)
    for key, value in list(summary.items()):
        if key.endswith("qkv_h.weight"):
            summary[key] = torch.stack([w @ w.T for w in value.chunk(3, dim=0)])
    return summary


def init_inputs() -> list[tuple]:
    """A mini RViT-S (2 gates) with every weight random, LN_h included, and a 4-block image ViT
    of the same width with every weight random, norms included (so nothing is right by
    accident); the RViT has a 3-class head, the ViT a 9-class one (the head is not copied)."""
    inputs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        rvit = create_model("rvit_s", num_classes=3)
        vit = create_model("vit")
        with torch.no_grad():
            for p in [*rvit.parameters(), *vit.parameters()]:
                p.normal_(0, 0.5)
        inputs.append((rvit, vit))
    return inputs


def library_init(rvit, vit):
    """The library's Sec. 3.2: rm.init_rvit_from_vit."""
    from ..model import init_rvit_from_vit
    return init_rvit_from_vit(rvit, vit)


INIT = Effects(
    "the initialisation from a ViT", reference=library_init, inputs=init_inputs,
    compare=lambda args, _: init_summary(args[0]), mistakes=[
        Mistake("W_h is left at zero: Sec. 3.2 makes W_h^Q, W_h^K, W_h^V orthogonal (with "
                "W_h = 0 the gates never read their hidden state)", partial(init_rvit, w_h="zero")),
        Mistake("W_h is left as it was (random, not orthogonal): make each of W_h^Q, W_h^K, "
                "W_h^V orthogonal", partial(init_rvit, w_h="as it was")),
        Mistake("W_h is one orthogonal (3D x D) matrix: make each of its three D x D blocks "
                "(W_h^Q, W_h^K, W_h^V) orthogonal on its own (weight.chunk(3))",
                partial(init_rvit, w_h="one matrix")),
        Mistake("LN_h is not reset: norm_h keeps its old weight and bias; reset it "
                "(norm_h.reset_parameters(): weight 1, bias 0)",
                partial(init_rvit, reset_norm_h=False)),
        Mistake("the stem is not copied: the patch embedding, the CLS token and the position "
                "embedding come from the ViT too", partial(init_rvit, stem=False)),
        Mistake("the gates take the ViT's last L blocks: Sec. 3.2 copies its first L "
                "(vit.blocks[:L])", partial(init_rvit, which="last")),
        Mistake("the final norm is not copied: rvit.norm (before the head) comes from the ViT",
                partial(init_rvit, final_norm=False)),
    ])


# -- an exercise: the learning-rate schedule ----------------------------------------------------

def schedule_factor(step: int, steps_per_epoch: int, warmup_epochs: float, lr_step_epochs: int,
                    warmup: str = "step + 1", decay: str = "every period", rounding=round):
    """The LR multiplier at `step`, as the student writes it; the other arguments make the
    known mistakes: warmup="step" | "none", decay="once" | "every epoch", rounding=int."""
    w = max(1, rounding(warmup_epochs * steps_per_epoch))
    ramp = {"step + 1": (step + 1) / w, "step": step / w, "none": 1.0}[warmup]
    period = lr_step_epochs * steps_per_epoch if decay != "every epoch" else steps_per_epoch
    drops = step // period if decay != "once" else min(1, step // period)
    return min(1.0, ramp) * 0.1 ** drops


def library_factor(step, steps_per_epoch, warmup_epochs, lr_step_epochs):
    """rm.training.lr_factor for a recipe with these settings."""
    recipe = replace(RECIPES["mini_rvit_s"], warmup_epochs=warmup_epochs,
                     lr_step_epochs=lr_step_epochs)
    return lr_factor(recipe, steps_per_epoch)(step)


SCHEDULE = Piece(
    "the learning-rate schedule", reference=library_factor,
    inputs=lambda: [(step, 843, 0.2, 2) for step in (0, 1, 100, 168, 169, 1000, 1685, 1686, 3372,
                                                     4000)] + [(7, 10, 0.35, 1), (25, 10, 0.35, 1)],
    mistakes=[
        Mistake("the warm-up starts at 0 at step 0: steps count from 0, so step s has done s + 1 "
                "steps of warm-up, (s + 1) / w", partial(schedule_factor, warmup="step")),
        Mistake("there is no warm-up: the factor rises linearly from 1 / w to 1 over the first w "
                "steps", partial(schedule_factor, warmup="none")),
        Mistake("the LR is divided by 10 only once: it is divided again after every "
                "lr_step_epochs epochs (0.1 ** the number of periods passed)",
                partial(schedule_factor, decay="once")),
        Mistake("the LR drops every epoch: it drops every lr_step_epochs epochs",
                partial(schedule_factor, decay="every epoch")),
        Mistake("the warm-up length is cut down (int) where it is rounded to the nearest step",
                partial(schedule_factor, rounding=int)),
    ])

PIECES = [LOOP, INIT, SCHEDULE]


# -- a prediction: what lets an RViT see the order of the frames --------------------------------

def order_blind_starts() -> str:
    """Which of two 4-gate RViTs started from the shipped image ViT give a sit_down clip and its
    reverse the same logits (within 1e-5): one started as Sec. 3.2 says (W_h orthogonal), one
    with W_h left at zero (INIT's first mistake). Their new heads are random, the same for both."""
    clip = StickActions("test", 8, 32)[CLASSES.index("sit_down")][0][None]
    blind = []
    for w_h, says in (("orthogonal", "the orthogonal W_h"), ("zero", "W_h = 0")):
        torch.manual_seed(0)
        rvit = init_rvit(create_model("rvit", depth=4).eval(), shipped("vit"), w_h=w_h)
        with torch.no_grad():
            if torch.allclose(rvit(clip), rvit(clip.flip(1)), atol=1e-5):
                blind.append(says)
    return {0: "neither", 2: "both"}.get(len(blind), f"only {blind[0]}" if blind else "neither")


REVERSED = Prediction(
    "the RViT starts that give a clip and its reverse the same logits",
    choices=("neither", "only the orthogonal W_h", "only W_h = 0", "both"),
    truth=order_blind_starts,
    why="ask where a gate reads the hidden state h (notebook 02), and what reaches frame t from "
        "the frames before it when that term is zero")


# -- the playground: live training runs ----------------------------------------------------------

TRAINABLE = ("mini_rvit_s", "mini_rvit", "mini_rvit_scratch", "mini_vit")
SUBSET = {"train": 256, "val": 90}  # StickActions clips: 16 steps an epoch at batch 16
MAX_STEPS = 100


class TrainingRun:
    """A short run of a recipe on 256 StickActions clips (batch 16, validated on 90 clips after
    every epoch of 16 steps), in a thread: `records` grows as fit logs (the loss every step,
    validation top-1 after every epoch) and `on_record()` is called after each; `stop()` ends
    the run after the step in flight."""

    def __init__(self, recipe: str, steps: int, on_record, seed: int = 0):
        self.recipe = replace(RECIPES[recipe], batch_size=16, epochs=math.ceil(steps / 16))
        self.steps, self.on_record, self.seed = steps, on_record, seed
        self.records, self.step, self.error = [], 0, None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _record(self, record: dict) -> None:
        self.records.append(record)
        self.step = record["step"]
        self.on_record(self.step)

    def _run(self) -> None:
        try:
            with tempfile.TemporaryDirectory() as out:
                setup = prepare_run(self.recipe, subset=SUBSET, seed=self.seed)
                fit(setup.model, setup.train_set, setup.val_set, self.recipe, out,
                    max_steps=self.steps, log_every=1, progress=False, on_log=self._record,
                    stop=self._stop)
        except Exception as err:  # shown in the picture: a thread has no cell to raise into
            self.error = f"stopped by {type(err).__name__}: {err}"
            self.on_record(self.step)


def draw_training(recipe: str = "mini_rvit_s", steps: int = 60, runs=()) -> Figure:
    """Every run so far, one colour each, on fixed axes: the training loss (lines) and the
    validation top-1 (dots, right axis); before the first, the empty axes."""
    fig = figure(7.5, 3.6)
    loss = fig.subplots()
    top1 = loss.twinx()
    for k, run in enumerate(runs):
        colour, label = f"C{k % 10}", f"{k + 1}: {run.recipe.name}, {run.steps} steps"
        train = [r for r in run.records if "loss" in r]
        val = [r for r in run.records if "val_top1" in r]
        loss.plot([r["step"] for r in train], [r["loss"] for r in train], color=colour,
                  lw=1.2, label=label + (f" ({run.error})" if run.error else ""))
        top1.plot([r["step"] for r in val], [100 * r["val_top1"] for r in val], "o--",
                  color=colour, ms=5)
    loss.set(xlim=(0, MAX_STEPS), ylim=(0, 2.5), xlabel="step",
             ylabel="training loss (lines)")
    top1.set(ylim=(0, 100), ylabel="validation top-1, % (dots)")
    if runs:
        loss.legend(fontsize=8, loc="upper right")
        loss.set_title(f"run {len(runs)}: step {runs[-1].step} of {runs[-1].steps}", fontsize=10)
    else:
        loss.set_title(f"{recipe}, {steps} steps: press Train", fontsize=10)
        loss.text(0.5, 0.5, "each run's loss and validation top-1 appear here as it trains,\n"
                  "drawn over the runs before it", ha="center", va="center",
                  transform=loss.transAxes, color="0.4")
    return fig


def playground(live=None):
    """Choose a recipe and a number of steps, press Train: the loss and validation top-1 are
    drawn as it trains (well under a second a step on a CPU), over the runs before it; Stop ends
    the run after the step in flight."""
    runs = []

    def draw(recipe: str = "mini_rvit_s", steps: int = 60) -> Figure:
        return draw_training(recipe, steps, tuple(runs))

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

    return make_playground("training", draw, {
        "recipe": dropdown("recipe", TRAINABLE), "steps": slider("steps", 10, MAX_STEPS, 10)},
        live, buttons)
