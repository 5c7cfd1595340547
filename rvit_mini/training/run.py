"""A training run's bookkeeping, beside the loop in loop.py: the run folder, atomic checkpoints
at step boundaries, the JSON-lines log, Ctrl-C, non-finite checks, and the process group.

A run folder holds last.pt (model, optimiser, scheduler, scaler, RNG states, step, config) and
log.jsonl. A run is never overwritten unless asked (`overwrite=True`), a resume needs a
checkpoint, and a checkpoint is only written between two steps, with finite weights.
"""

import json
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from .checkpoint import check_same_config, read_checkpoint, rng_state, save_checkpoint, set_rng_state


class NonFiniteLossError(RuntimeError):
    pass


class NothingTrainedError(ValueError):
    """Not one step could be taken (no batch could be read): there is no run to save."""


def init_distributed() -> tuple[int, int]:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1; nccl on GPU, gloo on
    CPU), once; returns (rank, world size), (0, 1) for a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


# -- checkpoint files -------------------------------------------------------------------------

def read_log(path) -> list[dict]:
    """A run's log.jsonl: its records, in order."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


@dataclass
class Position:
    """Where a run is: optimiser steps taken, the epoch, and batches taken in that epoch."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def first_non_finite(losses: list[torch.Tensor], collective: bool) -> int | None:
    """Index of the first non-finite loss in `losses`, or None. collective: also on the other
    ranks (every rank must call it at the same step), so that all ranks stop together."""
    finite = torch.isfinite(torch.stack(losses)).int()
    if collective and dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    bad = (finite == 0).nonzero()
    return int(bad[0]) if len(bad) else None


class StepBoundaryInterrupt:
    """Hold Ctrl-C (SIGINT) until the step in flight ends, so that a checkpoint never holds
    weights halfway through an optimiser step; a second Ctrl-C stops at once, saving nothing."""

    def __init__(self):
        self.requested, self.previous = False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class Run:
    """The run folder of one `fit`: what it writes, and the checks before it writes.

    Rank 0 writes; every rank checks. Losses stay on the device between log records (reading
    one makes the host wait for the device); they are checked before every checkpoint.
    """

    def __init__(self, out_dir, config: dict, rank: int, state: tuple, *, resume: bool,
                 overwrite: bool, on_log=None, classes=None):
        """state: (model, optimizer, scheduler, scaler), what a checkpoint holds and restores;
        classes: the data set's class names, recorded in every checkpoint."""
        self.out_dir, self.config, self.rank, self.on_log = Path(out_dir), config, rank, on_log
        self.state, self.classes = state, classes
        self.ckpt_path, self.log_path = self.out_dir / "last.pt", self.out_dir / "log.jsonl"
        self.records, self.losses, self.last_saved = [], [], None
        self.started = time.perf_counter()
        self.prepare_folder(resume, overwrite)

    def prepare_folder(self, resume: bool, overwrite: bool) -> None:
        """Refuse to touch a run that was not asked for; clear a crashed write's leftovers."""
        if resume and overwrite:
            raise ValueError("resume and overwrite exclude each other: resume continues the run "
                             f"in {self.out_dir}, overwrite starts it again")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"the run folder {self.out_dir} is a file; give a folder")
        has_run = self.ckpt_path.exists() or (self.log_path.exists() and
                                              self.log_path.stat().st_size > 0)
        if resume and not self.ckpt_path.exists():
            raise ValueError(f"nothing to resume: {self.out_dir} has no checkpoint (last.pt); "
                             "train without resume to start a new run there")
        if has_run and not (resume or overwrite):
            raise ValueError(f"{self.out_dir} already holds a run (last.pt, log.jsonl); resume "
                             "it (--resume), choose another folder, or start it again "
                             "(--overwrite, which replaces its files)")
        if self.rank != 0:
            return
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "last.pt.tmp").unlink(missing_ok=True)  # a write cut short
            if not resume:
                self.log_path.write_text("")
        except OSError as err:
            raise ValueError(f"cannot write the run folder {self.out_dir}: {err.strerror or err}; "
                             "give a folder you can write to") from None

    def restore(self) -> Position:
        """Load the checkpoint into the run's objects and the RNGs; refuse another config. The
        log keeps the records up to the checkpoint's step (the later ones are re-run), less a
        record cut short by Ctrl-C: its losses, kept in the checkpoint, go into the next one."""
        model, optimizer, scheduler, scaler = self.state
        ckpt = read_checkpoint(self.ckpt_path)
        check_same_config(ckpt["config"], self.config, self.ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        position = Position(**ckpt["train_state"])
        self.last_saved = position.step
        device = next(model.parameters()).device
        self.losses = list(ckpt.get("unlogged_losses", torch.zeros(0)).to(device).unbind())
        if self.rank == 0 and self.log_path.exists():
            records = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
            kept = [json.dumps(r) for r in records
                    if r["step"] <= position.step and not r.get("partial")]
            self.log_path.write_text("".join(line + "\n" for line in kept))
        return position

    def non_finite_error(self, what: str) -> NonFiniteLossError:
        saved = (f"The last good checkpoint is {self.ckpt_path} (step {self.last_saved}); "
                 if self.last_saved is not None else "No checkpoint was written yet; ")
        return NonFiniteLossError(f"{what}; stopped. {saved}lower the learning rate or check "
                                  "the data, then resume")

    def check_losses(self, position: Position, collective: bool = True) -> None:
        bad = first_non_finite(self.losses, collective) if self.losses else None
        if bad is not None:
            value = self.losses[bad].item()
            step = position.step - len(self.losses) + bad + 1
            raise self.non_finite_error(f"loss is {value} at step {step}" if not math.isfinite(value)
                            else f"the loss on another rank is not finite at step {step}")

    def checkpoint(self, position: Position, collective: bool = True) -> None:
        """Save the state after `position.step` steps, once its losses and weights are finite."""
        model, optimizer, scheduler, scaler = self.state
        self.check_losses(position, collective)
        # the losses can all be finite while a gradient was not
        if not torch.stack([p.isfinite().all() for p in model.parameters()]).all():
            raise self.non_finite_error(f"the weights are not finite at step {position.step}")
        self.last_saved = position.step
        if self.rank == 0:
            save_checkpoint(self.ckpt_path, model=model.state_dict(),
                            optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            scaler=scaler.state_dict(), rng=rng_state(),
                            train_state=asdict(position), config=self.config,
                            model_config=model.cfg.to_dict(),
                            unlogged_losses=torch.stack(self.losses).cpu() if self.losses
                            else torch.zeros(0),
                            **({"classes": list(self.classes)} if self.classes else {}))

    def log(self, record: dict) -> None:
        if self.rank == 0:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            self.records.append(record)
            if self.on_log is not None:
                self.on_log(record)

    def log_loss(self, position: Position, lr: float, partial: bool = False) -> float:
        """Log the mean loss since the last record; returns it. partial: the record of the steps
        before a Ctrl-C, whose losses the checkpoint just saved has checked and keeps."""
        if not partial:
            self.check_losses(position)
        loss = torch.stack(self.losses).mean().item()
        self.losses.clear()
        self.log({"step": position.step, "epoch": position.epoch, "loss": loss, "lr": lr,
                  "seconds": time.perf_counter() - self.started, **({"partial": True} if partial
                                                                      else {})})
        return loss

    @contextmanager
    def in_step(self):
        """Marks an optimiser step in flight: an error inside one saves nothing."""
        self.stepping = True
        yield
        self.stepping = False

    @contextmanager
    def saving_on_error(self, position: Position):
        """An error between two steps (a video that cannot be read, say) ends the run with the
        state after the last step saved, then goes on up."""
        self.stepping = False
        try:
            yield
        except (KeyboardInterrupt, NonFiniteLossError, NothingTrainedError):
            raise
        except Exception:
            if not self.stepping:
                try:
                    self.checkpoint(position, collective=False)
                    self.say(f"stopped by an error after step {self.last_saved}; saved "
                             f"{self.ckpt_path}: fix the cause below, then resume")
                except (OSError, NonFiniteLossError) as err:
                    self.say(f"stopped by an error; could not save a checkpoint: {err}")
            raise

    def stop_if_interrupted(self, interrupt: StepBoundaryInterrupt, position: Position) -> None:
        """After Ctrl-C, once the state is saved: log the steps since the last record, say
        where, and stop."""
        if interrupt.requested:
            if self.losses:
                self.log_loss(position, self.state[2].get_last_lr()[0], partial=True)
            self.say(f"\ninterrupted after step {position.step}; saved {self.ckpt_path} "
                     "(resume with --resume)")
            raise KeyboardInterrupt

    def say(self, message: str) -> None:
        if self.rank == 0:
            print(message, file=sys.stderr)
