"""What a model's per-frame `step(frame, state)` is given, checked as `forward` checks a clip:
one frame batch (B, C, H, W) of floats in [0, 1], and the state `init_state(B)` would make."""

import torch


def check_step(model, frame: torch.Tensor, state: list) -> None:
    """Raise ValueError unless `frame` is a frame batch the model takes and `state` has the
    shapes of `model.init_state(B)` (one (B, N, D) tensor per RViT layer; empty for the ViT)."""
    # the frame's shape and dtype, on the meta device: the [0, 1] range check reads the values,
    # which would make the host wait for the device at every frame of a stream
    model.check_frames(frame.to("meta"))
    expected = [tuple(h.shape) for h in model.init_state(frame.shape[0], "meta")]
    given = [tuple(getattr(h, "shape", ())) for h in state] if isinstance(state, (list, tuple)) \
        else None
    if given != expected:
        layers = f"{len(expected)} layers of {expected[0]}" if expected else "an empty list"
        raise ValueError(f"the state should be {layers} for a frame batch of {frame.shape[0]}, "
                         f"got {_describe(state)}; start a stream with "
                         "init_state(batch_size), and again when the batch changes")


def _describe(state) -> str:
    if not isinstance(state, (list, tuple)):
        return type(state).__name__
    shapes = sorted({tuple(getattr(h, "shape", ())) for h in state})
    return f"{len(state)} layers of {' / '.join(map(str, shapes)) or '-'}"
