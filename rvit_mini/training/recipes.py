"""Recipes: a whole training run by keyword. Table S1's, the mini ones the shipped models were
trained with, and the online ones (ours).

A recipe names the model (a registered variant, its scale, tbptt), the data (clips with one
label each, or StickStreams with a label per frame, optionally cut into windows), the start
(scratch, an image ViT, or a trained model) and the schedule (Table S1, or ours). prepare_run
(prepare.py) makes a run of one; the command line (`python -m rvit_mini train --recipe R`),
`make checkpoints` and the notebooks all go through it, so a recipe that a shipped model's card
names reproduces that model.
"""

from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How to train, as keyword fields. Values the paper leaves open are ours, so marked in
    `note`.

    model, scale: a registered variant (rm.list_models()) at "paper" or "mini" scale.
    tbptt: RViT and TRecViT: cut the state from the graph every `tbptt` frames (0: never).
    data: "clips" (one label per clip: StickActions, or a real data set) or "streams"
        (StickStreams with a label per frame and a loss on every frame; `streams` holds
        StickStreams' arguments, among them `target`, the labels the frames carry; `windows`,
        StreamWindows' arguments, cuts them into windows labelled at their newest frame).
    num_frames: frames per clip; for streams, the longest clip the model sees (CViT's time
        embeddings).
    init: "scratch", or the model to start from: at mini scale a shipped model's name (at paper
        scale, `--init-from` names a checkpoint). A model of the same architecture is continued;
        an image ViT initialises a video model as in Sec. 3.2 (weights.start_from).
    optimizer ("adamw" | "sgd"), lr, batch_size (global, split across ranks), epochs: the
        schedule; the LR is divided by 10 every `lr_step_epochs` epochs (Table S1) after a
        linear warm-up of `warmup_epochs` (ours).
    """

    name: str
    model: str
    scale: str = "paper"
    tbptt: int = 0
    data: str = "clips"
    num_frames: int = 32
    streams: dict = field(default_factory=dict)
    windows: dict = field(default_factory=dict)
    init: str = "scratch"
    optimizer: str = "adamw"
    lr: float = 3e-4
    batch_size: int = 32
    epochs: int = 30
    lr_step_epochs: int = 10
    warmup_epochs: float = 0.0
    momentum: float = 0.9  # ours (SGD)
    weight_decay: float = 0.05  # ours
    note: str = ""

    def __post_init__(self):
        if self.data not in ("clips", "streams"):
            raise ValueError(f"data must be 'clips' or 'streams', got {self.data!r}")
        if self.data == "streams" and not self.streams:
            raise ValueError(f"recipe {self.name} trains on streams: give their arguments "
                             "(streams=dict(num_frames=..., num_streams=...))")

    def to_dict(self) -> dict:
        return asdict(self)


_S1 = "Table S1"
# StickStreams for online recognition (ours). Actions of 3 to 12 frames cover the 8 of the
# goal streams and the 6 to 10 of the composite pairs; half of the streams begin or end with a
# walk (action_chain never walks, two composite pairs do); the labels are those of the action
# each frame shows (StickStreams.shown), so that a model is not taught to guess the next action
# before the figure moves.
STREAMS = dict(num_frames=64, num_streams=1500, action_frames=(3, 12), walks=0.5,
               target="shown")
_MINI_RVIT_ONLINE = Recipe(
    name="mini_rvit_online", model="rvit", scale="mini", tbptt=16, data="streams",
    num_frames=64, streams=STREAMS, init="rvit", lr=1e-3, batch_size=8, epochs=11,
    lr_step_epochs=8, warmup_epochs=0.1,
    note="ours: the shipped clip-trained rvit (init='rvit': its weights; it already names an "
    "8-frame action, so streams only have to teach it to follow one action after another) "
    "trained on 64-frame StickStreams of 3- to 12-frame actions, half of them with a walk, a "
    "loss on every frame, truncated BPTT every 16 frames (tbptt=16), the state carried through "
    "the whole stream; batch 8, as more steps beat bigger batches at equal frames; the actions' "
    "lengths, the walks and the learning rate chosen on the val streams and composite clips")
_TABLE_S1_FROM_VIT = dict(optimizer="sgd", lr=5e-3, weight_decay=1e-4, init="vit")

RECIPES = {r.name: r for r in [
    # Table S1: ° = trained from scratch on Jester, AdamW 3e-4; the others from an IN-21K ViT.
    Recipe(name="rvit_s_scratch", model="rvit_s", note=_S1 + " RViT-S°"),
    Recipe(name="rvit_scratch", model="rvit", note=_S1 + " RViT°"),
    Recipe(name="rvit_l_scratch", model="rvit_l", note=_S1 + " RViT-L°"),
    Recipe(name="rvit", model="rvit", **_TABLE_S1_FROM_VIT, note=_S1),
    Recipe(name="rvit_l", model="rvit_l", **_TABLE_S1_FROM_VIT, note=_S1),
    Recipe(name="rvit_xl", model="rvit_xl", batch_size=16, **_TABLE_S1_FROM_VIT,
           note=_S1 + "; batch 16"),
    # Mini: StickActions (32x32, 8 frames) on a CPU in minutes; AdamW as the from-scratch rows,
    # LR x3, 3 epochs over 27,000 clips (more clips beat more epochs over fewer), LR / 10 after
    # epoch 2, a fifth of an epoch of warm-up (ours). As in the paper, the RViTs start from an
    # image ViT (Sec. 3.2): mini_vit, trained first; mini_rvit_scratch is the comparison.
    *(Recipe(name=f"mini_{name}", model=model, scale="mini", num_frames=8, init=init, lr=1e-3,
             epochs=3, lr_step_epochs=2, warmup_epochs=0.2, note=note)
      for name, model, init, note in [
          ("vit", "vit", "scratch", "frame-mean baseline: the image ViT trained on frames with "
           "their clip's label; it initialises the mini RViTs"),
          ("rvit_s", "rvit_s", "vit", "RViT-S from mini_vit (Sec. 3.2)"),
          ("rvit", "rvit", "vit", "RViT from mini_vit (Sec. 3.2)"),
          ("rvit_scratch", "rvit", "scratch", "RViT from scratch, as the RViT° row"),
          ("cvit", "cvit", "vit", "comparator, from mini_vit as video ViTs are"),
          ("trecvit", "trecvit", "vit", "ours: TRecViT (RViT's successor) from mini_vit as "
           "Sec. 3.2 starts RViT: the stem, the first 3 blocks into its ViT blocks and the head "
           "copied, its LRU blocks Griffin's init; the data, schedule and seed of mini_rvit, so "
           "the two compare"),
      ]),
    # Online recognition (ours; the paper trains on clips only)
    _MINI_RVIT_ONLINE,
    # its memoryless control: the same streams, loss and schedule
    replace(_MINI_RVIT_ONLINE, name="mini_vit_online", model="vit", init="vit", tbptt=0,
            note="ours: the control of mini_rvit_online, the shipped frame ViT trained on the "
            "same streams with the same per-frame loss and schedule; it remembers nothing, so "
            "what it gets right needs no memory"),
    Recipe(name="mini_cvit_online", model="cvit", scale="mini", data="streams", num_frames=32,
           streams=STREAMS, windows=dict(widths=(8, 16, 32), per_stream=8), init="cvit",
           lr=5e-4, batch_size=16, epochs=3, lr_step_epochs=2, warmup_epochs=0.1,
           note="ours: the rival of mini_rvit_online, a CViT with 32 time embeddings (the "
           "shipped clip-trained cvit's 8, then sinusoids) trained on windows of 8, 16 and 32 "
           "frames cut from the same streams, 8 windows ending at different points of each, a "
           "loss on the newest frame of each window: what a sliding window reads; 3 epochs, "
           "about the training time of mini_rvit_online (one label per window: 36,000 labels "
           "against its 1,056,000)"),
    # RViT's successor on the same streams, loss, truncation and schedule as mini_rvit_online
    replace(_MINI_RVIT_ONLINE, name="mini_trecvit_online", model="trecvit", init="trecvit",
            note="ours: the shipped clip-trained trecvit (init='trecvit': its weights) trained "
            "as mini_rvit_online is, so that the two compare: the same 64-frame StickStreams, a "
            "loss on every frame, the state carried through the whole stream and cut from the "
            "graph every 16 frames (tbptt=16: each 16-frame chunk one parallel scan), batch 8, "
            "its learning rate and epochs; nothing tuned for TRecViT"),
]}

# the shipped models (rvit_mini/checkpoints) and the recipes that made them, in training
# order: the models started from a ViT need vit, the online ones the model they continue
SHIPPED = {"vit": "mini_vit", "rvit_s": "mini_rvit_s", "rvit": "mini_rvit",
           "rvit_scratch": "mini_rvit_scratch", "cvit": "mini_cvit", "trecvit": "mini_trecvit",
           "rvit_online": "mini_rvit_online", "vit_online": "mini_vit_online",
           "cvit_online": "mini_cvit_online", "trecvit_online": "mini_trecvit_online"}


def run_name(recipe: Recipe) -> str:
    """The name of the model a recipe makes: the shipped model's, or the recipe's."""
    return next((name for name, r in SHIPPED.items() if r == recipe.name), recipe.name)

# the shipped models trained on streams (their cards report per-frame figures)
STREAM_TRAINED = tuple(name for name, recipe in SHIPPED.items()
                       if RECIPES[recipe].data == "streams")
