"""Per-frame metrics of online recognition: accuracy, (calibrated) mAP, accuracy by position."""

import torch

from ..training.metrics import average_precision, class_ap  # noqa: F401 (rm.online's too)


def frame_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """logits (..., K), labels (...) -> the fraction of frames whose top class is the label."""
    return (logits.argmax(-1) == labels).double().mean().item()


def frame_ap(logits: torch.Tensor, labels: torch.Tensor, calibrated: bool = False) -> torch.Tensor:
    """Per-class AP (K,) over all frames: logits (..., K) scored by their softmax, labels (...);
    NaN, undefined, for a class no frame has or every frame has. calibrated: cAP."""
    scores = logits.flatten(0, -2).float().softmax(-1)  # (N, K)
    positives = labels.flatten()[:, None] == torch.arange(scores.shape[1])
    return class_ap(scores, positives, calibrated)


def frame_map(logits: torch.Tensor, labels: torch.Tensor, calibrated: bool = False) -> float:
    """Per-frame mAP: frame_ap averaged over the classes where it is defined (calibrated:
    mcAP); NaN, undefined, where it is defined for none."""
    return frame_ap(logits, labels, calibrated).nanmean().item()


def positions(labels: torch.Tensor) -> torch.Tensor:
    """labels (..., T) -> frames since the current action began (..., T); the label changes
    where an action begins, and a stream's first action counts from its first frame."""
    t = labels.shape[-1]
    begins = torch.ones_like(labels, dtype=torch.bool)
    begins[..., 1:] = labels[..., 1:] != labels[..., :-1]
    index = torch.arange(t).expand_as(labels)
    return index - torch.where(begins, index, 0).cummax(-1).values


def accuracy_by_position(logits: torch.Tensor, labels: torch.Tensor,
                         edges: tuple = (0, 1, 2, 3, 6)) -> dict:
    """Frame accuracy by position inside the action: buckets [edges[i], edges[i+1]) and the
    last one open, e.g. {"0": .., "1": .., "2": .., "3-5": .., "6+": ..}; NaN where empty.
    logits (..., T, K), labels (..., T)."""
    pos, hit = positions(labels), logits.argmax(-1) == labels
    out = {}
    for lo, hi in zip(edges, [*edges[1:], None]):
        name = f"{lo}+" if hi is None else str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"
        inside = (pos >= lo) & (pos < hi) if hi is not None else pos >= lo
        out[name] = hit[inside].double().mean().item() if inside.any() else float("nan")
    return out


def stream_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """logits (B, T, K), labels (B, T) -> frame accuracy (over all frames, and the standard
    deviation of the B streams' own accuracies), mAP, mcAP, accuracy in the first three frames
    of an action and after them, and accuracy at positions 0, 1, 2, 3-5, 6+."""
    first3, rest = accuracy_by_position(logits, labels, (0, 3)).values()
    per_stream = (logits.argmax(-1) == labels).double().mean(-1)  # (B,)
    return {"accuracy": frame_accuracy(logits, labels),
            "accuracy_sd": per_stream.std().item() if len(per_stream) > 1 else float("nan"),
            "mAP": frame_map(logits, labels),
            "mcAP": frame_map(logits, labels, calibrated=True), "first3": first3, "rest": rest,
            "by_position": accuracy_by_position(logits, labels)}
