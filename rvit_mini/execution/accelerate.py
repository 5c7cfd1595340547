"""How an RViT runs fast, apart from what it computes (model/).

    fast = rm.accelerate(model, execution="wavefront", compile=True)

`fast` is a second RViT over the same layers as `model`: the same parameters (one set of
weights, trained through either, moved by .to() on either), the same state dict, the same code
for what a frame computes. Only its `execution` differs, the strategy that runs its recurrence
(RViT.recur). Each strategy computes what the plain loop computes, outputs and gradients
(tests/test_accelerate.py). A model deep-copies and pickles with its strategy, whose machinery
(compiled functions, CUDA graphs) is built anew for the copy.

The options, each independent of the others except where said:
- execution="wavefront": a clip's T x L gate cells run by anti-diagonals, T + L - 1 batched
  steps instead of T x L (wavefront.py).
- compile=True: torch.compile the per-frame column of gates (sequential) or the wavefront's
  diagonal.
- cuda_graphs=True: in inference on CUDA, replay the per-frame column of gates from a CUDA graph
  (graphs.py); training and CPU tensors take the eager gates.
- frame_checkpoint=True: in training, keep only each frame's inputs for backward and recompute
  the frame there (torch.utils.checkpoint): activation memory flat in clip length, at the cost
  of a second forward. Sequential execution only.
Every strategy embeds the whole clip in one call first (the patch embedding does not depend on
the hidden state).
"""

import copy

import torch
from torch.utils.checkpoint import checkpoint

from ..model import RViT
from ..model.recurrence import run_frames
from .graphs import GraphedStep
from .wavefront import Wavefront

EXECUTIONS = ("sequential", "wavefront")
DEFAULTS = {"execution": "sequential", "compile": False, "cuda_graphs": False,
            "frame_checkpoint": False}


def accelerate(model, execution: str = "sequential", compile: bool = False,
               cuda_graphs: bool = False, frame_checkpoint: bool = False):
    """An RViT over the same layers as `model` that runs its recurrence as asked (module
    docstring); with every option at its default and `model` plain, `model` itself. The options
    are RViT's: a ViT or CViT is one big batch already (torch.compile(model) compiles it)."""
    options = {"execution": execution, "compile": bool(compile), "cuda_graphs": bool(cuda_graphs),
               "frame_checkpoint": bool(frame_checkpoint)}
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, got {execution!r}")
    asked = sorted(k for k, v in options.items() if v != DEFAULTS[k])
    if not isinstance(model, RViT):
        if asked:
            raise ValueError(f"{asked} apply to RViT only; a {type(model).__name__} attends over "
                             "whole frames or clips at once (use torch.compile(model))")
        return model
    if execution == "wavefront" and frame_checkpoint:
        raise ValueError("frame_checkpoint needs execution='sequential': the wavefront runs "
                         "several frames at once")
    if not asked and model.execution is None:
        return model
    fast = copy.copy(model)  # the same layers and parameters, in registries of its own
    fast.__dict__.update({k: copy.copy(v) for k, v in vars(model).items() if isinstance(v, dict)})
    fast.execution = Execution(**options) if asked else None
    if fast.execution is not None:
        fast.execution.build(fast)  # now, not inside the first call (torch.compile traces that)
    return fast


class Execution:
    """How an RViT's recurrence runs: rm.accelerate's options (`options`), and the machinery
    they need for one model (`build`). `recur` implements RViT.recur's loop."""

    def __init__(self, **options):
        self.options = options
        self.machinery = None

    def __repr__(self) -> str:
        asked = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if v != DEFAULTS[k])
        return f"Execution({asked})"

    # a copy or an unpickled model builds its own machinery (RViT.__setstate__): compiled
    # functions and graphs are bound to the model they were made for
    def __getstate__(self):
        return {"options": self.options, "machinery": None}

    def __deepcopy__(self, memo):
        return Execution(**self.options)

    def build(self, model: RViT) -> dict:
        """The compiled gates, the CUDA graphs and the wavefront: nothing a state dict holds."""
        if self.machinery is None:
            gates = torch.compile(model.gates) if self.options["compile"] else model.gates
            self.machinery = {
                "gates": gates,
                "graphed": GraphedStep(gates, model) if self.options["cuda_graphs"] else None,
                "wavefront": Wavefront(model.blocks, self.options["compile"])
                if self.options["execution"] == "wavefront" else None}
        return self.machinery

    def recur(self, model: RViT, video: torch.Tensor, state: list, zeros: list, resets,
              detach_every: int):
        """RViT.recur (checked there): video (B, T, C, H, W) -> (features (B, T, D), state)."""
        machinery = self.build(model)
        tokens = model.embed_clip(video)  # (B, T, N, D)
        if machinery["wavefront"] is not None:
            top, state = machinery["wavefront"](tokens, state, zeros, resets, detach_every,
                                                model.cfg.fp32_state)
            return model.pool(top), state
        gates = self.frame_function(machinery)
        return run_frames(lambda t, x, state: gates(x, state), tokens, state, zeros, resets,
                          detach_every)

    def frame_function(self, machinery: dict):
        """gates(x, state) for this pass: from a CUDA graph in inference on CUDA, checkpointed
        in training, else compiled or eager."""
        gates, graphed = machinery["gates"], machinery["graphed"]
        if torch.is_grad_enabled():
            return checkpointed(gates) if self.options["frame_checkpoint"] else gates
        if graphed is not None:
            return lambda x, state: graphed(x, state) if x.is_cuda else gates(x, state)
        return gates


def checkpointed(gates):
    """gates(x, state) that keeps only its inputs for backward and recomputes the rest there."""
    def run(x: torch.Tensor, state: list):
        def flat(*tensors):
            feature, new_state = gates(x, state) if not tensors else gates(tensors[0],
                                                                             list(tensors[1:]))
            return (feature, *new_state)
        # preserve_rng_state=False: the gates draw no random numbers (no dropout), so there is
        # no RNG state to replay. On the meta device (rm.memory.estimate_peak) the inputs reach
        # the gates by closure, which non-reentrant checkpointing allows: given meta tensors as
        # arguments, torch 2.5 looks for a `torch.meta` module that does not exist
        arguments = () if x.is_meta else (x, *state)
        feature, *new_state = checkpoint(flat, *arguments, use_reentrant=False,
                                         preserve_rng_state=False)
        return feature, new_state
    return run
