import pytest
import torch
from torch.testing import assert_close

import rvit_mini as rm
from rvit_mini.model.layers import Block

B, T = 2, 5


def video(b=B, t=T, size=32, seed=0):
    return torch.rand(b, t, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", rm.list_models())
def test_every_mini_model_runs_forward_and_backward(name):
    model = rm.create_model(name, scale="mini", num_classes=7)
    x = video()
    logits = model(x)
    assert logits.shape == (B, 7)
    assert model.forward_features(x).shape == (B, T, model.cfg.dim)
    assert model.frame_logits(x).shape == (B, T, 7)
    logits.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_registry_lists_the_paper_variants():
    assert {"vit", "cvit", "rvit_s", "rvit", "rvit_l", "rvit_xl"} <= set(rm.list_models())
    with pytest.raises(ValueError, match="unknown model 'rvit_xxl'; choose one of"):
        rm.create_model("rvit_xxl")
    with pytest.raises(ValueError, match=r"unknown config keys \['depht'\]"):
        rm.create_model("rvit", depht=3)


def paper_model(name, **kw):
    with torch.device("meta"):
        return rm.create_model(name, scale="paper", **kw)


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_paper_vit_has_vit_b16_parameter_count():
    # timm's vit_base_patch16_224 with 1000 classes: 86,567,656 parameters.
    assert count(paper_model("vit", num_classes=1000)) == 86_567_656


@pytest.mark.parametrize("name, depth, published", [("rvit_xl", 12, 107.7e6), ("rvit_l", 8, 72.0e6)])
def test_paper_rvit_parameter_counts_match_published(name, depth, published):
    # Per gate: ViT-B block 12 D^2 + 13 D, plus W_h (3 D^2, no bias) and LN_h (2 D).
    # Stem: patch conv (3*16*16*D + D), CLS (D), positions (197 D); final LN (2 D);
    # head (400 D + 400, Kinetics-400).
    d = 768
    gate = 12 * d * d + 13 * d + 3 * d * d + 2 * d
    formula = depth * gate + (3 * 16 * 16 * d + d) + d + 197 * d + 2 * d + (400 * d + 400)
    model = paper_model(name, num_classes=400)
    assert model.cfg.depth == depth
    assert count(model) == formula
    assert abs(formula - published) / published < 0.01


def test_paper_depths_follow_the_design():
    depths = {n: paper_model(n).cfg.depth for n in ("rvit_s", "rvit", "rvit_l", "rvit_xl", "cvit")}
    assert depths == {"rvit_s": 4, "rvit": 6, "rvit_l": 8, "rvit_xl": 12, "cvit": 12}


def test_gate_with_zero_hidden_state_is_a_vit_block():
    torch.manual_seed(0)
    gate, block = rm.AttentionGate(32, 4), Block(32, 4)
    gate.load_state_dict(block.state_dict(), strict=False)
    x = torch.randn(3, 10, 32)
    assert_close(gate(x, torch.zeros_like(x)), block(x))


def test_gate_reads_the_hidden_state():
    torch.manual_seed(0)
    gate = rm.AttentionGate(32, 4)
    x = torch.randn(3, 10, 32)
    assert not torch.allclose(gate(x, torch.zeros_like(x)), gate(x, torch.randn_like(x)))


def test_linear_attention_gate_runs_and_differs_from_softmax():
    torch.manual_seed(0)
    soft, lin = rm.AttentionGate(32, 4), rm.AttentionGate(32, 4, attention="linear")
    lin.load_state_dict(soft.state_dict())
    x, h = torch.randn(2, 9, 32), torch.randn(2, 9, 32)
    assert lin(x, h).shape == (2, 9, 32)
    assert not torch.allclose(lin(x, h), soft(x, h))


def assert_orthogonal(gate):
    for w in gate.qkv_h.weight.chunk(3):
        assert_close(w @ w.T, torch.eye(w.shape[0]), atol=1e-5, rtol=0)


def test_hidden_weights_are_orthogonal_whatever_initialises_them_and_in_which_order():
    assert_orthogonal(rm.AttentionGate(32, 4))
    torch.manual_seed(0)
    rvit = rm.create_model("rvit_s")
    w_h = rvit.blocks[0].qkv_h.weight.clone()
    rvit.init_weights()  # the ViT init of the other weights leaves W_h as it was
    assert torch.equal(rvit.blocks[0].qkv_h.weight, w_h)
    rm.init_rvit_from_vit(rvit, rm.create_model("vit"))  # Sec. 3.2 draws W_h afresh
    rvit.init_weights()
    for gate in rvit.blocks:
        assert_orthogonal(gate)
    assert not torch.equal(rvit.blocks[0].qkv_h.weight, w_h)


def test_rvit_initialised_from_vit_gives_vit_features_on_first_frame():
    torch.manual_seed(0)
    vit = rm.create_model("vit", depth=4)
    rvit = rm.init_rvit_from_vit(rm.create_model("rvit", depth=3), vit)
    x = video(t=3)
    vit3 = rm.create_model("vit", depth=3)
    vit3.load_state_dict({k: v for k, v in vit.state_dict().items() if not k.startswith("blocks.3")})
    assert_close(rvit.forward_features(x)[:, 0], vit3.forward_features(x)[:, 0])
    # later frames see the hidden state, so they differ from the frame-wise ViT
    assert not torch.allclose(rvit.forward_features(x)[:, 1], vit3.forward_features(x)[:, 1])


def test_cvit_initialised_from_vit_is_the_vit_but_for_the_temporal_embedding():
    torch.manual_seed(0)
    vit = rm.create_model("vit")
    cvit = rm.init_from_vit(rm.create_model("cvit", num_frames=4), vit)
    x = video(t=1)
    assert not torch.allclose(cvit.forward_features(x), vit.forward_features(x))
    with torch.no_grad():
        cvit.time_embed.zero_()
    assert_close(cvit.forward_features(x), vit.forward_features(x))
    assert cvit(video(t=4)).shape == (B, 9)  # and runs on longer clips
    frame_vit = rm.init_from_vit(rm.create_model("vit"), vit)  # a frame-mean ViT: the same
    assert_close(frame_vit.forward_features(x), vit.forward_features(x))
    with pytest.raises(ValueError, match="is a RViT; give an image ViT"):
        rm.init_from_vit(rm.create_model("rvit"), rm.create_model("rvit"))


def test_init_from_a_shallower_vit_is_refused():
    with pytest.raises(ValueError, match="the ViT has 2 blocks; this model needs at least 3"):
        rm.init_rvit_from_vit(rm.create_model("rvit", depth=3), rm.create_model("vit", depth=2))


def test_timm_vit_weights_give_timm_logits():
    pytest.importorskip("timm")
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    ref = VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4,
                            num_classes=5).eval()
    ours = rm.create_model("vit", depth=2, num_classes=5).eval()
    ours.load_state_dict(rm.vit_state_dict_from_timm(ref.state_dict(), ours))
    images = torch.rand(3, 3, 32, 32)
    # our stem normalises [0, 1] inputs with mean 0.5, std 0.5, as timm's IN-21K ViT-B/16 data
    # config does before the model
    assert_close(ours.forward_image(images), ref((images - 0.5) / 0.5))


def test_timm_state_dict_of_another_shape_is_refused():
    from timm.models.vision_transformer import VisionTransformer

    ref = VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4,
                            num_classes=5)
    with pytest.raises(ValueError, match=r"head.weight: timm has shape \(5, 64\), ours \(9, 64\)"):
        rm.vit_state_dict_from_timm(ref.state_dict(), rm.create_model("vit", depth=2))


def test_rvit_is_causal():
    model = rm.create_model("rvit_s").eval()
    x = video(t=8)
    y = x.clone()
    y[:, 5:] = torch.rand_like(y[:, 5:])
    fx, fy = model.forward_features(x), model.forward_features(y)
    assert_close(fx[:, :5], fy[:, :5])
    assert not torch.allclose(fx[:, 5:], fy[:, 5:])


def test_step_by_step_equals_forward_on_the_clip():
    model = rm.create_model("rvit").eval()
    x = video(t=6)
    state, feats = model.init_state(B), []
    for t in range(6):
        feat, state = model.step(x[:, t], state)
        feats.append(feat)
    assert_close(torch.stack(feats, 1), model.forward_features(x))
    assert len(state) == model.cfg.depth and state[0].shape == (B, model.num_tokens, 64)


@pytest.mark.parametrize("t", [1, 7, 33])
def test_rvit_takes_any_clip_length(t):
    assert rm.create_model("rvit_s", num_classes=4)(video(t=t)).shape == (B, 4)


def test_frame_mean_vit_ignores_order_while_rvit_does_not():
    x = video(t=6)
    reversed_x = x.flip(1)
    vit, rvit = rm.create_model("vit").eval(), rm.create_model("rvit_s").eval()
    assert_close(vit(x), vit(reversed_x))
    assert not torch.allclose(rvit(x), rvit(reversed_x), atol=1e-4)


def test_cvit_divided_differs_from_joint_and_both_see_order():
    x = video(t=4)
    torch.manual_seed(0)
    joint = rm.create_model("cvit").eval()
    divided = rm.create_model("cvit_divided").eval()
    divided.load_state_dict(joint.state_dict(), strict=False)  # all but the temporal blocks
    assert not torch.allclose(joint(x), divided(x), atol=1e-4)
    for model in (joint, divided):
        assert not torch.allclose(model(x), model(x.flip(1)), atol=1e-4)


BAD_INPUTS = [
    (torch.rand(2, 3, 32, 32), r"expected a tensor \(B, T, C, H, W\), got shape \(2, 3, 32, 32\)"),
    (torch.rand(2, 4, 1, 32, 32), r"expected 3 channels, got 1"),
    (torch.rand(1, 4, 3, 30, 30), r"frame size 30x30 is not divisible by patch size 8; "
                                  r"resize to 24x24 or 32x32"),
    (torch.rand(1, 4, 3, 64, 64), r"this model takes 32x32 frames, got 64x64"),
    (torch.zeros(1, 4, 3, 32, 32, dtype=torch.uint8), r"expected a floating-point tensor .* "
                                                       r"got torch.uint8; convert with"),
    (torch.rand(1, 0, 3, 32, 32), r"the clip has no frames"),
]


@pytest.mark.parametrize("name", ["vit", "cvit", "rvit_s"])
@pytest.mark.parametrize("x, message", BAD_INPUTS)
def test_bad_input_is_refused_with_a_clear_message(name, x, message):
    with pytest.raises(ValueError, match=message):
        rm.create_model(name)(x)


def test_clip_longer_than_cvit_supports_is_refused():
    model = rm.create_model("cvit", num_frames=8)
    with pytest.raises(ValueError, match="the clip has 9 frames but this CViT supports at most 8"):
        model(video(t=9))



@pytest.mark.parametrize("name, options, message", [
    ("vit", {"tbptt": 4}, r"vit \(vit\) does not use \['tbptt'\]: tbptt is for rvit and trecvit"),
    ("vit", {"space_time": "divided"}, r"does not use \['space_time'\]: space_time is for cvit"),
    ("rvit", {"num_frames": 8}, r"does not use \['num_frames'\]: num_frames is for cvit"),
    ("cvit", {"fp32_state": True}, r"does not use \['fp32_state'\]: fp32_state is for rvit"),
    ("rvit", {"depth": 0}, "depth must be a positive integer, got 0"),
    ("vit", {"num_classes": 0}, "num_classes must be a positive integer, got 0"),
    ("rvit", {"patch_size": 0}, "patch_size must be a positive integer, got 0"),
    ("rvit", {"img_size": 30}, "image size 30 is not divisible by patch size 8"),
    ("rvit", {"tbptt": -1}, "tbptt must be an integer >= 0"),
    ("rvit", {"dim": 66}, "dim 66 is not divisible by num_heads 4"),
    ("cvit", {"space_time": "sideways"}, r"space_time must be one of \('joint', 'divided'\)"),
])
def test_create_model_refuses_options_the_model_ignores_and_nonsense(name, options, message):
    with pytest.raises(ValueError, match=message):
        rm.create_model(name, **options)


def test_frames_in_0_255_are_warned_about_once(monkeypatch):
    import rvit_mini.model.inputs as models

    monkeypatch.setattr(models, "_warned_range", False)
    model = rm.create_model("rvit_s")
    with pytest.warns(UserWarning, match=r"values up to 25\d\.\d, but the model expects floats "
                                         r"in \[0, 1\]; divide 0-255 frames by 255"):
        model(video(t=2) * 255)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(video(t=2) * 255)  # once is enough
        models._warned_range = False
        model(video(t=2))  # [0, 1] frames: no warning


@pytest.mark.parametrize("name", rm.list_models())
def test_a_batch_of_no_clips_gives_no_logits_for_every_model(name):
    model = rm.create_model(name)
    assert model(video(b=0, t=3)).shape == (0, 9)
    assert model.frame_logits(video(b=0, t=3)).shape == (0, 3, 9)


def test_a_stream_whose_batch_changes_is_refused():
    model = rm.create_model("rvit_s").eval()
    stream = rm.StreamingClassifier(model)
    with pytest.raises(RuntimeError, match=r"no frame yet: call update\(frame\) before"):
        stream.frame_logits()
    stream.update(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="this stream has batch 2, but the frame has batch 3; "
                                         r"reset\(\) to start a new stream"):
        stream.update(torch.rand(3, 3, 32, 32))
    with pytest.raises(ValueError, match=r"the state should be 2 layers of \(3, 17, 64\) for "
                                         r"a frame batch of 3, got 2 layers of \(2, 17, 64\)"):
        model.step(torch.rand(3, 3, 32, 32), model.init_state(2))
    stream.reset()
    assert stream.update(torch.rand(3, 3, 32, 32)).shape == (3, 9)


@pytest.mark.parametrize("name", ["rvit_s", "vit"])
def test_step_checks_its_frame_as_forward_checks_a_clip(name):
    model = rm.create_model(name).eval()
    state = model.init_state(2)
    frames = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    with pytest.raises(ValueError, match="expected a floating-point tensor with values in"):
        model(frames[:, None])
    with pytest.raises(ValueError, match="expected a floating-point tensor with values in"):
        model.step(frames, state)
    with pytest.raises(ValueError, match="this model takes 32x32 frames, got 64x64"):
        model.step(torch.rand(2, 3, 64, 64), state)


def test_a_state_of_the_wrong_shape_is_refused_not_broadcast():
    model = rm.create_model("rvit_s").eval()
    frame = torch.rand(2, 3, 32, 32)
    one_token = [h[:, :1] for h in model.init_state(2)]  # (2, 1, 64) would broadcast
    with pytest.raises(ValueError, match=r"got 2 layers of \(2, 1, 64\)"):
        model.step(frame, one_token)
    with pytest.raises(ValueError, match="got Tensor"):
        model.step(frame, torch.zeros(2, 17, 64))
    with pytest.raises(ValueError, match=r"should be an empty list .* got 1 layers"):
        rm.create_model("vit").step(frame, [torch.zeros(2, 17, 64)])
    with pytest.raises(ValueError, match=r"got 2 layers of \(2, 1, 64\)"):
        model.forward_features(frame[:, None], state=one_token)
