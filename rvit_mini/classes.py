"""Classes matched by name: a model's outputs and a data set's targets mean the same classes.

A model's logits come in the order of the classes it was trained on, which its checkpoint and
model card record (`model.classes` once loaded); a data set's targets in its own order (sorted
folder names, a labels file). Evaluation and fine-tuning match the two by name:

    index = class_index(model.classes, dataset.classes, model.cfg.num_classes)
    logits = align_logits(logits, index)   # (N, K_model) -> (N, K_data), the data set's order
"""

import warnings

import torch


def _names(classes: list, n: int = 4) -> str:
    more = f", ... ({len(classes)} in all)" if len(classes) > n else ""
    return ", ".join(map(str, classes[:n])) + more


def class_index(model_classes: list | None, data_classes: list,
                num_outputs: int) -> torch.Tensor | None:
    """For each of the data set's classes, the model output of the same name (-1: the model
    lacks it) -> (K_data,) long; None when they already agree. A model that does not record its
    classes is taken in the data set's order, if it has as many outputs; a model and a data set
    without a class in common are refused."""
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
    unknown = [c for c in data_classes if c not in model_classes]
    if len(unknown) == len(data_classes):
        raise ValueError(f"the model's classes ({_names(model_classes)}) and the data set's "
                         f"({_names(data_classes)}) share none: this model was trained for "
                         "another data set")
    unused = [c for c in model_classes if c not in data_classes]
    if unknown or unused:
        warnings.warn(
            f"the model and the data set share {len(data_classes) - len(unknown)} classes"
            + (f"; {len(unknown)} of the data set's are unknown to the model "
               f"({_names(unknown)}), their clips count as wrong" if unknown else "")
            + (f"; the model's {len(unused)} others ({_names(unused)}) are not predicted"
               if unused else ""), stacklevel=3)
    return torch.tensor([model_classes.index(c) if c in model_classes else -1
                         for c in data_classes])


def align_logits(logits: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
    """logits (N, K_model) -> (N, K_data) in the data set's class order; a class the model
    lacks (index -1) gets -inf, so it is never predicted."""
    if index is None:
        return logits
    aligned = logits[:, index.clamp(min=0)]
    return aligned.masked_fill(index < 0, float("-inf"))


@torch.no_grad()
def copy_rows_by_name(head: torch.nn.Linear, source: torch.nn.Linear, source_classes: list,
                      classes: list) -> int:
    """Copy into `head` (one row per name in `classes`) the rows of `source` whose class
    (`source_classes`) has the same name; the others keep their values. Returns how many."""
    shared = [(i, source_classes.index(c)) for i, c in enumerate(classes) if c in source_classes]
    for mine, theirs in shared:
        head.weight[mine] = source.weight[theirs]
        if head.bias is not None and source.bias is not None:
            head.bias[mine] = source.bias[theirs]
    return len(shared)
