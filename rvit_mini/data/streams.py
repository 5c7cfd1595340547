"""StickStreams: long streams of StickActions, one action after another, labelled per frame.

The data set for online recognition: a model sees one frame at a time and names the action
happening now. A stream chains actions that can follow one another (`action_chain`), each
lasting a random number of frames (6 to 20 by default); the last action is cut off where the
stream ends, as a window onto an endless stream would cut it. `action_chain` never walks (the
figure stays by its one chair and table); with `walks=p` a share p of the streams begins or ends
with a walk, as two of the composite pairs do (walk_right > sit_down, stand_up > walk_left):
one walk, at either end, keeps the scene consistent.

An action's label starts at its first frame, but its figure starts to move a little later (0 to
30 % of the action's frames later, composite_clip's timing): until then the frame shows the
last pose of the action before. `shown(i)` labels every frame with the action whose pose it
shows; `target="shown"` trains on those labels.

Intended use, a per-frame loss with truncated BPTT: a batch of whole streams, the loss on every
frame's logits, the RViT's state carried through the whole stream and cut from the graph every
`tbptt` frames (RViT.recur); the recipe mini_rvit_online trains so (rvit_mini/recipes.py):

    model = rm.create_model("rvit", tbptt=16)
    for video, labels in DataLoader(StickStreams("train", num_frames=64), batch_size=8):
        loss = F.cross_entropy(model(video, per_frame=True).flatten(0, 1), labels.flatten())
        ...                                               # backward, optimiser step
"""

import numpy as np
import torch
from torch.utils.data import Dataset

from ..common.checks import check_count
from .actions import CLASSES
from .stick_actions import SPLITS, _follows, action_chain, composite_clip, plan_composite

WALKS = ("walk_left", "walk_right")
STATIONARY = [c for c in CLASSES if c not in WALKS]

DEFAULT_STREAMS = {"train": 2000, "val": 100, "test": 100}


class StickStreams(Dataset):
    """StickStreams(split, num_frames, size, seed)[i] -> (video (T, 3, H, W) float in [0, 1],
    labels (T,) long).

    Stream i is drawn from the seed (seed, split, i) alone, so splits never share a stream and
    the same arguments give the same stream on any machine. `labels(i)` and `starts(i)` plan a
    stream without rendering it. Streams are rendered on every access (1,000 to 2,500 frames/s
    at 32x32 on one core); keep=True keeps them (uint8, 3 KiB a frame at 32x32) after first use,
    for training several epochs over the same streams.

    walks: the share of streams that begin or end with a walk (0: none, the streams of
    `action_chain`; the streams without a walk are the same whatever `walks` is).
    target: the labels a stream comes with, "action" (the action each frame belongs to) or
    "shown" (the action whose pose each frame shows, `shown(i)`).
    """

    def __init__(self, split: str = "train", num_frames: int = 256, size: int = 32,
                 seed: int = 0, num_streams: int | None = None, action_frames: tuple = (6, 20),
                 walks: float = 0.0, target: str = "action", keep: bool = False):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        lo, hi = (check_count("action_frames", n) for n in action_frames)
        if not lo <= hi:
            raise ValueError(f"action_frames must be (min, max) with 1 <= min <= max, "
                             f"got {action_frames}")
        if not 0 <= walks <= 1:
            raise ValueError(f"walks is the share of streams with a walk, 0 to 1, got {walks}")
        if target not in ("action", "shown"):
            raise ValueError(f"target must be 'action' or 'shown', got {target!r}")
        self.target, self.split, self.seed = target, split, check_count("seed", seed, 0)
        self.num_frames, self.size = check_count("num_frames", num_frames), check_count("size", size)
        self.action_frames, self.walks = (lo, hi), walks
        self.num_streams = DEFAULT_STREAMS[split] if num_streams is None else \
            check_count("num_streams", num_streams, 0)
        self.classes = list(CLASSES)
        self._kept = {} if keep else None

    def __len__(self) -> int:
        return self.num_streams

    def _seeds(self, index: int) -> list:
        """Independent seeds for stream `index`: its action lengths, its actions, its pixels,
        its walk."""
        if not 0 <= index < len(self):
            raise IndexError(f"stream {index} out of range for {len(self)} streams")
        return np.random.SeedSequence([self.seed, SPLITS.index(self.split), index]).spawn(4)

    def plan(self, index: int) -> tuple[list, list]:
        """Stream `index` as its actions and their lengths in frames (summing to num_frames)."""
        length_seed, chain_seed, _, walk_seed = self._seeds(index)
        lo, hi = self.action_frames
        rng = np.random.default_rng(length_seed)
        lengths = []
        while sum(lengths) < self.num_frames:
            lengths.append(int(rng.integers(lo, hi + 1)))
        lengths[-1] -= sum(lengths) - self.num_frames
        rng = np.random.default_rng(walk_seed)
        if rng.random() < self.walks:
            walk, first = str(rng.choice(WALKS)), bool(rng.integers(2))
            return chain_with_walk(len(lengths), walk, first, chain_seed), lengths
        return action_chain(len(lengths), chain_seed), lengths

    def labels(self, index: int) -> torch.Tensor:
        """Per-frame labels (T,) long of stream `index`, without rendering it."""
        actions, lengths = self.plan(index)
        names = [name for name, n in zip(actions, lengths) for _ in range(n)]
        return torch.tensor([CLASSES.index(name) for name in names])

    def starts(self, index: int) -> list:
        """The first frame of each action after the first: where the label changes."""
        return np.cumsum(self.plan(index)[1])[:-1].tolist()

    def shown(self, index: int) -> torch.Tensor:
        """Per-frame labels (T,) of the action whose pose each frame of stream `index` shows:
        an action's frames before its figure starts to move show the previous action's last
        pose, and get its label."""
        actions, lengths = self.plan(index)
        onsets = motion_onsets(actions, self.num_frames, self._seeds(index)[2], lengths)
        return shown_labels(actions, onsets, self.num_frames)

    def __getitem__(self, index: int):
        if self._kept is not None and index in self._kept:
            frames, labels = self._kept[index]
            return frames.float() / 255, labels
        actions, lengths = self.plan(index)
        video, labels, _ = composite_clip(actions, self.num_frames, self.size,
                                          self._seeds(index)[2], lengths=lengths)
        if self.target == "shown":
            labels = self.shown(index)
        if self._kept is not None:  # to_tensor's uint8 / 255, exactly undone
            self._kept[index] = ((video * 255).round().to(torch.uint8), labels)
        return video, labels


def chain_with_walk(length: int, walk: str, first: bool, seed=0) -> list:
    """`length` actions that can follow one another, as action_chain, with `walk` the first
    action (first=True) or the last; the others stationary. A walk needs the figure standing."""
    check_count("length", length)
    rng = np.random.default_rng(seed)
    chain = [walk] if first else []
    while len(chain) < length - (not first):
        before_walk = not first and len(chain) == length - 2
        for name in map(str, rng.permutation(STATIONARY)):
            if (not chain or name != chain[-1]) and _follows(chain, name) and \
                    (not before_walk or _follows([*chain, name], walk)):
                chain.append(name)
                break
    return chain if first else [*chain, walk]


def motion_onsets(actions: list, num_frames: int, seed=0, lengths=None) -> list:
    """The frame (a float) at which each action of composite_clip(actions, num_frames,
    seed=seed, lengths=lengths) starts to move: its pose at frame t >= onset, the previous
    action's last pose before. composite_clip's own plan, without rendering the frames."""
    segments, _ = plan_composite(actions, num_frames, np.random.default_rng(seed), lengths)
    return [segment.start for segment in segments]


def shown_labels(actions: list, onsets: list, num_frames: int) -> torch.Tensor:
    """Per-frame labels (T,): the action whose pose frame t shows, the last one whose onset is
    at or before t (the first action from frame 0), as render_segments draws them."""
    shown = torch.zeros(num_frames, dtype=torch.long)
    for i, (name, onset) in enumerate(zip(actions, onsets)):
        shown[int(np.ceil(onset)) if i else 0:] = CLASSES.index(name)
    return shown


class StreamWindows(Dataset):
    """Windows cut from streams, labelled at their newest frame: what a CViT over a sliding
    window is trained on. StreamWindows(streams, widths, per_stream)[i] -> (video (w, 3, H, W),
    labels (w,)): window j of stream s (i = s * per_stream + j), of width
    w = widths[(s + j) % len(widths)], ending `j` evenly spaced steps before the stream's end
    (j = 0: its last w frames; the last of the per_stream windows starts at frame 0); the label
    of the newest frame kept and the others IGNORE (-100, cross-entropy's ignore_index).

    A CViT's frames attend to one another both ways, so an earlier frame's output in a window
    has seen frames after it: only the newest frame's output is what a sliding window reads at
    test time, and only its label is trained. Several windows per stream end at different
    points of it, inside an action or just after a boundary, as a sliding window's do. A batch
    (DataLoader, fit) takes one width, that of its first index, so that its windows stack.
    """

    IGNORE = -100

    def __init__(self, streams: StickStreams, widths: tuple = (8, 16, 32), per_stream: int = 1):
        if not widths:
            raise ValueError("widths must give at least one window width, got none")
        for width in widths:
            check_count("each of widths", width)
        if max(widths) > streams.num_frames:
            raise ValueError(f"windows of up to {max(widths)} frames need streams at least as "
                             f"long; these have {streams.num_frames} frames")
        if per_stream < 1:
            raise ValueError(f"per_stream is the number of windows cut from each stream, at "
                             f"least 1, got {per_stream}")
        self.streams, self.widths, self.per_stream = streams, tuple(widths), per_stream
        self.classes = streams.classes

    def __len__(self) -> int:
        return len(self.streams) * self.per_stream

    def width(self, index: int) -> int:
        stream, j = divmod(index, self.per_stream)
        return self.widths[(stream + j) % len(self.widths)]

    def window(self, index: int, width: int):
        stream, j = divmod(index, self.per_stream)
        video, labels = self.streams[stream]
        total = len(labels)
        end = total - round(j * (total - width) / max(self.per_stream - 1, 1))
        target = torch.full((width,), self.IGNORE, dtype=torch.long)
        target[-1] = labels[end - 1]
        return video[end - width:end], target

    def __getitem__(self, index: int):
        return self.window(index, self.width(index))

    def __getitems__(self, indices: list) -> list:
        """A batch's items, all as wide as its first index's window."""
        width = self.width(indices[0])
        return [self.window(i, width) for i in indices]
