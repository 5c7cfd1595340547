"""What the commands share: argument types that refuse nonsense at parse time, the data
options, and the rule for files a command writes (never replace one unless told)."""

import argparse
from pathlib import Path

import torch

from .. import data
from ..common.checks import check_count


def integer_type(minimum: int):
    """argparse type: an integer >= minimum (check_count's rule)."""
    def parse(text: str) -> int:
        try:
            return check_count("the value", int(text) if text.lstrip("-").isdigit() else text,
                               minimum)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return parse


positive_int, count = integer_type(1), integer_type(0)


def device(text: str) -> str:
    """argparse type: a device this machine has (cpu, cuda, cuda:1, mps)."""
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"not a device: {text} (cpu, cuda, cuda:N, mps)") from None
    if dev.type == "cuda" and not (torch.cuda.is_available() and
                                   (dev.index or 0) < torch.cuda.device_count()):
        have = f"{torch.cuda.device_count()} CUDA devices" if torch.cuda.is_available() \
            else "no CUDA device"
        raise argparse.ArgumentTypeError(f"{text}: this machine has {have}; use --device cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text}: MPS is not available here; use --device cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"unsupported device {text}; use cpu, cuda or mps")
    return text


def add_data_args(p, default_split: str) -> None:
    p.add_argument("--data", default="stick_actions", choices=["stick_actions", *data.LOADERS])
    p.add_argument("--root", help="the data set's folder (not for stick_actions)")
    p.add_argument("--data-seed", type=count, default=0, help="StickActions seed")
    p.add_argument("--split", default=default_split)
    p.add_argument("--device", type=device, default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--workers", type=count, default=0, help="DataLoader worker processes")
    p.add_argument("--exclude", help="a file of videos never to load (check-data writes one)")


def check_new_file(path, overwrite: bool, option: str) -> Path:
    """The path of a file a command is about to write, refused if one is there (unless
    overwrite) or if its folder is not."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ValueError(f"{path} exists; give another {option}, or replace it with --overwrite")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{option} {path}: the folder {path.parent} does not exist")
    return path
