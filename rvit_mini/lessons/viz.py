"""Pictures for the notebooks: frame strips, patches, training curves, confusion matrices,
hidden-state similarity and trajectories, and a frame scrubber that degrades to a static figure.
"""

import base64
import io
import json
import os
import uuid

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..common.progress import in_notebook_kernel


def to_image(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) for imshow."""
    return frame.detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy()


def frame_strip(video: torch.Tensor, n: int = 8, labels=None, title: str | None = None, ax=None,
                columns: int | None = None):
    """Show n evenly spaced frames of a video (T, 3, H, W), numbered, in rows of `columns`
    frames (default: all in one row); labels[t], if given, goes under frame t."""
    idx = np.linspace(0, len(video) - 1, n).round().astype(int)
    columns = min(columns or n, n)
    rows = -(-n // columns)
    h, w = video.shape[-2] + 12, video.shape[-1] + 2  # a cell: the frame, room for its label
    canvas = np.ones((rows * h, columns * w, 3))
    ax = ax or plt.subplots(figsize=(1.4 * columns, 1.9 * rows), layout="constrained")[1]
    for k, i in enumerate(idx):
        top, left = (k // columns) * h, (k % columns) * w
        canvas[top:top + h - 12, left:left + w - 2] = to_image(video[i])
        ax.text(left + w / 2 - 1, top + h - 11, f"t={i}" + (f"\n{labels[i]}" if labels is not None
                                                          else ""), ha="center", va="top", fontsize=8)
    ax.imshow(canvas)
    ax.axis("off")
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


def plot_history(records: list[dict], ax=None, title: str = "training"):
    """Training loss against step, and the validation metric (top-1, or mAP for multi-label
    data) on a second axis; the title above the plot and one legend below it, so that neither
    covers a curve or the other."""
    ax = ax or plt.subplots(figsize=(6, 3.5), layout="constrained")[1]
    train = [r for r in records if "loss" in r]
    lines = ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss")
    metric = next((k for k in ("val_top1", "val_mAP") if any(k in r for r in records)), None)
    if metric is not None:
        val = [r for r in records if metric in r]
        name = {"val_top1": "validation top-1", "val_mAP": "validation mAP"}[metric]
        acc = ax.twinx()
        lines += acc.plot([r["step"] for r in val], [100 * r[metric] for r in val], "o-",
                          color="C1", label=name)
        acc.set_ylabel(f"{name} (%)")
        acc.set_ylim(0, 100)
    ax.legend(handles=lines, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2,
              frameon=False)
    ax.set_title(title)
    return ax


class LiveHistory:
    """A training curve that redraws as `fit(..., on_log=LiveHistory())` logs; in a notebook it
    updates one figure in place (`.fig` holds the latest drawing everywhere). The figure is a
    plain image output, so a saved notebook keeps the last curve drawn."""

    def __init__(self, title: str = "training"):
        self.records, self.title = [], title
        self.fig = plt.figure(figsize=(6, 3.5), layout="constrained")
        plt.close(self.fig)  # shown through the display handle, not again at the cell's end
        self.handle = _display(self.fig)

    def __call__(self, record: dict) -> None:
        self.records.append(record)
        self.fig.clear()
        plot_history(self.records, self.fig.add_subplot(), self.title)
        if self.handle is not None:
            self.handle.update(self.fig)


def _display(obj, raw: bool = False):
    """Display obj with a handle to update it, inside a notebook kernel; None anywhere else
    (IPython's display() outside a kernel would print the object's repr)."""
    if not in_notebook_kernel():
        return None
    from IPython.display import display

    return display(obj, raw=raw, display_id=True)


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


def scrubber_figure(video: torch.Tensor, panels, t: int, fig=None):
    """One row: frame t of video (T, 3, H, W) and `panels` beside it, each a function
    (t, ax) -> None. Constrained layout keeps every panel's labels clear of its neighbours."""
    fig = fig or plt.figure(figsize=(3.2 * (1 + len(panels)), 3), layout="constrained")
    _draw_scrubber_row(video, panels, t, fig.subplots(1, 1 + len(panels), squeeze=False)[0])
    return fig


def _draw_scrubber_row(video, panels, t, axes):
    axes[0].imshow(to_image(video[t]))
    axes[0].set_title(f"frame {t}")
    axes[0].axis("off")
    for fn, ax in zip(panels, axes[1:]):
        fn(t, ax)


def scrubber_html(video: torch.Tensor, panels, max_frames: int = 64) -> str:
    """HTML of a frame slider: each frame's `scrubber_figure` is drawn once (at most `max_frames`,
    evenly spaced) as a PNG, and a few lines of JavaScript swap them as the slider moves."""
    ts = np.unique(np.linspace(0, len(video) - 1, min(len(video), max_frames)).round().astype(int))
    frames = []
    for t in ts:
        fig = scrubber_figure(video, panels, int(t))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=fig.dpi)  # one size for every frame: no tight crop
        plt.close(fig)
        frames.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    uid = f"rvit-scrubber-{uuid.uuid4().hex}"
    return f"""<div class="rvit-scrubber" id="{uid}">
<div style="display:flex;align-items:center;gap:0.8em">
<input type="range" min="0" max="{len(ts) - 1}" value="0" step="1" aria-label="frame"
 style="width:24em">
<output>frame {ts[0]}</output></div>
<img src="{frames[0]}" alt="frame {ts[0]}" style="max-width:100%">
<script>
(() => {{
  const root = document.currentScript?.closest(".rvit-scrubber") ?? document.getElementById("{uid}");
  const frames = {json.dumps(frames)}, ts = {json.dumps(ts.tolist())};
  const slider = root.querySelector("input"), label = root.querySelector("output"),
        img = root.querySelector("img");
  slider.addEventListener("input", () => {{
    const k = Number(slider.value);
    img.src = frames[k]; img.alt = label.textContent = "frame " + ts[k];
  }});
}})();
</script>
</div>"""


def frame_scrubber(video: torch.Tensor, panels, n_static: int = 4, max_frames: int = 64,
                   static_frames=None) -> None:
    """A slider over the frames of video (T, 3, H, W) showing each frame and `panels` beside it.

    `panels` is a list of functions (t, ax) -> None. In a notebook (JupyterLab, Notebook,
    Colab, VS Code) the slider is an HTML output that swaps pre-drawn figures in the browser
    (see `scrubber_html`): it needs no kernel and no widget state, so a saved notebook reopened
    later still scrubs, and a viewer that runs no JavaScript shows the first frame. Where no
    notebook frontend exists (RVIT_MINI_STATIC set, as the notebook tests do; a script) it
    draws `n_static` evenly spaced frames (or the frames listed in `static_frames`) as one
    static figure instead. Returns None, so the cell shows no value below the slider.
    """
    if widget_frontend():
        _display({"text/html": scrubber_html(video, panels, max_frames),
                  "text/plain": f"frame scrubber over {len(video)} frames (shown in a notebook)"},
                 raw=True)
        return
    ts = np.linspace(0, len(video) - 1, n_static).round().astype(int) if static_frames is None \
        else np.asarray(static_frames)
    fig, axes = plt.subplots(len(ts), 1 + len(panels), layout="constrained",
                             figsize=(3.2 * (1 + len(panels)), 2.8 * len(ts)), squeeze=False)
    for t, row in zip(ts, axes):
        _draw_scrubber_row(video, panels, int(t), row)
    plt.show()


def widget_frontend() -> bool:
    """True inside a live notebook kernel (JupyterLab, Notebook, Colab, VS Code) whose frontend
    shows HTML and runs its JavaScript; False where RVIT_MINI_STATIC is set (the notebook tests
    and scripts/execute_notebooks.py set it) or outside a notebook kernel."""
    return not os.environ.get("RVIT_MINI_STATIC") and in_notebook_kernel()


def plot_schedule(schedule: torch.Tensor, ax=None, title: str | None = None,
                  arrows: bool = False):
    """Draw a schedule (L, T) (lessons.schedules.sequential_schedule, wavefront_schedule): cell
    (l, t), gate l on frame t, is a square at column t and row l (gate 0 at the bottom), coloured
    by and labelled with the step it runs at; cells of one colour run together. arrows: draw
    what each cell reads, the gate below (same frame) and its own hidden state (frame before).
    """
    schedule = torch.as_tensor(schedule)
    num_layers, num_frames = schedule.shape
    steps = int(schedule.max()) + 1
    ax = ax or plt.subplots(figsize=(0.6 * num_frames + 1.2, 0.6 * num_layers + 1))[1]
    cmap = plt.get_cmap("viridis")
    ax.imshow(schedule.numpy(), origin="lower", cmap=cmap, vmin=0, vmax=max(steps - 1, 1),
              alpha=0.35 if arrows else 1.0)
    for layer in range(num_layers):
        for t in range(num_frames):
            step = int(schedule[layer, t])
            dark = not arrows and step < 0.6 * (steps - 1)
            ax.text(t, layer, str(step), ha="center", va="center", fontsize=8,
                    color="w" if dark else "k")
            if not arrows:
                continue
            style = dict(arrowstyle="->", color="0.3", lw=0.8)
            if layer > 0:
                ax.annotate("", (t, layer - 0.28), (t, layer - 0.72), arrowprops=style)
            if t > 0:
                ax.annotate("", (t - 0.28, layer), (t - 0.72, layer), arrowprops=style)
    ax.set_xticks(range(num_frames), [str(t) for t in range(num_frames)])
    ax.set_yticks(range(num_layers), [f"gate {layer}" for layer in range(num_layers)])
    ax.set_xlabel("frame t")
    ax.set_title(title if title is not None else f"{steps} steps")
    return ax


def plot_frames_per_second(fps: dict, ax=None, title: str = "", xlabel: str = "frames per second"):
    """Horizontal bars of {label: frames per second}, top to bottom in the dict's order, each
    with its value written beside it; the x-axis starts at 0. Labels that share their first
    part (up to a comma, e.g. "RViT-XL") share a colour."""
    ax = ax or plt.subplots(figsize=(6, 0.35 * len(fps) + 1))[1]
    labels, values = list(fps), [float(v) for v in fps.values()]
    families = list(dict.fromkeys(label.split(",")[0] for label in labels))
    colors = [f"C{families.index(label.split(',')[0]) % 10}" for label in labels]
    rows = range(len(labels))[::-1]
    ax.barh(rows, values, color=colors)
    top = max(values, default=1.0) or 1.0
    for row, value in zip(rows, values):
        ax.text(value + 0.01 * top, row, f"{value:,.0f}", va="center", fontsize=8)
    ax.set_yticks(rows, labels, fontsize=8)
    ax.set_xlim(0, 1.2 * top)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    return ax


# -- figures for the lessons (01, 02, 05) -------------------------------------------------------

def plot_layer_time_grid(depth: int = 3, frames: int = 4, ax=None,
                         title: str = "RViT: cell (l, t) is gate l at frame t; it outputs $y^l_t$"):
    """RViT's computation as a grid: cell (l, t) is gate l at frame t, computing
    y^l_t = Gate_l(y^{l-1}_t, h^l_{t-1}). An arrow from below (l-1, t) brings the layer below's
    output at the same frame (y^0_t: frame t's tokens); an arrow from the left (l, t-1) brings
    layer l's own hidden state h^l_{t-1} = y^l_{t-1} (zeros before frame 0); f_t leaves the top.

    Arrows carry gids "from_below" (depth x frames), "from_left" (depth x (frames - 1)),
    "zero_state" (depth) and "feature" (frames). Returns the axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if depth < 1 or frames < 1:
        raise ValueError(f"depth and frames must be >= 1, got {depth} and {frames}")
    ax = ax or plt.subplots(figsize=(1.5 * frames + 2.5, 1.0 * depth + 2.4))[1]
    colours = {"from_below": "C0", "from_left": "C1", "zero_state": "C1", "feature": "0.3"}

    def box(t, y, text, face):
        ax.add_patch(FancyBboxPatch((t - 0.32, y - 0.27), 0.64, 0.54, facecolor=face,
                                    edgecolor="0.3", boxstyle="round,pad=0.02"))
        ax.text(t, y, text, ha="center", va="center", fontsize=11)

    def arrow(start, end, kind, dashed=False):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.4,
                                     color=colours[kind], ls="--" if dashed else "-", gid=kind))

    for t in range(frames):
        box(t, 0, f"frame {t}", "0.92")
        ax.text(t, depth + 0.75, f"$f_{{{t}}}$", ha="center", va="center", fontsize=11)
        arrow((t, depth + 0.27), (t, depth + 0.6), "feature")
        for layer in range(1, depth + 1):
            box(t, layer, f"$y^{{{layer}}}_{{{t}}}$", "#dbe9f6")
            arrow((t, layer - 0.73), (t, layer - 0.27), "from_below")
            if t:
                arrow((t - 0.68, layer), (t - 0.32, layer), "from_left")
    for layer in range(1, depth + 1):
        ax.text(-0.95, layer, "$h=0$", ha="center", va="center", fontsize=10, color="C1")
        arrow((-0.75, layer), (-0.32, layer), "zero_state", dashed=True)
        ax.text(frames - 0.45, layer, f"layer {layer}", ha="left", va="center", fontsize=10)
    ax.set_xlim(-1.3, frames + 0.4)
    ax.set_ylim(-0.45, depth + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(handles=[Line2D([], [], color="C0", lw=1.4,
                              label="$y^{l-1}_t$: the layer below, same frame"),
                       Line2D([], [], color="C1", lw=1.4,
                              label="$h^l_{t-1} = y^l_{t-1}$: the same layer, previous frame")],
              loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=1, fontsize=10, frameon=False)
    ax.set_title(title, fontsize=11)
    return ax


def plot_confusion_counts(confusion, classes, ax=None, title: str = "", colorbar: bool = True):
    """A confusion matrix (K, K) of clip counts (rows: true class, columns: predicted): colour is
    the fraction of the row, each non-zero cell prints its count; with a colour bar."""
    counts = np.asarray(confusion)
    fraction = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    ax = ax or plt.subplots(figsize=(0.55 * len(classes) + 2.5, 0.55 * len(classes) + 1.6))[1]
    image = ax.imshow(fraction, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=9)
    ax.set_yticks(range(len(classes)), classes, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, j in zip(*np.nonzero(counts)):
        ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=9,
                color="w" if fraction[i, j] > 0.5 else "k")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the row")
    ax.set_title(title, fontsize=10)
    return ax
