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

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_unflatten

from ..common.checks import check_count
from ..model import Attention, VideoTransformer, build_model
from ..model.inputs import check_streams
from .accelerate import accelerate

GiB = 2 ** 30


class MemoryTracker(TorchDispatchMode):
    """Live and peak bytes of the tensor storages that operations create inside the `with`.
    record: a list that gets the live bytes after every allocation and every free, in order.

    On the meta device (estimate_peak) an operation met before with inputs of the same shapes,
    strides and types makes outputs of the same shapes: its fresh outputs are made from what it
    made then, without running its meta function again (a frame's steps repeat T x L times)."""

    def __init__(self, record: list | None = None):
        super().__init__()
        self.live = self.peak = 0
        self._seen = set()
        self.record = record
        self._made = {}  # (operation, its inputs' layouts) -> (its outputs' layouts, their tree)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        given = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        key = _layout_key(func, args, kwargs) if all(t.is_meta for t in given) else None
        if key in self._made:
            layouts, tree = self._made[key]
            fresh = [None if shape is None else torch.empty_strided(shape, stride, dtype=dtype,
                                                                    device="meta")
                     for shape, stride, dtype in layouts]
            for t in fresh:
                if t is not None:
                    self._count(t.untyped_storage())
            return tree_unflatten(fresh, tree)
        out = func(*args, **kwargs)
        inputs = {t.untyped_storage()._cdata for t in given}
        # a copy of real tensors onto the meta device (x.to("meta"), which the input checks use
        # to read shapes) allocates nothing; on the meta device alone (estimate_peak) all counts
        probe = any(t.device.type != "meta" for t in given)
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and not (probe and t.device.type == "meta"):
                storage = t.untyped_storage()
                # a view or an in-place result shares its input's storage: nothing new
                if id(storage) not in self._seen and storage._cdata not in inputs:
                    self._count(storage)
        if key is not None:
            made = _fresh_layouts(out, inputs)
            if made is not None:
                self._made[key] = made
        return out

    def _count(self, storage) -> None:
        key = id(storage)
        self._seen.add(key)
        self.live += storage.nbytes()
        self.peak = max(self.peak, self.live)
        if self.record is not None:
            self.record.append(self.live)
        weakref.finalize(storage, self._free, key, storage.nbytes())

    def _free(self, key, nbytes):
        self._seen.discard(key)
        self.live -= nbytes
        if self.record is not None:
            self.record.append(self.live)


def _layout(x):
    """What an operation's output shapes can depend on, hashable; TypeError for anything else."""
    if isinstance(x, torch.Tensor):
        return (tuple(x.shape), x.stride(), x.storage_offset(), x.dtype, x.device.type)
    if isinstance(x, (list, tuple)):
        return tuple(map(_layout, x))
    if isinstance(x, dict):
        return tuple((k, _layout(v)) for k, v in sorted(x.items()))
    if x is None or isinstance(x, (bool, int, float, str, torch.dtype, torch.device,
                                   torch.layout, torch.memory_format)):
        return (type(x), x)
    raise TypeError(f"no layout for {type(x).__name__}")


def _layout_key(func, args, kwargs):
    try:
        return func, _layout(args), _layout(kwargs)
    except TypeError:
        return None


def _fresh_layouts(out, inputs):
    """(layouts, tree) of an operation's outputs where each is a fresh, whole storage of its
    own (not a view of an input or of another output); else None: it runs every time."""
    leaves, tree = tree_flatten(out)
    layouts, storages = [], set()
    for t in leaves:
        if t is None:
            layouts.append((None, None, None))
            continue
        if not isinstance(t, torch.Tensor) or not t.is_meta or t.storage_offset():
            return None
        storage = t.untyped_storage()
        if storage._cdata in inputs or storage._cdata in storages:
            return None
        storages.add(storage._cdata)
        made = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")
        if made.untyped_storage().nbytes() != storage.nbytes():
            return None
        layouts.append((tuple(t.shape), t.stride(), t.dtype))
    return layouts, tree


def fused_attention(q, k, v):
    """Softmax attention through the fused CPU kernel, which has a meta implementation and, like
    every fused kernel, stores the output and the log-sum-exp, never the (N, N) matrix."""
    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v)[0]


def tensor_bytes(tensors) -> int:
    """Bytes the tensors' elements take."""
    return sum(t.numel() * t.element_size() for t in tensors)


def _run(model, input_shape, train, dtype, streaming, device):
    """Forward (and backward) once; `streaming` feeds one frame at a time (RViT and ViT).
    Inputs arrive in fp32, as decoded frames do; `dtype` casts them for the meta run."""
    b, t = input_shape[:2]
    if streaming:
        check_streams(model)
        state, total = model.init_state(b, device), 0
        for _ in range(t):  # each frame decoded (and freed) in turn
            frame = torch.empty(b, 1, *input_shape[2:], device=device).to(dtype)
            feature, state = model.recur(frame, state)
            total = total + feature[:, 0]
        return model.head(total / t)
    decoded = torch.empty(input_shape, device=device)  # fp32, held by the caller throughout
    out = model(decoded.to(dtype))
    if train:
        out.float().sum().backward()
    return out


MAX_STEPPED_FRAMES = 128  # a whole clip through a model that steps frame by frame: at most


def steps_per_frame(model) -> bool:
    """Whether a clip runs in Python steps in proportion to its frames (an RViT: T x L gate
    steps, or T + L - 1 diagonals; a TRecViT cut every `tbptt` frames), so that estimating a
    whole clip takes time in proportion to T (about 20 ms a frame)."""
    return model.cfg.arch == "rvit" or (model.cfg.arch == "trecvit" and model.cfg.tbptt > 0)


def check_estimable(model, input_shape, streaming: bool) -> tuple:
    """input_shape as a tuple of 5 positive ints, refused where estimating it would take
    minutes: a whole clip of more than MAX_STEPPED_FRAMES frames through a model that steps
    frame by frame."""
    shape = tuple(input_shape)
    if len(shape) != 5:
        raise ValueError(f"input_shape must be (B, T, C, H, W), got {shape}")
    for name, n in zip("BTCHW", shape):
        check_count(f"input_shape's {name}", n)
    t = shape[1]
    if not streaming and t > MAX_STEPPED_FRAMES and steps_per_frame(model):
        raise ValueError(
            f"a whole clip of {t} frames through {type(model).__name__} is estimated by walking "
            f"its steps one by one (minutes at this length); estimate_peak takes at most "
            f"{MAX_STEPPED_FRAMES} frames of a whole clip. Past a few frames each frame adds "
            "about the same: estimate two lengths up to "
            f"{MAX_STEPPED_FRAMES} and extend the line; streaming=True takes any length")
    return shape


def estimate_peak(model: VideoTransformer, input_shape, train: bool = False,
                  dtype=torch.float32, streaming: bool = False, weights_dtype=torch.float32,
                  record: list | None = None) -> int:
    """Peak bytes for a video batch of `input_shape` (B, T, C, H, W), without computing.

    train: forward and backward (parameter gradients included). streaming: frames arrive one
    at a time (inference), so the clip is never held whole. weights_dtype: the stored weights'
    type; fp32 weights under a lower `dtype` also hold autocast's cast copies, while weights
    stored in `dtype` itself (model.to(torch.bfloat16), for inference) hold none. An
    rm.accelerate'd model is estimated as it runs (frame checkpointing, the wavefront).
    record: a list that gets the bytes live after every allocation and free of the run (the
    parameters, which come on top, excluded): its maximum is the peak less the parameters.

    Time: a ViT, a CViT and a TRecViT's scan run a clip in a few batched operations, so any T
    answers in about a second; an RViT (and a TRecViT with tbptt) steps frame by frame, so a
    whole clip of more than MAX_STEPPED_FRAMES (128) frames is refused (check_estimable), and
    streaming, whose peak is that of its third frame, takes any T at once.
    """
    input_shape = check_estimable(model, input_shape, streaming)
    with torch.device("meta"):
        meta = build_model(model.cfg).to(weights_dtype)
    for module in meta.modules():
        if isinstance(module, Attention):
            module.softmax_attention = fused_attention
    execution = getattr(model, "execution", None)
    meta = accelerate(meta, **(execution.options if execution is not None else {}))
    params = tensor_bytes(meta.parameters())
    if dtype != weights_dtype:
        meta.to(dtype)  # autocast's cast copies of the weights
        params += tensor_bytes(meta.parameters())
    meta.train(train)
    grad = train and not streaming
    if streaming:  # every step after the second allocates and frees the same: the peak is known
        input_shape = (input_shape[0], min(input_shape[1], 3), *input_shape[2:])
    with torch.set_grad_enabled(grad), MemoryTracker(record) as tracker:
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
