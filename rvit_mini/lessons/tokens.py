"""Notebook 01, from video to tokens: its playground (a frame cut into patches and tokens)."""

import torch
from matplotlib.figure import Figure

from ..data import CLASSES
from . import viz
from .widgets import clip, dropdown, figure, slider
from .widgets import playground as make_playground


def patch_tokens(frame: torch.Tensor, patch_size: int) -> torch.Tensor:
    """frame (3, H, W) -> (N, 3 p p): its p x p patches in raster order, each flattened, the
    values a ViT's patch embedding projects to D."""
    c, h, w = frame.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f"patch size {patch_size} must divide the frame's {h}x{w} pixels")
    patches = frame.unfold(1, patch_size, patch_size).unfold(2, patch_size, patch_size)
    return patches.permute(1, 2, 0, 3, 4).reshape(-1, c * patch_size ** 2)


def draw_tokens(action: str = "wave", frame: int = 5, patch_size: int = 8) -> Figure:
    image = clip(action)[frame]
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


def playground(live=None):
    """01: pick a clip, a frame and a patch size; see the frame cut into patches and the
    (N, 3 p p) tokens they become."""
    return make_playground("tokens", draw_tokens, {
        "action": dropdown("clip", CLASSES), "frame": slider("frame", 0, 15),
        "patch_size": dropdown("patch size", [4, 8, 16])}, live)
