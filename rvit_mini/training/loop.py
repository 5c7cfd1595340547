"""The training loop that follows a recipe: batches, the optimiser and its schedule, torch.amp,
exact resume, DDP.

    setup = prepare_run(RECIPES["mini_rvit_s"])          # prepare.py: model, start, data
    history = fit(setup.model, setup.train_set, setup.val_set, setup.recipe, "runs/rvit_s")

`fit` is the loop; the run's bookkeeping (the run folder, checkpoints, the log, Ctrl-C,
non-finite checks) is run.py's, evaluation evaluate.py's. Under `torchrun --nproc_per_node=N`, fit runs
synchronized SGD with DistributedDataParallel (gloo on CPU, nccl on GPU); each global batch is
split across ranks and only rank 0 writes.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..common.checks import check_batch_fits, check_count
from ..common.progress import tqdm
from ..data import check_labelled, collate
from ..model import VideoTransformer
from .evaluate import evaluate, per_frame
from .recipes import Recipe
from .resume import Position, data_identity
from .run import NothingTrainedError, Run, StepBoundaryInterrupt, init_distributed

# -- batches ----------------------------------------------------------------------------------

class GlobalBatchSampler:
    """Batches of one rank: a seeded permutation per epoch, cut into global batches of
    `batch_size * world` indices, of which rank r takes the r-th slice. Starts at `start`."""

    def __init__(self, n: int, batch_size: int, rank=0, world_size=1, seed=0):
        if n < batch_size * world_size:
            raise ValueError(f"a global batch of {batch_size * world_size} clips is larger than "
                             f"the training set ({n} clips): not one step per epoch; lower the "
                             "batch size")
        self.n, self.batch_size, self.rank, self.world_size, self.seed = (
            n, batch_size, rank, world_size, seed)
        self.epoch, self.start = 0, 0

    def __len__(self) -> int:
        return self.n // (self.batch_size * self.world_size)

    def __iter__(self):
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(
            self.seed * 10_007 + self.epoch)).tolist()
        step = self.batch_size * self.world_size
        for b in range(self.start, len(self)):
            lo = b * step + self.rank * self.batch_size
            yield perm[lo:lo + self.batch_size]


# -- training ---------------------------------------------------------------------------------

def make_optimizer(model, recipe: Recipe, steps_per_epoch: int):
    """The recipe's optimiser, weight decay on matrices only, and its LR schedule (stepped every
    step, lr_factor)."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases, norms, embeddings' 1-d
    groups = [{"params": decay, "weight_decay": recipe.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if recipe.optimizer == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=recipe.lr)
    elif recipe.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum)
    else:
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {recipe.optimizer!r}")
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                        lr_factor(recipe, steps_per_epoch))


def lr_factor(recipe: Recipe, steps_per_epoch: int):
    """step -> LR multiplier: linear warm-up, then / 10 every `lr_step_epochs` (Table S1)."""
    warmup = max(1, round(recipe.warmup_epochs * steps_per_epoch))
    decay_every = recipe.lr_step_epochs * steps_per_epoch

    def factor(step: int) -> float:
        return min(1.0, (step + 1) / warmup) * 0.1 ** (step // decay_every)
    return factor


def loss_fn(model, video, target):
    """Cross-entropy of the clip logits against clip labels (B,); against per-frame labels
    (B, T), of every frame's logits head(f_t) (streams); binary cross-entropy against multi-hot
    targets (B, K) (Charades). `model` may be wrapped (DDP, torch.compile): only its forward
    is called."""
    if per_frame(target):
        return F.cross_entropy(model(video, per_frame=True).flatten(0, 1), target.flatten())
    if target.ndim == 2:
        return F.binary_cross_entropy_with_logits(model(video), target.float())
    return F.cross_entropy(model(video), target)


AMP_DTYPES = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}


def train_step(model, video, target, optimizer, scaler, scheduler, autocast_dtype):
    """One optimiser step on a batch. Returns the loss, detached and left where it was computed:
    reading it (`.item()`) would make the host wait for the device to finish the step."""
    device_type = video.device.type
    with torch.autocast(device_type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        loss = loss_fn(model, video, target)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    return loss.detach()


def validate(model, val_set, device, classes=None) -> dict:
    """The validation record: top-1, or mAP for multi-label data; classes: the model's."""
    metrics = evaluate(model, val_set, device=device, classes=classes)
    return {f"val_{k}": metrics[k] for k in ("top1", "mAP") if k in metrics}


def check_fit_options(recipe: Recipe, world_size: int, amp, **counts) -> None:
    for name, value in counts.items():
        if value is not None:
            check_count(name, value)
    if recipe.batch_size < 1 or recipe.epochs < 1:
        raise ValueError(f"the recipe needs a batch size and epochs >= 1, got "
                         f"{recipe.batch_size} and {recipe.epochs}")
    if recipe.batch_size % world_size:
        raise ValueError(f"batch {recipe.batch_size} does not split over {world_size} processes")
    if amp not in AMP_DTYPES:
        raise ValueError(f"amp must be None, 'bf16' or 'fp16', got {amp!r}")


def fit(model: VideoTransformer, train_set, val_set, recipe: Recipe, out_dir, *,
        resume: bool = False, overwrite: bool = False, device: str = "cpu",
        amp: str | None = None, workers: int = 0, max_steps: int | None = None,
        save_every: int = 100, seed: int = 0, progress: bool = True, log_every: int = 10,
        on_log=None, stop=None, data: dict | None = None,
        allow_data_change: bool = False) -> list[dict]:
    """Train `model` by `recipe` into the run folder out_dir; returns the log records.

    out_dir must not hold a run unless `resume` (continue it from its last.pt) or `overwrite`
    (start it again), nor be in use by another process (run.lock). amp: None, "bf16" or "fp16"
    (autocast; fp16 adds a GradScaler). `max_steps` stops early (the schedule stays that of the
    full recipe). Every `log_every` steps a record with the mean loss since the last one is
    logged, and `on_log(record)` called (a live curve, say); the steps after the last record,
    at the end, in a partial record; after every epoch, and at the end, a validation record. A
    checkpoint is written every `save_every` steps, after every epoch, on Ctrl-C or SIGTERM (at
    the end of the step in flight) and when an error stops training between steps (a video
    that cannot be read, with the loader's on_error="raise"); never with non-finite losses or
    weights. A batch whose clips were all unreadable (on_error="skip": each reported once) is
    skipped. data: the training data's identity (resume.data_identity; by default what the
    data set says of itself), which a resumed run must match; allow_data_change: except its
    root (the data moved).
    `model` may be rm.accelerate(...)'d or torch.compile(model): the steps run through it, and
    checkpoints and evaluations hold the plain model's weights. stop: a threading.Event; once
    it is set (a playground's Stop button), the run ends after the step in flight, saved,
    validated and logged, and fit returns.
    """
    rank, world_size = init_distributed()
    check_fit_options(recipe, world_size, amp, max_steps=max_steps, save_every=save_every,
                      log_every=log_every)
    check_labelled(train_set, "the training set")
    if val_set is not None:
        check_labelled(val_set, "the validation set")
    check_batch_fits(train_set, recipe.batch_size // world_size)
    runner, model = model, getattr(model, "_orig_mod", model)  # torch.compile(model)'s module
    torch.manual_seed(seed)
    model.to(device)
    # the batches of this rank, the optimiser and its schedule
    sampler = GlobalBatchSampler(len(train_set), recipe.batch_size // world_size, rank,
                                 world_size, seed)
    optimizer, scheduler = make_optimizer(model, recipe, len(sampler))
    scaler = torch.amp.GradScaler(torch.device(device).type, enabled=amp == "fp16")
    # the run folder: a new run, or the one in it continued from its checkpoint
    config = {"model_config": model.cfg.to_dict(), "recipe": recipe.to_dict(), "seed": seed,
              "world_size": world_size}
    with Run(out_dir, config, rank, (model, optimizer, scheduler, scaler), resume=resume,
             overwrite=overwrite, on_log=on_log,
             data=data if data is not None else data_identity(train_set)) as run:
        position = run.restore(len(sampler), allow_data_change) if resume else Position()
        ddp = DistributedDataParallel(runner) if world_size > 1 else runner
        total = recipe.epochs * len(sampler) if max_steps is None else max_steps
        steps = Steps(ddp, optimizer, scheduler, scaler, AMP_DTYPES[amp], device, log_every,
                      save_every)
        with tqdm(total=total, initial=position.step, disable=not progress or rank != 0,
                  unit="step") as bar:
            train_epochs(run, steps, position, sampler, (train_set, val_set), recipe, total,
                         workers, bar, stop)
        return run.records


@dataclass
class Steps:
    """What one step needs: the model as it runs, its optimiser, schedule and scaler, autocast,
    the device, and how often to log and save."""

    runner: object
    optimizer: object
    scheduler: object
    scaler: object
    autocast: object
    device: str
    log_every: int
    save_every: int


def train_epochs(run: Run, steps: Steps, position: Position, sampler: GlobalBatchSampler,
                 data: tuple, recipe: Recipe, total: int, workers: int, bar, stop) -> None:
    """Epochs from `position` until the recipe's epochs or `total` steps are done, or `stop`
    is set: validated and saved after each; a signal saves and stops at the next step's end."""
    train_set, val_set = data
    model = run.state[0]
    with StepBoundaryInterrupt() as interrupt, run.saving_on_error(position):
        while position.epoch < recipe.epochs and position.step < total:
            # one epoch, or what is left of it
            sampler.epoch, sampler.start = position.epoch, position.batch_in_epoch
            model.train()
            for batch in DataLoader(train_set, batch_sampler=sampler, num_workers=workers,
                                    collate_fn=collate,
                                    pin_memory=steps.device.startswith("cuda")):
                position.batch_in_epoch += 1
                if batch is None:  # every clip in it unreadable (each reported)
                    continue
                take_step(run, steps, position, batch, bar, interrupt)
                if position.step >= total or (stop is not None and stop.is_set()):
                    break
            if position.step == 0:
                raise NothingTrainedError(f"no batch of the {len(train_set)} training clips could "
                                          "be read (each unreadable video is named above); "
                                          "check the data with `python -m rvit_mini check-data`")
            if position.batch_in_epoch == len(sampler):  # the epoch is complete
                position.epoch, position.batch_in_epoch = position.epoch + 1, 0
            # validate after every epoch, and at the end of the run
            if val_set is not None and run.rank == 0:
                run.log({"step": position.step, "epoch": position.epoch, **validate(
                    model, val_set, steps.device, getattr(train_set, "classes", None))})
            run.checkpoint(position)
            run.stop_if_interrupted(interrupt, position)
            if stop is not None and stop.is_set():
                break
        run.log_rest(position)  # the steps since the last record, saved just now


def take_step(run: Run, steps: Steps, position: Position, batch, bar, interrupt) -> None:
    """One optimiser step on a batch; log, save and stop as due."""
    video, target = (t.to(steps.device, non_blocking=True) for t in batch)
    with run.in_step():
        run.losses.append(train_step(steps.runner, video, target, steps.optimizer, steps.scaler,
                                     steps.scheduler, steps.autocast))
    position.step += 1
    bar.update(1)
    if position.step % steps.log_every == 0:
        lr = steps.scheduler.get_last_lr()[0]
        bar.set_postfix(loss=f"{run.log_loss(position, lr):.3f}")
    if position.step % steps.save_every == 0 or interrupt.requested:
        run.checkpoint(position, collective=not interrupt.requested)
    run.stop_if_interrupted(interrupt, position)
