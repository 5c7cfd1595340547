"""Notebook 01, from video to tokens: the stem the student writes (its check and known
mistakes), and the playground (a frame cut into patches and tokens)."""

from functools import partial

import torch
from matplotlib.figure import Figure

from ..data import CLASSES
from ..model import create_model
from . import viz
from .check import Mistake, Piece
from .widgets import clip, dropdown, figure, slider
from .widgets import playground as make_playground

# -- the piece the student writes: the stem ----------------------------------------------------

def stem(model, frames: torch.Tensor, normalise: bool = True, cls: str = "front",
         positions: bool = True, patch_order: str = "rows", values: str = "channels first"):
    """frames (B, 3, H, W) in [0, 1] -> tokens (B, 1 + N, D), as model.embed computes them:
    pixels normalised, p x p patches in raster order (row by row), each flattened channel by
    channel and multiplied by the embedding matrix (the conv kernel as a (D, 3 p p) matrix),
    the CLS token in front, the position embedding added. The other arguments make the known
    mistakes: normalise=False, cls="missing" | "back", positions=False, patch_order="columns",
    values="channels last"."""
    p = model.cfg.patch_size
    x = (frames - model.cfg.pixel_mean) / model.cfg.pixel_std if normalise else frames
    patches = x.unfold(2, p, p).unfold(3, p, p)  # (B, 3, rows, columns, p, p)
    grid = (0, 2, 3) if patch_order == "rows" else (0, 3, 2)
    inner = (1, 4, 5) if values == "channels first" else (4, 5, 1)
    patches = patches.permute(*grid, *inner).flatten(3).flatten(1, 2)  # (B, N, 3 p p)
    weight = model.patch_embed.proj.weight.flatten(1)  # (D, 3 p p): the kernel, channel first
    tokens = patches @ weight.T + model.patch_embed.proj.bias  # (B, N, D)
    cls_token = model.cls_token.expand(len(frames), -1, -1)
    if cls == "front":
        tokens = torch.cat([cls_token, tokens], dim=1)
    elif cls == "back":
        tokens = torch.cat([tokens, cls_token], dim=1)
    return tokens + model.pos_embed[:, :tokens.shape[1]] if positions else tokens


def stem_inputs() -> list[tuple]:
    """Two mini RViT-S of their own random weights, each with a batch of frames."""
    inputs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = create_model("rvit_s").eval()
        inputs.append((model, torch.rand(2, 3, 32, 32)))
    return inputs


STEM = Piece("the stem", reference=lambda model, frames: model.embed(frames),
             inputs=stem_inputs, mistakes=[
                 Mistake("the CLS token is missing: put it in front of the patch tokens",
                         partial(stem, cls="missing")),
                 Mistake("the CLS token is at the end: it goes in front (token 0)",
                         partial(stem, cls="back")),
                 Mistake("the pixels are not normalised: (x - pixel_mean) / pixel_std first",
                         partial(stem, normalise=False)),
                 Mistake("the position embedding is not added", partial(stem, positions=False)),
                 Mistake("the patches go column by column: raster order is row by row",
                         partial(stem, patch_order="columns")),
                 Mistake("each patch is flattened pixel by pixel (p, p, 3); the kernel reads it "
                         "channel by channel (3, p, p)", partial(stem, values="channels last")),
             ])
PIECES = [STEM]


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
