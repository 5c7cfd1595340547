"""python -m rvit_mini {info,...}: the library from the command line."""

import argparse

import torch

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rvit_mini", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help=cmd_info.__doc__).set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
