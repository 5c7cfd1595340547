"""Training and evaluation: the loop that follows a recipe, torch.amp, exact resume, DDP.

    setup = prepare_run(RECIPES["mini_rvit_s"])          # recipes.py: model, start, data
    history = fit(setup.model, setup.train_set, setup.val_set, setup.recipe, "runs/rvit_s")

`fit` is the training loop; the run's bookkeeping (the run folder, checkpoints, the log,
Ctrl-C, non-finite checks) is run.py's. Under `torchrun --nproc_per_node=N`, fit runs
synchronized SGD with DistributedDataParallel (gloo on CPU, nccl on GPU); each global batch is
split across ranks and only rank 0 writes.
"""

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from .checks import check_batch_fits, check_count
from .classes import align_logits, class_index
from .data import check_labelled, collate
from .models import VideoTransformer
from .online.metrics import class_ap
from .progress import tqdm
from .recipes import RECIPES, Recipe  # noqa: F401 (rm.train.RECIPES, rm.train.Recipe)
from .run import NothingTrainedError, Progress, Run, StepBoundaryInterrupt, init_distributed

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


# -- evaluation -------------------------------------------------------------------------------

def per_frame(target: torch.Tensor) -> bool:
    """Targets (B, T) of integer labels: one per frame (streams), not one per clip (B,) or a
    multi-hot row per clip (B, K) of floats (Charades)."""
    return target.ndim == 2 and not target.is_floating_point()


@torch.no_grad()
def predict(model, dataset, batch_size=32, device="cpu", workers=0):
    """Logits (N, K) and targets for a whole data set; with per-frame targets, one row per frame
    (per-frame logits head(f_t), N = clips x frames)."""
    check_batch_fits(dataset, batch_size)
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate)
    logits, targets = [], []
    for video, target in filter(None, loader):  # None: every clip unreadable (each reported)
        if per_frame(target):
            logits.append(model.frame_logits(video.to(device)).float().cpu().flatten(0, 1))
            targets.append(target.flatten())
        else:
            logits.append(model(video.to(device)).float().cpu())
            targets.append(target)
    if not logits:
        raise ValueError(f"none of the {len(dataset)} clips could be read (each is named in a "
                         "warning above); check the data with `python -m rvit_mini check-data`")
    return torch.cat(logits), torch.cat(targets)


def match_classes(model, dataset, classes=None) -> torch.Tensor | None:
    """The model's output for each of the data set's classes, matched by name (see
    rvit_mini.classes); classes: the model's class names, by default `model.classes`, which a
    loaded checkpoint or shipped model records."""
    data_classes, cfg = getattr(dataset, "classes", None), getattr(model, "cfg", None)
    if data_classes is None or cfg is None:
        return None
    return class_index(classes if classes is not None else getattr(model, "classes", None),
                       data_classes, cfg.num_classes)


def evaluate(model, dataset, batch_size=32, device="cpu", workers=0, classes=None) -> dict:
    """top1, top5, per-class accuracy and confusion matrix (over frames, for per-frame
    targets); mAP for multi-hot targets. The model's outputs are matched to the data set's
    classes by name (`match_classes`); clips without a label (target -1) are refused."""
    index = match_classes(model, dataset, classes)
    logits, targets = predict(model, dataset, batch_size, device, workers)
    logits = align_logits(logits, index)
    if targets.ndim == 1 and (targets < 0).any():
        raise ValueError(f"{int((targets < 0).sum())} of {len(targets)} clips have no label "
                         "(target -1, as in a test split): evaluation needs labels; "
                         "rvit_mini.train.predict gives their logits")
    if targets.ndim == 2:
        ap = class_ap(logits, targets.bool())  # tied scores count as one rank
        return {"mAP": float(ap.nanmean()), "ap_per_class": ap.tolist()}
    k = logits.shape[1]
    top5 = logits.topk(min(5, k), dim=1).indices
    confusion = torch.zeros(k, k, dtype=torch.long)
    confusion.index_put_((targets, top5[:, 0]), torch.ones_like(targets), accumulate=True)
    per_class = confusion.diag() / confusion.sum(1).clamp(min=1)
    return {"top1": float((top5[:, 0] == targets).float().mean()),
            "top5": float((top5 == targets[:, None]).any(1).float().mean()),
            "per_class": per_class.tolist(), "confusion": confusion.tolist(), "n": len(targets)}


# -- training ---------------------------------------------------------------------------------

def make_optimizer(model, recipe: Recipe):
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases, norms, embeddings' 1-d
    groups = [{"params": decay, "weight_decay": recipe.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum)
    raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {recipe.optimizer!r}")


def optimisation(model, recipe: Recipe, steps_per_epoch: int, device: str, amp):
    """The optimiser, its LR schedule (stepped every step) and the GradScaler (fp16 only)."""
    optimizer = make_optimizer(model, recipe)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(recipe, steps_per_epoch))
    scaler = torch.amp.GradScaler(torch.device(device).type, enabled=amp == "fp16")
    return optimizer, scheduler, scaler


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
        on_log=None) -> list[dict]:
    """Train `model` by `recipe` into the run folder out_dir; returns the log records.

    out_dir must not hold a run unless `resume` (continue it from its last.pt) or `overwrite`
    (start it again). amp: None, "bf16" or "fp16" (autocast; fp16 adds a GradScaler).
    `max_steps` stops early (the schedule stays that of the full recipe). Every `log_every`
    steps a record with the mean loss since the last one is logged, and `on_log(record)` called
    (a live curve, say); after every epoch, and at the end, a validation record. A checkpoint is
    written every `save_every` steps, after every epoch, on Ctrl-C (at the end of the step in
    flight) and when an error stops training between steps (a video that cannot be read, with
    the loader's on_error="raise"); never with non-finite losses or weights. A batch whose
    clips were all unreadable (on_error="skip": each reported once) is skipped.
    `model` may be rm.accelerate(...)'d or torch.compile(model): the steps run through it, and
    checkpoints and evaluations hold the plain model's weights.
    """
    rank, world_size = init_distributed()
    check_fit_options(recipe, world_size, amp, max_steps=max_steps, save_every=save_every,
                      log_every=log_every)
    check_labelled(train_set, "the training set")
    if val_set is not None:
        check_labelled(val_set, "the validation set")
    check_batch_fits(train_set, recipe.batch_size // world_size)
    trained, model = model, getattr(model, "_orig_mod", model)
    torch.manual_seed(seed)
    model.to(device)
    # the batches of this rank, the optimiser and its schedule
    sampler = GlobalBatchSampler(len(train_set), recipe.batch_size // world_size, rank,
                                 world_size, seed)
    optimizer, scheduler, scaler = optimisation(model, recipe, len(sampler), device, amp)
    # the run folder: a new run, or the one in it continued from its checkpoint
    config = {"model_config": model.cfg.to_dict(), "recipe": recipe.to_dict(), "seed": seed,
              "world_size": world_size}
    run = Run(out_dir, config, rank, (model, optimizer, scheduler, scaler), resume=resume,
              overwrite=overwrite, on_log=on_log, classes=getattr(train_set, "classes", None))
    at = run.restore() if resume else Progress()
    ddp = DistributedDataParallel(trained) if world_size > 1 else trained
    total = recipe.epochs * len(sampler) if max_steps is None else max_steps
    bar = tqdm(total=total, initial=at.step, disable=not progress or rank != 0, unit="step")
    with StepBoundaryInterrupt() as interrupt, bar, run.saving_on_error(at):
        while at.epoch < recipe.epochs and at.step < total:
            # one epoch, or what is left of it
            sampler.epoch, sampler.start = at.epoch, at.batch_in_epoch
            model.train()
            for batch in DataLoader(train_set, batch_sampler=sampler, num_workers=workers,
                                    collate_fn=collate, pin_memory=device.startswith("cuda")):
                at.batch_in_epoch += 1
                if batch is None:  # every clip in it unreadable (each reported)
                    continue
                video, target = (t.to(device, non_blocking=True) for t in batch)
                with run.in_step():
                    run.losses.append(train_step(ddp, video, target, optimizer, scaler,
                                                 scheduler, AMP_DTYPES[amp]))
                at.step += 1
                bar.update(1)
                if at.step % log_every == 0:
                    bar.set_postfix(loss=f"{run.log_loss(at, scheduler.get_last_lr()[0]):.3f}")
                if at.step % save_every == 0 or interrupt.requested:
                    run.checkpoint(at, collective=not interrupt.requested)
                run.stop_if_interrupted(interrupt, at)
                if at.step >= total:
                    break
            if at.step == 0:
                raise NothingTrainedError(f"no batch of the {len(train_set)} training clips could "
                                          "be read (each unreadable video is named above); "
                                          "check the data with `python -m rvit_mini check-data`")
            if at.batch_in_epoch == len(sampler):  # the epoch is complete
                at.epoch, at.batch_in_epoch = at.epoch + 1, 0
            # validate after every epoch, and at the end of the run
            if val_set is not None and rank == 0:
                run.log({"step": at.step, "epoch": at.epoch, **validate(
                    model, val_set, device, getattr(train_set, "classes", None))})
            run.checkpoint(at)
            run.stop_if_interrupted(interrupt, at)
    return run.records
