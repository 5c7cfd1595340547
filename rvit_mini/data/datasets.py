"""Loaders for real data sets in their own formats; each item is (video (T, 3, H, W), target).

The layouts each expects are in the README (Data sets). All share `VideoClips`: a list of
(source, target) and a reader that samples `num_frames` frames by the rule in video.py.
"""

import csv
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .stick_actions import to_tensor
from .video import read_video, resize, sample_indices

VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mkv")


class VideoClips(Dataset):
    """Items (source, target) read by `read(source, num_frames, sampling, stride)`."""

    def __init__(self, items: list, classes: list, num_frames: int = 16, sampling="uniform",
                 stride: int = 1, size: int | None = None, read=read_video):
        self.items, self.classes = items, classes
        self.num_frames, self.sampling, self.stride, self.size, self.read = (
            num_frames, sampling, stride, size, read)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        source, target = self.items[index]
        video = self.read(source, self.num_frames, self.sampling, self.stride)
        return (video if self.size is None else resize(video, self.size)), target


def _label_index(classes: list, label: str, where: str) -> int:
    try:
        return classes.index(label)
    except ValueError:
        raise ValueError(f"{where}: unknown label {label!r}; known: {len(classes)} classes "
                         f"such as {classes[:3]}") from None


def _read_csv(path: Path, header: list | None, delimiter=",") -> list:
    """Rows of a CSV file; with `header`, the first row must be exactly that."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f, delimiter=delimiter) if r]
    if header is not None:
        if not rows or rows[0] != header:
            got = rows[0] if rows else "an empty file"
            raise ValueError(f"{path}: expected the header {','.join(header)}, got {got}")
        rows = rows[1:]
    return rows


def video_folder(root, **kwargs) -> VideoClips:
    """root/<class>/<video>.mp4: one folder per class, classes sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data set folder not found: {root}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    items = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).iterdir())
             if p.suffix in VIDEO_SUFFIXES]
    if not items:
        raise ValueError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {root}/<class>/")
    return VideoClips(items, classes, **kwargs)


def read_jpeg_folder(folder: Path, num_frames, sampling="uniform", stride=1) -> torch.Tensor:
    """A folder of numbered JPEG frames (00001.jpg, ...) -> (T, 3, H, W) float."""
    if not folder.is_dir():
        raise FileNotFoundError(f"frame folder not found: {folder}")
    files = sorted(folder.glob("*.jpg"))
    if not files:
        raise ValueError(f"{folder} has no frames (*.jpg)")
    picked = sample_indices(len(files), num_frames, sampling, stride)
    return to_tensor(np.stack([np.asarray(Image.open(files[i]).convert("RGB")) for i in picked]))


def jester(root, split: str = "train", **kwargs) -> VideoClips:
    """20BN-Jester: jester-v1-labels.csv, jester-v1-{train,validation}.csv (`id;label`, no
    header), frames in 20bn-jester-v1/<id>/00001.jpg ..."""
    root = Path(root)
    labels_file = root / "jester-v1-labels.csv"
    classes = [r[0] for r in _read_csv(labels_file, None)]
    split_file = root / f"jester-v1-{split}.csv"
    items = []
    for n, row in enumerate(_read_csv(split_file, None, delimiter=";"), start=1):
        if len(row) != 2:
            raise ValueError(f"{split_file}:{n}: expected 'id;label', got {';'.join(row)!r}")
        items.append((root / "20bn-jester-v1" / row[0],
                      _label_index(classes, row[1], f"{split_file}:{n}")))
    return VideoClips(items, classes, read=read_jpeg_folder, **kwargs)


def something_something_v2(root, split: str = "train", **kwargs) -> VideoClips:
    """Something-Something-V2: labels/labels.json ({template: "index"}), labels/{train,
    validation}.json ([{id, label, template, placeholders}]), videos 20bn-something-something-v2/
    <id>.webm. The class is the template without brackets."""
    root = Path(root)
    names = json.loads((root / "labels" / "labels.json").read_text())
    classes = sorted(names, key=lambda k: int(names[k]))
    split_file = root / "labels" / f"{split}.json"
    items = []
    for n, entry in enumerate(json.loads(split_file.read_text())):
        template = entry["template"].replace("[", "").replace("]", "")
        items.append((root / "20bn-something-something-v2" / f"{entry['id']}.webm",
                      _label_index(classes, template, f"{split_file} entry {n}")))
    return VideoClips(items, classes, **kwargs)


KINETICS_HEADER = ["label", "youtube_id", "time_start", "time_end", "split"]


def kinetics(root, split: str = "train", classes: list | None = None, **kwargs) -> VideoClips:
    """Kinetics-400: annotations/{split}.csv (label,youtube_id,time_start,time_end,split), videos
    {split}/<youtube_id>_<start:06d>_<end:06d>.mp4. Classes: sorted labels of the train CSV."""
    root = Path(root)
    if classes is None:
        train = _read_csv(root / "annotations" / "train.csv", KINETICS_HEADER)
        classes = sorted({r[0] for r in train})
    split_file = root / "annotations" / f"{split}.csv"
    items = []
    for n, (label, yid, start, end, _) in enumerate(_read_csv(split_file, KINETICS_HEADER), 2):
        name = f"{yid}_{int(float(start)):06d}_{int(float(end)):06d}.mp4"
        items.append((root / split / name, _label_index(classes, label, f"{split_file}:{n}")))
    return VideoClips(items, classes, **kwargs)


CHARADES_HEADER = ["id", "subject", "scene", "quality", "relevance", "verified", "script",
                   "objects", "descriptions", "actions", "length"]


def charades_segments(actions: str) -> list:
    """'c092 11.90 21.20;c147 0.00 12.60' -> [('c092', 11.9, 21.2), ('c147', 0.0, 12.6)]."""
    return [(c, float(s), float(e)) for c, s, e in (a.split() for a in actions.split(";") if a)]


def charades(root, split: str = "train", **kwargs) -> VideoClips:
    """Charades: Charades_v1_classes.txt ('c000 Holding some clothes'), Charades_v1_{train,test}
    .csv, videos Charades_v1_480/<id>.mp4. Target: multi-hot (157,) float of the actions present
    (for mAP); the segments are in `.segments`."""
    root = Path(root)
    lines = (root / "Charades_v1_classes.txt").read_text().splitlines()
    codes = [line.split(" ", 1)[0] for line in lines if line.strip()]
    split_file = root / f"Charades_v1_{split}.csv"
    items, segments = [], []
    for n, row in enumerate(_read_csv(split_file, CHARADES_HEADER), start=2):
        segs = charades_segments(row[9])
        target = torch.zeros(len(codes))
        for code, _, _ in segs:
            target[_label_index(codes, code, f"{split_file}:{n}")] = 1
        items.append((root / "Charades_v1_480" / f"{row[0]}.mp4", target))
        segments.append(segs)
    clips = VideoClips(items, [line.split(" ", 1)[1] for line in lines if line.strip()], **kwargs)
    clips.segments = segments
    return clips


LOADERS = {"folder": video_folder, "jester": jester, "ssv2": something_something_v2,
           "kinetics": kinetics, "charades": charades}
