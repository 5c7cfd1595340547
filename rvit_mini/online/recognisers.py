"""Recognisers: a model that names the action of the newest frame, fed frames in order."""


import torch
from torch import nn

from ..model import CViT
from ..model.flops import clip_flops
from ..model.inputs import check_streams
from ..model.recurrence import reset_mask
from ..training.evaluate import align_logits, class_index
from .metrics import positions


class Recurrent:
    """An RViT or a TRecViT (or the frame ViT) through init_state and recur, one frame at a time:
    logits head(f_t) of the newest frame.

    oracle=True marks the ablation that compare() tells where each action begins, to reset the
    state there: what a perfect boundary detector would give the same model.
    """

    def __init__(self, model: nn.Module, oracle: bool = False):
        check_streams(model)
        self.model, self.oracle = model, oracle

    def reset(self, batch_size: int, device=None) -> None:
        self.state, self.resets = self.model.init_state(batch_size, device), None

    def forget(self, rows: torch.Tensor) -> None:
        """Reset the state of the streams where rows (B,) bool is True, before the next frame."""
        self.resets = rows

    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """frame (B, C, H, W) -> logits (B, K) for it."""
        resets = None if self.resets is None else self.resets[:, None]
        features, self.state = self.model.recur(frame[:, None], self.state, resets=resets)
        self.resets = None
        return self.model.head(features[:, 0])

    def held(self) -> list:
        """The tensors kept from one frame to the next."""
        return self.state

    def flops(self) -> int:
        """Forward FLOPs of one update: one frame through the model and the head."""
        return clip_flops(self.model.cfg, 1, per_frame=True)


class Window:
    """A CViT over the last `window` frames: the logits of frame t are head(f_t), the newest
    frame's feature after attending over the window.

    We read the newest frame's feature rather than the clip logits head(mean of the window's
    features): the mean weighs the frames w/2 steps back as much as the present, so it lags a
    boundary by about w/2 frames by construction, and head(f_t) is the same read-out as the
    RViT's and the frame ViT's, so the rivals differ only in what f_t can see.
    """

    oracle = False

    def __init__(self, model: CViT, window: int):
        if not 1 <= window <= model.cfg.num_frames:
            raise ValueError(f"window must be 1 to {model.cfg.num_frames} frames, the time "
                             f"embeddings this CViT holds, got {window}; create a CViT with "
                             f"num_frames={window} for a longer window")
        self.model, self.window = model, window

    def reset(self, batch_size: int, device=None) -> None:
        self.frames = None

    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """frame (B, C, H, W) -> logits (B, K) from the last `window` frames."""
        frames = frame[:, None] if self.frames is None else \
            torch.cat([self.frames, frame[:, None]], 1)  # (B, <= w, C, H, W)
        self.frames = frames[:, max(0, frames.shape[1] + 1 - self.window):]
        return self.model.frame_logits(frames)[:, -1]

    def held(self) -> list:
        """The last window - 1 frames, kept for the next window."""
        return [self.frames]

    def flops(self) -> int:
        """Forward FLOPs of one update once the window is full: the whole window again."""
        return clip_flops(self.model.cfg, self.window, per_frame=True)


class Constant:
    """Always class `label`: the majority-class guess when `label` is the commonest class."""

    oracle = False

    def __init__(self, label: int, num_classes: int):
        self.logits = nn.functional.one_hot(torch.tensor(label), num_classes).float()

    def reset(self, batch_size: int, device=None) -> None:
        self.logits = self.logits.to(device)

    def update(self, frame: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(frame), -1)

    def held(self) -> list:
        return []

    def flops(self) -> int:
        return 0


def as_recogniser(model):
    """A recogniser as is; a model that steps (RViT, TRecViT, ViT) as Recurrent(model)."""
    return Recurrent(model) if isinstance(model, nn.Module) else model


@torch.no_grad()
def predict_stream(model, video: torch.Tensor, resets=None) -> torch.Tensor:
    """video (T, C, H, W) or (B, T, C, H, W) -> per-frame logits (T, K) or (B, T, K), one frame
    at a time through a recogniser (an RViT, TRecViT or ViT is streamed through init_state/recur).

    `resets` (frame indices, or a bool mask (T,) or (B, T)): reset the state just before those
    frames, as if each segment were a stream of its own.
    """
    rec = as_recogniser(model)
    single = video.ndim == 4
    video = video[None] if single else video
    b, t = video.shape[:2]
    mask = reset_mask(resets, b, t)
    if mask is not None and not hasattr(rec, "forget"):
        raise TypeError(f"{type(rec).__name__} keeps no state to reset; drop `resets`")
    rec.reset(b, video.device)
    logits = []
    for i in range(t):
        if mask is not None and i and mask[:, i].any():
            rec.forget(mask[:, i].to(video.device))
        logits.append(rec.update(video[:, i]))
    logits = torch.stack(logits, 1)
    return logits[0] if single else logits


def oracle_resets(recogniser, labels: torch.Tensor):
    """Where an oracle recogniser's state is reset, predict_stream's `resets`: where each action
    begins in labels (B, T), a bool mask (B, T); None for any other recogniser."""
    return positions(labels) == 0 if recogniser.oracle else None


def in_data_order(recogniser, logits: torch.Tensor, classes) -> torch.Tensor:
    """A recogniser's logits (..., K) in the order of the data's `classes` (StickStreams':
    data.CLASSES), its model's outputs matched by name (model.classes; training.evaluate's
    class_index); unchanged for a recogniser without a model or data without class names."""
    model = getattr(recogniser, "model", None)
    if model is None or classes is None:
        return logits
    index = class_index(getattr(model, "classes", None), classes, model.cfg.num_classes)
    if index is None:
        return logits
    return align_logits(logits.flatten(0, -2), index).unflatten(0, logits.shape[:-1])
