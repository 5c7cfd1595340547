"""python -m rvit_mini {info,make-data,check-data,train,evaluate,evaluate-stream,stream,
checkpoints,grade}: the command line.

    python -m rvit_mini train --recipe mini_rvit_s --out runs/rvit_s
    torchrun --nproc_per_node=2 -m rvit_mini train --recipe mini_rvit_s --out runs/rvit_s
    python -m rvit_mini evaluate runs/rvit_s/last.pt --split test
    python -m rvit_mini stream clip.mp4 --model rvit_s
    python -m rvit_mini evaluate-stream rvit rvit_online cvit_online@w16 --streams 8
    python -m rvit_mini grade student/01_video_to_tokens.ipynb

A mistake in the input (a missing file, a value that makes no sense, a run folder in use) is
reported in one line, without a traceback; RVIT_MINI_TRACEBACK=1 shows the traceback too.
"""

import argparse
import os
import sys
import warnings

import torch

from ..common.text import printable
from ..model import create_model, list_models
from ..model.flops import flops_per_frame
from ..model.registry import SCALES
from ..training.run import Interrupted, NonFiniteLossError
from . import data, evaluate, grade, train


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


class Parser(argparse.ArgumentParser):
    """argparse, its mistakes said in one line (with where to read more), not under a usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m rvit_mini", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help=cmd_info.__doc__).set_defaults(func=cmd_info)
    for commands in (data, train, evaluate, grade):
        commands.add_parsers(sub)
    return parser


# what a user's input can cause; anything else is a bug, and keeps its traceback
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, NotADirectoryError, PermissionError,
               OSError, NonFiniteLossError)


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the command line says it: one line, without the source line."""
    print(f"warning: {printable(message)}", file=file or sys.stderr)


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = one_line_warning
    try:
        args.func(args)
    except USER_ERRORS as err:
        if os.environ.get("RVIT_MINI_TRACEBACK"):
            raise
        parser.exit(1, f"error: {printable(err)}\n")
    except Interrupted as stop:  # saved and said so
        parser.exit(128 + stop.signum, "")
    except KeyboardInterrupt:
        parser.exit(130, "")
    finally:
        warnings.showwarning = shown
