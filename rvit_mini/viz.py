"""Pictures for the notebooks: frame strips, patches, training curves, confusion matrices,
hidden-state similarity and trajectories, and a frame scrubber that degrades to a static figure.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch


def to_image(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) for imshow."""
    return frame.detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy()


def frame_strip(video: torch.Tensor, n: int = 8, labels=None, title: str | None = None, ax=None):
    """Show n evenly spaced frames of a video (T, 3, H, W) side by side, numbered."""
    idx = np.linspace(0, len(video) - 1, n).round().astype(int)
    strip = np.concatenate([np.pad(to_image(video[i]), ((0, 0), (0, 2), (0, 0)), constant_values=1)
                            for i in idx], axis=1)
    ax = ax or plt.subplots(figsize=(1.6 * n, 2))[1]
    ax.imshow(strip)
    w = video.shape[-1] + 2
    ax.set_xticks([w * k + w / 2 for k in range(n)],
                  [f"t={i}" + (f"\n{labels[i]}" if labels is not None else "") for i in idx])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def patch_grid(frame: torch.Tensor, patch_size: int, ax=None):
    """A frame with its p x p patch grid drawn over it."""
    ax = ax or plt.subplots(figsize=(3, 3))[1]
    ax.imshow(to_image(frame))
    h, w = frame.shape[-2:]
    for k in range(0, max(h, w) + 1, patch_size):
        ax.axhline(k - 0.5, color="w", lw=0.8)
        ax.axvline(k - 0.5, color="w", lw=0.8)
    ax.set_title(f"{(h // patch_size) * (w // patch_size)} patches of {patch_size}x{patch_size} px")
    ax.axis("off")
    return ax


def read_log(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


def plot_history(records: list[dict], ax=None, title: str = "training"):
    """Training loss against step, and validation accuracy on a second axis."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    train = [r for r in records if "loss" in r]
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss")
    val = [r for r in records if "val_top1" in r]
    if val:
        acc = ax.twinx()
        acc.plot([r["step"] for r in val], [100 * r["val_top1"] for r in val], "o-", color="C1",
                 label="validation top-1")
        acc.set_ylabel("validation top-1 (%)")
        acc.set_ylim(0, 100)
        acc.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title(title)
    return ax


class LiveHistory:
    """A training curve that redraws as `fit(..., on_log=LiveHistory())` logs; in a notebook it
    updates one figure in place (`.fig` holds the latest drawing everywhere)."""

    def __init__(self, title: str = "training"):
        self.records, self.title = [], title
        self.fig = plt.figure(figsize=(6, 3.5))
        plt.close(self.fig)  # shown through the display handle, not again at the cell's end
        self.handle = _display(self.fig)

    def __call__(self, record: dict) -> None:
        self.records.append(record)
        self.fig.clear()
        plot_history(self.records, self.fig.add_subplot(), self.title)
        if self.handle is not None:
            self.handle.update(self.fig)


def _display(fig):
    try:
        from IPython.display import display
    except ImportError:
        return None
    return display(fig, display_id=True)


def plot_confusion(confusion, classes, ax=None, title: str = ""):
    """A row-normalised confusion matrix (rows: true class, columns: predicted)."""
    c = np.asarray(confusion, dtype=float)
    c = c / np.maximum(c.sum(1, keepdims=True), 1)
    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    ax.imshow(c, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, j in zip(*np.nonzero(c >= 0.1)):
        v = round(c[i, j], 1)
        ax.text(j, i, f"{v:.1f}"[1:] if v < 1 else "1", ha="center", va="center",
                fontsize=6, color="w" if c[i, j] > 0.5 else "k")
    ax.set_title(title)
    return ax


def cosine_similarity_matrix(states: torch.Tensor) -> torch.Tensor:
    """states (T, ...) -> (T, T) cosine similarity between every pair of time steps."""
    flat = torch.nn.functional.normalize(states.flatten(1).float(), dim=1)
    return flat @ flat.T


def pca_2d(states: torch.Tensor) -> torch.Tensor:
    """states (T, ...) -> (T, 2): projection on the first two principal components."""
    flat = states.flatten(1).float()
    flat = flat - flat.mean(0)
    _, _, v = torch.pca_lowrank(flat, q=2, center=False)
    return flat @ v


def frame_scrubber(video: torch.Tensor, panels, n_static: int = 4, static_frames=None):
    """A slider over frames showing the frame and `panels(t, axes)` beside it.

    `panels` is a list of functions (t, ax) -> None. With a widget frontend (JupyterLab,
    Colab) this returns an ipywidgets slider; where none exists (nbval, a static viewer) it
    draws `n_static` evenly spaced frames (or the frames listed in `static_frames`) as one
    static figure instead.
    """
    def draw(t, axes):
        axes[0].imshow(to_image(video[t]))
        axes[0].set_title(f"frame {t}")
        axes[0].axis("off")
        for fn, ax in zip(panels, axes[1:]):
            fn(t, ax)

    if widget_frontend():
        import ipywidgets as widgets

        def show(t):
            fig, axes = plt.subplots(1, 1 + len(panels), figsize=(3.2 * (1 + len(panels)), 3))
            draw(t, axes)
            plt.show()

        return widgets.interact(show, t=widgets.IntSlider(0, 0, len(video) - 1, 1,
                                                         description="frame"))
    ts = np.linspace(0, len(video) - 1, n_static).round().astype(int) if static_frames is None \
        else np.asarray(static_frames)
    fig, axes = plt.subplots(len(ts), 1 + len(panels),
                             figsize=(3.2 * (1 + len(panels)), 2.8 * len(ts)), squeeze=False)
    for t, row in zip(ts, axes):
        draw(int(t), row)
    fig.tight_layout()
    plt.show()


def widget_frontend() -> bool:
    """True inside a live JupyterLab / Notebook / Colab kernel that can render widgets; False
    where RVIT_MINI_STATIC is set (the notebook tests set it) or outside a notebook kernel."""
    import os
    import sys

    if os.environ.get("RVIT_MINI_STATIC"):
        return False
    if "google.colab" in sys.modules:
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return type(get_ipython()).__name__ == "ZMQInteractiveShell"
