"""What a model accepts: frames (B, C, H, W) and clips (B, T, C, H, W) of floats in [0, 1] at
its size, and for `step(frame, state)` the state `init_state(B)` would make; anything else is
refused with a message that says what to change."""

import math
import warnings

import torch

from .config import ModelConfig


def check_frames(cfg: ModelConfig, x: torch.Tensor, layout: str = "(B, C, H, W)") -> None:
    """Raise ValueError unless x has the layout, its last three dims are (C, H, W) a model of
    config `cfg` accepts, and its values are finite (check_values)."""
    if x.ndim != len(layout.split(",")):
        raise ValueError(f"expected a tensor {layout}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(
            f"expected a floating-point tensor with values in [0, 1], got {x.dtype}; "
            "convert with x.float() / 255"
        )
    c, h, w = x.shape[-3:]
    if c != cfg.in_chans:
        raise ValueError(f"expected {cfg.in_chans} channels, got {c} (shape {tuple(x.shape)})")
    p = cfg.patch_size
    if h % p or w % p:
        lo_h, lo_w = max(p, h // p * p), max(p, w // p * p)
        raise ValueError(
            f"frame size {h}x{w} is not divisible by patch size {p}; "
            f"resize to {lo_h}x{lo_w} or {lo_h + p}x{lo_w + p}"
        )
    if (h, w) != (cfg.img_size, cfg.img_size):
        raise ValueError(
            f"this model takes {cfg.img_size}x{cfg.img_size} frames, got {h}x{w}; "
            f"resize the frames or create the model with img_size={h}"
        )
    check_values(x)


def check_video(cfg: ModelConfig, video: torch.Tensor) -> None:
    """check_frames for clips (B, T, C, H, W), which must have frames, and for a CViT no more
    than its temporal embedding covers."""
    check_frames(cfg, video, "(B, T, C, H, W)")
    t, max_t = video.shape[1], cfg.num_frames
    if t == 0:
        raise ValueError(f"the clip has no frames (shape {tuple(video.shape)})")
    if cfg.arch == "cvit" and t > max_t:
        raise ValueError(
            f"the clip has {t} frames but this CViT supports at most {max_t} "
            f"(its temporal embedding has num_frames={max_t}); sample at most {max_t} "
            f"frames or create the model with num_frames={t}"
        )


_warned_range = False


def check_values(x: torch.Tensor) -> None:
    """Refuse frames holding NaN or inf (a model would answer NaN, or a confident nonsense);
    warn once per process when they look like 0-255 values: the models expect [0, 1], and a
    trained model given 0-255 floats still answers, wrongly. Reads the values once: one
    aminmax, one wait for the device."""
    global _warned_range
    if torch.compiler.is_compiling() or x.device.type == "meta" or not x.numel():
        return
    lo, hi = (float(v) for v in torch.stack(torch.aminmax(x.detach())).tolist())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = "NaN" if math.isnan(lo) or math.isnan(hi) else "inf"
        raise ValueError(f"the frames hold {bad} values (shape {tuple(x.shape)}): check how they "
                         "were decoded or transformed (torch.isfinite(frames).all() is False)")
    if hi > 1.5 and not _warned_range:
        _warned_range = True
        warnings.warn(f"frames have values up to {hi:.1f}, but the model expects floats in "
                      "[0, 1]; divide 0-255 frames by 255", stacklevel=4)


def check_step(model, frame: torch.Tensor, state: list, layout: str = "(B, C, H, W)") -> None:
    """Raise ValueError unless `frame` is a frame batch (or with layout "(B, T, C, H, W)", a
    clip batch with frames) the model takes and `state` has the shapes of `model.init_state(B)`
    (one (B, N, D) tensor per RViT layer; empty for the ViT; two per TRecViT layer and a frame
    count)."""
    # the frame's shape and dtype, on the meta device: the [0, 1] range check reads the values,
    # which would make the host wait for the device at every frame of a stream
    check_frames(model.cfg, frame.to("meta"), layout)
    if layout.startswith("(B, T") and frame.shape[1] == 0:
        raise ValueError(f"the clip has no frames (shape {tuple(frame.shape)})")
    expected = [tuple(h.shape) for h in model.init_state(frame.shape[0], "meta")]
    given = [tuple(getattr(h, "shape", ())) for h in state] if isinstance(state, (list, tuple)) \
        else None
    if given != expected:
        shapes = sorted(set(expected))  # TRecViT's state holds tensors of several shapes
        layers = (f"{len(expected)} layers of {expected[0]}" if len(shapes) == 1 else
                  f"{len(expected)} tensors of {' / '.join(map(str, shapes))}" if expected else
                  "an empty list")
        raise ValueError(f"the state should be {layers} for a frame batch of {frame.shape[0]}, "
                         f"got {_describe(state)}; start a stream with "
                         "init_state(batch_size), and again when the batch changes")


def _describe(state) -> str:
    if not isinstance(state, (list, tuple)):
        return type(state).__name__
    shapes = sorted({tuple(getattr(h, "shape", ())) for h in state})
    noun = "tensors" if len(shapes) > 1 else "layers"
    return f"{len(state)} {noun} of {' / '.join(map(str, shapes)) or '-'}"


def check_streams(model) -> None:
    """Refuse a model that cannot run frame by frame: a CViT attends over the whole clip."""
    if not hasattr(model, "recur"):
        raise TypeError(f"a {type(model).__name__} attends over the whole clip at once and cannot "
                        "stream frame by frame; give an RViT, a TRecViT or the frame-mean ViT (a "
                        "CViT reads a sliding window: rvit_mini.online.Window)")
