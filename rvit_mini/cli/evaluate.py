"""The evaluation commands: evaluate scores models on a split, evaluate-stream sets online
recognisers against one another on the same held-out streams, stream classifies a video file
frame by frame as it is decoded.

    python -m rvit_mini evaluate rvit rvit_s --checkpoint runs/rvit_s/last.pt --split test
    python -m rvit_mini evaluate-stream rvit rvit_online trecvit_online cvit_online@w16 --streams 8
    python -m rvit_mini stream clip.mp4 --model rvit_s      # or --checkpoint runs/x/last.pt

Shipped models go by name, checkpoint files by --checkpoint PATH: a name never means a file.
"""

import json
from pathlib import Path

from .. import data, online
from ..common.files import write_atomically
from ..common.text import figure, printable, undefined_as_none
from ..execution import StreamingClassifier
from ..training import evaluate, list_pretrained, load_checkpoint, load_pretrained
from ..training.cards import reversed_pair_accuracy
from ..training.prepare import clip_data
from .args import add_data_args, check_new_file, count, positive_int


def load_dataset(args, split: str, num_frames: int, size: int):
    """StickActions, or a real data set from LOADERS read from --root; every clip labelled (for
    training and evaluation)."""
    return clip_data(split, num_frames, size, args.data, args.root, args.data_seed, args.exclude)


def named_models(names: list, checkpoints: list | None) -> list:
    """[(label, model)] for shipped models named and checkpoint files given (--checkpoint),
    all loaded before any is evaluated: a name is always the shipped model's, never a file's,
    whatever the working directory holds."""
    if not names and not checkpoints:
        raise ValueError("name a shipped model (e.g. rvit) or give a checkpoint file with "
                         "--checkpoint PATH")
    return ([(name, load_pretrained(name)) for name in names]
            + [(str(path), load_checkpoint(path)) for path in checkpoints or []])


def choice_said(metrics: dict) -> str:
    """What the prediction chose among, in words."""
    total = len(metrics["classes"])
    if metrics["left_out"]:
        outputs = total - len(metrics["unknown"]) + len(metrics["left_out"])
        said = (f"choice restricted to the data set's {total} of the model's {outputs} classes "
                f"(--all-classes: all {outputs})")
    else:
        said = f"choice among all {total - len(metrics['unknown'])} of the model's classes"
    if metrics["unknown"]:
        said += (f"; {len(metrics['unknown'])} of the data set's classes are unknown to the "
                 "model: their clips count as wrong")
    return said


def result_line(name: str, split: str, metrics: dict) -> str:
    """One line: the figures, how many clips were scored and skipped, and the choice."""
    figures = (f"mAP {figure(metrics['mAP'], '{:.4f}')}" if "mAP" in metrics else
               f"top-1 {metrics['top1']:.4f}  top-5 {metrics['top5']:.4f}")
    return (f"{printable(name)}, {printable(split)}: {figures} over {metrics['n']} clips, "
            f"{metrics['skipped']} skipped (could not be read); {choice_said(metrics)}")


def cmd_evaluate(args) -> None:
    """Top-1, top-5 and per-class accuracy (mAP for multi-label data) of models on a split."""
    json_path = args.json and check_new_file(args.json, args.overwrite, "--json")
    models = named_models(args.models, args.checkpoint)
    results, summary, datasets = {}, [], {}
    for name, model in models:
        shape = (args.frames or model.cfg.num_frames, model.cfg.img_size)
        if shape not in datasets:  # models of the same clip shape share one (rendered) split
            datasets[shape] = load_dataset(args, args.split, *shape)
        metrics = results[name] = evaluate(model, datasets[shape], device=args.device,
                                           workers=args.workers, all_classes=args.all_classes)
        print(result_line(name, args.split, metrics))
        if "mAP" in metrics:
            continue
        for label, acc in zip(metrics["classes"], metrics["per_class"]):
            print(f"  {printable(label):<24}{figure(acc)}")
        if args.data == "stick_actions":
            summary.append(f"| {name} | {metrics['top1']:.3f} | "
                           f"{figure(reversed_pair_accuracy(metrics))} |")
    if len(summary) > 1:
        print(f"\n| model | {args.split} top-1 | time-reversed pairs top-1 |\n| --- | --- | --- |")
        print("\n".join(summary))
    if json_path:
        write_json(json_path, results)


def write_json(path, value) -> None:
    """value as JSON, undefined figures as null (never NaN), written whole or not at all."""
    text = json.dumps(undefined_as_none(value), indent=1, allow_nan=False) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text))


STREAM_RIVALS = ["majority", "shown", "vit", "vit_online", "rvit", "rvit@reset",
                 "cvit_online@w8", "cvit_online@w16", "cvit_online@w32", "rvit_online",
                 "rvit_online@reset"]
# RViT's successor, clip-trained and stream-trained as rvit and rvit_online are
TRECVIT_RIVALS = ["trecvit", "trecvit@reset", "trecvit_online", "trecvit_online@reset"]
DEFAULT_RIVALS = STREAM_RIVALS + TRECVIT_RIVALS  # evaluate-stream's, and the benchmark's


def cmd_evaluate_stream(args) -> None:
    """Online recognition: rivals named by shipped model (name@reset: the oracle reset;
    cvit_online@w16: a window of 16 frames; majority; shown: the ceiling) or given as
    checkpoints (--checkpoint), on the same held-out StickStreams, and at the composite pairs;
    prints a markdown table."""
    json_path = args.json and check_new_file(args.json, args.overwrite, "--json")
    lo, hi = args.action_frames
    if lo > hi:
        raise ValueError(f"--action-frames MIN MAX: MIN {lo} is more than MAX {hi}")
    extra = {str(path): online.rival_from(load_checkpoint(path)) for path in args.checkpoint or []}
    names = args.names if args.names or extra else DEFAULT_RIVALS
    rows = online.evaluate_streams(names, args.streams, args.frames, args.seed, args.split,
                                   action_frames=(lo, hi), clips_per_pair=args.pairs,
                                   extra=extra)
    print(f"{args.streams} {args.split} streams of {args.frames} frames, actions of "
          f"{lo if lo == hi else f'{lo} to {hi}'} frames (seed {args.seed})"
          + (f"; {args.pairs} clips of each composite pair" if args.pairs else "") + "\n")
    print(online.markdown(rows))
    if json_path:
        write_json(json_path, {"args": {k: v for k, v in vars(args).items() if k != "func"},
                               "rows": rows})


def cmd_stream(args) -> None:
    """Classify a video file frame by frame as it is decoded, in memory independent of its length."""
    if args.checkpoint and args.model:
        raise ValueError("give a shipped model (--model NAME) or a checkpoint file (--checkpoint "
                         "PATH), not both")
    if not Path(args.video).is_file():
        raise FileNotFoundError(f"video not found: {args.video}")
    model = load_checkpoint(args.checkpoint) if args.checkpoint else \
        load_pretrained(args.model or "rvit_s")
    stream = StreamingClassifier(model)
    classes = args.classes.split(",") if args.classes else model.classes or data.CLASSES
    if len(classes) != model.cfg.num_classes:
        raise ValueError(f"the model has {model.cfg.num_classes} classes but {len(classes)} "
                         "class names were given (--classes a,b,c)")
    classes = [printable(c) for c in classes]
    print(f"{'frame':>6}  {'this frame':<16}{'clip so far':<16}p")
    probs = None
    for t, frame in enumerate(data.iter_frames(args.video, args.backend)):
        probs = stream.update(data.resize(frame, model.cfg.img_size)).softmax(-1)[0]
        now = stream.frame_logits()[0].argmax()
        if t % args.every == 0:
            print(f"{t:>6}  {classes[now]:<16}{classes[probs.argmax()]:<16}{probs.max():.2f}")
    if probs is None:
        raise ValueError(f"no frame could be decoded from {args.video}: it holds no video frames")
    print(f"{stream.num_frames} frames; prediction: {classes[probs.argmax()]}")


def add_parsers(sub) -> None:
    p = sub.add_parser("evaluate", help=cmd_evaluate.__doc__)
    p.add_argument("models", nargs="*", metavar="NAME",
                   help=f"shipped models ({', '.join(list_pretrained())})")
    p.add_argument("--checkpoint", action="append", metavar="PATH",
                   help="a checkpoint file (OUT/last.pt) to evaluate; repeat for several")
    p.add_argument("--all-classes", action="store_true",
                   help="choose among all the model's classes, not only the data set's")
    add_data_args(p, "test")
    p.add_argument("--frames", type=positive_int, help="frames per clip (default: the model's)")
    p.add_argument("--json", help="also write the metrics to this file")
    p.add_argument("--overwrite", action="store_true", help="replace the file --json names")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-stream", help=cmd_evaluate_stream.__doc__)
    p.add_argument("names", nargs="*",
                   help=f"rivals (default: {' '.join(DEFAULT_RIVALS)})")
    p.add_argument("--checkpoint", action="append", metavar="PATH",
                   help="a checkpoint file (OUT/last.pt) as a rival; repeat for several")
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

    p = sub.add_parser("stream", help=cmd_stream.__doc__)
    p.add_argument("video")
    p.add_argument("--model", choices=list_pretrained(), metavar="NAME",
                   help=f"a shipped model (default rvit_s): {', '.join(list_pretrained())}")
    p.add_argument("--checkpoint", metavar="PATH", help="a checkpoint file (OUT/last.pt)")
    p.add_argument("--classes", help="comma-separated class names (default: the model's own)")
    p.add_argument("--every", type=positive_int, default=1, help="print every Nth frame")
    p.add_argument("--backend", choices=["decord", "pyav"], help="default: decord where installed")
    p.set_defaults(func=cmd_stream)
