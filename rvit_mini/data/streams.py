"""StickStreams: long streams of StickActions, one action after another, labelled per frame.

The data set for online recognition: a model sees one frame at a time and names the action
happening now. A stream chains actions that can follow one another (`action_chain`), each
lasting a random number of frames (6 to 20 by default); the last action is cut off where the
stream ends, as a window onto an endless stream would cut it.

Intended use, a per-frame loss with truncated BPTT: the data set yields whole streams and the
training loop cuts each batch into consecutive chunks of K frames, carrying the hidden state
from one chunk to the next but not the gradient:

    loader = DataLoader(StickStreams("train", num_frames=256), batch_size=8, shuffle=True)
    for video, labels in loader:                         # (B, T, 3, H, W), (B, T)
        state = model.init_state(len(video))
        for chunk, target in zip(video.split(K, 1), labels.split(K, 1)):
            feats = []
            for frame in chunk.unbind(1):                 # (B, 3, H, W)
                feat, state = model.step(frame, state)
                feats.append(feat)
            loss = F.cross_entropy(model.head(torch.stack(feats, 1)).flatten(0, 1),
                                   target.flatten())
            ...                                           # backward, optimiser step
            state = [h.detach() for h in state]
"""

import numpy as np
import torch
from torch.utils.data import Dataset

from .actions import CLASSES
from .stick_actions import SPLITS, action_chain, composite_clip

DEFAULT_STREAMS = {"train": 2000, "val": 100, "test": 100}


class StickStreams(Dataset):
    """StickStreams(split, num_frames, size, seed)[i] -> (video (T, 3, H, W) float in [0, 1],
    labels (T,) long).

    Stream i is drawn from the seed (seed, split, i) alone, so splits never share a stream and
    the same arguments give the same stream on any machine. `labels(i)` and `starts(i)` plan a
    stream without rendering it. Streams are rendered on every access (1,000 to 2,500 frames/s
    at 32x32 on one core), not kept.
    """

    def __init__(self, split: str = "train", num_frames: int = 256, size: int = 32,
                 seed: int = 0, num_streams: int | None = None, action_frames: tuple = (6, 20)):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        lo, hi = action_frames
        if not 1 <= lo <= hi:
            raise ValueError(f"action_frames must be (min, max) with 1 <= min <= max, "
                             f"got {action_frames}")
        self.split, self.num_frames, self.size, self.seed = split, num_frames, size, seed
        self.action_frames = (lo, hi)
        self.num_streams = DEFAULT_STREAMS[split] if num_streams is None else num_streams

    def __len__(self) -> int:
        return self.num_streams

    def _seeds(self, index: int) -> list:
        """Independent seeds for stream `index`: its action lengths, its actions, its pixels."""
        if not 0 <= index < len(self):
            raise IndexError(f"stream {index} out of range for {len(self)} streams")
        return np.random.SeedSequence([self.seed, SPLITS.index(self.split), index]).spawn(3)

    def plan(self, index: int) -> tuple[list, list]:
        """Stream `index` as its actions and their lengths in frames (summing to num_frames)."""
        length_seed, chain_seed, _ = self._seeds(index)
        lo, hi = self.action_frames
        rng = np.random.default_rng(length_seed)
        lengths = []
        while sum(lengths) < self.num_frames:
            lengths.append(int(rng.integers(lo, hi + 1)))
        lengths[-1] -= sum(lengths) - self.num_frames
        return action_chain(len(lengths), chain_seed), lengths

    def labels(self, index: int) -> torch.Tensor:
        """Per-frame labels (T,) long of stream `index`, without rendering it."""
        actions, lengths = self.plan(index)
        names = [name for name, n in zip(actions, lengths) for _ in range(n)]
        return torch.tensor([CLASSES.index(name) for name in names])

    def starts(self, index: int) -> list:
        """The first frame of each action after the first: where the label changes."""
        return np.cumsum(self.plan(index)[1])[:-1].tolist()

    def __getitem__(self, index: int):
        actions, lengths = self.plan(index)
        video, labels, _ = composite_clip(actions, self.num_frames, self.size,
                                          self._seeds(index)[2], lengths=lengths)
        return video, labels
