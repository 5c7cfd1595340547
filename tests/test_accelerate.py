"""rm.accelerate's strategies compute what the plain loop computes (outputs and gradients), and a
model copies and pickles with its strategy: the wavefront, compile, CUDA graphs and frame
checkpointing, each against the plain sequential loop."""

import copy
import pickle

import pytest
import torch
from torch._dynamo.utils import counters

import rvit_mini as rm
from rvit_mini.execution.wavefront import layerwise_copy


def twin(model, **options):
    """An accelerated copy of `model` over its own copy of the weights."""
    return rm.accelerate(copy.deepcopy(model), **options)


def grads(model):
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("depth, frames, options", [
    (3, 7, {}),                    # more frames than layers
    (4, 2, {}),                    # more layers than frames
    (3, 9, {"tbptt": 4}),          # truncated BPTT cuts the same edges
    (2, 5, {"fp32_state": True}),
    (3, 4, {"attention": "linear"}),
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


@pytest.mark.parametrize("device", [
    "cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                       reason="needs a GPU"))])
def test_wavefront_equals_the_sequential_loop_under_autocast(device):
    torch.manual_seed(0)
    seq = rm.create_model("rvit", depth=3).to(device)
    wave = twin(seq, execution="wavefront").to(device)
    video = torch.rand(2, 5, 3, 32, 32, device=device)
    target = torch.tensor([1, 4], device=device)
    for model in (seq, wave):
        with torch.autocast(device, dtype=torch.bfloat16):
            logits = model(video)
        torch.nn.functional.cross_entropy(logits.float(), target).backward()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
        torch.testing.assert_close(wave(video), seq(video))
    # bf16 keeps 8 bits of mantissa: a bias gradient summed over every token in another order
    # may land one bf16 step (1/128 of its size, 0.004 near 0.5) away (seen with torch 2.5)
    for (name, p), q in zip(seq.named_parameters(), wave.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name, atol=1e-2, rtol=1e-2)


def test_wavefront_refuses_a_block_with_weights_outside_linear_and_layernorm():
    block = rm.AttentionGate(16, 2)
    block.scale = torch.nn.Parameter(torch.ones(16))  # would stay frozen in the layerwise copy
    with pytest.raises(TypeError, match=r"AttentionGate also has \['scale'\]"):
        layerwise_copy(block)


def test_accelerate_refuses_what_does_not_apply():
    rvit = rm.create_model("rvit_s")
    with pytest.raises(ValueError, match="frame_checkpoint needs execution='sequential'"):
        rm.accelerate(rvit, execution="wavefront", frame_checkpoint=True)
    with pytest.raises(ValueError, match="execution must be one of"):
        rm.accelerate(rvit, execution="diagonal")
    with pytest.raises(ValueError, match=r"\['frame_checkpoint'\] apply to RViT only"):
        rm.accelerate(rm.create_model("cvit"), frame_checkpoint=True)
    assert rm.accelerate(rvit) is rvit  # nothing asked: the model itself
    with pytest.raises(ValueError, match="how a model runs is rm.accelerate's"):
        rm.create_model("rvit_s", execution="wavefront")


def test_an_accelerated_model_shares_the_layers_and_the_state_dict():
    torch.manual_seed(0)
    plain = rm.create_model("rvit_s")
    fast = rm.accelerate(plain, execution="wavefront")
    assert type(fast) is rm.RViT and fast.cfg == plain.cfg and plain.execution is None
    assert [(n, p.data_ptr()) for n, p in fast.named_parameters()] == \
        [(n, p.data_ptr()) for n, p in plain.named_parameters()]
    assert fast.state_dict().keys() == plain.state_dict().keys()
    fast.load_state_dict(rm.create_model("rvit_s").state_dict(), strict=True)
    video = torch.rand(1, 3, 3, 32, 32)
    torch.testing.assert_close(fast(video), plain(video))  # loading into one loads both
    fast.eval()  # the mode of the layers, which both run
    assert not any(m.training for m in plain.modules() if m is not plain)
    again = rm.accelerate(fast, compile=True)  # the options asked, not added to fast's
    assert again.execution.options == {"execution": "sequential", "compile": True,
                                       "cuda_graphs": False, "frame_checkpoint": False}
    assert rm.accelerate(fast).execution is None and rm.accelerate(plain) is plain


@pytest.mark.parametrize("options", [{"execution": "wavefront"}, {"compile": True},
                                     {"cuda_graphs": True}, {"frame_checkpoint": True}])
def test_an_accelerated_model_deep_copies_and_pickles(options):
    torch.manual_seed(0)
    fast = rm.accelerate(rm.create_model("rvit_s", dim=16, num_heads=2), **options)
    video = torch.rand(1, 2, 3, 32, 32)
    expected = fast(video)
    for copied in (copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        assert isinstance(copied, rm.RViT)
        assert copied.execution.options == fast.execution.options
        torch.testing.assert_close(copied(video), expected)
        with torch.no_grad():  # the copy runs its own weights, not the original's
            for p in copied.parameters():
                p.zero_()
        assert not torch.allclose(copied(video), expected)
        torch.testing.assert_close(fast(video), expected)


@pytest.mark.parametrize("execution", ["sequential", "wavefront"])
def test_compiled_step_equals_the_eager_step(execution):
    torch.manual_seed(0)
    plain = rm.create_model("rvit_s", dim=32, num_heads=2)
    eager = twin(plain, execution=execution)
    compiled = twin(plain, execution=execution, compile=True)
    video, target = torch.rand(2, 3, 3, 32, 32), torch.tensor([0, 5])
    for model in (eager, compiled):
        torch.nn.functional.cross_entropy(model(video), target).backward()
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)
    # the next clip reuses the graphs: the wavefront's weights, stacked anew for every clip, are
    # graph inputs, not constants to recompile for (as on torch < 2.5)
    graphs = counters["stats"]["unique_graphs"]
    video = torch.rand(2, 3, 3, 32, 32)
    torch.testing.assert_close(compiled.forward_features(video), eager.forward_features(video))
    assert counters["stats"]["unique_graphs"] == graphs


def test_a_whole_wavefront_model_compiles_into_one_graph():
    # no graph break (fullgraph=True raises at the first), so that on a GPU
    # torch.compile(model, mode="reduce-overhead") can replay a whole training step as CUDA graphs
    torch.manual_seed(0)
    eager = twin(rm.create_model("rvit_s", dim=16, num_heads=2), execution="wavefront")
    compiled = copy.deepcopy(eager)
    video, target = torch.rand(2, 2, 3, 32, 32), torch.tensor([0, 5])
    for model in (eager, torch.compile(compiled, fullgraph=True)):
        torch.nn.functional.cross_entropy(model(video), target).backward()
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def test_cuda_graphs_leave_cpu_and_training_to_the_eager_step():
    torch.manual_seed(0)
    eager = rm.create_model("rvit_s")
    graphed = twin(eager, cuda_graphs=True)
    video = torch.rand(2, 3, 3, 32, 32)
    torch.testing.assert_close(graphed(video), eager(video))
    assert graphed.execution.machinery["graphed"].graphs == {}


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_graphs_equal_the_eager_step(dtype):
    torch.manual_seed(0)
    eager = rm.create_model("rvit", fp32_state=True).cuda().eval()
    graphed = twin(eager, cuda_graphs=True).cuda().eval()
    video = torch.rand(2, 5, 3, 32, 32, device="cuda")
    with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        expected = eager.forward_features(video)
        for _ in range(2):  # the first call captures, the second only replays
            torch.testing.assert_close(graphed.forward_features(video), expected)
        # a state kept by the caller is not overwritten by the next replay
        state = graphed.init_state(2)
        _, first = graphed.step(video[:, 0], state)
        kept = [h.clone() for h in first]
        graphed.step(video[:, 1], first)
        for h, k in zip(first, kept):
            torch.testing.assert_close(h, k)
    assert len(graphed.execution.machinery["graphed"].graphs) == 1


@needs_cuda
def test_cuda_graphs_recapture_after_the_weights_move():
    torch.manual_seed(0)
    model = rm.accelerate(rm.create_model("rvit_s"), cuda_graphs=True).cuda().eval()
    video = torch.rand(1, 3, 3, 32, 32, device="cuda")
    with torch.no_grad():
        before = model(video)
        model.double().float()  # new parameter storages, same values
        torch.testing.assert_close(model(video), before)
        model.load_state_dict({k: v * 0.5 for k, v in model.state_dict().items()})
        after = model(video)  # copied in place: the same graph sees the new values
        eager = rm.accelerate(model).eval()  # the plain loop, over the same weights
        torch.testing.assert_close(after, eager(video))
    assert len(model.execution.machinery["graphed"].graphs) == 2
