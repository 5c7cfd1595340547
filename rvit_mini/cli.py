"""python -m rvit_mini {info,make-data,check-data,train,evaluate,evaluate-stream,stream,
checkpoints}: the command line.

    python -m rvit_mini train --recipe mini_rvit_s --out runs/rvit_s
    torchrun --nproc_per_node=2 -m rvit_mini train --recipe mini_rvit_s --out runs/rvit_s
    python -m rvit_mini evaluate runs/rvit_s/last.pt --split test
    python -m rvit_mini stream clip.mp4 --model rvit_s
    python -m rvit_mini evaluate-stream rvit rvit_online cvit_online@w16 --streams 8

A mistake in the input (a missing file, a value that makes no sense, a run folder in use) is
reported in one line, without a traceback; RVIT_MINI_TRACEBACK=1 shows the traceback too.
"""

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from . import data, train
from .accelerate import accelerate
from .cards import load_average, reversed_pair_accuracy, write_model
from .checks import check_batch_fits, check_count
from .flops import flops_per_frame
from .pretrained import CHECKPOINTS, list_pretrained, load_pretrained
from .progress import tqdm
from .recipes import SHIPPED, clip_data, prepare_run
from .registry import SCALES, create_model, list_models
from .retrain import publish, summary
from .run import NonFiniteLossError, init_distributed, model_from_checkpoint
from .stream import StreamingClassifier


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
    ds = data.StickActions(args.split, args.frames, args.size, args.seed, num_clips=args.clips,
                           keep=False)  # written once, never read again
    check_batch_fits(ds, 1)  # one clip at a time
    folder = data.export_split(ds, args.out, args.split, args.fps, args.overwrite, progress=tqdm)
    print(f"wrote {len(ds)} clips to {folder} (load with rvit_mini.data.video_folder)")


def check_new_file(path, overwrite: bool, option: str) -> Path:
    """The path of a file a command is about to write, refused if one is there (unless
    overwrite) or if its folder is not."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ValueError(f"{path} exists; give another {option}, or replace it with --overwrite")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{option} {path}: the folder {path.parent} does not exist")
    return path


def load_dataset(args, split: str, num_frames: int, size: int):
    """StickActions, or a real data set from LOADERS read from --root; every clip labelled (for
    training and evaluation)."""
    return clip_data(split, num_frames, size, args.data, args.root, args.data_seed, args.exclude)


def load_model(name_or_path: str):
    """A checkpoint file (a training run's last.pt) or the name of a shipped model."""
    if Path(name_or_path).is_dir():
        raise ValueError(f"{name_or_path} is a folder; give a checkpoint file, e.g. "
                         f"{Path(name_or_path) / 'last.pt'}")
    if Path(name_or_path).suffix == ".pt" or Path(name_or_path).exists():
        return model_from_checkpoint(name_or_path).eval()
    if name_or_path in list_pretrained():
        return load_pretrained(name_or_path)
    raise SystemExit(f"{name_or_path!r} is neither a checkpoint file nor a shipped model "
                     f"({', '.join(list_pretrained()) or 'none shipped; run make checkpoints'})")


def check_init_from(init_from: str | None, resume: bool) -> None:
    """--init-from starts a new run; with --resume it would go unused, so it is refused."""
    if init_from is not None and resume:
        raise ValueError("--init-from starts a new run from a model, --resume continues a run "
                         "from its checkpoint: give one of them")


def cmd_train(args) -> None:
    """Train a recipe (Table S1, mini or online) on its data; writes the run (last.pt, log.jsonl,
    history.png) and the trained model with its card (NAME.pt, NAME.json) into OUT."""
    recipe = train.RECIPES[args.recipe]
    if args.batch_size or args.epochs:
        recipe = replace(recipe, batch_size=args.batch_size or recipe.batch_size,
                         epochs=args.epochs or recipe.epochs)
    check_init_from(args.init_from, args.resume)
    # what the model computes, where it starts, what it learns from
    setup = prepare_run(recipe, data=args.data, root=args.root, exclude=args.exclude,
                        data_seed=args.data_seed, size=args.size, split=args.split,
                        val_split=args.val_split, init_from=args.init_from,
                        start=not args.resume, models=args.models, seed=args.seed,
                        fp32_state=args.fp32_state, tbptt=args.tbptt or recipe.tbptt)
    # how it runs
    fast = accelerate(setup.model, execution=args.execution, compile=args.compile,
                      frame_checkpoint=args.frame_checkpoint)
    load_before, started, cpu = load_average(), time.perf_counter(), time.process_time()
    train.fit(fast, setup.train_set, setup.val_set, recipe, args.out, resume=args.resume,
              overwrite=args.overwrite, device=args.device, amp=args.amp, workers=args.workers,
              max_steps=args.max_steps, seed=args.seed)
    timing = {"training_seconds": round(time.perf_counter() - started),
              "training_cpu_seconds": round(time.process_time() - cpu),
              "load_average": {"before": load_before, "after": load_average()}}
    if init_distributed()[0] == 0:
        from .viz import plot_history, read_log

        out = Path(args.out)
        ax = plot_history(read_log(out / "log.jsonl"), title=recipe.name)
        ax.figure.savefig(out / "history.png", dpi=120, bbox_inches="tight")
        card = write_model(setup, out, timing, args.device)
        print(f"wrote {out / 'last.pt'}, log.jsonl, history.png and the trained model, "
              f"{out / card['name']}.pt with its card {card['name']}.json")


def cmd_evaluate(args) -> None:
    """Top-1, top-5 and per-class accuracy (mAP for multi-label data) of models on a split."""
    json_path = args.json and check_new_file(args.json, args.overwrite, "--json")
    results, summary, datasets = {}, [], {}
    for name in args.models:
        model = load_model(name)
        shape = (args.frames or model.cfg.num_frames, model.cfg.img_size)
        if shape not in datasets:  # models of the same clip shape share one (rendered) split
            datasets[shape] = load_dataset(args, args.split, *shape)
        dataset = datasets[shape]
        metrics = results[name] = train.evaluate(model, dataset, device=args.device,
                                                 workers=args.workers)
        if "mAP" in metrics:
            print(f"{name}, {args.split}: mAP {metrics['mAP']:.4f} over {len(dataset)} clips")
            continue
        print(f"{name}, {args.split}: top-1 {metrics['top1']:.4f}  top-5 {metrics['top5']:.4f} "
              f"over {metrics['n']} clips")
        for label, acc in zip(dataset.classes, metrics["per_class"]):
            print(f"  {label:<24}{acc:.3f}")
        if args.data == "stick_actions":
            summary.append(f"| {name} | {metrics['top1']:.3f} | "
                           f"{reversed_pair_accuracy(metrics):.3f} |")
    if len(summary) > 1:
        print(f"\n| model | {args.split} top-1 | time-reversed pairs top-1 |\n| --- | --- | --- |")
        print("\n".join(summary))
    if json_path:
        json_path.write_text(json.dumps(results, indent=1) + "\n")


STREAM_RIVALS = ["majority", "shown", "vit", "vit_online", "rvit", "rvit@reset",
                 "cvit_online@w8", "cvit_online@w16", "cvit_online@w32", "rvit_online",
                 "rvit_online@reset"]


def cmd_evaluate_stream(args) -> None:
    """Online recognition: rivals named by shipped model (name@reset: the oracle reset;
    cvit_online@w16: a window of 16 frames; majority; shown: the ceiling) on the same held-out
    StickStreams, and at the composite pairs; prints a markdown table."""
    from . import online

    json_path = args.json and check_new_file(args.json, args.overwrite, "--json")
    rows = online.evaluate_streams(args.names, args.streams, args.frames, args.seed, args.split,
                                   action_frames=tuple(args.action_frames),
                                   clips_per_pair=args.pairs)
    lo, hi = args.action_frames
    print(f"{args.streams} {args.split} streams of {args.frames} frames, actions of "
          f"{lo if lo == hi else f'{lo} to {hi}'} frames (seed {args.seed})"
          + (f"; {args.pairs} clips of each composite pair" if args.pairs else "") + "\n")
    print(online.markdown(rows))
    if json_path:
        json_path.write_text(json.dumps({"args": {k: v for k, v in vars(args).items()
                                                   if k != "func"}, "rows": rows}, indent=1) + "\n")


def cmd_stream(args) -> None:
    """Classify a video file frame by frame as it is decoded, in memory independent of its length."""
    model = load_model(args.model)
    if not hasattr(model, "step"):
        raise ValueError(f"{args.model} is a {type(model).__name__}, which attends over the whole "
                         "clip at once and cannot stream; give an RViT or a ViT (--model rvit_s)")
    stream = StreamingClassifier(model)
    classes = args.classes.split(",") if args.classes else data.CLASSES
    if len(classes) != model.cfg.num_classes:
        raise SystemExit(f"the model has {model.cfg.num_classes} classes but {len(classes)} "
                         "class names were given (--classes a,b,c)")
    print(f"{'frame':>6}  {'this frame':<16}{'clip so far':<16}p")
    for t, frame in enumerate(data.iter_frames(args.video, args.backend)):
        probs = stream.update(data.resize(frame, model.cfg.img_size)).softmax(-1)[0]
        now = stream.frame_logits()[0].argmax()
        if t % args.every == 0:
            print(f"{t:>6}  {classes[now]:<16}{classes[probs.argmax()]:<16}{probs.max():.2f}")
    print(f"{stream.num_frames} frames; prediction: {classes[probs.argmax()]}")


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


def cmd_checkpoints(args) -> None:
    """Retrain the shipped models (about 80 minutes on 2 cores), each with `train --recipe R`
    and its model card, replacing the shipped files unless --out says elsewhere."""
    out = Path(args.out)
    for name in args.only:
        run = out / "runs" / name
        main(["train", "--recipe", SHIPPED[name], "--out", str(run), "--models", str(out),
              "--overwrite", "--workers", str(args.workers), "--device", "cpu"])
        card = publish(run, name, out)
        print(summary(card))


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rvit_mini", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help=cmd_info.__doc__).set_defaults(func=cmd_info)

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

    p = sub.add_parser("train", help=cmd_train.__doc__)
    p.add_argument("--recipe", required=True, choices=sorted(train.RECIPES))
    p.add_argument("--out", required=True, help="run folder: last.pt, log.jsonl, history.png")
    add_data_args(p, "train")
    p.add_argument("--val-split", help="evaluated after every epoch (default: the data set's "
                   "validation split); '' for none")
    p.add_argument("--size", type=positive_int, help="frame size (default: the recipe's scale)")
    p.add_argument("--resume", action="store_true", help="continue the run in OUT from its last.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="start the run in OUT again, replacing its last.pt and log.jsonl")
    p.add_argument("--amp", choices=["bf16", "fp16"], help="autocast dtype (fp16 adds a GradScaler)")
    p.add_argument("--fp32-state", action="store_true", help="keep RViT's hidden state in fp32")
    p.add_argument("--frame-checkpoint", action="store_true",
                   help="RViT: recompute each frame in backward (memory flat in clip length)")
    p.add_argument("--tbptt", type=count, default=0,
                   help="RViT: detach the state every K frames (default: the recipe's)")
    p.add_argument("--execution", choices=["sequential", "wavefront"], default="sequential",
                   help="RViT on a clip: T x L steps, or T + L - 1 batched diagonals (faster)")
    p.add_argument("--compile", action="store_true",
                   help="RViT: torch.compile the per-frame step (the wavefront: its diagonal)")
    p.add_argument("--init-from", help="the model to start from instead of the recipe's: a "
                   "checkpoint or a shipped name (mini recipes start from the shipped model "
                   "their init names)")
    p.add_argument("--models", default=str(CHECKPOINTS),
                   help="where shipped models are read (default: the package's)")
    p.add_argument("--batch-size", type=positive_int, help="global batch (default: the recipe's)")
    p.add_argument("--epochs", type=positive_int, help="default: the recipe's")
    p.add_argument("--max-steps", type=positive_int)
    p.add_argument("--seed", type=count, default=0)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help=cmd_evaluate.__doc__)
    p.add_argument("models", nargs="+", help="checkpoints (.pt) or shipped models' names")
    add_data_args(p, "test")
    p.add_argument("--frames", type=positive_int, help="frames per clip (default: the model's)")
    p.add_argument("--json", help="also write the metrics to this file")
    p.add_argument("--overwrite", action="store_true", help="replace the file --json names")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-stream", help=cmd_evaluate_stream.__doc__)
    p.add_argument("names", nargs="*", default=STREAM_RIVALS,
                   help=f"rivals (default: {' '.join(STREAM_RIVALS)})")
    p.add_argument("--streams", type=positive_int, default=8, help="held-out streams")
    p.add_argument("--frames", type=positive_int, default=480, help="frames per stream")
    p.add_argument("--action-frames", type=positive_int, nargs=2, default=[8, 8],
                   metavar=("MIN", "MAX"), help="frames per action (default: 8 8)")
    p.add_argument("--seed", type=count, default=0)
    p.add_argument("--split", default="test", choices=data.stick_actions.SPLITS)
    p.add_argument("--pairs", type=count, default=20,
                   help="clips of each composite pair for the switch columns (0: none)")
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--overwrite", action="store_true", help="replace the file --json names")
    p.set_defaults(func=cmd_evaluate_stream)

    p = sub.add_parser("checkpoints", help=cmd_checkpoints.__doc__)
    p.add_argument("--out", default=str(CHECKPOINTS),
                   help="where to write them (default: the package's shipped checkpoints)")
    p.add_argument("--only", nargs="+", choices=list(SHIPPED), default=list(SHIPPED),
                   help="the models initialised from a ViT need vit in --out")
    p.add_argument("--workers", type=count, default=0)
    p.set_defaults(func=cmd_checkpoints)

    p = sub.add_parser("stream", help=cmd_stream.__doc__)
    p.add_argument("video")
    p.add_argument("--model", default="rvit_s", help="a checkpoint (.pt) or a shipped model")
    p.add_argument("--classes", help="comma-separated class names (default: StickActions')")
    p.add_argument("--every", type=positive_int, default=1, help="print every Nth frame")
    p.add_argument("--backend", choices=["decord", "pyav"], help="default: decord where installed")
    p.set_defaults(func=cmd_stream)
    return parser


# what a user's input can cause; anything else is a bug, and keeps its traceback
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError, OSError,
               NonFiniteLossError)


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except USER_ERRORS as err:
        if os.environ.get("RVIT_MINI_TRACEBACK"):
            raise
        parser.exit(1, f"error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, "")


if __name__ == "__main__":
    main()
