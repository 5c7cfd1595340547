"""Preparing a run: the one function that turns a recipe into the model as it starts and its
data.

    setup = prepare_run(RECIPES["mini_rvit"])    # the model, started as the recipe says, its data
    fit(setup.model, setup.train_set, setup.val_set, setup.recipe, "runs/rvit")
"""

from dataclasses import dataclass

import torch

from ..common.checks import check_batch_fits
from ..data import VAL_SPLITS, StickActions, StickStreams, check_labelled, load
from ..data.streams import StreamWindows
from ..model import VideoTransformer, create_model
from ..model.registry import SCALES
from ..model.weights import start_from
from .loading import CHECKPOINTS, list_pretrained, load_model
from .recipes import Recipe
from .resume import data_identity


@dataclass
class Setup:
    """A prepared run: the recipe, the model as it starts, its data, what a card says of them
    (`init`, `data`), and the training data's identity, which a resumed run must match
    (`identity`, resume.data_identity; fit's `data`)."""

    recipe: Recipe
    model: VideoTransformer
    train_set: object
    val_set: object
    init: str
    data: dict
    identity: dict


def clip_data(split: str, num_frames: int, size: int, data: str = "stick_actions", root=None,
              seed: int = 0, exclude=None, subset: dict | None = None):
    """StickActions clips, or a real data set (data.LOADERS) read from `root`. subset:
    StickActions' num_clips (of this split) and classes, for a quick run."""
    if data == "stick_actions":
        subset = subset or {}
        return StickActions(split, num_frames, size, seed, num_clips=subset.get(split),
                            classes=subset.get("classes"))
    if root is None:
        raise ValueError(f"--data {data} needs --root (the data set's folder)")
    clips = load(data, root, split, num_frames=num_frames, size=size, exclude=exclude)
    check_labelled(clips, f"{data} split {split!r}")  # training and evaluation need labels
    return clips


def stream_data(recipe: Recipe, split: str, size: int, seed: int = 0):
    """The recipe's StickStreams (kept in memory over the epochs), or their windows."""
    streams = StickStreams(split, size=size, seed=seed, keep=True, **recipe.streams)
    return StreamWindows(streams, **recipe.windows) if recipe.windows else streams


def data_card(recipe: Recipe, train_set, data: str, size: int, seed: int) -> dict:
    """What a card says of the training data."""
    if recipe.data == "clips":
        name = "StickActions" if data == "stick_actions" else data
        return {"set": name, "seed": seed, "size": size, "train_clips": len(train_set)}
    labels = 1 if recipe.windows else recipe.streams["num_frames"]  # a window: its newest frame
    return {"set": "StickStreams", "split": "train", "seed": seed, "size": size,
            **recipe.streams, **({"windows": recipe.windows} if recipe.windows else {}),
            "labelled_frames_seen": recipe.epochs * len(train_set) * labels}


def init_source(recipe: Recipe, init_from=None):
    """What a run starts from: `init_from` (a checkpoint file or a shipped model's name), else
    the recipe's `init` (a shipped name at mini scale); None: from scratch."""
    if init_from is not None or recipe.init == "scratch":
        return init_from
    if recipe.scale != "mini":
        what = "a ViT" if recipe.init == "vit" else f"a trained {recipe.init}"
        raise ValueError(f"recipe {recipe.name} starts from {what}: give --init-from (a "
                         "checkpoint of one of the same width; shipped models are mini scale)")
    return recipe.init


def prepare_run(recipe: Recipe, *, data: str = "stick_actions", root=None, exclude=None,
                data_seed: int = 0, size: int | None = None, split: str = "train",
                val_split: str | None = None, subset: dict | None = None, init_from=None,
                start: bool = True, models=CHECKPOINTS, seed: int = 0,
                **model_options) -> Setup:
    """Everything a run of `recipe` needs before its first step.

    data, root, exclude, data_seed: the clips (StickActions or a real data set; streams are
    StickStreams); size: the frame size (default: the recipe's scale); val_split: the split
    validated after every epoch (default: the data set's for clips, none for streams; "": none).
    subset: a quick run on part of StickActions, e.g. {"train": 256, "val": 90, "classes":
    ["sit_down", "stand_up", "jump"]}: clips per split and the actions (default: all).
    init_from: a checkpoint or shipped name to start from instead of the recipe's init (also for
    a recipe from scratch); start=False leaves the model as created (a resumed run loads its
    checkpoint). models: where shipped models are read. seed: the initial weights' seed.
    model_options: create_model's (e.g. fp32_state=True; tbptt overrides the recipe's).
    """
    size = size or SCALES[recipe.scale]["img_size"]
    source = init_source(recipe, init_from)
    start_model = load_model(source, models) if start and source is not None else None
    if recipe.data == "streams":
        if data != "stick_actions":
            raise ValueError(f"recipe {recipe.name} trains on StickStreams; it takes no --data")
        train_set = stream_data(recipe, split, size, data_seed)
        val_set = stream_data(recipe, val_split, size, data_seed) if val_split else None
    else:
        if subset and data != "stick_actions":
            raise ValueError(f"subset picks StickActions clips; --data {data} takes --exclude")
        clips = dict(num_frames=recipe.num_frames, size=size, data=data, root=root,
                     seed=data_seed, exclude=exclude, subset=subset)
        train_set = clip_data(split, **clips)
        val_split = VAL_SPLITS[data] if val_split is None else val_split
        val_set = clip_data(val_split, **clips) if val_split else None
    check_batch_fits(train_set, recipe.batch_size)  # before the model of that frame size
    options = {"tbptt": recipe.tbptt, **model_options}
    if recipe.model.startswith("cvit"):
        options["num_frames"] = recipe.num_frames
    torch.manual_seed(seed)  # the initial weights are part of the run the seed names
    model = create_model(recipe.model, scale=recipe.scale, img_size=size,
                         num_classes=len(train_set.classes),
                         **{k: v for k, v in options.items() if v})  # a ViT takes no tbptt=0
    if start_model is not None:
        start_from(model, start_model, train_set.classes)
    init = ("scratch" if source is None else
            f"the shipped {source}" if str(source) in list_pretrained(models) else str(source))
    identity = data_identity(train_set, loader=data if recipe.data == "clips" else "streams",
                             root=root, split=split, exclude=exclude, seed=data_seed)
    return Setup(recipe, model, train_set, val_set, init,
                 data_card(recipe, train_set, data, size, data_seed), identity)
