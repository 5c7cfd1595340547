"""What a resumed run must match before it takes a step: a checkpoint that can be resumed from,
the data it was trained on, and a position inside this data's epochs.

A checkpoint records its training data's identity (data_identity): the loader, the root, the
split, the excluded videos, the seed, the number of clips, and the class names in their order.
Resuming on other data would continue a run with batches that mean something else (another
class order), or at a batch position past the end of the new epoch; so a difference is refused,
naming the field. Only a different root may be allowed (`allow_data_change`): the same data
moved, as its loader, split, exclusions, length and classes then show.
"""

from dataclasses import asdict, dataclass
from numbers import Integral
from pathlib import Path

import torch

from ..data import read_exclude

DATA_FIELDS = ("loader", "root", "split", "exclude", "seed", "length", "classes")
# the loader a data set of each type came from, as prepare_run (and --data) names it
LOADER_NAMES = {"StickActions": "stick_actions", "StickStreams": "streams"}
TRAINING_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "train_state", "config")


@dataclass
class Position:
    """Where a run is: optimiser steps taken, the epoch, and batches taken in that epoch."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def data_identity(dataset, loader: str | None = None, root=None, split: str | None = None,
                  exclude=None, seed: int | None = None) -> dict:
    """What a checkpoint records of its training data; what is not given is read from the
    data set (StickActions' and StickStreams' split and seed, any data set's length and
    classes)."""
    source = getattr(dataset, "streams", dataset)  # StreamWindows: its streams'
    kind = type(source).__name__
    return {"loader": loader or LOADER_NAMES.get(kind, kind),
            "root": str(Path(root).resolve()) if root is not None else None,
            "split": split if split is not None else getattr(source, "split", None),
            "exclude": sorted(read_exclude(exclude)),
            "seed": seed if seed is not None else getattr(source, "seed", None),
            "length": len(dataset), "classes": list(getattr(dataset, "classes", None) or [])}


def _shown(value) -> str:
    if isinstance(value, list) and len(value) > 4:
        return f"[{', '.join(map(repr, value[:3]))}, ... ({len(value)} in all)]"
    return repr(value)


def data_change(saved: dict, now: dict, allow_change: bool = False) -> str | None:
    """The first field in which the data `now` differs from the data a checkpoint was trained
    on, as a message; None if they agree (with allow_change, the root may differ)."""
    for field in DATA_FIELDS:
        was, is_ = saved.get(field), now.get(field)
        if was == is_ or (field == "root" and allow_change):
            continue
        if field == "classes" and sorted(was or []) == sorted(is_ or []):
            first = next(i for i, (a, b) in enumerate(zip(was, is_)) if a != b)
            return (f"the classes are in another order (class {first} was {was[first]!r}, now "
                    f"{is_[first]!r})")
        if field == "exclude":
            return f"the exclude list differs ({len(was or [])} videos then, {len(is_)} now)"
        return f"its {field} was {_shown(was)}, now {_shown(is_)}"
    return None


def check_same_data(saved: dict | None, now: dict, path, allow_change: bool = False) -> None:
    """Refuse to resume the checkpoint at `path` on data other than its own."""
    if saved is None:
        return  # a checkpoint from before data was recorded: nothing to compare
    if not isinstance(saved, dict):
        raise ValueError(f"checkpoint {path} is damaged: its data record is a "
                         f"{type(saved).__name__}, not the data's fields")
    change = data_change(saved, now, allow_change)
    if change is None:
        return
    moved = change.startswith("its root")
    hint = ("if the data set only moved, resume with --allow-data-change" if moved else
            "resume with the data the run began with (the same --data, --root, --split, "
            "--exclude and --data-seed), or start a new run")
    raise ValueError(f"checkpoint {path} was trained on other data: {change}; {hint}")


def check_training_checkpoint(ckpt, path) -> None:
    """Refuse what is not a training checkpoint (OUT/last.pt), saying what it is instead."""
    if isinstance(ckpt, dict) and ckpt and all(isinstance(v, torch.Tensor)
                                               for v in ckpt.values()):
        raise ValueError(f"{path} holds a model's weights only (a trained model as train writes "
                         "it, NAME.pt), not a training checkpoint: it has no optimiser state to "
                         "resume from; start a new run from it with --init-from")
    missing = [k for k in TRAINING_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ValueError(f"{path} is not a checkpoint a run can resume from: it has no "
                         f"{', '.join(missing)} (a model saved for inference?); start a new run "
                         "from its weights with --init-from")


def check_position(train_state, batches_per_epoch: int, path) -> Position:
    """The checkpoint's position, refused unless it lies inside this data's epochs."""
    try:
        position = Position(**train_state)
    except TypeError:
        raise ValueError(f"checkpoint {path} is damaged: its position {train_state!r} is not "
                         "(step, epoch, batch_in_epoch)") from None
    for name, value in asdict(position).items():
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise ValueError(f"checkpoint {path} is damaged: its {name} is {value!r}, expected "
                             "an integer >= 0")
    step, epoch, batch = position.step, position.epoch, position.batch_in_epoch
    if batch > batches_per_epoch:
        raise ValueError(f"checkpoint {path} stopped after batch {batch} of epoch {epoch}, but "
                         f"an epoch of this data has {batches_per_epoch} batches: the data "
                         "changed since; resume with the data the run began with")
    if step > epoch * batches_per_epoch + batch:
        raise ValueError(f"checkpoint {path} is damaged: {step} steps in "
                         f"{epoch * batches_per_epoch + batch} batches (epoch {epoch}, batch "
                         f"{batch} of {batches_per_epoch}); each step takes one batch")
    return position
