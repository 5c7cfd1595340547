"""Streaming classification: one frame in, the clip prediction so far out, in constant memory."""

import torch

from .models import VideoTransformer


def step_through(model: VideoTransformer, frames):
    """The state loop: frames (an iterable of (B, C, H, W)) fed one at a time through
    model.step from model.init_state -> the features f_t (B, D), yielded as they come."""
    state = None
    for frame in frames:
        if state is None:
            state = model.init_state(frame.shape[0], frame.device)
        feat, state = model.step(frame, state)
        yield feat


class StreamingClassifier:
    """Wraps an RViT (or the frame-mean ViT) for frame-by-frame prediction.

        stream = StreamingClassifier(model)
        for frame in frames:                      # (C, H, W) or (B, C, H, W), float in [0, 1]
            logits = stream.update(frame)         # (B, K): head(mean of features so far)

    It keeps only the hidden state and a running sum of features, so memory does not grow
    with the number of frames; after T frames the logits equal model(video[:, :T]).
    """

    def __init__(self, model: VideoTransformer):
        if not hasattr(model, "step"):
            raise TypeError(f"{type(model).__name__} attends over the whole clip at once and "
                            "cannot stream; use an RViT (or the frame-mean ViT)")
        self.model = model.eval()
        self.reset()

    def reset(self) -> None:
        self.state, self.feature_sum, self.num_frames = None, None, 0
        self.last_feature = None

    @torch.no_grad()
    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """frame (C, H, W) or (B, C, H, W) -> logits (B, K) for all frames seen so far."""
        frame = frame[None] if frame.ndim == 3 else frame
        self.model.check_frames(frame)
        if self.state is not None and frame.shape[0] != self.last_feature.shape[0]:
            raise ValueError(f"this stream has batch {self.last_feature.shape[0]}, but the frame "
                             f"has batch {frame.shape[0]}; reset() to start a new stream")
        if self.state is None:
            self.state = self.model.init_state(frame.shape[0], frame.device)
            self.feature_sum = 0
        feat, self.state = self.model.step(frame, self.state)
        self.feature_sum = self.feature_sum + feat
        self.num_frames += 1
        self.last_feature = feat
        return self.model.head(self.feature_sum / self.num_frames)

    @torch.no_grad()
    def frame_logits(self) -> torch.Tensor:
        """Logits (B, K) of the latest frame's feature alone: what the model sees right now."""
        if self.last_feature is None:
            raise RuntimeError("no frame yet: call update(frame) before frame_logits()")
        return self.model.head(self.last_feature)
