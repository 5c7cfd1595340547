"""Notebook 04, training the variants: its playground, live training runs drawn one over the
other on fixed axes, each a short run through prepare_run and fit like every other run."""

import math
import tempfile
import threading
from dataclasses import replace

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..training import RECIPES, fit, prepare_run
from .widgets import dropdown, figure, slider
from .widgets import playground as make_playground

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
