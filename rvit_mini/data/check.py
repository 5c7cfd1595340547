"""Scan a downloaded data set for absent and undecodable videos (`python -m rvit_mini check-data`).

Every video is decoded to its last frame, in DataLoader worker processes; the undecodable ones
are written to a file the loaders take as `exclude=` (one path per line, a tab, the error).
"""

import warnings
from pathlib import Path

from torch.utils.data import DataLoader, Dataset

from ..common.progress import tqdm
from .datasets import SPLITS, VideoClips, check_loader, load
from .video import count_frames, read_video


class _Decode(Dataset):
    """Item i -> (path, the error decoding every frame of clips.items[i] raised, or '')."""

    def __init__(self, clips: VideoClips):
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple:
        path = self.clips.items[index][0]
        try:
            if self.clips.read is read_video:
                count_frames(path)
            else:  # frame folders: read them whole, they are short
                self.clips.read(path, None, "all")
        except (ValueError, OSError) as err:
            return str(path), " ".join(str(err).split())
        return str(path), ""


def scan(clips: VideoClips, workers: int = 0, desc: str | None = None) -> list:
    """Decode every video of `clips` in `workers` processes -> [(path, error)] of those that fail."""
    loader = DataLoader(_Decode(clips), batch_size=None, num_workers=workers)
    return [(Path(path), err) for path, err in tqdm(loader, desc=desc, unit="video") if err]


def check_data(name: str, root, splits=None, workers: int = 0) -> tuple[dict, list]:
    """Scan splits (one name, a list of them, or by default all of SPLITS[name]) -> ({split:
    counts, or the reason it could not be loaded}, [(path, error)] of the undecodable videos).
    Counts: listed, present, missing, undecodable, and the first missing paths."""
    check_loader(name)
    report, bad = {}, []
    for split in [splits] if isinstance(splits, str) else splits or SPLITS[name]:
        try:
            with warnings.catch_warnings():  # the counts below say it
                warnings.simplefilter("ignore")
                clips = load(name, root, split)
        except (FileNotFoundError, ValueError) as err:
            report[split] = str(err)
            continue
        failed = scan(clips, workers, desc=split)
        bad += failed
        report[split] = {"listed": len(clips) + len(clips.missing), "present": len(clips),
                         "missing": len(clips.missing), "undecodable": len(failed),
                         "first_missing": [str(p) for p in clips.missing[:3]]}
    return report, bad


def write_exclude(path, bad: list, root) -> Path:
    """Write [(path, error)] as an exclude file: paths relative to root, a tab, the error."""
    path, root = Path(path), Path(root)
    lines = ["# videos that do not decode (python -m rvit_mini check-data); pass as --exclude / "
             "exclude="]
    for video, err in bad:
        video = video.relative_to(root) if video.is_relative_to(root) else video
        lines.append(f"{video.as_posix()}\t{err}")
    path.write_text("\n".join(lines) + "\n")
    return path
