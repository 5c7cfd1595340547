"""Checkpoint files: written atomically (a temporary file, then os.replace), read with
torch.load(weights_only=True) and errors that name the file, and the RNG states they carry so
that a resumed run continues bit-exactly."""

import pickle
import random
from pathlib import Path

import numpy as np
import torch

from ..common.files import write_atomically
from ..model import VideoTransformer


def save_checkpoint(path, **state) -> Path:
    """Write atomically: to a temporary file in the same folder, then os.replace. A failed
    write (a full disk, say) leaves the previous file intact and raises an OSError saying so."""
    return write_atomically(path, lambda tmp: torch.save(state, tmp), "checkpoint", "resume")


def read_checkpoint(path) -> dict:
    """torch.load(weights_only=True) with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise ValueError(f"cannot read checkpoint {path}: the file is empty (a write cut short?)")
    if head != b"PK\x03\x04" and head[:1] != b"\x80":  # torch.save's zip, or a bare pickle
        raise ValueError(f"cannot read checkpoint {path}: torch.save did not write it (it starts "
                         f"with {head!r}); give a checkpoint (OUT/last.pt) or a shipped model")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        why = " ".join(str(err).partition("WeightsUnpickler error:")[2].split("Check the")[0]
                       .split()) or "it holds more than weights"
        raise ValueError(f"cannot read checkpoint {path}: torch.load(weights_only=True) refused "
                         f"it ({why}); only weights and plain values load, never code") from None
    except Exception as err:  # damaged files make the unpickler raise almost anything
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ValueError(f"cannot read checkpoint {path}: {reason} (truncated, or not a "
                         "checkpoint written by rvit_mini?)") from None


def load_weights(model: VideoTransformer, weights, path) -> None:
    """model.load_state_dict(weights), refusing weights that are not this model's, or not
    finite, in a line that names the file."""
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as err:
        reason = " ".join(str(err).split())
        raise ValueError(f"the weights in {path} do not fit a {type(model).__name__} of "
                         f"{model.cfg.num_classes} classes ({reason[:200]})") from None
    bad = [name for name, t in model.state_dict().items()
           if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise ValueError(f"the weights in {path} hold NaN or inf values ({bad[0]}{more}): the "
                         "file is damaged or its run diverged; load another checkpoint")


def check_same_config(saved: dict, expected: dict, path) -> None:
    diff = {k: (saved.get(k), v) for k, v in expected.items() if saved.get(k) != v}
    if diff:
        lines = ", ".join(f"{k}: checkpoint {a!r} vs requested {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"checkpoint {path} was written for another config: {lines}")


def rng_state() -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()  # tensors load weights_only
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- the run ----------------------------------------------------------------------------------
