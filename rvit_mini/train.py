"""Training and evaluation: Table S1 recipes, torch.amp, atomic checkpoints, exact resume, DDP.

    history = fit(model, train_set, val_set, RECIPES["mini_rvit_s"], out_dir="runs/rvit_s")

Under `torchrun --nproc_per_node=N`, fit runs synchronized SGD with DistributedDataParallel
(gloo on CPU, nccl on GPU); each global batch is split across ranks and only rank 0 writes.
"""

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .models import ModelConfig, VideoTransformer, build_model, create_model


@dataclass(frozen=True)
class Recipe:
    """How to train. Values the paper leaves open are ours and marked so in RECIPES' notes."""

    name: str
    model: str
    optimizer: str  # "adamw" | "sgd"
    lr: float
    batch_size: int  # global batch, split across ranks
    num_frames: int
    epochs: int
    lr_step_epochs: int = 10  # LR / 10 every this many epochs (Table S1)
    warmup_epochs: float = 0.0  # ours: linear warm-up from lr / steps to lr
    momentum: float = 0.9  # ours (SGD)
    weight_decay: float = 0.05  # ours
    init: str = "scratch"  # "scratch" | "vit": Sec. 3.2 initialisation from a ViT
    scale: str = "paper"
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


_S1 = "Table S1"
RECIPES = {r.name: r for r in [
    # Table S1: ° = trained from scratch on Jester, AdamW 3e-4; the others from an IN-21K ViT.
    Recipe("rvit_s_scratch", "rvit_s", "adamw", 3e-4, 32, 32, 30, note=_S1 + " RViT-S°"),
    Recipe("rvit_scratch", "rvit", "adamw", 3e-4, 32, 32, 30, note=_S1 + " RViT°"),
    Recipe("rvit_l_scratch", "rvit_l", "adamw", 3e-4, 32, 32, 30, note=_S1 + " RViT-L°"),
    Recipe("rvit", "rvit", "sgd", 5e-3, 32, 32, 30, weight_decay=1e-4, init="vit", note=_S1),
    Recipe("rvit_l", "rvit_l", "sgd", 5e-3, 32, 32, 30, weight_decay=1e-4, init="vit",
           note=_S1),
    Recipe("rvit_xl", "rvit_xl", "sgd", 5e-3, 16, 32, 30, weight_decay=1e-4, init="vit",
           note=_S1 + "; batch 16"),
    # Mini: StickActions (32x32, 8 frames) on a CPU in minutes; AdamW as the from-scratch rows,
    # LR x3, 3 epochs over 27,000 clips (more clips beat more epochs over fewer), LR / 10 after
    # epoch 2, a fifth of an epoch of warm-up (ours). As in the paper, the RViTs start from an
    # image ViT (Sec. 3.2): mini_vit, trained first; mini_rvit_scratch is the comparison.
    *(Recipe(f"mini_{name}", model, "adamw", 1e-3, 32, 8, 3, lr_step_epochs=2,
             warmup_epochs=0.2, init=init, scale="mini", note=note)
      for name, model, init, note in [
          ("vit", "vit", "scratch", "frame-mean baseline: the image ViT trained on frames with "
           "their clip's label; it initialises the mini RViTs"),
          ("rvit_s", "rvit_s", "vit", "RViT-S from mini_vit (Sec. 3.2)"),
          ("rvit", "rvit", "vit", "RViT from mini_vit (Sec. 3.2)"),
          ("rvit_scratch", "rvit", "scratch", "RViT from scratch, as the RViT° row"),
          ("cvit", "cvit", "vit", "comparator, from mini_vit as video ViTs are"),
      ]),
]}


class NonFiniteLossError(RuntimeError):
    pass


# -- distributed ------------------------------------------------------------------------------

def world() -> tuple[int, int]:
    """(rank, world size), after joining the process group when launched by torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class GlobalBatchSampler:
    """Batches of one rank: a seeded permutation per epoch, cut into global batches of
    `batch_size * world` indices, of which rank r takes the r-th slice. Starts at `start`."""

    def __init__(self, n: int, batch_size: int, rank=0, world_size=1, seed=0):
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


# -- checkpoints ------------------------------------------------------------------------------

def save_checkpoint(path, **state) -> Path:
    """Write atomically: to a temporary file in the same folder, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path) -> dict:
    """torch.load(weights_only=True) with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"cannot read checkpoint {path}: {err} (truncated or not a "
                         "checkpoint written by rvit_mini?)") from err


def check_same_config(saved: dict, expected: dict, path) -> None:
    diff = {k: (saved.get(k), v) for k, v in expected.items() if saved.get(k) != v}
    if diff:
        lines = ", ".join(f"{k}: checkpoint {a!r} vs requested {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"checkpoint {path} was written for another config: {lines}")


def model_from_checkpoint(path) -> VideoTransformer:
    """Rebuild a model from a checkpoint's own config and load its weights."""
    ckpt = load_checkpoint(path)
    if "model_config" not in ckpt:
        raise ValueError(f"{path} holds weights but no model config, so it is not a training "
                         "checkpoint (OUT/last.pt); a shipped model's weights load by name, "
                         "rm.load_pretrained(name) or `python -m rvit_mini evaluate NAME`")
    model = build_model(ModelConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    return model


def rng_state() -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()  # tensors load weights_only
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- evaluation -------------------------------------------------------------------------------

def average_precision(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-class AP: scores, targets (N, K) -> (K,); NaN for a class with no positives."""
    order = scores.argsort(dim=0, descending=True)
    hits = targets.gather(0, order)
    precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1, device=hits.device)[:, None]
    positives = hits.sum(0)
    return (precision * hits).sum(0) / positives.where(positives > 0, torch.nan)


@torch.no_grad()
def predict(model, dataset, batch_size=32, device="cpu", workers=0):
    """Logits (N, K) and targets for a whole data set."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    logits, targets = [], []
    for video, target in loader:
        logits.append(model(video.to(device)).float().cpu())
        targets.append(target)
    return torch.cat(logits), torch.cat(targets)


def evaluate(model, dataset, batch_size=32, device="cpu", workers=0) -> dict:
    """top1, top5, per-class accuracy and confusion matrix; mAP for multi-hot targets."""
    logits, targets = predict(model, dataset, batch_size, device, workers)
    if targets.ndim == 2:
        ap = average_precision(logits, targets)
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


def lr_factor(recipe: Recipe, steps_per_epoch: int):
    """step -> LR multiplier: linear warm-up, then / 10 every `lr_step_epochs` (Table S1)."""
    warmup = max(1, round(recipe.warmup_epochs * steps_per_epoch))
    decay_every = recipe.lr_step_epochs * steps_per_epoch

    def factor(step: int) -> float:
        return min(1.0, (step + 1) / warmup) * 0.1 ** (step // decay_every)
    return factor


def loss_fn(logits, target):
    if target.ndim == 2:  # multi-label (Charades)
        return F.binary_cross_entropy_with_logits(logits, target.float())
    return F.cross_entropy(logits, target)


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def train_step(model, video, target, optimizer, scaler, scheduler, autocast_dtype):
    """One optimiser step on a batch. Returns the loss, detached and left where it was computed:
    reading it (`.item()`) would make the host wait for the device to finish the step."""
    device_type = video.device.type
    with torch.autocast(device_type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        loss = loss_fn(model(video), target)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    return loss.detach()


def first_non_finite(losses: list[torch.Tensor], collective: bool) -> int | None:
    """Index of the first non-finite loss in `losses`, or None. collective: also on the other
    ranks (every rank must call it at the same step), so that all ranks stop together."""
    finite = torch.isfinite(torch.stack(losses)).int()
    if collective and dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    bad = (finite == 0).nonzero()
    return int(bad[0]) if len(bad) else None


def restore(path, config: dict, model, optimizer, scheduler, scaler) -> TrainState:
    """Load a training checkpoint into the given objects (and the RNGs); refuse another config."""
    ckpt = load_checkpoint(path)
    check_same_config(ckpt["config"], config, path)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
    return TrainState(**ckpt["train_state"])


def fit(model: VideoTransformer, train_set, val_set, recipe: Recipe, out_dir, *,
        resume: bool = False, device: str = "cpu", amp: str | None = None, workers: int = 0,
        max_steps: int | None = None, save_every: int = 100, seed: int = 0,
        progress: bool = True, log_every: int = 10, on_log=None) -> list[dict]:
    """Train `model` by `recipe`, checkpointing to out_dir/last.pt; returns the log records.

    amp: None, "bf16" or "fp16" (autocast; fp16 adds a GradScaler). `max_steps` stops early
    (the schedule stays that of the full recipe). Every `log_every` steps a record with the mean
    loss since the last one is logged; `on_log(record)` is called with every record (e.g. to draw
    a live loss curve). The losses stay on the device between records, so that the host can run
    ahead of it; they are checked before every checkpoint, and a non-finite one stops training
    with the last good checkpoint intact. Ctrl-C saves a checkpoint, then re-raises.
    `model` may be torch.compile(model, ...): the steps run compiled, and the checkpoints and
    evaluations use the model inside.
    """
    trained, model = model, getattr(model, "_orig_mod", model)
    rank, world_size = world()
    out_dir = Path(out_dir)
    if recipe.batch_size % world_size:
        raise ValueError(f"batch {recipe.batch_size} does not split over {world_size} processes")
    torch.manual_seed(seed)
    model.to(device)
    ddp = torch.nn.parallel.DistributedDataParallel(trained) if world_size > 1 else trained
    optimizer = make_optimizer(model, recipe)
    sampler = GlobalBatchSampler(len(train_set), recipe.batch_size // world_size, rank,
                                 world_size, seed)
    steps_per_epoch = len(sampler)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(recipe, steps_per_epoch))
    scaler = torch.amp.GradScaler(device.split(":")[0], enabled=amp == "fp16")
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    config = {"model_config": model.cfg.identity(), "recipe": recipe.to_dict(), "seed": seed,
              "world_size": world_size}
    ckpt_path, log_path = out_dir / "last.pt", out_dir / "log.jsonl"
    state, last_saved = TrainState(), None
    if resume and ckpt_path.exists():
        state = restore(ckpt_path, config, model, optimizer, scheduler, scaler)
        last_saved = state.step
    elif rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
    records, losses = [], []  # losses: of the steps since the last record, on the device

    def stop(what: str):
        return NonFiniteLossError(
            f"{what}; stopped. "
            + (f"The last good checkpoint is {ckpt_path} (step {last_saved}); "
               if last_saved is not None else "No checkpoint was written yet; ")
            + "lower the learning rate or check the data, then --resume")

    def check_losses(collective: bool = True) -> None:
        bad = first_non_finite(losses, collective) if losses else None
        if bad is not None:
            value, step = losses[bad].item(), state.step - len(losses) + bad + 1
            raise stop(f"loss is {value} at step {step}" if not math.isfinite(value)
                       else f"the loss on another rank is not finite at step {step}")

    def checkpoint(collective: bool = True) -> None:
        nonlocal last_saved
        check_losses(collective)
        # the losses can all be finite while a gradient was not
        if not torch.stack([p.isfinite().all() for p in model.parameters()]).all():
            raise stop(f"the weights are not finite at step {state.step}")
        last_saved = state.step
        if rank == 0:
            save_checkpoint(ckpt_path, model=model.state_dict(), optimizer=optimizer.state_dict(),
                            scheduler=scheduler.state_dict(), scaler=scaler.state_dict(),
                            rng=rng_state(), train_state=asdict(state), config=config,
                            model_config=model.cfg.to_dict())

    def log(record):
        if rank == 0:
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            records.append(record)
            if on_log is not None:
                on_log(record)

    def log_loss():
        check_losses()
        loss = torch.stack(losses).mean().item()
        losses.clear()
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        log({"step": state.step, "epoch": state.epoch, "loss": loss,
             "lr": scheduler.get_last_lr()[0], "seconds": time.perf_counter() - started})

    total = recipe.epochs * steps_per_epoch if max_steps is None else max_steps
    bar = tqdm(total=total, initial=state.step, disable=not progress or rank != 0, unit="step")
    started = time.perf_counter()
    try:
        while state.epoch < recipe.epochs and state.step < total:
            sampler.epoch, sampler.start = state.epoch, state.batch_in_epoch
            loader = DataLoader(train_set, batch_sampler=sampler, num_workers=workers,
                                pin_memory=device.startswith("cuda"))
            model.train()
            for video, target in loader:
                losses.append(train_step(ddp, video.to(device, non_blocking=True),
                                         target.to(device, non_blocking=True), optimizer,
                                         scaler, scheduler, autocast_dtype))
                state.step, state.batch_in_epoch = state.step + 1, state.batch_in_epoch + 1
                bar.update(1)
                if state.step % log_every == 0:
                    log_loss()
                if state.step % save_every == 0:
                    checkpoint()
                if state.step >= total:
                    break
            else:
                state.epoch, state.batch_in_epoch = state.epoch + 1, 0
                if val_set is not None and rank == 0:
                    metrics = evaluate(model, val_set, device=device)
                    log({"step": state.step, "epoch": state.epoch, "val_top1": metrics["top1"]})
                checkpoint()
        checkpoint()
    except KeyboardInterrupt:
        checkpoint(collective=False)  # the other ranks may be anywhere: no collective call
        bar.close()
        if rank == 0:
            print(f"\ninterrupted at step {state.step}; saved {ckpt_path} (resume with --resume)")
        raise
    finally:
        bar.close()
    return records


def model_for_recipe(recipe: Recipe, **overrides) -> VideoTransformer:
    """The recipe's model, at its scale and clip length."""
    return create_model(recipe.model, scale=recipe.scale,
                        **{"num_frames": recipe.num_frames, **overrides})

