"""How an RViT runs fast, apart from what it computes (models.py).

    fast = rm.accelerate(model, execution="wavefront", compile=True)

`fast` computes what `model` computes (outputs and gradients), faster or in less memory. It
shares `model`'s parameters: one set of weights, trained through either, and the same state
dict (keys and tensors), so checkpoints hold the plain model's weights. It deep-copies and
pickles like any module; the machinery (compiled functions, CUDA graphs) is rebuilt on the copy.

The options, each independent of the others except where said:
- execution="wavefront": a clip's T x L gate cells run by anti-diagonals, T + L - 1 batched
  steps instead of T x L (wavefront.py); the whole clip is embedded in one call first.
- compile=True: torch.compile the per-frame step (sequential) or the wavefront's diagonal.
- cuda_graphs=True: in inference on CUDA, replay the per-frame step from a CUDA graph
  (graphs.py); training and CPU tensors take the eager step.
- frame_checkpoint=True: in training, keep only each frame's inputs for backward and
  recompute the frame there (torch.utils.checkpoint): activation memory flat in clip length,
  at the cost of a second forward. Sequential execution only.
"""

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .graphs import GraphedStep
from .models import RViT, VideoTransformer
from .wavefront import Wavefront

EXECUTIONS = ("sequential", "wavefront")


def accelerate(model: VideoTransformer, execution: str = "sequential", compile: bool = False,
               cuda_graphs: bool = False, frame_checkpoint: bool = False) -> VideoTransformer:
    """A module that computes what `model` computes, sharing its parameters (module docstring).

    With every option at its default, `model` itself. The options are RViT's: a ViT or CViT
    is one big batch already (torch.compile(model) compiles it).
    """
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, got {execution!r}")
    options = {"execution": execution, "compile": bool(compile), "cuda_graphs": bool(cuda_graphs),
               "frame_checkpoint": bool(frame_checkpoint)}
    if isinstance(model, AcceleratedRViT):
        raise TypeError("this model is accelerated already; accelerate the plain model "
                        "(fast.plain()) with all the options at once")
    asked = {k: v for k, v in options.items() if v != DEFAULTS[k]}
    if not asked:
        return model
    if not isinstance(model, RViT):
        raise ValueError(f"{sorted(asked)} apply to RViT only; a {type(model).__name__} attends "
                         "over whole frames or clips at once (use torch.compile(model))")
    if execution == "wavefront" and frame_checkpoint:
        raise ValueError("frame_checkpoint needs execution='sequential': the wavefront runs "
                         "several frames at once")
    return AcceleratedRViT(model, **options)


DEFAULTS = {"execution": "sequential", "compile": False, "cuda_graphs": False,
            "frame_checkpoint": False}


class AcceleratedRViT(nn.Module):
    """An RViT run faster: it holds the plain model (`plain()`) as its only submodule and runs
    the plain model's per-frame function, RViT.gates, compiled, graphed, checkpointed or by
    the wavefront. Its parameters (by name), state dict and train/eval mode are the plain
    model's; every other attribute (cfg, init_state, head, ...) is read from the plain model.
    `options` holds the accelerate() arguments."""

    def __init__(self, model: RViT, **options):
        super().__init__()
        self.model, self.options = model, options
        self.build_machinery()

    def build_machinery(self) -> None:
        """The compiled step, the CUDA graphs and the wavefront: nothing a state dict holds."""
        gates = self.model.gates
        self.run_gates = torch.compile(gates) if self.options["compile"] else gates
        self.graphed_gates = GraphedStep(self.run_gates, self.model) \
            if self.options["cuda_graphs"] else None
        self.wavefront = Wavefront(self.model.blocks, self.options["compile"]) \
            if self.options["execution"] == "wavefront" else None

    def __getattr__(self, name: str):
        """What nn.Module does not hold (its own submodule `model`) is the plain model's."""
        try:
            return super().__getattr__(name)
        except AttributeError:
            if "model" not in self.__dict__.get("_modules", {}):
                raise
            return getattr(self._modules["model"], name)

    # one mode for both: train() and eval() reach the plain model, and read it back
    @property
    def training(self) -> bool:
        return self.model.training

    @training.setter
    def training(self, mode: bool) -> None:
        if "model" in self.__dict__.get("_modules", {}):
            self.model.training = mode

    def named_parameters(self, *args, **kwargs):
        return self.model.named_parameters(*args, **kwargs)

    def named_buffers(self, *args, **kwargs):
        return self.model.named_buffers(*args, **kwargs)

    def state_dict(self, *args, **kwargs):
        return self.model.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, *args, **kwargs):
        return self.model.load_state_dict(state_dict, *args, **kwargs)

    # deepcopy and pickle take the weights and the options, and build the machinery anew
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in MACHINERY}

    def __setstate__(self, state):
        super().__setstate__(state)
        self.build_machinery()

    def plain(self) -> RViT:
        """The plain RViT whose parameters this model runs."""
        return self.model

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items() if v != DEFAULTS[k])

    def gates(self, x: torch.Tensor, state: list[torch.Tensor]):
        """RViT.gates, from a CUDA graph in inference on CUDA, else compiled or eager."""
        if self.graphed_gates is not None and x.is_cuda and not torch.is_grad_enabled():
            return self.graphed_gates(x, state)
        return self.run_gates(x, state)

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]):
        return self.model.step(frame, state, self.gates)

    forward = VideoTransformer.forward
    frame_logits = VideoTransformer.frame_logits

    def forward_features(self, video: torch.Tensor, state=None) -> torch.Tensor:
        """video (B, T, C, H, W) -> (B, T, D), as RViT.forward_features. The patch embedding
        does not depend on the hidden state, so the whole clip is embedded in one call first."""
        model = self.model
        model.check_video(video)
        if self.wavefront is not None:
            tokens, state = self.clip_inputs(video, state)
            return model.pool(self.wavefront(tokens, state, model.cfg.tbptt,
                                             model.cfg.fp32_state))
        checkpointed = self.options["frame_checkpoint"] and torch.is_grad_enabled()
        return model.recur(*self.clip_inputs(video, state),
                           self.checkpointed_gates if checkpointed else self.gates)

    def clip_inputs(self, video: torch.Tensor, state=None):
        """The hidden states before the first frame (zeros unless given), then every frame's
        tokens (B, T, N, D): returned as (tokens, state)."""
        state = self.model.init_state(len(video), video.device) if state is None else state
        return self.model.embed_clip(video), state

    def checkpointed_gates(self, x: torch.Tensor, state: list[torch.Tensor]):
        """gates() that keeps only its inputs for backward and recomputes the rest there."""
        # preserve_rng_state=False: the gates draw no random numbers (no dropout), so there is no
        # RNG state to replay, and forking one fails on the meta device (torch 2.5, the estimator)
        feat, *new_state = checkpoint(self._gates_flat, x, *state, use_reentrant=False,
                                      preserve_rng_state=False)
        return feat, new_state

    def _gates_flat(self, x, *state):
        feat, new_state = self.gates(x, list(state))
        return (feat, *new_state)


MACHINERY = ("run_gates", "graphed_gates", "wavefront")
