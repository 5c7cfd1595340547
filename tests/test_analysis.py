import pytest
import torch

import rvit_mini as rm
from rvit_mini.execution.stream import trace
from rvit_mini.lessons.analysis import feature_change
from rvit_mini.online import change_point, switch_delay


def test_switch_delay_counts_frames_until_the_prediction_settles():
    p = torch.tensor([0, 0, 0, 0, 1, 0, 1, 1])
    assert switch_delay(p, boundary=3, new_label=1) == 3  # settles at frame 6
    assert switch_delay(p, boundary=6, new_label=1) == 0
    assert switch_delay(torch.tensor([0, 0, 1, 0]), 1, 1) is None


def test_change_point_finds_a_step_in_noisy_states():
    torch.manual_seed(0)
    for b in (3, 10, 17):
        states = torch.randn(20, 5, 4) * 0.3
        states[b:] += torch.randn(5, 4)
        assert change_point(states) == b


def test_trace_streams_the_clip_and_ends_at_the_clip_logits():
    torch.manual_seed(0)
    model = rm.create_model("rvit_s").eval()
    video = torch.rand(6, 3, 32, 32)
    out = trace(model, video)
    assert out["states"].shape == (6, model.num_tokens, model.cfg.dim)
    torch.testing.assert_close(out["clip_logits"][-1], model(video[None])[0])
    torch.testing.assert_close(out["frame_logits"], model.frame_logits(video[None])[0])
    _, state = model.step(video[:1], model.init_state(1))
    torch.testing.assert_close(out["states"][0], state[-1][0])


def mini_rvit_and_clip(depth=2):
    torch.manual_seed(0)
    model = rm.create_model("rvit_s", depth=depth).eval()
    with torch.no_grad():                  # a trained-looking LN_h: its bias is not zero
        for blk in model.blocks:
            blk.norm_h.bias.normal_(0, 0.1)
    return model, torch.rand(4, 3, 32, 32)


def test_qkv_terms_are_the_norms_of_the_two_summands_of_the_gate_projection():
    model, video = mini_rvit_and_clip()
    x_term, h_term = rm.lessons.analysis.qkv_terms(model, video)
    assert x_term.shape == h_term.shape == (4, 2, 3)
    # frame 0, layer 1: x is the embedded frame, h is zero
    x = model.embed(video[:1])
    blk = model.blocks[0]
    with torch.no_grad():
        q_x = blk.attn.qkv(blk.norm1(x))[..., :64]
        v_h = blk.qkv_h(blk.norm_h(torch.zeros_like(x)))[..., 128:]
    torch.testing.assert_close(x_term[0, 0, 0], q_x.norm(dim=-1).mean())
    torch.testing.assert_close(h_term[0, 0, 2], v_h.norm(dim=-1).mean())
    assert (h_term[1:] > 5 * h_term[0]).all()
    # frame 1, layer 2: h is layer 2's output at frame 0, as the model's own step leaves it
    with torch.no_grad():
        _, state = model.step(video[:1], model.init_state(1))
        k_h = model.blocks[1].qkv_h(model.blocks[1].norm_h(state[1]))[..., 64:128]
    torch.testing.assert_close(h_term[1, 1, 1], k_h.norm(dim=-1).mean())


def test_qkv_terms_of_an_untouched_init_have_no_hidden_term_on_the_first_frame():
    torch.manual_seed(0)
    _, h_term = rm.lessons.analysis.qkv_terms(rm.create_model("rvit_s"), torch.rand(3, 3, 32, 32))
    assert (h_term[0] == 0).all() and (h_term[1:] > 0).all()


def test_attention_maps_are_the_gates_softmax_weights_and_h_changes_them():
    model, video = mini_rvit_and_clip()
    maps = rm.lessons.analysis.attention_maps(model, video)
    without = rm.lessons.analysis.attention_maps(model, video, hidden=False)
    assert maps.shape == (4, 2, 4, 17, 17)
    torch.testing.assert_close(maps.sum(-1), torch.ones(4, 2, 4, 17))
    blk = model.blocks[0]
    with torch.no_grad():       # frame 0, layer 1: the same weights as SDPA's, computed by hand
        q, k, _ = blk.attn.qkv(blk.norm1(model.embed(video[:1]))).view(17, 3, 4, 16).unbind(1)
    torch.testing.assert_close(without[0, 0], (torch.einsum("nhd,mhd->hnm", q, k) / 4).softmax(-1))
    assert (maps[1:] - without[1:]).abs().amax() > 0.01
    with pytest.raises(ValueError, match="RViT with softmax"):
        rm.lessons.analysis.attention_maps(rm.create_model("vit"), video)
    with pytest.raises(ValueError, match="one clip"):
        rm.lessons.analysis.qkv_terms(model, video[None])


def test_past_change_is_zero_for_a_frame_vit_and_grows_with_the_changed_past_for_an_rvit():
    torch.manual_seed(0)
    video, donor = torch.rand(3, 5, 3, 32, 32), torch.rand(3, 5, 3, 32, 32)
    assert (rm.lessons.analysis.past_change(rm.create_model("vit"), video, donor) == 0).all()
    model = rm.create_model("rvit_s").train()
    change = rm.lessons.analysis.past_change(model, video, donor)
    assert change.shape == (3, 4) and (change > 0).all()
    assert model.training
    # lag 1 replaces frames 0..3, the whole past: the same as feature_change at the last frame
    edited = torch.cat([donor[:, :4], video[:, 4:]], dim=1)
    torch.testing.assert_close(change[:, 0], feature_change(model, video, edited)[:, 4])
    with pytest.raises(ValueError, match="T >= 2"):
        rm.lessons.analysis.past_change(model, video[:, :1], donor[:, :1])


def test_memoryless_states_are_each_frame_streamed_alone():
    torch.manual_seed(0)
    model = rm.create_model("rvit_s")
    video = torch.rand(5, 3, 32, 32)
    alone = rm.lessons.analysis.memoryless_states(model, video)
    for t in (0, 3):
        torch.testing.assert_close(alone[t], trace(model, video[t:t + 1])["states"][0])
    assert not torch.allclose(alone[3], trace(model, video)["states"][3])  # the past is gone


def test_block_contrast_is_within_minus_across_similarity():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.6, 0.8])
    states = torch.stack([a, a, a, b, b])
    assert abs(rm.lessons.analysis.block_contrast(states, 3) - (1 - 0.6)) < 1e-6
    assert abs(rm.lessons.analysis.block_contrast(torch.ones(6, 2), 3)) < 1e-12
    with pytest.raises(ValueError, match="2 frames"):
        rm.lessons.analysis.block_contrast(states, 4)
