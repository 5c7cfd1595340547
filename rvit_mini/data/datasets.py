"""Loaders for real data sets as they are downloaded; each item is (video (T, 3, H, W), target).

The layouts each reads are in the README (Data). Every loader:
- reads annotation files by column name where they have a header; extra columns, quoted fields,
  CRLF line endings and a UTF-8 BOM are fine; a malformed row is refused naming its file and
  line, and a row repeating an earlier one is dropped with one warning (annotations.py);
- gives entries without a label (test splits) the target -1: they are for inference only
  (`check_labelled` refuses them for training and evaluation);
- returns a `VideoClips`, which drops the entries whose video is absent (`missing="skip"`, one
  warning) or refuses them (`missing="error"`), never meets those in `exclude` (ids or paths, or
  the file `python -m rvit_mini check-data` writes), and turns a video that cannot be decoded
  into None (`on_error="skip"`, a warning per file): load batches with `collate_fn=collate`,
  which drops those items, and skip a batch that comes back None.
"""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, default_collate

from ..common.checks import check_count
from .annotations import (
    label_index,
    number,
    read_json,
    read_lines,
    read_rows,
    read_table,
    read_text,
    unique_names,
    unique_rows,
    whole,
)
from .export import check_finished
from .paths import inside, plain_name
from .video import check_sampling, read_video, resize, sample_indices, to_tensor

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")


def _some(paths: list, n: int = 3) -> str:
    """The first n paths, and how many more."""
    more = f" and {len(paths) - n} more" if len(paths) > n else ""
    return ", ".join(str(p) for p in paths[:n]) + more


def _choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def read_exclude(exclude) -> set:
    """exclude= -> a set of ids / paths. A str or path is a file with one id or path per line (text
    after a tab and lines starting with '#' are ignored: check-data's format); else an iterable."""
    if exclude is None:
        return set()
    if isinstance(exclude, (str, os.PathLike)):
        path = Path(exclude)
        if not path.is_file():
            raise FileNotFoundError(f"exclude file not found: {path} (give the file check-data "
                                    "wrote, or a list of ids)")
        lines = read_text(path).splitlines()
        return {line.split("\t")[0].strip() for line in lines
                if line.strip() and not line.startswith("#")}
    return {Path(entry).as_posix() for entry in exclude}


def _names(path: Path) -> set:
    """What a path answers to in exclude=: its id (the name without suffix) and every tail of
    the path (name, parent/name, ..., the whole path)."""
    parts = path.as_posix().split("/")
    return {path.stem, *("/".join(parts[i:]) for i in range(len(parts)))}


def _without_excluded(items: list, excluded: set) -> list:
    """The items none of whose names (see `_names`) is in `excluded`; entries that match no
    item are reported in one warning (a typo in an exclude file excludes nothing)."""
    if not excluded:
        return items
    kept, matched = [], set()
    for item in items:
        hits = excluded & _names(Path(item[0]))
        matched |= hits
        if not hits:
            kept.append(item)
    unmatched = sorted(excluded - matched)
    if unmatched:
        warnings.warn(f"{len(unmatched)} of {len(excluded)} exclude entries match no video "
                      f"listed here ({_some(unmatched)}): an entry is a video's id or its path "
                      "under the data set's folder (or another split's video)", stacklevel=4)
    return kept


def check_labelled(clips, what: str) -> None:
    """Refuse a data set with clips without a label (target -1: a test split's, for inference
    only) for training or evaluation; what: the data set's name, for the message."""
    unlabelled = sum(1 for _, target in getattr(clips, "items", [])
                     if isinstance(target, int) and target == -1)
    if unlabelled:
        raise ValueError(f"{what} has no labels for {unlabelled} of its {len(clips)} clips "
                         "(target -1): it is for inference only (rvit_mini.train.predict); "
                         "train and evaluate on a labelled split")


class VideoClips(Dataset):
    """Items (path, target) read by `read(path, num_frames, sampling, stride)`.

    missing: "skip" drops the items whose path is absent, with one warning giving how many and
        the first few; "error" raises a ValueError listing them. Nothing present raises either way.
    exclude: ids or paths never to load, or a file of them (see `read_exclude`).
    on_error: "skip": an item that cannot be read is None (warned once per file; `collate` drops
        it); "raise": the error propagates.
    """

    def __init__(self, items: list, classes: list, num_frames: int = 16, sampling="uniform",
                 stride: int = 1, size: int | None = None, read=read_video, missing="skip",
                 exclude=None, on_error="skip"):
        _choice("missing", missing, ("skip", "error"))
        _choice("on_error", on_error, ("skip", "raise"))
        check_sampling(num_frames, sampling, stride)
        if size is not None:
            check_count("size", size)
        listed = len(items)
        items = _without_excluded(items, read_exclude(exclude))
        present = [Path(path).exists() for path, _ in items]
        self.missing = [path for (path, _), here in zip(items, present) if not here]
        self.items = [item for item, here in zip(items, present) if here]
        if not self.items:
            raise ValueError(f"no videos left of {listed} listed: {listed - len(items)} excluded, "
                             f"{len(self.missing)} absent ({_some(self.missing)}); is the data "
                             "set's folder right?")
        if self.missing:
            said = f"{len(self.missing)} of {len(items)} videos are absent"
            if missing == "error":
                raise ValueError(f"{said}: {_some(self.missing, 10)}; missing='skip' drops them")
            warnings.warn(f"{said} and skipped: {_some(self.missing)}", stacklevel=3)
        self.classes, self.on_error, self._warned = classes, on_error, set()
        self.num_frames, self.sampling, self.stride, self.size, self.read = (
            num_frames, sampling, stride, size, read)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        path, target = self.items[index]
        try:
            video = self.read(path, self.num_frames, self.sampling, self.stride)
        except (ValueError, OSError) as err:
            if self.on_error == "raise":
                raise
            if path not in self._warned:
                self._warned.add(path)
                warnings.warn(f"skipped: {err}", stacklevel=2)
            return None
        return (video if self.size is None else resize(video, self.size)), target


def collate(batch: list):
    """DataLoader collate_fn: `default_collate` of the items that are not None (videos that could
    not be read, see VideoClips' on_error) -> (video (B, T, 3, H, W), target (B, ...)), or None
    when none is left: skip that batch."""
    batch = [item for item in batch if item is not None]
    return default_collate(batch) if batch else None


def _find(root: Path, names: list, what: str) -> Path:
    """The first root/name that exists; FileNotFoundError saying where it looked."""
    for name in names:
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(f"{what} not found: looked for {' or '.join(names)} under {root}")


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def video_folder(root, **kwargs) -> VideoClips:
    """root/<class>/<video>: one folder per class, classes sorted by name; videos by suffix, in
    any case (VIDEO_SUFFIXES); other files are skipped with a warning, a class without videos is
    refused (its index would shift every class after it), as are a class folder or video that is
    a symbolic link leading out of root and a split whose export did not finish (export.py)."""
    root = Path(root)
    check_finished(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data set folder not found: {root}")
    folders = sorted(inside(root, d) for d in root.iterdir()
                     if d.is_dir() and not d.name.startswith("."))
    entries = {d: sorted(inside(root, p) for p in d.iterdir() if not p.name.startswith("."))
               for d in folders}
    videos = {d: [p for p in entries[d] if _is_video(p)] for d in folders}
    if not any(videos.values()):
        raise ValueError(f"no videos ({' '.join(VIDEO_SUFFIXES)}) under {root}/<class>/")
    empty = [d.name for d in folders if not videos[d]]
    if empty:
        raise ValueError(f"class folders without videos under {root}: {', '.join(empty)}; add "
                         "videos or remove the folders")
    skipped = [p for d in folders for p in entries[d] if not _is_video(p)]
    if skipped:
        warnings.warn(f"skipped {len(skipped)} files that are not videos "
                      f"({' '.join(VIDEO_SUFFIXES)}): {_some(skipped)}", stacklevel=2)
    items = [(p, i) for i, d in enumerate(folders) for p in videos[d]]
    return VideoClips(items, [d.name for d in folders], **kwargs)


def _by_number(path: Path) -> list:
    """Sort key: the name with its numbers as numbers, so 2.jpg comes before 10.jpg."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_jpeg(file: Path) -> np.ndarray:
    """One JPEG frame -> (H, W, 3) uint8; whatever PIL raises (a truncated file, a header that
    claims more pixels than its decompression-bomb limit) is a ValueError naming the file."""
    try:
        with Image.open(file) as image:
            return np.asarray(image.convert("RGB"))
    except Exception as err:  # OSError, SyntaxError, Image.DecompressionBombError, ...
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"cannot decode {file}: {reason} (is the file truncated or not a "
                         "JPEG?)") from err


def read_jpeg_folder(folder: Path, num_frames, sampling="uniform", stride=1) -> torch.Tensor:
    """A folder of numbered JPEG frames (00001.jpg, ..., or 1.jpg, ..., in the order of their
    numbers) -> (T, 3, H, W) float; frames that differ in size are refused."""
    if not folder.is_dir():
        raise FileNotFoundError(f"frame folder not found: {folder}")
    files = sorted(folder.glob("*.jpg"), key=_by_number)
    if not files:
        raise ValueError(f"{folder} has no frames (*.jpg)")
    picked = sample_indices(len(files), num_frames, sampling, stride)
    frames = {i: _read_jpeg(inside(folder, files[i])) for i in np.unique(picked).tolist()}
    first = min(frames)
    other = next((i for i in frames if frames[i].shape != frames[first].shape), None)
    if other is not None:
        (h0, w0, _), (h1, w1, _) = frames[first].shape, frames[other].shape
        raise ValueError(f"cannot decode {folder}: its frames differ in size ({files[first].name} "
                         f"is {h0}x{w0}, {files[other].name} is {h1}x{w1})")
    return to_tensor(np.stack([frames[i] for i in picked.tolist()]))


def jester(root, split: str = "train", **kwargs) -> VideoClips:
    """20BN-Jester: jester-v1-labels.csv (one label per line; class i is line i of this file, so
    keep the file that came with the data), jester-v1-{train,validation,test}.csv (`id;label`, no
    header; test: `id` only -> target -1), frames in 20bn-jester-v1/<id>/00001.jpg ..."""
    root = Path(root)
    labels_file = _find(root, ["jester-v1-labels.csv"], "annotation file")
    classes = unique_names(read_lines(labels_file), labels_file)
    split_file = _find(root, [f"jester-v1-{split}.csv"], "annotation file")
    rows = []
    for n, row in read_rows(split_file, delimiter=";"):
        if len(row) > 2 or not row[0]:
            raise ValueError(f"{split_file}:{n}: expected 'id;label' or 'id', got {';'.join(row)!r}")
        rows.append((n, plain_name(row[0], f"{split_file}:{n}"), row[1] if len(row) == 2 else ""))
    frames = root / "20bn-jester-v1"
    items = [(inside(frames, frames / video, f"{split_file}:{n}"),
              label_index(classes, label, f"{split_file}:{n}") if label else -1)
             for n, video, label in unique_rows(rows, split_file)]
    return VideoClips(items, classes, read=read_jpeg_folder, **kwargs)


def _ssv2_file(root: Path, name: str) -> Path:
    """labels/<name>.json or the original something-something-v2-<name>.json, in root/labels or root."""
    names = [f"{folder}{prefix}{name}.json" for folder in ("labels/", "")
             for prefix in ("", "something-something-v2-")]
    return _find(root, names, "annotation file")


def something_something_v2(root, split: str = "train", **kwargs) -> VideoClips:
    """Something-Something-V2: labels.json ({template: "index"}), {train,validation,test}.json
    ([{id, label, template, placeholders}]; test: [{id}] -> target -1), named so or
    something-something-v2-<name>.json, in root/labels or root; videos
    20bn-something-something-v2/<id>.webm. The class is the template without brackets."""
    root = Path(root)
    labels_file = _ssv2_file(root, "labels")
    names = read_json(labels_file, dict, 'an object {"template": "index", ...}')
    index = {name: whole(i, f"{labels_file}, {name!r}", "the index") for name, i in names.items()}
    by_index = {}
    for name, i in index.items():
        if i in by_index:
            raise ValueError(f"{labels_file}, {name!r}: the index {i} is also that of "
                             f"{by_index[i]!r}; each template has its own index")
        by_index[i] = name
    classes = sorted(index, key=index.get)
    split_file = _ssv2_file(root, split)
    rows = []
    for n, entry in enumerate(read_json(split_file, list, 'a list of {"id", "template"} entries')):
        if not isinstance(entry, dict) or not str(entry.get("id", "")).strip():
            raise ValueError(f"{split_file}, entry {n}: expected an object with an id, got "
                             f"{str(entry)[:80]}")
        template = str(entry.get("template", "")).replace("[", "").replace("]", "")
        rows.append((f"entry {n}", plain_name(str(entry["id"]).strip(), f"{split_file}, entry {n}"),
                     template))
    videos = root / "20bn-something-something-v2"
    items = [(inside(videos, videos / f"{video}.webm", f"{split_file}, {n}"),
              label_index(classes, template, f"{split_file}, {n}") if template else -1)
             for n, video, template in unique_rows(rows, split_file)]
    return VideoClips(items, classes, **kwargs)


def _kinetics_videos(folder: Path) -> dict:
    """{name without suffix: path} of the videos in folder and in its class subfolders; a
    subfolder that links out of folder is refused."""
    if not folder.is_dir():
        raise FileNotFoundError(f"video folder not found: {folder} (expected <id>_<start>_<end>"
                                ".mp4 files in it, or in one subfolder per class)")
    subfolders = sorted(inside(folder, d) for d in folder.iterdir() if d.is_dir())
    return {p.stem: p for d in [*subfolders, folder] for p in d.iterdir() if _is_video(p)}


def kinetics(root, split: str = "train", classes: list | None = None, **kwargs) -> VideoClips:
    """Kinetics-400: annotations/{split}.csv (columns by name: label, youtube_id, time_start,
    time_end; others such as split and is_cc are ignored; no or an empty label -> target -1),
    videos <split>/<youtube_id>_<start:06d>_<end:06d>.mp4 or <split>/<class>/<same name>.
    Classes: sorted labels of annotations/train.csv unless given."""
    root = Path(root)
    if classes is None:
        train = read_table(_find(root, ["annotations/train.csv"], "annotation file"), ("label",))
        classes = sorted({row["label"].strip() for _, row in train if row["label"].strip()})
    classes = unique_names([(f"entry {i}", name) for i, name in enumerate(classes)], "classes")
    split_file = _find(root, [f"annotations/{split}.csv"], "annotation file")
    rows = []
    for n, row in read_table(split_file, ("youtube_id", "time_start", "time_end")):
        where = f"{split_file}:{n}"
        if not row["youtube_id"].strip():
            raise ValueError(f"{where}: the youtube_id is empty")
        youtube_id = plain_name(row["youtube_id"].strip(), where)
        start, end = (whole(row[c], where, c) for c in ("time_start", "time_end"))
        if end <= start:
            raise ValueError(f"{where}: time_end {end} is not after time_start {start}")
        rows.append((n, f"{youtube_id}_{start:06d}_{end:06d}", (row.get("label") or "").strip()))
    folder = root / split
    videos = _kinetics_videos(folder)
    items = [(inside(folder, videos.get(name, folder / f"{name}.mp4"), f"{split_file}:{n}"),
              label_index(classes, label, f"{split_file}:{n}") if label else -1)
             for n, name, label in unique_rows(rows, split_file)]
    return VideoClips(items, classes, **kwargs)


def charades_segments(actions: str, where: str = "actions") -> list:
    """'c092 11.90 21.20;c147 0.00 12.60' -> [('c092', 11.9, 21.2), ('c147', 0.0, 12.6)]."""
    segments = []
    for action in filter(None, (a.strip() for a in actions.split(";"))):
        fields = action.split()
        if len(fields) != 3:
            raise ValueError(f"{where}: expected actions as 'c092 11.90 21.20;c147 0.00 12.60', "
                             f"got {action!r}")
        code, start, end = fields
        segments.append((code, number(start, where, "a start"), number(end, where, "an end")))
    return segments


def charades(root, split: str = "train", **kwargs) -> VideoClips:
    """Charades: Charades_v1_classes.txt ('c000 Holding some clothes'), Charades_v1_{train,test}
    .csv (columns by name: id, actions; an empty actions field is a video without actions),
    videos Charades_v1_480/<id>.mp4 or, at the original resolution, Charades_v1/<id>.mp4.
    Target: multi-hot (157,) float of the actions present (for mAP); segments in `.segments`."""
    root = Path(root)
    class_file = _find(root, ["Charades_v1_classes.txt"], "class list")
    lines = read_lines(class_file)
    for n, line in lines:
        if len(line.split(maxsplit=1)) != 2:
            raise ValueError(f"{class_file}:{n}: expected 'c000 class name', got {line!r}")
    codes = unique_names([(n, line.split()[0]) for n, line in lines], class_file, "class code")
    names = unique_names([(n, line.split(maxsplit=1)[1]) for n, line in lines], class_file)
    split_file = _find(root, [f"Charades_v1_{split}.csv"], "annotation file")
    videos = _find(root, ["Charades_v1_480", "Charades_v1"], "video folder")
    rows = [(n, plain_name(row["id"].strip(), f"{split_file}:{n}"), (row["actions"] or "").strip())
            for n, row in read_table(split_file, ("id", "actions"))]
    items, segments = [], {}
    for n, video, actions in unique_rows(rows, split_file):
        path = inside(videos, videos / f"{video}.mp4", f"{split_file}:{n}")
        segments[path] = charades_segments(actions, f"{split_file}:{n}")
        target = torch.zeros(len(codes))
        for code, _, _ in segments[path]:
            target[label_index(codes, code, f"{split_file}:{n}")] = 1
        items.append((path, target))
    clips = VideoClips(items, names, **kwargs)
    clips.segments = [segments[path] for path, _ in clips.items]
    return clips


LOADERS = {"folder": video_folder, "jester": jester, "ssv2": something_something_v2,
           "kinetics": kinetics, "charades": charades}
SPLITS = {"folder": ("train", "val", "test"), "jester": ("train", "validation", "test"),
          "ssv2": ("train", "validation", "test"), "kinetics": ("train", "val", "test"),
          "charades": ("train", "test")}
VAL_SPLITS = {"stick_actions": "val", "folder": "val", "jester": "validation",
              "ssv2": "validation", "kinetics": "val", "charades": "test"}


def check_loader(name: str) -> None:
    """Refuse a data set name that is not one of LOADERS'."""
    if name not in LOADERS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(LOADERS)}")


def load(name: str, root, split: str, **kwargs) -> VideoClips:
    """LOADERS[name] on one split; 'folder' reads root/<split>/<class>/<video>."""
    check_loader(name)
    if name == "folder":
        return video_folder(Path(root) / split, **kwargs)
    return LOADERS[name](root, split, **kwargs)
