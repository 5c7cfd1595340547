"""The training commands: train runs a recipe into a run folder and writes the trained model
with its card; checkpoints retrains the shipped models, each with `train --recipe R`.

    python -m rvit_mini train --recipe mini_rvit_s --out runs/rvit_s
    torchrun --nproc_per_node=2 -m rvit_mini train --recipe mini_rvit_s --out runs/rvit_s
    python -m rvit_mini checkpoints          # `make checkpoints`: every shipped model, in order

The shipped models are trained in order: the frame-mean ViT first (it is also the image ViT
that initialises the others, Sec. 3.2), then RViT-S and RViT from it, RViT from scratch (the
comparison), and CViT; then the online recognisers (ours), trained on StickStreams with
per-frame labels: rvit_online from the shipped rvit, vit_online (the memoryless control) from
the shipped vit, and the rival cvit_online, a CViT over a sliding window, from the shipped cvit.
Each lands in rvit_mini/checkpoints (package data), replacing the shipped files; its run's log
stays in checkpoints/runs/<name>. On a busy machine `OMP_NUM_THREADS=1` trains them fastest.
"""

import shutil
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from ..common.files import write_atomically
from ..execution import accelerate
from ..online import stream_test
from ..training.cards import load_average, write_model
from ..training.loading import CHECKPOINTS, model_card
from ..training.lock import RunLock
from ..training.loop import fit
from ..training.prepare import prepare_run
from ..training.recipes import RECIPES, SHIPPED, run_name
from ..training.run import init_distributed, read_log
from .args import add_data_args, count, positive_int


def cmd_train(args) -> None:
    """Train a recipe (Table S1, mini or online) on its data; writes the run (last.pt, log.jsonl,
    history.png) and the trained model with its card (NAME.pt, NAME.json) into OUT."""
    recipe = RECIPES[args.recipe]
    if args.batch_size or args.epochs:
        recipe = replace(recipe, batch_size=args.batch_size or recipe.batch_size,
                         epochs=args.epochs or recipe.epochs)
    check_init_from(args.init_from, args.resume)
    if args.allow_data_change and not args.resume:
        raise ValueError("--allow-data-change lets a resumed run continue on moved data; give "
                         "it with --resume")
    rank, out = init_distributed()[0], Path(args.out)
    # the folder is this run's from here to the last file written (rank 0 writes)
    with RunLock(out) if rank == 0 else nullcontext():
        if rank == 0 and not args.resume:
            check_outputs(out, run_name(recipe), args.overwrite)
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
        fit(fast, setup.train_set, setup.val_set, recipe, out, resume=args.resume,
            overwrite=args.overwrite, device=args.device, amp=args.amp, workers=args.workers,
            max_steps=args.max_steps, seed=args.seed, data=setup.identity,
            allow_data_change=args.allow_data_change)
        timing = {"training_seconds": round(time.perf_counter() - started),
                  "training_cpu_seconds": round(time.process_time() - cpu),
                  "load_average": {"before": load_before, "after": load_average()}}
        if rank == 0:
            write_outputs(setup, out, timing, args.device)


OUTPUTS = ("{}.pt", "{}.json", "history.png")  # what train writes into OUT once a run ends


def check_outputs(out: Path, name: str, overwrite: bool) -> None:
    """Before a new run: refuse to replace a trained model, card or plot already in OUT (a
    copy of the shipped models, say) unless --overwrite. A resumed run replaces its own."""
    there = [f.format(name) for f in OUTPUTS if (out / f.format(name)).exists()]
    if there and not overwrite:
        raise ValueError(f"{out} already holds {', '.join(there)}, which this run would "
                         "replace when it ends; choose another --out, or replace them with "
                         "--overwrite")


def write_outputs(setup, out: Path, timing: dict, device: str) -> None:
    """The plot of the log, the trained model and its card, each written whole or not at all."""
    from ..lessons.viz import plot_history  # matplotlib, only once a run has ended

    ax = plot_history(read_log(out / "log.jsonl"), title=setup.recipe.name)
    try:
        write_atomically(out / "history.png", lambda tmp: ax.figure.savefig(
            tmp, format="png", dpi=120, bbox_inches="tight"))
        card = write_model(setup, out, timing, device, stream_test)
    except OSError as err:
        raise OSError(f"{err}; the run is saved in {out / 'last.pt'}: the same train command "
                      "with --resume writes the model, card and plot from it") from None
    print(f"wrote {out / 'last.pt'}, log.jsonl, history.png and the trained model, "
          f"{out / card['name']}.pt with its card {card['name']}.json")


def check_init_from(init_from: str | None, resume: bool) -> None:
    """--init-from starts a new run; with --resume it would go unused, so it is refused."""
    if init_from is not None and resume:
        raise ValueError("--init-from starts a new run from a model, --resume continues a run "
                         "from its checkpoint: give one of them")


def cmd_checkpoints(args) -> None:
    """Retrain the shipped models (hours on 2 cores: the cards record each run's time), each
    with `train --recipe R` and its model card, replacing the shipped files unless --out says
    elsewhere."""
    out = Path(args.out)
    if not out.is_dir():
        raise FileNotFoundError(f"--out {out}: no such folder; create it first (the models "
                                "started from a ViT read vit from it)")
    for name in args.only:
        run = out / "runs" / name
        from . import main  # the command line itself, as a user would call it

        main(["train", "--recipe", SHIPPED[name], "--out", str(run), "--models", str(out),
              "--overwrite", "--workers", str(args.workers), "--device", "cpu"])
        card = publish(run, name, out)
        print(summary(card))


def publish(run: Path, name: str, out: Path) -> dict:
    """Move a run's trained model and card from its folder to `out`; drop its last.pt."""
    for suffix in (".pt", ".json"):
        shutil.move(run / f"{name}{suffix}", out / f"{name}{suffix}")
    (run / "last.pt").unlink()
    return model_card(name, out)


def summary(card: dict) -> str:
    """One line of a card's test figures."""
    name, seconds = card["name"], card["training_seconds"]
    if "test" not in card:
        return (f"{name:<14} test top-1 {card['test_top1']:.3f}  reversed pairs "
                f"{card['test_reversed_pairs_top1']:.3f}  {seconds} s")
    test = card["test"]["8-frame actions"]
    return "\n".join(f"{rival:<16} per-frame accuracy {row['accuracy']:.3f} on 480-frame test "
                     f"streams of 8-frame actions (the frames show {test['shown_ceiling']:.3f}), "
                     f"settled within 3 frames {row['settled']:.2f}  {seconds} s"
                     for rival, row in test.items() if rival != "shown_ceiling")


def add_parsers(sub) -> None:
    p = sub.add_parser("train", help=cmd_train.__doc__)
    p.add_argument("--recipe", required=True, choices=sorted(RECIPES))
    p.add_argument("--out", required=True, help="run folder: last.pt, log.jsonl, history.png")
    add_data_args(p, "train")
    p.add_argument("--val-split", help="evaluated after every epoch (default: the data set's "
                   "validation split); '' for none")
    p.add_argument("--size", type=positive_int, help="frame size (default: the recipe's scale)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in OUT from its last.pt, on the data it began with "
                   "(its trained model, card and plot are written again when it ends)")
    p.add_argument("--allow-data-change", action="store_true",
                   help="with --resume: continue although the data's root differs, for the same "
                   "data set moved; its loader, split, exclude list, seed, length and classes "
                   "must still match (anything else would change what the batches mean)")
    p.add_argument("--overwrite", action="store_true",
                   help="start the run in OUT again, replacing its last.pt and log.jsonl, and "
                   "a trained model, card and plot (NAME.pt, NAME.json, history.png) there")
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

    p = sub.add_parser("checkpoints", help=cmd_checkpoints.__doc__)
    p.add_argument("--out", default=str(CHECKPOINTS),
                   help="where to write them (default: the package's shipped checkpoints)")
    p.add_argument("--only", nargs="+", choices=list(SHIPPED), default=list(SHIPPED),
                   help="the models initialised from a ViT need vit in --out")
    p.add_argument("--workers", type=count, default=0)
    p.set_defaults(func=cmd_checkpoints)
