"""What only the notebooks use, one module per notebook (its playground, the checks of the
pieces the student writes, their reference solutions) and per kind (figures, analysis):

    tokens     01 from video to tokens          gate       02 the attention gate from scratch
    memory     03 memory: RViT vs CViT          training   04 training the variants
    streaming  05 streaming and variable length boundary   06 the hidden state at a boundary
    wavefront  07 the recurrence and its cost   successor  08 after RViT (TRecViT)
    check      the exercises' self-checks        viz, diagrams, analysis, schedules, widgets
"""

import importlib

MODULES = ("analysis", "boundary", "check", "diagrams", "gate", "memory", "schedules",
           "streaming", "successor", "tokens", "training", "viz", "wavefront", "widgets")


def __getattr__(name: str):
    """rm.lessons.tokens, rm.lessons.viz, ...: imported on first use (PEP 562)."""
    if name in MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
