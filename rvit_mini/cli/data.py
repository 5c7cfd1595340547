"""The data commands: make-data exports StickActions to video files, check-data scans a
downloaded data set for missing and undecodable videos."""

import csv
import shutil
from pathlib import Path

from .. import data
from ..common.checks import check_batch_fits
from ..common.progress import tqdm
from .args import check_new_file, count, positive_int


def cmd_make_data(args) -> None:
    """Export a StickActions split to mp4 files: OUT/<split>/<class>/<i>.mp4 and OUT/<split>.csv."""
    ds = data.StickActions(args.split, args.frames, args.size, args.seed, num_clips=args.clips)
    check_batch_fits(ds, 1)  # one clip at a time
    out = Path(args.out)
    clear_export(out, args.split, args.overwrite)
    rows = []
    for i in tqdm(range(len(ds)), desc=f"{args.split} clips", unit="clip"):
        label = ds.classes[ds.label(i)]
        path = data.write_video(out / args.split / label / f"{i:05d}.mp4", ds.frames(i), args.fps)
        rows.append((path.relative_to(out).as_posix(), label))
    with open(out / f"{args.split}.csv", "w", newline="") as f:
        csv.writer(f).writerows([("path", "label"), *rows])
    print(f"wrote {len(rows)} clips to {out / args.split} (load with rvit_mini.data.video_folder)")


def clear_export(out: Path, split: str, overwrite: bool) -> None:
    """Make room for make-data's export of `split` in out: refuse to mix it with an earlier
    one, or (overwrite) remove the earlier one; never a folder make-data did not write."""
    folder, table = out / split, out / f"{split}.csv"
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    if not (folder.exists() or table.exists()):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"--out {out}: cannot create the folder ({err.strerror})") from None
        return
    if not overwrite:
        raise ValueError(f"{out} already holds a {split} split ({folder}, {table}); choose "
                         "another --out, or replace it with --overwrite")
    if folder.exists() and not table.is_file():
        raise ValueError(f"{folder} exists but {table} does not: it was not written by make-data, "
                         "so --overwrite leaves it alone; choose another --out")
    shutil.rmtree(folder, ignore_errors=True)
    table.unlink()


def cmd_check_data(args) -> None:
    """Decode every video of a downloaded data set: present, missing and undecodable per split."""
    out = check_new_file(args.out or f"exclude-{args.data}.txt", args.overwrite, "--out")
    if not Path(args.root).is_dir():
        raise FileNotFoundError(f"--root {args.root}: no such folder (the data set's folder)")
    report, bad = data.check_data(args.data, args.root, args.split and [args.split], args.workers)
    if all(isinstance(counts, str) for counts in report.values()):
        raise ValueError(f"no split of {args.root} could be read as {args.data}: "
                         + "; ".join(f"{split}: {why}" for split, why in report.items()))
    for split, counts in report.items():
        if isinstance(counts, str):
            print(f"{split}: not checked: {counts}")
            continue
        print(f"{split}: {counts['listed']} listed, {counts['present']} present, "
              f"{counts['missing']} missing, {counts['undecodable']} undecodable")
        if counts["missing"]:
            print(f"  missing, e.g. {', '.join(counts['first_missing'])}")
    out = data.write_exclude(out, bad, args.root)
    print(f"wrote the {len(bad)} undecodable videos to {out}; train with --exclude {out}")


def add_parsers(sub) -> None:
    p = sub.add_parser("make-data", help=cmd_make_data.__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=positive_int, default=None,
                   help="default: the split's full size")
    p.add_argument("--split", default="train", choices=data.stick_actions.SPLITS)
    p.add_argument("--frames", type=positive_int, default=16)
    p.add_argument("--size", type=positive_int, default=64)
    p.add_argument("--fps", type=positive_int, default=12)
    p.add_argument("--seed", type=count, default=0)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier export of the split in OUT")
    p.set_defaults(func=cmd_make_data)

    p = sub.add_parser("check-data", help=cmd_check_data.__doc__)
    p.add_argument("--data", required=True, choices=list(data.LOADERS))
    p.add_argument("--root", required=True, help="the data set's folder")
    p.add_argument("--split", help="default: every split of the data set")
    p.add_argument("--workers", type=count, default=0, help="decoding processes")
    p.add_argument("--out", help="the exclude file to write (default: exclude-DATA.txt)")
    p.add_argument("--overwrite", action="store_true", help="replace the file --out names")
    p.set_defaults(func=cmd_check_data)
