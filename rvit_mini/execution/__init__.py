"""How a model runs: faster strategies for RViT's recurrence (the wavefront, torch.compile, CUDA
graphs, frame checkpointing) behind rm.accelerate, streaming one frame at a time, peak memory
estimated without computing (or measured on CUDA), and what a pass costs."""

from .accelerate import accelerate
from .stream import StreamingClassifier

__all__ = ["StreamingClassifier", "accelerate"]
