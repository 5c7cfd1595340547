"""Reading a trained model's hidden state over a clip: per-frame states and predictions, how
long the prediction takes to switch after an action boundary, and a change point found from the
hidden state alone (Fig. S2's observation, measured)."""

import torch

from .stream import StreamingClassifier


@torch.no_grad()
def trace(model, video: torch.Tensor) -> dict:
    """Stream video (T, C, H, W) through an RViT frame by frame.

    Returns {"states": (T, N, D) the top layer's hidden state after each frame,
    "frame_logits": (T, K) head(f_t), "clip_logits": (T, K) head(mean of f_1..f_t)}.
    """
    stream = StreamingClassifier(model)
    states, frame_logits, clip_logits = [], [], []
    for frame in video:
        clip_logits.append(stream.update(frame)[0])
        frame_logits.append(stream.frame_logits()[0])
        states.append(stream.state[-1][0].float())
    return {"states": torch.stack(states), "frame_logits": torch.stack(frame_logits),
            "clip_logits": torch.stack(clip_logits)}


def switch_delay(predictions: torch.Tensor, boundary: int, new_label: int) -> int | None:
    """Frames after `boundary` until the per-frame prediction (T,) first names the new action
    and keeps naming it to the end of the clip; None if it never settles on it."""
    for t in range(boundary, len(predictions)):
        if (predictions[t:] == new_label).all():
            return t - boundary
    return None


def change_point(states: torch.Tensor) -> int:
    """The frame b (1 <= b < T) that best splits states (T, ...) into two segments, each close
    to its own mean (least squares on the flattened states): states[:b] | states[b:]."""
    x = states.flatten(1).double()
    x = x - x.mean(0)
    csum, csq = x.cumsum(0), (x * x).sum(1).cumsum(0)
    total_sq = csq[-1]
    n = len(x)
    best, best_cost = 1, float("inf")
    for b in range(1, n):
        left, right = csum[b - 1], csum[-1] - csum[b - 1]
        # sum of squares about each segment's mean = sum |x|^2 - |sum x|^2 / count
        cost = total_sq - (left @ left) / b - (right @ right) / (n - b)
        if cost < best_cost:
            best, best_cost = b, float(cost)
    return best
