"""The evaluation commands: evaluate scores models on a split, evaluate-stream sets online
recognisers against one another on the same held-out streams, stream classifies a video file
frame by frame as it is decoded.

    python -m rvit_mini evaluate runs/rvit_s/last.pt --split test
    python -m rvit_mini evaluate-stream rvit rvit_online trecvit_online cvit_online@w16 --streams 8
    python -m rvit_mini stream clip.mp4 --model rvit_s
"""

import json

from .. import data, online
from ..execution import StreamingClassifier
from ..training import evaluate, load_model
from ..training.cards import reversed_pair_accuracy
from ..training.prepare import clip_data
from .args import add_data_args, check_new_file, count, positive_int


def load_dataset(args, split: str, num_frames: int, size: int):
    """StickActions, or a real data set from LOADERS read from --root; every clip labelled (for
    training and evaluation)."""
    return clip_data(split, num_frames, size, args.data, args.root, args.data_seed, args.exclude)


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
        metrics = results[name] = evaluate(model, dataset, device=args.device,
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
# RViT's successor, clip-trained and stream-trained as rvit and rvit_online are
TRECVIT_RIVALS = ["trecvit", "trecvit@reset", "trecvit_online", "trecvit_online@reset"]


def cmd_evaluate_stream(args) -> None:
    """Online recognition: rivals named by shipped model (name@reset: the oracle reset;
    cvit_online@w16: a window of 16 frames; majority; shown: the ceiling) on the same held-out
    StickStreams, and at the composite pairs; prints a markdown table."""
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
    stream = StreamingClassifier(model)
    classes = args.classes.split(",") if args.classes else model.classes or data.CLASSES
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


def add_parsers(sub) -> None:
    p = sub.add_parser("evaluate", help=cmd_evaluate.__doc__)
    p.add_argument("models", nargs="+", help="checkpoints (.pt) or shipped models' names")
    add_data_args(p, "test")
    p.add_argument("--frames", type=positive_int, help="frames per clip (default: the model's)")
    p.add_argument("--json", help="also write the metrics to this file")
    p.add_argument("--overwrite", action="store_true", help="replace the file --json names")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-stream", help=cmd_evaluate_stream.__doc__)
    p.add_argument("names", nargs="*", default=STREAM_RIVALS + TRECVIT_RIVALS,
                   help=f"rivals (default: {' '.join(STREAM_RIVALS + TRECVIT_RIVALS)})")
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
    p.add_argument("--model", default="rvit_s", help="a checkpoint (.pt) or a shipped model")
    p.add_argument("--classes", help="comma-separated class names (default: the model's own)")
    p.add_argument("--every", type=positive_int, default=1, help="print every Nth frame")
    p.add_argument("--backend", choices=["decord", "pyav"], help="default: decord where installed")
    p.set_defaults(func=cmd_stream)
