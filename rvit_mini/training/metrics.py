"""Average precision, per class: Charades' mAP in evaluation, and the online metrics'."""

import torch


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
    (N, K) bool (ties count as one rank); NaN, undefined, for a class with no positive, and for
    one with no negative (every ranking would score 1: it says nothing of the scores)."""
    return torch.tensor([average_precision(scores[:, k], positives[:, k], calibrated)
                         if positives[:, k].any() and not positives[:, k].all()
                         else float("nan")
                         for k in range(scores.shape[1])])
