"""CUDA graphs for RViT's per-frame step: one replay instead of ~20 kernel launches per layer.

A frame through an RViT-B is a few hundred small kernels; at streaming batch sizes the GPU
finishes each before Python has launched the next. Captured once into a CUDA graph, the whole
step is one launch. Inference only (autograd would need a graph per frame position), one graph
per input shape, dtype and autocast setting, captured on first use.
"""

import torch


def autocast_setting() -> tuple[bool, torch.dtype]:
    """(enabled, dtype) of CUDA autocast right now: part of what a captured graph computes."""
    return torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")


class GraphedStep:
    """Wraps step(x (B, N, D), state [L x (B, N, D)]) -> (feature (B, D), new state [L x (B, N, D)]).

    The first call for a new signature warms the step up on a side stream (cuBLAS picks its
    kernels there), then captures it; every call copies its inputs into the graph's static
    buffers, replays, and returns copies of the static outputs (the next replay overwrites them).
    """

    def __init__(self, step, module: torch.nn.Module):
        self.step, self.module = step, module
        self.graphs = {}  # signature -> (graph, static inputs, static outputs)

    def __call__(self, x: torch.Tensor, state: list[torch.Tensor]):
        inputs = (x, *state)
        # a graph reads the parameters where they were at capture: .to() or .half() moves them
        key = (tuple((t.shape, t.dtype, t.device) for t in inputs), autocast_setting(),
               tuple(p.data_ptr() for p in self.module.parameters()))
        if key not in self.graphs:
            self.graphs[key] = self.capture(inputs)
        graph, static_inputs, static_outputs = self.graphs[key]
        for static, t in zip(static_inputs, inputs):
            static.copy_(t)
        graph.replay()
        feature, *new_state = (t.clone() for t in static_outputs)
        return feature, new_state

    def capture(self, inputs):
        static_inputs = [t.clone() for t in inputs]
        enabled, dtype = autocast_setting()
        # the autocast cache would keep weight casts made inside the capture: switch it off
        with torch.autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=False):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self.step(static_inputs[0], static_inputs[1:])
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                feature, new_state = self.step(static_inputs[0], static_inputs[1:])
        return graph, static_inputs, [feature, *new_state]
