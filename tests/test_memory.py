import copy

import torch
from torch.testing import assert_close

import rvit_mini as rm
from rvit_mini.execution.memory import MemoryTracker, estimate_peak


def clip(t=8, b=2, seed=0):
    return torch.rand(b, t, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def grads(model, video):
    model.zero_grad()
    model(video).square().sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def test_frame_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = rm.create_model("rvit")
    ckpt = rm.accelerate(copy.deepcopy(plain), frame_checkpoint=True)
    x = clip()
    g_plain, g_ckpt = grads(plain, x), grads(ckpt, x)
    for name in g_plain:
        assert_close(g_ckpt[name], g_plain[name], msg=name)


def test_frame_checkpointing_keeps_less_for_backward():
    torch.manual_seed(0)
    plain = rm.create_model("rvit")
    ckpt = rm.accelerate(rm.create_model("rvit"), frame_checkpoint=True)
    x = clip(t=16)
    saved = {}
    for name, model in (("plain", plain), ("ckpt", ckpt)):
        with MemoryTracker() as tracker:
            out = model(x)
        saved[name] = tracker.live  # what the graph holds for backward
        out.sum().backward()
    assert saved["ckpt"] < 0.3 * saved["plain"]


def test_truncated_bptt_equals_detaching_by_hand():
    torch.manual_seed(0)
    model = rm.create_model("rvit", tbptt=3)
    x = clip(t=8)
    g_tbptt = grads(model, x)

    def by_hand():
        state, feats = model.init_state(2), []
        for t in range(8):
            if t in (3, 6):
                state = [h.detach() for h in state]
            feat, state = model.step(x[:, t], state)
            feats.append(feat)
        return model.head(torch.stack(feats, 1).mean(1))

    model.zero_grad()
    by_hand().square().sum().backward()
    for name, p in model.named_parameters():
        assert_close(g_tbptt[name], p.grad, msg=name)
    full = rm.create_model("rvit")
    full.load_state_dict(model.state_dict())
    g_full = grads(full, x)
    assert not torch.allclose(g_full["blocks.0.qkv_h.weight"], g_tbptt["blocks.0.qkv_h.weight"])


def test_streaming_300_frames_in_constant_memory_equals_the_batch_forward():
    # the same allocations at every step after the first few: 300 frames show it as 2,000 would
    torch.manual_seed(0)
    model = rm.create_model("rvit_s").eval()
    frames = torch.rand(300, 1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    frame_list = list(frames)  # views made outside the tracker
    stream = rm.StreamingClassifier(model)
    live = {}
    with MemoryTracker() as tracker:
        for t, frame in enumerate(frame_list, 1):
            logits = stream.update(frame)
            if t in (20, 300):
                live[t] = tracker.live
    assert live[300] == live[20]
    with torch.no_grad():
        assert_close(logits, model(frames.transpose(0, 1)))
        stream.reset()
        first_20 = [stream.update(f) for f in frame_list[:20]][-1]
        assert_close(first_20, model(frames[:20].transpose(0, 1)))


def test_cvit_cannot_stream():
    import pytest

    with pytest.raises(TypeError, match="CViT attends over the whole clip at once"):
        rm.StreamingClassifier(rm.create_model("cvit"))


def test_paper_scale_estimates_rank_cvit_above_rvit_and_only_cvit_grows():
    def est(name, t, **kw):
        with torch.device("meta"):
            model = rm.create_model(name, scale="paper", **({"num_frames": t} if name == "cvit"
                                                            else {}))
        return estimate_peak(model, (8, t, 3, 224, 224), dtype=torch.bfloat16, **kw)

    cvit8, cvit32 = est("cvit", 8), est("cvit", 32)
    rvit8, rvit32 = est("rvit_xl", 8, streaming=True), est("rvit_xl", 32, streaming=True)
    assert cvit32 > 1.5 * cvit8
    assert rvit32 == rvit8
    assert cvit32 > 1.5 * rvit32  # RViT-XL has 24 % more weights than CViT, yet peaks lower


def test_estimate_matches_what_the_tracker_sees_on_real_cpu_tensors():
    torch.manual_seed(0)
    model = rm.create_model("cvit")
    x = clip(t=8)
    with torch.no_grad(), MemoryTracker() as tracker:
        model(x)
    params = sum(p.numel() * 4 for p in model.parameters())
    expected = params + x.numel() * 4 + tracker.peak
    assert abs(estimate_peak(model, x.shape) - expected) <= 0.1 * expected


def test_weights_stored_in_bf16_drop_the_fp32_copy_and_nothing_else():
    with torch.device("meta"):
        model = rm.create_model("rvit_xl", scale="paper")
    n = sum(p.numel() for p in model.parameters())
    shape = (8, 16, 3, 224, 224)
    autocast = estimate_peak(model, shape, dtype=torch.bfloat16, streaming=True)
    bf16 = estimate_peak(model, shape, dtype=torch.bfloat16, streaming=True,
                         weights_dtype=torch.bfloat16)
    assert autocast - bf16 == 4 * n


def test_trecvit_training_estimate_matches_what_the_tracker_sees_on_real_cpu_tensors():
    torch.manual_seed(0)
    model = rm.create_model("trecvit")
    x = clip(t=16)
    with MemoryTracker() as tracker:  # the scan's temporaries, what backward keeps, gradients
        model(x).float().sum().backward()
    params = sum(p.numel() * 4 for p in model.parameters())
    expected = params + x.numel() * 4 + tracker.peak
    assert abs(estimate_peak(model, x.shape, train=True) - expected) <= 0.1 * expected


def test_trecvit_streams_in_constant_memory_and_trains_in_more_than_linear():
    with torch.device("meta"):
        model = rm.create_model("trecvit", scale="paper")

    def est(t, **kw):
        return estimate_peak(model, (2, t, 3, 224, 224), dtype=torch.bfloat16, **kw)

    assert est(8, streaming=True) == est(64, streaming=True)
    weights = 6 * sum(p.numel() for p in model.parameters())  # fp32 and autocast's bf16 copy
    t8, t64 = (est(t, train=True) - weights for t in (8, 64))
    assert t64 > 8 * t8  # the doubling scan keeps 2 log2 T copies of the states: T log T
