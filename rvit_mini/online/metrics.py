"""Per-frame metrics of online recognition: accuracy, (calibrated) mAP, accuracy by position."""


import torch


def frame_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """logits (..., K), labels (...) -> the fraction of frames whose top class is the label."""
    return (logits.argmax(-1) == labels).double().mean().item()


def average_precision(scores: torch.Tensor, positives: torch.Tensor,
                      calibrated: bool = False) -> float:
    """AP of ranking frames by scores (N,) against positives (N,) bool: the precision at each
    positive's rank, averaged over the positives; tied scores count as one rank (as sklearn's
    average_precision_score).

    calibrated: TVSeries' cAP (De Geest et al. 2016), precision with the true positives weighted
    by w = negatives / positives, cPrec = w TP / (w TP + FP), as if the class filled half the
    frames, so that classes of any frequency compare.
    """
    order = scores.argsort(descending=True)
    ranked, hits = scores[order], positives[order].double()
    tp, fp = hits.cumsum(0), (1 - hits).cumsum(0)
    last = torch.ones_like(ranked, dtype=torch.bool)  # the last frame of each run of ties
    last[:-1] = ranked[1:] != ranked[:-1]
    tp, fp = tp[last], fp[last]
    num_pos, num_neg = tp[-1], fp[-1]
    if num_pos == 0:
        raise ValueError("average precision needs at least one positive frame")
    w = num_neg / num_pos if calibrated else 1.0
    precision = w * tp / (w * tp + fp)
    new_hits = torch.diff(tp, prepend=tp.new_zeros(1))
    return (precision * new_hits).sum().item() / num_pos.item()


def class_ap(scores: torch.Tensor, positives: torch.Tensor,
             calibrated: bool = False) -> torch.Tensor:
    """Per-class AP (K,): average_precision of each column of scores (N, K) against positives
    (N, K) bool (ties count as one rank); NaN for a class with no positive."""
    return torch.tensor([average_precision(scores[:, k], positives[:, k], calibrated)
                         if positives[:, k].any() else float("nan")
                         for k in range(scores.shape[1])])


def frame_ap(logits: torch.Tensor, labels: torch.Tensor, calibrated: bool = False) -> torch.Tensor:
    """Per-class AP (K,) over all frames: logits (..., K) scored by their softmax, labels (...);
    NaN for a class no frame has. calibrated: cAP."""
    scores = logits.flatten(0, -2).float().softmax(-1)  # (N, K)
    positives = labels.flatten()[:, None] == torch.arange(scores.shape[1])
    return class_ap(scores, positives, calibrated)


def frame_map(logits: torch.Tensor, labels: torch.Tensor, calibrated: bool = False) -> float:
    """Per-frame mAP: frame_ap averaged over the classes present (calibrated: mcAP)."""
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
