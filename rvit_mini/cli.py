"""python -m rvit_mini {info,...}: the library from the command line."""

import argparse
import csv
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import data
from .flops import flops_per_frame
from .models import SCALES, create_model, list_models


def cmd_info(args) -> None:
    """Every variant's parameters and forward FLOPs per frame at both scales."""
    print(f"{'model':<14}{'scale':<7}{'depth':>6}{'params':>14}{'GFLOPs/frame':>14}")
    for scale in SCALES:
        for name in list_models():
            with torch.device("meta"):
                model = create_model(name, scale=scale)
            params = sum(p.numel() for p in model.parameters())
            gflops = flops_per_frame(model) / 1e9
            print(f"{name:<14}{scale:<7}{model.cfg.depth:>6}{params:>14,}{gflops:>14.4f}")


def cmd_make_data(args) -> None:
    """Export a StickActions split to mp4 files: OUT/<split>/<class>/<i>.mp4 and OUT/<split>.csv."""
    ds = data.StickActions(args.split, args.frames, args.size, args.seed, num_clips=args.clips)
    out = Path(args.out)
    rows = []
    for i in tqdm(range(len(ds)), desc=f"{args.split} clips", unit="clip"):
        label = ds.classes[ds.label(i)]
        path = data.write_video(out / args.split / label / f"{i:05d}.mp4", ds.frames(i), args.fps)
        rows.append((path.relative_to(out).as_posix(), label))
    with open(out / f"{args.split}.csv", "w", newline="") as f:
        csv.writer(f).writerows([("path", "label"), *rows])
    print(f"wrote {len(rows)} clips to {out / args.split} (load with rvit_mini.data.video_folder)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rvit_mini", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help=cmd_info.__doc__).set_defaults(func=cmd_info)

    p = sub.add_parser("make-data", help=cmd_make_data.__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=int, default=None, help="default: the split's full size")
    p.add_argument("--split", default="train", choices=data.stick_actions.SPLITS)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--fps", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_make_data)
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
