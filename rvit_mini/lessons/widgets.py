"""The machinery of the playgrounds, one per notebook, where a student changes an input and
watches the models answer.

A playground is a function that returns an ipywidgets tree: its controls and an `Image` whose PNG
bytes (drawn with matplotlib, no pyplot state) are redrawn whenever a control changes, so the
picture is a widget value that plain Python can read. Only controls that ipywidgets 7.7 (Colab)
and 8 share are used. Where no widget frontend runs (RVIT_MINI_STATIC set, as the notebook tests
do, or outside a notebook kernel; see viz.widget_frontend) a playground returns a `Picture` of its
default drawing instead, so a rendered notebook shows a plain PNG and holds no widget;
`live=True` builds the widgets anyway (the tests do). Each picture's default arguments are its
defaults.
"""

import functools
import inspect
import io

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..data import CLASSES, StickActions
from ..training import load_pretrained
from . import viz

DPI = 72


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


def wide(description: str) -> dict:
    return {"description": description, "style": {"description_width": "initial"}}


def slider(description, lo, hi, step=1):
    return lambda v: widgets.IntSlider(v, lo, hi, step, continuous_update=False,
                                       **wide(description))


def dropdown(description, options):
    return lambda v: widgets.Dropdown(options=options, value=v, **wide(description))


def checkbox(description):
    return lambda v: widgets.Checkbox(value=v, **wide(description))


@functools.cache
def shipped(name: str):
    """A shipped model, loaded once per session (playgrounds answer in under a second)."""
    return load_pretrained(name)


@functools.cache
def clip(action: str, split: str = "test", num_frames: int = 16) -> torch.Tensor:
    """The first clip of `action` in StickActions(split): (T, 3, 32, 32)."""
    return StickActions(split, num_frames=num_frames)[CLASSES.index(action)][0]
