"""Streaming classification: one frame in, the clip prediction so far out, in constant memory."""

import torch

from ..model import VideoTransformer
from ..model.inputs import check_streams


class StreamingClassifier:
    """Wraps an RViT (or the frame-mean ViT) for frame-by-frame prediction.

        stream = StreamingClassifier(model)
        for frame in frames:                      # (C, H, W) or (B, C, H, W), float in [0, 1]
            logits = stream.update(frame)         # (B, K): head(mean of features so far)

    It keeps only the hidden state and a running sum of features, so memory does not grow
    with the number of frames; after T frames the logits equal model(video[:, :T]).
    """

    def __init__(self, model: VideoTransformer):
        check_streams(model)
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
        feature, self.state = self.model.recur(frame[:, None], self.state)
        self.last_feature = feature[:, 0]
        self.feature_sum = self.last_feature + (0 if self.feature_sum is None else self.feature_sum)
        self.num_frames += 1
        return self.model.head(self.feature_sum / self.num_frames)

    @torch.no_grad()
    def frame_logits(self) -> torch.Tensor:
        """Logits (B, K) of the latest frame's feature alone: what the model sees right now."""
        if self.last_feature is None:
            raise RuntimeError("no frame yet: call update(frame) before frame_logits()")
        return self.model.head(self.last_feature)


@torch.no_grad()
def trace(model, video: torch.Tensor) -> dict:
    """Stream video (T, C, H, W) through an RViT frame by frame.

    Returns {"states": (T, N, D) the top layer's hidden state after each frame,
    "frame_logits": (T, K) head(f_t), "clip_logits": (T, K) head(mean of f_1..f_t)}.
    """
    top = len(model.blocks) - 1
    states = []

    def keep_top(t, layer, x, h, y):
        if layer == top:
            states.append(y[0].float())

    model.eval()
    features, _ = model.recur(video[None], observe=keep_top)
    features = features[0]
    running = features.cumsum(0) / torch.arange(1, len(features) + 1, device=video.device)[:, None]
    return {"states": torch.stack(states), "frame_logits": model.head(features),
            "clip_logits": model.head(running)}
