"""TRecViT (trecvit.py): the scan over a clip and the frame-by-frame step are one model, causal,
stable over long clips, streamable, with Griffin's RG-LRU and the paper's parameter count."""

import math

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from torch.testing import assert_close

import rvit_mini as rm
from rvit_mini import online
from rvit_mini.model.trecvit import LRUBlock, TRecViT, linear_scan


def tiny(**overrides) -> TRecViT:
    """Two layers of width 16 on 16x16 frames (4 patches and a CLS token): T = 512 in seconds."""
    torch.manual_seed(0)
    cfg = dict(img_size=16, patch_size=8, dim=16, depth=2, num_heads=2, num_classes=3)
    return rm.build_model(rm.ModelConfig("trecvit", **{**cfg, **overrides}))


def clip(t, b=2, size=16, seed=0):
    return torch.rand(b, t, 3, size, size, generator=torch.Generator().manual_seed(seed))


def stepped(model, video, state=None):
    """model.step frame after frame -> features (B, T, D), the state after the last frame."""
    state = model.init_state(len(video)) if state is None else state
    feats = []
    for t in range(video.shape[1]):
        feat, state = model.step(video[:, t], state)
        feats.append(feat)
    return torch.stack(feats, dim=1), state


def features_and_gradients(model, video, run):
    """run(model, video) -> features; with the gradients of a fixed random projection of them
    with respect to the parameters (all but the head's) and to the video, by name."""
    model.zero_grad()
    video = video.clone().requires_grad_(True)
    feats = run(model, video)
    projection(feats).mean().backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    return feats.detach(), {**grads, "video": video.grad}


def projection(feats):
    """A fixed random projection of the features: the sum of LayerNorm outputs is constant."""
    return feats * torch.randn(feats.shape, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("frames", [1, 7, 64, 512])
def test_scan_equals_step_outputs_and_gradients(frames):
    model = tiny()
    video = clip(frames)
    scanned, scan_grads = features_and_gradients(model, video, lambda m, v: m.recur(v)[0])
    steps, step_grads = features_and_gradients(model, video, lambda m, v: stepped(m, v)[0])
    assert_close(scanned, steps, atol=1e-5, rtol=0)
    assert scan_grads.keys() == step_grads.keys()
    assert len(scan_grads) == len(list(model.parameters())) - 2 + 1  # all but the head's; video
    for name, scan_grad in scan_grads.items():  # within 1e-4 of each gradient's largest entry
        scale = scan_grad.abs().max().clamp(min=1e-12)  # Λ has none at T = 1: a_0 is dropped
        assert_close(scan_grad / scale, step_grads[name] / scale, atol=1e-4, rtol=0,
                     msg=lambda message, name=name: f"{name}: {message}")


def test_the_scan_is_stable_at_512_frames_with_decays_near_one_and_near_zero():
    model = tiny()
    with torch.no_grad():
        for blk in model.lru_blocks:  # σ(Λ) = 1 - 1e-13 and 1e-13: a_t rounds to 1, and to 0
            blk.rg_lru.lam[0::2] = 30.0
            blk.rg_lru.lam[1::2] = -30.0
        a, _ = model.lru_blocks[0].rg_lru.coefficients(torch.randn(4, 8, 16), torch.zeros(4) > 0)
        assert (a == 1).any() and (a == 0).any()
    video = clip(512)
    scanned, scan_grads = features_and_gradients(model, video, lambda m, v: m.recur(v)[0])
    assert all(torch.isfinite(x).all() for x in [scanned, *scan_grads.values()])
    steps, _ = features_and_gradients(model, video, lambda m, v: stepped(m, v)[0])
    assert_close(scanned, steps, atol=1e-5, rtol=0)


def test_the_scan_is_finite_where_the_closed_form_with_a_cumulative_product_is_not():
    gen = torch.Generator().manual_seed(0)
    a = 0.05 + 0.9 * torch.rand(3, 512, 4, generator=gen)  # a_t in (0, 1): the product -> 0
    b, h0 = torch.randn(3, 512, 4, generator=gen), torch.randn(3, 4, generator=gen)
    h, loop = h0, []
    for t in range(512):
        h = a[:, t] * h + b[:, t]
        loop.append(h)
    cumulative = torch.cumprod(a, dim=1)  # underflows to 0 within ~150 frames
    closed_form = cumulative * (h0[:, None] + torch.cumsum(b / cumulative, dim=1))
    assert not torch.isfinite(closed_form).all()
    assert_close(linear_scan(a, b, h0), torch.stack(loop, dim=1), atol=1e-5, rtol=1e-5)


def test_feature_t_does_not_depend_on_later_frames():
    model = tiny()
    video = clip(9).requires_grad_(True)
    projection(model.recur(video)[0][:, 4]).sum().backward()
    assert (video.grad[:, 5:] == 0).all()
    assert (video.grad[:, :5].flatten(2).abs().amax(dim=2) > 0).all()  # and on every earlier one


def test_continuing_from_a_state_equals_running_the_whole_clip():
    model = tiny().eval()
    video = clip(12)
    whole, whole_state = model.recur(video)
    first, state = model.recur(video[:, :5])
    rest, end_state = model.recur(video[:, 5:], state)
    assert_close(torch.cat([first, rest], dim=1), whole, atol=1e-5, rtol=0)
    _, stepped_state = stepped(model, video[:, :5])
    assert_close(model.forward_features(video[:, 5:], stepped_state), rest, atol=1e-5, rtol=0)
    for h, h_whole in zip(end_state, whole_state, strict=True):
        assert_close(h, h_whole, atol=1e-5, rtol=0)


def test_streaming_equals_the_model_on_the_frames_so_far():
    model = tiny().eval()
    video = clip(10)
    stream = rm.StreamingClassifier(model)
    for t in range(10):
        logits = stream.update(video[:, t])
        assert_close(logits, model(video[:, :t + 1]), atol=1e-5, rtol=0)


def test_a_recogniser_that_forgets_a_stream_starts_it_afresh():
    model = tiny().eval()
    video = clip(6)
    rec = online.Recurrent(model)
    rec.reset(2)
    with torch.no_grad():
        for t in range(3):
            rec.update(video[:, t])
        rec.forget(torch.tensor([True, False]))  # stream 0 starts again at frame 3
        after = torch.stack([rec.update(video[:, t]) for t in range(3, 6)], dim=1)
        assert_close(after[0], model.frame_logits(video[:1, 3:])[0], atol=1e-5, rtol=0)
        assert_close(after[1], model.frame_logits(video[1:])[0, 3:], atol=1e-5, rtol=0)


def test_the_paper_scale_parameter_count_is_the_papers():
    # TRecViT, arXiv:2412.14294v2, Table 3 (SSv2, 174 classes): TRecViT 111.3M parameters,
    # beside RViT-L 72.0M and RViT-XL 107.7M (Table 4, Kinetics-400: 111.2M); Table 8: the
    # Base model has 12 layers, D 768, MLP 3072, 12 heads. The public model reads out through
    # tanh(Dense 3072) on each frame's feature before the head; ours is head(mean_t f_t).
    with torch.device("meta"):
        model = rm.create_model("trecvit", scale="paper", num_classes=174)
    ours = sum(p.numel() for p in model.parameters())
    d, k, pre_logits = 768, 174, 3072
    their_readout = (d * pre_logits + pre_logits) + (pre_logits * k + k) - (d * k + k)
    assert ours + their_readout == pytest.approx(111.3e6, rel=0.002)  # 111,219,630
    assert ours == 108_456_366


def test_the_lru_block_is_recurrentgemmas_written_as_loops():
    torch.manual_seed(0)
    blk = LRUBlock(dim=8, num_heads=2, conv_width=4, min_rad=0.6, out_scale=1.0)
    with torch.no_grad():  # nonzero biases and norm scale, so that each term is checked
        for p in blk.parameters():
            if p.ndim == 1 and p is not blk.rg_lru.lam:
                p.normal_(0, 0.3).add_(1.0 if p is blk.norm.weight else 0.0)
        blk.rg_lru.input_gate.bias.normal_(0, 0.3)
        blk.rg_lru.recurrence_gate.bias.normal_(0, 0.3)
    x = torch.randn(3, 11, 8)
    first, second = x[:, :6], x[:, 6:]  # a fresh sequence, then its continuation
    positions = torch.arange(11).expand(3, 11)
    no_state = (torch.zeros(3, 8), torch.zeros(3, 3, 8))

    ref_first, ref_state = griffin_residual_temporal_half(blk, first, positions[:, :6])
    ref_second, ref_end = griffin_residual_temporal_half(blk, second, positions[:, 6:], ref_state)
    ours_first, state = blk(first, no_state, fresh=torch.ones(3, dtype=torch.bool))
    ours_second, end = blk(second, state, fresh=torch.zeros(3, dtype=torch.bool))
    assert_close(ours_first, ref_first, atol=1e-5, rtol=1e-5)
    assert_close(ours_second, ref_second, atol=1e-5, rtol=1e-5)
    for ours, ref in zip(end, ref_end, strict=True):
        assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    # at segment_pos 0 they drop the state passed in (a_0 = 0); so do we where fresh
    old_h = (torch.randn(3, 8), torch.zeros(3, 3, 8))
    assert_close(griffin_residual_temporal_half(blk, first, positions[:, :6], old_h)[0],
                 ref_first, atol=1e-5, rtol=1e-5)
    assert_close(blk(first, old_h, fresh=torch.ones(3, dtype=torch.bool))[0], ref_first,
                 atol=1e-5, rtol=1e-5)
    # their rnn_param_init: a_param = log(1 / rad - 1), rad^2 uniform in [min_rad^2, 0.999^2];
    # our Λ = -a_param, so σ(Λ) = rad
    radius = torch.sigmoid(blk.rg_lru.lam)
    assert (0.6 <= radius).all() and (radius <= 0.999).all()


def griffin_residual_temporal_half(blk, x, segment_pos, cache=None):
    """recurrentgemma's torch ResidualBlock up to its MLP (modules.py: raw_x + RecurrentBlock(
    RMSNorm(raw_x))), its RecurrentBlock, and layers.py's Conv1D and RGLRU, with their formulas
    written as loops over time: x (S, T, D), segment_pos (S, T), cache (h, conv inputs) or None
    -> (output (S, T, D), (h, the last w - 1 conv inputs)). Their parameters are ours, renamed:
    RMSNorm scale + 1 = norm.weight, linear_y = gate_proj, linear_x = in_proj, conv w[j] =
    conv.weight[:, 0, j], a_param = -Λ."""
    s, t, _ = x.shape
    normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * blk.norm.weight
    y = F.gelu(F.linear(normed, blk.gate_proj.weight, blk.gate_proj.bias), approximate="tanh")
    xs = F.linear(normed, blk.in_proj.weight, blk.in_proj.bias)

    # Conv1D: the output at t sums w[width - shift - 1] * x_{t - shift}, x before the sequence
    # from the cache (decoding) or zero (a fresh sequence)
    w, width = blk.conv.weight[:, 0, :].T, blk.conv.kernel_size[0]  # (width, D)
    past = torch.zeros(s, width - 1, xs.shape[-1]) if cache is None else cache[1]
    padded = torch.cat([past, xs], dim=1)
    conv = torch.zeros_like(xs)
    for i in range(t):
        for shift in range(width):
            conv[:, i] += padded[:, i + width - 1 - shift] * w[width - shift - 1]
    conv = conv + blk.conv.bias

    # RGLRU
    def block_diagonal(layer, v):
        v = rearrange(v, "... (h i) -> ... h i", h=layer.num_blocks)
        return rearrange(torch.einsum("... h i, h i j -> ... h j", v, layer.weight) + layer.bias,
                         "... h j -> ... (h j)")

    reset = segment_pos == 0
    gate_x = torch.sigmoid(block_diagonal(blk.rg_lru.input_gate, conv))
    gate_a = torch.sigmoid(block_diagonal(blk.rg_lru.recurrence_gate, conv))
    log_a = -8.0 * gate_a * F.softplus(-blk.rg_lru.lam)
    a, a_square = torch.exp(log_a), torch.exp(2 * log_a)
    gated_x = conv * gate_x
    multiplier = torch.sqrt(1 - a_square)
    multiplier = reset[..., None] + ~reset[..., None] * multiplier
    normalized_x = gated_x * multiplier
    a = a * ~reset[..., None]
    h = torch.zeros(s, xs.shape[-1]) if cache is None else cache[0]
    hs = []
    for i in range(t):
        h = a[:, i] * h + normalized_x[:, i]
        hs.append(h)
    out = F.linear(torch.stack(hs, dim=1) * y, blk.out_proj.weight, blk.out_proj.bias)
    return x + out, (h, padded[:, -(width - 1):])


def test_trecvit_options_are_checked_and_refused_for_other_models():
    with pytest.raises(ValueError, match=r"min_rad must be in \(0, 0.999\)"):
        rm.ModelConfig("trecvit", min_rad=1.0)
    with pytest.raises(ValueError, match="conv_width must be a positive integer"):
        rm.ModelConfig("trecvit", conv_width=0)
    with pytest.raises(ValueError, match="rvit_s .rvit. does not use .'min_rad'.: min_rad is "
                                         "for trecvit"):
        rm.create_model("rvit_s", min_rad=0.7)
    assert rm.create_model("trecvit", conv_width=2, min_rad=0.9).cfg.conv_width == 2


# -- started from an image ViT, and what a clip keeps ----------------------------------------------
def test_a_trecvit_from_a_vit_takes_its_stem_first_blocks_and_head_and_keeps_its_lru_blocks():
    torch.manual_seed(0)
    vit = rm.create_model("vit")  # 4 blocks; the mini trecvit has 3
    trecvit = rm.create_model("trecvit")
    lru_before = {k: v.clone() for k, v in trecvit.lru_blocks.state_dict().items()}
    rm.init_from_vit(trecvit, vit)
    for name in ("patch_embed", "norm", "head"):
        for key, value in getattr(vit, name).state_dict().items():
            assert torch.equal(getattr(trecvit, name).state_dict()[key], value), f"{name}.{key}"
    assert torch.equal(trecvit.pos_embed, vit.pos_embed)
    assert torch.equal(trecvit.cls_token, vit.cls_token)
    for mine, theirs in zip(trecvit.blocks, vit.blocks[:3], strict=True):
        for key, value in theirs.state_dict().items():
            assert torch.equal(mine.state_dict()[key], value), key
    for key, value in trecvit.lru_blocks.state_dict().items():
        assert torch.equal(value, lru_before[key]), f"lru_blocks.{key} was overwritten"


def test_with_its_lru_blocks_silent_a_trecvit_from_a_vit_is_that_vit_on_every_frame():
    torch.manual_seed(0)
    vit, trecvit = rm.create_model("vit", depth=3).eval(), rm.create_model("trecvit").eval()
    rm.init_from_vit(trecvit, vit)
    video = torch.rand(2, 5, 3, 32, 32)
    assert not torch.allclose(trecvit.forward_features(video), vit.forward_features(video))
    with torch.no_grad():
        for blk in trecvit.lru_blocks:  # W_o = 0, b_o = 0: each LRU block adds nothing
            blk.out_proj.weight.zero_()
            blk.out_proj.bias.zero_()
        assert_close(trecvit.forward_features(video), vit.forward_features(video))


def test_a_trecvit_from_a_vit_needs_as_many_blocks_and_the_same_width():
    with pytest.raises(ValueError, match="the ViT has 2 blocks; this model needs at least 3"):
        rm.init_from_vit(rm.create_model("trecvit"), rm.create_model("vit", depth=2))
    with pytest.raises(ValueError, match="width or tokens differ: TRecViT dim 64"):
        rm.init_from_vit(rm.create_model("trecvit"), rm.create_model("vit", dim=32))


def test_the_state_after_a_clip_holds_no_view_of_the_clip():
    model = tiny()
    _, state = model.recur(clip(64))
    for h in state:  # each tensor its own storage: the clip's (S, T, D) tensors can be freed
        assert h.untyped_storage().nbytes() == h.numel() * h.element_size(), tuple(h.shape)


@pytest.mark.parametrize("frames", [8, 32, 128])
def test_the_doubling_scan_keeps_2_log2_t_copies_of_the_states_for_backward(frames):
    from rvit_mini.execution.memory import MemoryTracker

    s, width = 4, 8
    a, b = (torch.rand(s, frames, width, requires_grad=True) for _ in range(2))
    h0 = torch.zeros(s, width)
    with MemoryTracker() as tracker:
        h = linear_scan(a, b, h0)
        kept = tracker.live  # h and what backward needs, a and b aside
    assert kept == 2 * math.log2(frames) * h.numel() * h.element_size()
