"""Notebook 01, from video to tokens: the stem the student writes (its check and known
mistakes), the exercises' pieces and prediction, a CViT stretched to longer clips, and the
playground (a frame cut into patches, the tokens the stem makes of them, and what one attention
sees in CViT and in RViT as the clip grows)."""

import copy
import dataclasses
import functools
from functools import partial

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ..data import CLASSES, render_clip, sample_indices, to_tensor
from ..model import create_model
from . import viz
from .check import Mistake, Piece, Prediction
from .evidence import wilson
from .widgets import clip, dropdown, figure, slider
from .widgets import playground as make_playground

# -- the piece the student writes: the stem ----------------------------------------------------

def stem(model, frames: torch.Tensor, normalise: bool = True, cls: str = "front",
         positions: bool = True, patch_order: str = "rows", values: str = "channels first",
         bias: bool = True):
    """frames (B, 3, H, W) in [0, 1] -> tokens (B, 1 + N, D), as model.embed computes them:
    pixels normalised, p x p patches in raster order (row by row), each flattened channel by
    channel and multiplied by the embedding matrix (the conv kernel as a (D, 3 p p) matrix),
    the CLS token in front, the position embedding added. The other arguments make the known
    mistakes: normalise=False, cls="missing" | "back", positions=False, patch_order="columns",
    values="channels last", bias=False."""
    p = model.cfg.patch_size
    x = (frames - model.cfg.pixel_mean) / model.cfg.pixel_std if normalise else frames
    patches = x.unfold(2, p, p).unfold(3, p, p)  # (B, 3, rows, columns, p, p)
    grid = (0, 2, 3) if patch_order == "rows" else (0, 3, 2)
    inner = (1, 4, 5) if values == "channels first" else (4, 5, 1)
    patches = patches.permute(*grid, *inner).flatten(3).flatten(1, 2)  # (B, N, 3 p p)
    weight = model.patch_embed.proj.weight.flatten(1)  # (D, 3 p p): the kernel, channel first
    tokens = patches @ weight.T + (model.patch_embed.proj.bias if bias else 0)  # (B, N, D)
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
                 Mistake("the embedding's bias is missing: add model.patch_embed.proj.bias",
                         partial(stem, bias=False)),
             ])


@torch.no_grad()
def randomise(module: nn.Module, seed: int) -> nn.Module:
    """Every parameter drawn at random at a scale where each one shows in the output (a check's
    inputs): norms' weights near 1 and their biases near 0, matrices and kernels of unit gain,
    small biases, CLS token and position and temporal embeddings of the tokens' scale."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        noise = torch.randn(p.shape, generator=gen)
        if name in ("cls_token", "pos_embed", "time_embed"):
            p.copy_(0.5 * noise)
        elif ".norm" in f".{name}" and name.endswith("weight"):
            p.copy_(1 + 0.2 * noise)
        elif p.ndim == 1:
            p.copy_(0.1 * noise)
        else:
            p.copy_(noise / p[0].numel() ** 0.5)
    return module.eval()


# -- exercise: the tokens CViT attends over ----------------------------------------------------

CVIT_TOKEN_MISTAKES = {
    "no time": "the temporal embedding is missing: add cvit.time_embed[:, :T] to every frame's "
               "tokens",
    "frame 0's time": "every frame got frame 0's temporal embedding: frame t gets "
                      "time_embed[:, t]",
    "patches only": "the tokens have no CLS token and no spatial positions: embed each frame "
                    "with cvit.embed (the stem)",
    "token major": "the tokens are ordered position by position; CViT puts each frame's N tokens "
                   "together, frame after frame: (B, T, N, D) -> (B, T N, D)",
    "frames in batch": "the frames went into the batch (B T, N, D): that is one attention per "
                       "frame; CViT's one attention sees all T N tokens of a clip",
}


def cvit_tokens(cvit, video: torch.Tensor, mistake: str | None = None) -> torch.Tensor:
    """video (B, T, 3, H, W) -> the tokens CViT's first block attends over, (B, T N, D): each
    frame's stem output (CLS first, spatial positions added), plus the temporal embedding of its
    frame, time_embed[:, t]; frame 0's N tokens, then frame 1's, and so on. `mistake` (one of
    CVIT_TOKEN_MISTAKES) makes the known mistakes."""
    B, T = video.shape[:2]
    frames = video.flatten(0, 1)                                         # (B T, 3, H, W)
    if mistake == "patches only":
        x = cvit.patch_embed((frames - cvit.cfg.pixel_mean) / cvit.cfg.pixel_std)
    else:
        x = cvit.embed(frames)                                           # (B T, N, D)
    x = x.unflatten(0, (B, T))                                           # (B, T, N, D)
    if mistake == "frame 0's time":
        x = x + cvit.time_embed[:, :1]
    elif mistake != "no time":
        x = x + cvit.time_embed[:, :T]                                   # (1, T, 1, D)
    if mistake == "frames in batch":
        return x.flatten(0, 1)
    if mistake == "token major":
        return x.transpose(1, 2).flatten(1, 2)
    return x.flatten(1, 2)                                               # (B, T N, D)


def cvit_token_inputs() -> list[tuple]:
    """(cvit, video): two small CViTs of random weights, clips of 3 and 5 frames."""
    inputs = []
    for seed, frames in ((0, 3), (1, 5)):
        torch.manual_seed(seed)
        cvit = randomise(create_model("cvit", depth=1, num_frames=8), seed)
        video = torch.rand(2, frames, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
        inputs.append((cvit, video))
    return inputs


CVIT_TOKENS = Piece("CViT's tokens", reference=cvit_tokens, inputs=cvit_token_inputs, mistakes=[
    Mistake(says, partial(cvit_tokens, mistake=key)) for key, says in CVIT_TOKEN_MISTAKES.items()])


# -- exercise: the frame's feature with pool="mean" --------------------------------------------

MEAN_MISTAKES = {
    "no LN": "the final LayerNorm is missing: normalise each token with model.norm, then average",
    "LN after mean": "the LayerNorm comes after the mean: normalise each token first, then "
                     "average the N tokens",
    "width mean": "the mean runs over the width D; average over the N tokens (dim=1)",
    "first token": "that is token 0 alone; with pool='mean' there is no CLS token: average all N",
    "sum": "the tokens are summed; their mean divides by N",
}


def mean_feature(model, tokens: torch.Tensor, mistake: str | None = None) -> torch.Tensor:
    """tokens (B, N, D), a frame's top-layer output -> its feature f_t (B, D) with
    pool='mean': each token layer-normed with model.norm, then the mean over the N tokens."""
    if mistake == "no LN":
        return tokens.mean(dim=1)
    if mistake == "LN after mean":
        return model.norm(tokens.mean(dim=1))
    normed = model.norm(tokens)
    return {"width mean": lambda: normed.mean(dim=-1), "first token": lambda: normed[:, 0],
            "sum": lambda: normed.sum(dim=1)}.get(mistake, lambda: normed.mean(dim=1))()


def mean_inputs() -> list[tuple]:
    """(model, tokens): mini RViT-S with pool='mean' and a randomised final LayerNorm, tokens of
    the scale a top layer puts out."""
    inputs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = randomise(create_model("rvit_s", pool="mean"), seed)
        gen = torch.Generator().manual_seed(seed)
        inputs.append((model, 1 + 3 * torch.randn(2, model.num_tokens, model.cfg.dim,
                                                  generator=gen)))
    return inputs


MEAN_POOL = Piece("f_t with pool='mean'", reference=lambda model, tokens: model.pool(tokens),
                  inputs=mean_inputs, mistakes=[Mistake(says, partial(mean_feature, mistake=key))
                                                for key, says in MEAN_MISTAKES.items()])

PIECES = [STEM, CVIT_TOKENS, MEAN_POOL]


# -- exercise: a prediction about sampling -------------------------------------------------------

def sampled_twins_reversed(total: int = 32, frames: int = 8, seed: int = 3) -> str:
    """Uniformly sample `frames` of `total` from stand_up and from sit_down (the same frames
    reversed): is the sampled stand_up the sampled sit_down played backwards? "yes" or "no"."""
    sit = to_tensor(render_clip("sit_down", total, 32, seed))
    stand = to_tensor(render_clip("stand_up", total, 32, seed))
    picked = sample_indices(total, frames).tolist()
    return "yes" if torch.equal(stand[picked], sit[picked].flip(0)) else "no"


SAMPLED_TWINS = Prediction(
    "sampled stand_up = sampled sit_down played backwards?",
    choices=("yes", "no"), truth=sampled_twins_reversed,
    why="list the frames that 32 -> 8 picks; frame i of stand_up is frame 31 - i of sit_down")


# -- a CViT stretched to longer clips ------------------------------------------------------------

def stretch_time(cvit, num_frames: int):
    """A copy of `cvit` whose temporal embedding is linearly interpolated from its num_frames
    positions to `num_frames` (first and last positions kept), as ViT's position embedding is
    interpolated for a new image size; it then takes clips of up to num_frames frames."""
    out = copy.deepcopy(cvit)
    table = cvit.time_embed.detach()[0, :, 0].T[None]                    # (1, D, T)
    stretched = nn.functional.interpolate(table, size=num_frames, mode="linear",
                                          align_corners=True)            # (1, D, T')
    out.time_embed = nn.Parameter(stretched[0].T[None, :, None])         # (1, T', 1, D)
    out.cfg = dataclasses.replace(cvit.cfg, num_frames=num_frames)
    return out


def rate(right: torch.Tensor) -> str:
    """A bool tensor of hits -> "k/n = r % (95 % interval lo-hi %)"."""
    k, n = int(right.sum()), right.numel()
    lo, hi = wilson(k, n)
    return f"{k:>2}/{n} = {k / n:4.0%} (95 % interval {lo:.0%}-{hi:.0%})"


def patch_tokens(frame: torch.Tensor, patch_size: int) -> torch.Tensor:
    """frame (3, H, W) -> (N, 3 p p): its p x p patches in raster order, each flattened, the
    values a ViT's patch embedding projects to D."""
    c, h, w = frame.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f"patch size {patch_size} must divide the frame's {h}x{w} pixels")
    patches = frame.unfold(1, patch_size, patch_size).unfold(2, patch_size, patch_size)
    return patches.permute(1, 2, 0, 3, 4).reshape(-1, c * patch_size ** 2)


@functools.cache
def stem_model(patch_size: int):
    """An untrained mini RViT (seed 0) with this patch size: the playground's stem."""
    torch.manual_seed(0)
    return create_model("rvit", patch_size=patch_size).eval()


def draw_tokens(action: str = "wave", frame: int = 5, patch_size: int = 8,
                clip_length: int = 16) -> Figure:
    image = clip(action)[frame]
    patches = patch_tokens(image, patch_size)                            # (N - 1, 3 p p)
    model = stem_model(patch_size)
    with torch.no_grad():
        tokens = model.embed(image[None])[0]                             # (N, D), CLS first
    n, dim = tokens.shape
    fig = figure(10.5, 6.2)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 0.95])
    grid, matrix, stem = top.subplots(1, 3, width_ratios=[1, 1.3, 1.3])
    viz.patch_grid(image, patch_size, grid)
    grid.set_title(f"{action}, frame {frame}\n{len(patches)} patches of "
                   f"{patch_size}x{patch_size} px", fontsize=9)
    matrix.imshow(patches.numpy(), aspect="auto", cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
    matrix.set_xlabel(f"3 x {patch_size} x {patch_size} = {patches.shape[1]} pixel values")
    matrix.set_ylabel("patch (raster order)")
    matrix.set_title(f"patches, flattened: ({patches.shape[0]}, {patches.shape[1]})", fontsize=9)
    limit = float(tokens.abs().max())
    stem.imshow(tokens.numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                interpolation="nearest")
    stem.axhline(0.5, color="k", lw=1)
    stem.set_yticks([0, n - 1], ["CLS", f"patch {n - 2}"], fontsize=8)
    stem.set_xlabel(f"D = {dim} numbers per token")
    stem.set_title(f"tokens = model.embed(frame): ({n}, {dim})\nCLS + {n - 1} patch tokens "
                   "(an untrained stem)", fontsize=9)
    lengths = np.arange(1, 65)
    reads, pairs = bottom.subplots(1, 2)
    reads.plot(lengths, lengths * n, "C0-", label="CViT: one attention per layer over the clip")
    reads.plot(lengths, np.full(len(lengths), n), "C1-",
               label="RViT: one attention per layer and frame")
    reads.set_ylabel("tokens one attention sees")
    pairs.plot(lengths, (lengths * n) ** 2, "C0-", label="CViT: (T N)²")
    pairs.plot(lengths, lengths * n ** 2, "C1-", label="RViT: T N²")
    pairs.set_ylabel("token pairs compared per clip, per layer")
    t = clip_length
    for ax, cvit, rvit in ((reads, t * n, n), (pairs, (t * n) ** 2, t * n ** 2)):
        ax.plot([t, t], [cvit, rvit], "ko", ms=5)
        ax.annotate(f"{cvit:,}", (t, cvit), xytext=(5, 4), textcoords="offset points", fontsize=8)
        ax.annotate(f"{rvit:,}", (t, rvit), xytext=(5, -11), textcoords="offset points",
                    fontsize=8)
        ax.axvline(t, color="0.6", lw=1, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("clip length T (frames)")
        ax.legend(fontsize=8, loc="upper left")
    reads.set_title(f"T = {t}, N = {n}: CViT attends over {t * n:,} tokens at once, "
                    f"RViT over {n} a step", fontsize=9)
    pairs.set_title(f"compute: at T = {t} CViT compares {t} x as many pairs as RViT",
                    fontsize=9)
    return fig


def playground(live=None):
    """01: pick a clip, a frame, a patch size and a clip length T; see the frame cut into
    patches, the tokens the stem makes of them (CLS first), and what one attention sees in CViT
    (the whole clip, T N tokens) and in RViT (one frame, N tokens) as T grows."""
    return make_playground("tokens", draw_tokens, {
        "action": dropdown("clip", CLASSES), "frame": slider("frame", 0, 15),
        "patch_size": dropdown("patch size", [4, 8, 16]),
        "clip_length": slider("clip length T", 1, 64)}, live)
