import pytest
import torch

import rvit_mini as rm
from rvit_mini.analysis import change_point, switch_delay, trace


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


def test_memoryless_states_are_each_frame_streamed_alone():
    torch.manual_seed(0)
    model = rm.create_model("rvit_s")
    video = torch.rand(5, 3, 32, 32)
    alone = rm.analysis.memoryless_states(model, video)
    for t in (0, 3):
        torch.testing.assert_close(alone[t], trace(model, video[t:t + 1])["states"][0])
    assert not torch.allclose(alone[3], trace(model, video)["states"][3])  # the past is gone


def test_block_contrast_is_within_minus_across_similarity():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.6, 0.8])
    states = torch.stack([a, a, a, b, b])
    assert abs(rm.analysis.block_contrast(states, 3) - (1 - 0.6)) < 1e-6
    assert abs(rm.analysis.block_contrast(torch.ones(6, 2), 3)) < 1e-12
    with pytest.raises(ValueError, match="2 frames"):
        rm.analysis.block_contrast(states, 4)
