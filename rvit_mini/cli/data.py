"""The data commands: make-data exports StickActions to video files, check-data scans a
downloaded data set for missing and undecodable videos."""

from pathlib import Path

from .. import data
from ..common.checks import check_batch_fits
from ..common.progress import tqdm
from ..common.text import printable
from .args import check_new_file, count, positive_int


def cmd_make_data(args) -> None:
    """Export a StickActions split to mp4 files: OUT/<split>/<class>/<i>.mp4 and OUT/<split>.csv."""
    ds = data.StickActions(args.split, args.frames, args.size, args.seed, num_clips=args.clips,
                           keep=False)  # written once, never read again
    check_batch_fits(ds, 1)  # one clip at a time
    folder = data.export_split(ds, args.out, args.split, args.fps, args.overwrite, progress=tqdm)
    print(f"wrote {len(ds)} clips to {folder} (load with rvit_mini.data.video_folder)")


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
            print(f"{split}: not checked: {printable(counts)}")
            continue
        print(f"{split}: {counts['listed']} listed, {counts['present']} present, "
              f"{counts['missing']} missing, {counts['undecodable']} undecodable")
        if counts["missing"]:
            print(f"  missing, e.g. {printable(', '.join(map(str, counts['first_missing'])))}")
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
