"""Peak memory: estimated on any machine without computing, or measured on CUDA.

`estimate_peak` rebuilds the model on the meta device (shapes, no data) and runs it under a
dispatch mode that adds up every tensor storage an operation creates and subtracts it when the
storage is freed. Its figure is: fp32 parameters + the input + the peak of everything the forward
(and backward) pass allocates, with activations in `dtype` (under autocast, a matmul's output is
in the low-precision type; we count all activations in it, so the estimate leans low where
autocast keeps some in fp32). Optimiser state is not included. Attention is counted as a fused
kernel stores it (output and log-sum-exp, never the (N, N) matrix), as flash attention does on a
GPU and on a CPU.
"""

import weakref
from types import SimpleNamespace
from unittest import mock

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .accelerate import accelerate
from .models import VideoTransformer
from .registry import build_model
from .stream import step_through

GiB = 2 ** 30


class MemoryTracker(TorchDispatchMode):
    """Live and peak bytes of the tensor storages that operations create inside the `with`."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0
        self._seen = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage()._cdata for t in tree_flatten((args, kwargs))[0]
                  if isinstance(t, torch.Tensor)}
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = id(storage)
                # a view or an in-place result shares its input's storage: nothing new
                if key not in self._seen and storage._cdata not in inputs:
                    self._seen.add(key)
                    self.live += storage.nbytes()
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(storage, self._free, key, storage.nbytes())
        return out

    def _free(self, key, nbytes):
        self._seen.discard(key)
        self.live -= nbytes


def _fused_attention(q, k, v, **kwargs):
    """SDPA through the fused (flash) kernel, which has a meta implementation."""
    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v)[0]


def tensor_bytes(tensors) -> int:
    """Bytes the tensors' elements take."""
    return sum(t.numel() * t.element_size() for t in tensors)


def _run(model, input_shape, train, dtype, streaming, device):
    """Forward (and backward) once; `streaming` feeds one frame at a time (RViT and ViT).
    Inputs arrive in fp32, as decoded frames do; `dtype` casts them for the meta run."""
    b, t = input_shape[:2]
    if streaming:
        if not hasattr(model, "step"):
            raise TypeError(f"{type(model).__name__} attends over the whole clip; it cannot stream")
        frames = (torch.empty(b, *input_shape[2:], device=device).to(dtype) for _ in range(t))
        return model.head(sum(step_through(model, frames)) / t)
    decoded = torch.empty(input_shape, device=device)  # fp32, held by the caller throughout
    out = model(decoded.to(dtype))
    if train:
        out.float().sum().backward()
    return out


def estimate_peak(model: VideoTransformer, input_shape, train: bool = False,
                  dtype=torch.float32, streaming: bool = False, weights_dtype=torch.float32) -> int:
    """Peak bytes for a video batch of `input_shape` (B, T, C, H, W), without computing.

    train: forward and backward (parameter gradients included). streaming: frames arrive one
    at a time (inference), so the clip is never held whole. weights_dtype: the stored weights'
    type; fp32 weights under a lower `dtype` also hold autocast's cast copies, while weights
    stored in `dtype` itself (model.to(torch.bfloat16), for inference) hold none. An
    rm.accelerate'd model is estimated as it runs (frame checkpointing, the wavefront).
    """
    with torch.device("meta"):
        meta = build_model(model.cfg).to(weights_dtype)
    meta = accelerate(meta, **getattr(model, "options", {}))
    params = tensor_bytes(meta.parameters())
    if dtype != weights_dtype:
        meta.to(dtype)  # autocast's cast copies of the weights
        params += tensor_bytes(meta.parameters())
    meta.train(train)
    grad = train and not streaming
    if streaming:  # every step after the second allocates and frees the same: the peak is known
        input_shape = (input_shape[0], min(input_shape[1], 3), *input_shape[2:])
    # torch.utils.checkpoint (frame checkpointing) asks torch.<device> for the RNG it forks; on
    # torch 2.5 fork_rng refuses the meta device even when told not to fork (newer releases skip
    # it), so the meta run lends it a module with nothing in it: it draws no random numbers
    with mock.patch.object(F, "scaled_dot_product_attention", _fused_attention), \
            mock.patch.object(torch, "meta", SimpleNamespace(), create=True), \
            torch.set_grad_enabled(grad), MemoryTracker() as tracker:
        _run(meta, input_shape, grad, dtype, streaming, "meta")
    return params + tracker.peak


def measure_peak(model: VideoTransformer, input_shape, train: bool = False,
                 dtype=torch.float32, streaming: bool = False, weights_dtype=torch.float32) -> int:
    """Peak bytes allocated on the current CUDA device for the same run, under autocast."""
    if not torch.cuda.is_available():
        raise RuntimeError("measure_peak needs a CUDA device; use estimate_peak on a CPU")
    device = torch.device("cuda")
    model = model.to(device, weights_dtype).train(train)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    grad = train and not streaming
    with torch.set_grad_enabled(grad), torch.autocast("cuda", dtype=dtype,
                                                      enabled=dtype != torch.float32):
        _run(model, input_shape, grad, torch.float32, streaming, device)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base + tensor_bytes(model.parameters())
    model.zero_grad(set_to_none=True)
    return peak
