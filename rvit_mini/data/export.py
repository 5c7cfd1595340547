"""Export labelled clips to video files, whole or not at all: OUT/<split>/<class>/<i:05d>.mp4 and
OUT/<split>.csv (path,label), what `python -m rvit_mini make-data` writes and `video_folder`
reads.

The clips go into OUT/<split>.partial; when all are written, an earlier export (overwrite=True)
is removed, the CSV written, and the folder renamed into place (os.replace) last. A killed export
therefore leaves OUT/<split>.partial, never a folder that looks finished: `video_folder` refuses
a split with one beside it (`check_finished`), and an export with overwrite=True removes it and
starts again. Nothing is written through a symbolic link: a linked OUT/<split>, OUT/<split>.csv
or OUT/<split>.partial is refused.
"""

import csv
import shutil
from pathlib import Path

from .paths import plain_name
from .video import write_video

PARTIAL = ".partial"


def check_finished(folder) -> None:
    """Refuse to read OUT/<split> (or OUT/<split>.partial itself) while a killed export's
    OUT/<split>.partial is there: the split is missing, half removed, or older than it seems."""
    folder = Path(folder)
    partial = folder if folder.name.endswith(PARTIAL) else folder.with_name(folder.name + PARTIAL)
    if partial.exists() or partial.is_symlink():
        raise ValueError(f"{partial} holds an export of {partial.name[:-len(PARTIAL)]} that did "
                         "not finish (make-data was stopped); rerun make-data with --overwrite "
                         "to write it again, or remove it")


def _refuse_links(*paths: Path) -> None:
    for path in paths:
        if path.is_symlink():
            raise ValueError(f"{path} is a symbolic link to {path.resolve()}; make-data writes "
                             "into OUT itself, never through a link: remove the link or choose "
                             "another --out")


def _make_room(out: Path, split: str, overwrite: bool) -> None:
    """Make room for an export of `split` in out: refuse to mix it with an earlier one, or
    (overwrite) remove a partial one; never touch a folder make-data did not write."""
    folder, table, partial = out / split, out / f"{split}.csv", out / f"{split}{PARTIAL}"
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    _refuse_links(folder, table, partial)
    if partial.exists() and not overwrite:
        raise ValueError(f"{out} holds an unfinished export of {split} ({partial}); make-data "
                         "was stopped: write it again with --overwrite, or remove it")
    if (folder.exists() or table.exists()) and not overwrite:
        raise ValueError(f"{out} already holds a {split} split ({folder}, {table}); choose "
                         "another --out, or replace it with --overwrite")
    if folder.exists() and not table.is_file() and not partial.exists():
        raise ValueError(f"{folder} exists but {table} does not: it was not written by make-data, "
                         "so --overwrite leaves it alone; choose another --out")
    if partial.exists():
        shutil.rmtree(partial)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {out}: cannot create the folder ({err.strerror})") from None


def _class_names(dataset) -> list:
    """The data set's classes, each a plain name (a folder name)."""
    return [plain_name(name, f"class {i} of the data set", "a class name, a plain name such as "
                       "sit_down") for i, name in enumerate(dataset.classes)]


def export_split(dataset, out, split: str, fps: float = 12, overwrite: bool = False,
                 progress=None) -> Path:
    """Write dataset[i] -> (video (T, 3, H, W) float in [0, 1], label index into
    dataset.classes) as OUT/<split>/<class>/<i:05d>.mp4, and OUT/<split>.csv (path relative to
    OUT, label) -> the folder OUT/<split>. progress: a tqdm-like wrapper of the clips, or None."""
    out = Path(out)
    names = _class_names(dataset)
    plain_name(split, "the split", "a split name, a plain name such as val")
    _make_room(out, split, overwrite)
    partial, rows = out / f"{split}{PARTIAL}", []
    partial.mkdir()
    clips = range(len(dataset))
    for i in progress(clips, desc=f"{split} clips", unit="clip") if progress else clips:
        video, label = dataset[i]
        write_video(partial / names[label] / f"{i:05d}.mp4", video, fps)
        rows.append((f"{split}/{names[label]}/{i:05d}.mp4", names[label]))
    _replace(partial, out / split, out / f"{split}.csv", rows)
    return out / split


def _replace(partial: Path, folder: Path, table: Path, rows: list) -> None:
    """Put a finished export in place of an earlier one; the partial folder goes last, so until
    it has, the export is recognisably unfinished."""
    table.unlink(missing_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    with open(table, "w", newline="") as f:
        csv.writer(f).writerows([("path", "label"), *rows])
    partial.replace(folder)
