"""Execution modes give the sequential loop's results: wavefront, on a CPU."""

from dataclasses import replace

import pytest
import torch

import rvit_mini as rm


def twin(model, **changes):
    other = rm.build_model(replace(model.cfg, **changes))
    other.load_state_dict(model.state_dict())
    return other


def grads(model):
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.filterwarnings("error:There is a performance drop")  # no per-layer fallback loop
@pytest.mark.parametrize("depth, frames, options", [
    (3, 7, {}),                    # more frames than layers
    (4, 2, {}),                    # more layers than frames
    (3, 9, {"tbptt": 4}),          # truncated BPTT cuts the same edges
    (2, 5, {"fp32_state": True}),
])
def test_wavefront_equals_the_sequential_loop(depth, frames, options):
    torch.manual_seed(0)
    seq = rm.create_model("rvit", depth=depth, **options)
    wave = twin(seq, execution="wavefront")
    video, target = torch.rand(2, frames, 3, 32, 32), torch.tensor([1, 4])
    for model in (seq, wave):
        torch.nn.functional.cross_entropy(model(video), target).backward()
    torch.testing.assert_close(wave.forward_features(video), seq.forward_features(video))
    g_seq, g_wave = grads(seq), grads(wave)
    assert g_seq.keys() == g_wave.keys() and len(g_seq) == len(list(seq.parameters()))
    for name in g_seq:
        torch.testing.assert_close(g_wave[name], g_seq[name], msg=name)


def test_wavefront_refuses_frame_checkpointing():
    model = rm.create_model("rvit_s", execution="wavefront", frame_checkpoint=True)
    with pytest.raises(ValueError, match="frame_checkpoint needs execution='sequential'"):
        model(torch.rand(1, 3, 3, 32, 32))


def test_unknown_execution_is_refused():
    with pytest.raises(ValueError, match="execution must be"):
        rm.create_model("rvit_s", execution="diagonal")


def test_compiled_step_equals_the_eager_step():
    torch.manual_seed(0)
    eager = rm.create_model("rvit_s", dim=32, num_heads=2)
    compiled = twin(eager, compile=True)
    video, target = torch.rand(2, 3, 3, 32, 32), torch.tensor([0, 5])
    for model in (eager, compiled):
        torch.nn.functional.cross_entropy(model(video), target).backward()
    torch.testing.assert_close(compiled.forward_features(video), eager.forward_features(video))
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)
