"""A training run's bookkeeping, beside the loop in loop.py: the run folder, atomic checkpoints
at step boundaries, the JSON-lines log, Ctrl-C and SIGTERM, non-finite checks, and the process
group.

A run folder holds last.pt (model, optimiser, scheduler, scaler, RNG states, step, config, the
data's identity) and log.jsonl, and while a run trains, run.lock (lock.py). A run is never
overwritten unless asked (`overwrite=True`), nor written by two processes at once; a resume
needs a training checkpoint of the same config and data (resume.py); a checkpoint is only
written between two steps, with finite weights.
"""

import json
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist

from .checkpoint import check_same_config, read_checkpoint, rng_state, save_checkpoint, set_rng_state
from .lock import RunLock
from .resume import Position, check_position, check_same_data, check_training_checkpoint


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

def read_log(path, damaged: list | None = None) -> list[dict]:
    """A run's log.jsonl: its records, in order. A line that is not a record (a write cut short)
    is a ValueError naming the file and the line; given a list `damaged`, its number is put
    there instead and the line skipped."""
    records = []
    for n, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        try:
            record = json.loads(line) if line.strip() else None
        except ValueError:
            record = False
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
        elif record is not None and damaged is not None:
            damaged.append(n)
        elif record is not None:
            raise ValueError(f"{path}, line {n}: damaged, not a log record ({line[:60]!r}; a "
                             "write cut short?); `train --resume` keeps the intact records")
    return records


def first_non_finite(losses: list[torch.Tensor], collective: bool) -> int | None:
    """Index of the first non-finite loss in `losses`, or None. collective: also on the other
    ranks (every rank must call it at the same step), so that all ranks stop together."""
    finite = torch.isfinite(torch.stack(losses)).int()
    if collective and dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    bad = (finite == 0).nonzero()
    return int(bad[0]) if len(bad) else None


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal (SIGINT, SIGTERM) at a step boundary, its state saved."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StepBoundaryInterrupt:
    """Hold Ctrl-C (SIGINT) and SIGTERM (what SLURM, docker and Kubernetes send to stop a job)
    until the step in flight ends, so that a checkpoint never holds weights halfway through an
    optimiser step; a second signal stops at once, saving nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested, self.previous = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = signum

    def __exit__(self, *exc):
        for signum, previous in self.previous.items():
            if previous is not None:
                signal.signal(signum, previous)


class Run:
    """The run folder of one `fit`: what it writes, and the checks before it writes.

    Rank 0 writes; every rank checks. Losses stay on the device between log records (reading
    one makes the host wait for the device); they are checked before every checkpoint.
    """

    def __init__(self, out_dir, config: dict, rank: int, state: tuple, *, resume: bool,
                 overwrite: bool, on_log=None, data: dict | None = None):
        """state: (model, optimizer, scheduler, scaler), what a checkpoint holds and restores;
        data: the training data's identity (resume.data_identity), recorded in every
        checkpoint, its class names too."""
        self.out_dir, self.config, self.rank, self.on_log = Path(out_dir), config, rank, on_log
        self.state, self.data = state, data or {}
        self.ckpt_path, self.log_path = self.out_dir / "last.pt", self.out_dir / "log.jsonl"
        self.records, self.losses, self.last_saved = [], [], None
        self.started, self.lock = time.perf_counter(), None
        self.prepare_folder(resume, overwrite)

    def prepare_folder(self, resume: bool, overwrite: bool) -> None:
        """Take the folder's lock (rank 0), then refuse to touch a run that was not asked for;
        clear a crashed write's leftovers."""
        if resume and overwrite:
            raise ValueError("resume and overwrite exclude each other: resume continues the run "
                             f"in {self.out_dir}, overwrite starts it again")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"the run folder {self.out_dir} is a file; give a folder")
        if self.rank == 0:  # the one that writes; a folder in use is refused here
            self.lock = RunLock(self.out_dir, self.say).acquire()
        try:
            self.check_folder(resume, overwrite)
        except BaseException:
            self.close()
            raise

    def check_folder(self, resume: bool, overwrite: bool) -> None:
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
            (self.out_dir / "last.pt.tmp").unlink(missing_ok=True)  # a write cut short
            if not resume:
                self.log_path.write_text("")
        except OSError as err:
            raise ValueError(f"cannot write the run folder {self.out_dir}: {err.strerror or err}; "
                             "give a folder you can write to") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Release the folder's lock (rank 0)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def restore(self, batches_per_epoch: int, allow_data_change: bool = False) -> Position:
        """Load the checkpoint into the run's objects and the RNGs, once it is shown to be a
        training checkpoint of this config and this data, at a position inside this data's
        epochs. The log keeps its intact records up to the checkpoint's step (the later ones
        are re-run), less a record cut short by a signal or the run's end: its losses, kept in
        the checkpoint, go into the next one."""
        ckpt = read_checkpoint(self.ckpt_path)
        check_training_checkpoint(ckpt, self.ckpt_path)
        check_same_config(ckpt["config"], self.config, self.ckpt_path)
        check_same_data(ckpt.get("data"), self.data, self.ckpt_path, allow_data_change)
        position = check_position(ckpt["train_state"], batches_per_epoch, self.ckpt_path)
        self.load_state(ckpt)
        self.last_saved = position.step
        device = next(self.state[0].parameters()).device
        self.losses = list(ckpt.get("unlogged_losses", torch.zeros(0)).to(device).unbind())
        if self.rank == 0 and self.log_path.exists():
            self.keep_log(position)
        return position

    def load_state(self, ckpt: dict) -> None:
        """The model, optimiser, scheduler, scaler and RNG states of a checkpoint."""
        parts = zip(("model", "optimizer", "scheduler", "scaler"), self.state)
        try:
            for key, part in parts:
                part.load_state_dict(ckpt[key])
            key = "rng"
            set_rng_state(ckpt["rng"])
        except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as err:
            reason = " ".join(str(err).split())[:200]
            raise ValueError(f"cannot resume from {self.ckpt_path}: its {key} state does not fit "
                             f"this run ({reason})") from None

    def keep_log(self, position: Position) -> None:
        """Rewrite the log with its intact records up to `position`, saying which lines were
        damaged."""
        damaged = []
        records = read_log(self.log_path, damaged)
        if damaged:
            lines = ", ".join(map(str, damaged))
            self.say(f"{self.log_path}: skipped damaged line{'s' * (len(damaged) > 1)} {lines} "
                     "(a write cut short); the intact records are kept")
        kept = [json.dumps(r) for r in records
                if r["step"] <= position.step and not r.get("partial")]
        self.log_path.write_text("".join(line + "\n" for line in kept))

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
                            data=self.data, **({"classes": self.data["classes"]}
                                               if self.data.get("classes") else {}))

    def log(self, record: dict) -> None:
        if self.rank == 0:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            self.records.append(record)
            if self.on_log is not None:
                self.on_log(record)

    def log_loss(self, position: Position, lr: float, partial: bool = False) -> float:
        """Log the mean loss since the last record; returns it. partial: the record of the steps
        before a signal, an error or the run's end, whose losses the checkpoint just saved has
        checked and keeps."""
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
                    self.log_rest(position)
                    self.say(f"stopped by an error after step {self.last_saved}; saved "
                             f"{self.ckpt_path}: fix the cause below, then resume")
                except (OSError, NonFiniteLossError) as err:
                    self.say(f"stopped by an error; could not save a checkpoint: {err}")
            raise

    def stop_if_interrupted(self, interrupt: StepBoundaryInterrupt, position: Position) -> None:
        """After a signal (Ctrl-C, SIGTERM), once the state is saved: log the steps since the
        last record, say where, and stop."""
        if interrupt.requested:
            self.log_rest(position)
            name = signal.Signals(interrupt.requested).name
            self.say(f"\ninterrupted ({name}) after step {position.step}; saved {self.ckpt_path} "
                     "(resume with --resume)")
            raise Interrupted(interrupt.requested)

    def log_rest(self, position: Position) -> None:
        """Once the state after `position` is saved: log the losses of the steps since the last
        record, as a partial record (resume drops it and logs them in the next one)."""
        if self.losses:
            self.log_loss(position, self.state[2].get_last_lr()[0], partial=True)

    def say(self, message: str) -> None:
        if self.rank == 0:
            print(message, file=sys.stderr)
