"""The recurrence over frames: the one loop through which every frame-by-frame run of a
recurrent model goes (the model's forward, streaming, online recognition, the lessons' traces).

    features, state = model.recur(video, state, resets=None, detach_every=None, observe=None)

Before frame t, the state that enters it may be reset to zeros (resets[:, t]: those streams start
anew) and cut from the autograd graph (truncated BPTT, every `detach_every` frames); then frame t
goes through the model. How the loop runs is the model's `execution` (None: `run_frames` below;
rm.accelerate sets faster ones, execution/, tested equal); what a frame computes is the model's.
"""

import torch


def truncates(frame: int, every: int) -> bool:
    """Truncated BPTT: is the state entering `frame` cut from the graph (every `every` frames;
    never when every is 0)?"""
    return bool(every) and frame > 0 and frame % every == 0


def reset_mask(resets, batch_size: int, num_frames: int) -> torch.Tensor | None:
    """resets: None, frame indices, or a bool mask (T,) or (B, T) -> a bool mask (B, T) or None."""
    if resets is None:
        return None
    if isinstance(resets, torch.Tensor) and resets.dtype == torch.bool:
        if resets.shape[-1] != num_frames or resets.ndim > 2:
            raise ValueError(f"resets must be a bool mask (T,) or (B, T) with T = {num_frames}, "
                             f"got shape {tuple(resets.shape)}")
        return resets.expand(batch_size, num_frames)
    mask = torch.zeros(batch_size, num_frames, dtype=torch.bool)
    frames = list(resets)
    if any(not 0 <= t < num_frames for t in frames):
        raise ValueError(f"resets must be frame indices in 0..{num_frames - 1}, got {frames}")
    mask[:, frames] = True
    return mask


def entering(state: list, frame: int, resets: torch.Tensor | None, detach_every: int,
             zeros: list | None) -> list:
    """The state that enters `frame`: rows b with resets[b, frame] set back to `zeros` (the
    model's init_state), and the whole state cut from the graph where truncated BPTT says."""
    if resets is not None and resets[:, frame].any():
        rows = resets[:, frame].to(state[0].device)
        state = [torch.where(rows.view(-1, *[1] * (h.ndim - 1)), h0.to(h.dtype), h)
                 for h0, h in zip(zeros, state)]
    if truncates(frame, detach_every):
        state = [h.detach() for h in state]
    return state


def run_frames(frame_step, inputs: torch.Tensor, state: list, zeros: list | None,
               resets: torch.Tensor | None = None, detach_every: int = 0):
    """The loop: inputs (B, T, ...) frame by frame, frame_step(t, inputs[:, t], state) ->
    (feature (B, D), new state) -> (features (B, T, D), the state after the last frame)."""
    features = []
    for t in range(inputs.shape[1]):
        state = entering(state, t, resets, detach_every, zeros)
        feature, state = frame_step(t, inputs[:, t], state)
        features.append(feature)
    return torch.stack(features, dim=1), state
