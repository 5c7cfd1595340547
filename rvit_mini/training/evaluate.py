"""Evaluation: a model's predictions over a whole data set, and the metrics a run reports.

A model's logits come in the order of the classes it was trained on, which its checkpoint and
model card record (`model.classes` once loaded); a data set's targets in its own order (sorted
folder names, a labels file). Evaluation matches the two by name:

    index = class_index(model.classes, dataset.classes, model.cfg.num_classes)
    logits = align_logits(logits, index)   # (N, K_model) -> (N, K_data), the data set's order
"""

import torch
from torch.utils.data import DataLoader

from ..common.checks import check_batch_fits
from ..data import collate
from .metrics import class_ap


def _names(classes: list, n: int = 4) -> str:
    more = f", ... ({len(classes)} in all)" if len(classes) > n else ""
    return ", ".join(map(str, classes[:n])) + more


def class_index(model_classes: list | None, data_classes: list,
                num_outputs: int) -> torch.Tensor | None:
    """For each of the data set's classes, the model output of the same name (-1: the model
    lacks it) -> (K_data,) long; None when they already agree. A model that does not record its
    classes is taken in the data set's order, if it has as many outputs; a model and a data set
    without a class in common are refused. What the match leaves out is evaluate's to say
    (its result's `left_out` and `unknown`)."""
    data_classes = list(data_classes)
    if model_classes is None:
        if num_outputs != len(data_classes):
            raise ValueError(f"the model has {num_outputs} outputs but the data set "
                             f"{len(data_classes)} classes, and the model does not record its "
                             "classes' names to match them; evaluate it on the data set it "
                             "was trained for")
        return None
    model_classes = list(model_classes)
    if len(model_classes) != num_outputs:
        raise ValueError(f"the model records {len(model_classes)} class names for "
                         f"{num_outputs} outputs; its checkpoint or card is inconsistent")
    if model_classes == data_classes:
        return None
    if not set(data_classes) & set(model_classes):
        raise ValueError(f"the model's classes ({_names(model_classes)}) and the data set's "
                         f"({_names(data_classes)}) share none: this model was trained for "
                         "another data set")
    return torch.tensor([model_classes.index(c) if c in model_classes else -1
                         for c in data_classes])


def align_logits(logits: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
    """logits (N, K_model) -> (N, K_data) in the data set's class order; a class the model
    lacks (index -1) gets -inf, so it is never predicted."""
    if index is None:
        return logits
    aligned = logits[:, index.clamp(min=0)]
    return aligned.masked_fill(index < 0, float("-inf"))


def per_frame(target: torch.Tensor) -> bool:
    """Targets (B, T) of integer labels: one per frame (streams), not one per clip (B,) or a
    multi-hot row per clip (B, K) of floats (Charades)."""
    return target.ndim == 2 and not target.is_floating_point()


@torch.no_grad()
def predict(model, dataset, batch_size=32, device="cpu", workers=0):
    """Logits (N, K) and targets for a whole data set; with per-frame targets, one row per frame
    (per-frame logits head(f_t), N = clips x frames). Clips that cannot be read are skipped
    (each named in a warning); logits that are not finite are refused."""
    logits, targets, _ = predict_clips(model, dataset, batch_size, device, workers)
    return logits, targets


def predict_clips(model, dataset, batch_size=32, device="cpu", workers=0):
    """predict's logits and targets, and the number of clips read."""
    check_batch_fits(dataset, batch_size)
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate)
    logits, targets, clips = [], [], 0
    for video, target in filter(None, loader):  # None: every clip unreadable (each reported)
        clips += len(video)
        if per_frame(target):
            logits.append(model.frame_logits(video.to(device)).float().cpu().flatten(0, 1))
            targets.append(target.flatten())
        else:
            logits.append(model(video.to(device)).float().cpu())
            targets.append(target)
    if not logits:
        raise ValueError(f"none of the {len(dataset)} clips could be read (each is named in a "
                         "warning above); check the data with `python -m rvit_mini check-data`")
    logits = torch.cat(logits)
    check_finite_logits(logits, per_frame(targets[0]))
    return logits, torch.cat(targets), clips


def check_finite_logits(logits: torch.Tensor, frames: bool) -> None:
    bad = int((~logits.isfinite().all(1)).sum())
    if bad:
        what = "frames" if frames else "clips"
        raise ValueError(f"the model's outputs are NaN or inf for {bad} of {len(logits)} {what}: "
                         "its weights are damaged or the run diverged; evaluate another "
                         "checkpoint")


def match_classes(model, dataset, classes=None) -> torch.Tensor | None:
    """The model's output for each of the data set's classes, matched by name (class_index);
    classes: the model's class names, by default `model.classes`, which a
    loaded checkpoint or shipped model records."""
    data_classes, cfg = getattr(dataset, "classes", None), getattr(model, "cfg", None)
    if data_classes is None or cfg is None:
        return None
    return class_index(classes if classes is not None else getattr(model, "classes", None),
                       data_classes, cfg.num_classes)


def choice(model_classes, data_classes, index, all_classes: bool) -> dict:
    """The classes a prediction chooses among: the data set's (by default), or with
    all_classes every one of the model's and then the data set's it lacks. -> {"classes": their
    names, "columns": the model output of each (-1: none), "targets": each data class's
    position among them, "left_out": the model's classes not in the choice, "unknown": the
    data set's the model lacks}."""
    data_classes = list(data_classes)
    model_classes = list(model_classes) if model_classes is not None else data_classes
    unknown = [c for c in data_classes if c not in model_classes]
    if not all_classes or index is None and model_classes == data_classes:
        columns = index if index is not None else torch.arange(len(data_classes))
        return {"classes": data_classes, "columns": columns, "unknown": unknown,
                "targets": torch.arange(len(data_classes)),
                "left_out": [c for c in model_classes if c not in data_classes]}
    names = model_classes + unknown
    return {"classes": names, "unknown": unknown, "left_out": [],
            "columns": torch.tensor(list(range(len(model_classes))) + [-1] * len(unknown)),
            "targets": torch.tensor([names.index(c) for c in data_classes])}


def evaluate(model, dataset, batch_size=32, device="cpu", workers=0, classes=None,
             all_classes: bool = False) -> dict:
    """top1, top5, per-class accuracy and confusion matrix (over frames, for per-frame
    targets); mAP for multi-hot targets. The model's outputs are matched to the data set's
    classes by name (`match_classes`), and the prediction chooses among the data set's classes,
    or with all_classes among all the model's; clips without a label (target -1) are refused.

    Also returned: "classes", the names per_class and the confusion matrix follow; "n", the
    clips (frames) scored; "skipped", the clips that could not be read; "left_out", the
    model's classes left out of the choice; "unknown", the data set's the model lacks (their
    clips count as wrong). Undefined figures (a class without clips or, for AP, without
    negatives) are NaN."""
    model_classes = classes if classes is not None else getattr(model, "classes", None)
    index = match_classes(model, dataset, classes)
    logits, targets, clips = predict_clips(model, dataset, batch_size, device, workers)
    data_classes = getattr(dataset, "classes", None) or list(range(logits.shape[1]))
    chosen = choice(model_classes, data_classes, index, all_classes)
    logits = align_logits(logits, chosen["columns"])
    info = {"n": clips, "skipped": len(dataset) - clips,
            **{k: chosen[k] for k in ("classes", "left_out", "unknown")}}
    if targets.ndim == 2 and targets.is_floating_point():
        multi_hot = targets.new_zeros(len(targets), len(chosen["classes"]))
        multi_hot[:, chosen["targets"]] = targets
        ap = class_ap(logits, multi_hot.bool())  # tied scores count as one rank
        return {"mAP": float(ap.nanmean()), "ap_per_class": ap.tolist(), **info}
    if (targets < 0).any():
        raise ValueError(f"{int((targets < 0).sum())} of {len(targets)} clips have no label "
                         "(target -1, as in a test split): evaluation needs labels; "
                         "rvit_mini.train.predict gives their logits")
    return {**accuracy(logits, chosen["targets"][targets]), **info, "n": len(targets)}


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> dict:
    """top1, top5, per-class accuracy (NaN for a class without clips), confusion matrix."""
    k = logits.shape[1]
    top5 = logits.topk(min(5, k), dim=1).indices
    confusion = torch.zeros(k, k, dtype=torch.long)
    confusion.index_put_((targets, top5[:, 0]), torch.ones_like(targets), accumulate=True)
    per_class = confusion.diag() / confusion.sum(1)  # 0 / 0: NaN, undefined
    return {"top1": float((top5[:, 0] == targets).float().mean()),
            "top5": float((top5 == targets[:, None]).any(1).float().mean()),
            "per_class": per_class.tolist(), "confusion": confusion.tolist()}
