"""Notebook 02's lesson module (rvit_mini.lessons.gate): the reference gate and loop are the
library's, a hand-written student's mistakes are named, the memory experiment's donors share
(or do not share) the clip's scene, and the playground numbers its layers from 1."""

import numpy as np
import pytest
import torch
from torch import nn

import rvit_mini as rm
from rvit_mini.data import render_clip
from rvit_mini.lessons import gate
from rvit_mini.lessons.check import RESULTS


def test_the_reference_gate_with_library_weights_is_the_library_gate():
    lib = gate.random_library_gate(64, 4, seed=0)
    mine = gate.GateFromScratch(64, 4)
    assert gate.load_gate(mine, lib) == []
    x, h = torch.randn(2, 17, 64), torch.randn(2, 17, 64)
    with torch.no_grad():
        assert torch.allclose(mine(x, h), lib(x, h), atol=1e-5)


def test_the_reference_loop_is_the_library_rvit():
    for model, video in gate.loop_inputs():
        with torch.no_grad():
            assert torch.allclose(gate.rvit_loop(model, video), model(video), atol=1e-5)


class StudentGate(nn.Module):
    """A student's gate, written their own way (fused attention), with W_h given a bias."""

    def __init__(self, dim, heads, mlp_ratio=4.0):
        super().__init__()
        self.heads = heads
        self.ln_x, self.ln_h, self.ln_mlp = (nn.LayerNorm(dim, eps=1e-6) for _ in range(3))
        self.w_x_q, self.w_x_k, self.w_x_v = (nn.Linear(dim, dim) for _ in range(3))
        self.w_h_q, self.w_h_k, self.w_h_v = (nn.Linear(dim, dim) for _ in range(3))  # bias!
        self.w_o = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(),
                                 nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x, h):
        xn, hn = self.ln_x(x), self.ln_h(h)
        q, k, v = (wx(xn) + wh(hn) for wx, wh in ((self.w_x_q, self.w_h_q),
                                                  (self.w_x_k, self.w_h_k),
                                                  (self.w_x_v, self.w_h_v)))
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))
        a = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        z = x + self.w_o(a.transpose(1, 2).flatten(2))
        return z + self.mlp(self.ln_mlp(z))


def test_a_hand_written_gate_with_a_bias_on_w_h_is_named(capsys):
    assert gate.GATE.check(StudentGate) is gate.GateFromScratch
    assert capsys.readouterr().out.strip() == (
        "not yet: the gate: W_h^Q, W_h^K, W_h^V have a bias: the equations give them none "
        "(with one, h = 0 would no longer give a ViT block)")


def test_the_same_gate_without_the_bias_is_right_and_handed_back(capsys):
    class Fixed(StudentGate):
        def __init__(self, dim, heads, mlp_ratio=4.0):
            super().__init__(dim, heads, mlp_ratio)
            self.w_h_q, self.w_h_k, self.w_h_v = (nn.Linear(dim, dim, bias=False)
                                                  for _ in range(3))
    assert gate.GATE.check(Fixed) is Fixed
    assert capsys.readouterr().out.strip() == "right: the gate (2 inputs)"


def test_the_notebooks_skeleton_is_not_written_and_a_gate_without_w_h_is_named(capsys):
    class Skeleton(StudentGate):
        def __init__(self, dim, heads, mlp_ratio=4.0):
            super().__init__(dim, heads, mlp_ratio)
            self.w_h_q = self.w_h_k = self.w_h_v = None

        def forward(self, x, h):
            raise NotImplementedError
    assert gate.GATE.check(Skeleton) is gate.GateFromScratch
    assert capsys.readouterr().out.startswith("not written yet: the gate")
    assert RESULTS["the gate"] == "not written"

    class NoWh(StudentGate):
        def __init__(self, dim, heads, mlp_ratio=4.0):
            super().__init__(dim, heads, mlp_ratio)
            self.w_h_q = self.w_h_k = self.w_h_v = None
    gate.GATE.check(NoWh)
    assert capsys.readouterr().out.strip().startswith(
        "not yet: the gate raises ValueError: the gate has no w_h_q")


def test_a_hand_written_loop_that_resets_the_state_every_frame_is_named(capsys):
    def my_loop(model, video):
        feats = []
        for t in range(video.shape[1]):
            h = model.init_state(len(video))  # inside the frame loop: the mistake
            x = model.embed(video[:, t])
            for blk, state in zip(model.blocks, h):
                x = blk(x, state)
            feats.append(model.pool(x))
        return model.head(torch.stack(feats, 1).mean(1))
    assert gate.LOOP.check(my_loop) is gate.LOOP.reference
    assert capsys.readouterr().out.strip().startswith(
        "not yet: the double loop: the state is not carried")


def test_with_gates_runs_a_trained_rvit_through_scratch_gates():
    trained = rm.load_pretrained("rvit")
    scratch = gate.with_gates(trained, gate.GateFromScratch)
    video = torch.rand(2, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(gate.rvit_loop(scratch, video), trained(video), atol=1e-4)
    assert all(isinstance(b, gate.GateFromScratch) for b in scratch.blocks)
    assert all(isinstance(b, rm.AttentionGate) for b in trained.blocks)  # untouched


def test_memory_by_hand_names_a_hand_written_off_by_one(capsys):
    def mine(model, video, donor, k):  # the donor's frames 0..t-k+1: one too many
        t = video.shape[1] - 1
        edited = torch.cat([donor[:, :t - k + 2], video[:, t - k + 2:]], dim=1)
        f, g = model.forward_features(video)[:, t], model.forward_features(edited)[:, t]
        return (g - f).norm(dim=-1) / f.norm(dim=-1)
    gate.PAST.check(mine)
    assert capsys.readouterr().out.strip().startswith(
        "not yet: memory by hand: one frame too many comes from the donor")


def test_a_scene_seed_gives_every_action_one_background():
    background = []
    for action in ("sit_down", "walk_left", "jump", "stand_up"):
        frames = render_clip(action, 8, 32, seed=[1, 0], scene_seed=[2, 0]).astype(int)
        background.append(frames[0, :3])  # the top rows: sky, no figure
    for other in background[1:]:
        assert np.abs(other - background[0]).mean() < 8  # the pixel noise, nothing more
    elsewhere = render_clip("sit_down", 8, 32, seed=[1, 0], scene_seed=[3, 0]).astype(int)
    assert np.abs(elsewhere[0, :3] - background[0]).mean() > 30
    # without a scene seed, a clip is what it always was: its seed alone
    assert np.array_equal(render_clip("jump", 4, 32, seed=5), render_clip("jump", 4, 32, seed=5))


def test_the_memory_donors_share_the_scene_or_the_action_and_nothing_else():
    memory = gate.memory_clips(num_clips=18, num_frames=4)
    clips, donors = memory["clips"], memory["donors"]
    assert clips.shape == (18, 4, 3, 32, 32) and memory["labels"].tolist() == [i % 9 for i in range(18)]
    same_scene, other_scene = (donors[name] for name in gate.DONORS)
    assert gate.background_agreement(clips, same_scene) > 0.6
    assert gate.background_agreement(clips, other_scene) < 0.1


def test_paired_difference_and_the_predictions_truths():
    mean, low, high = gate.paired_difference(torch.full((50,), 0.3), torch.zeros(50))
    assert mean == pytest.approx(0.3) and low == pytest.approx(0.3) and high == pytest.approx(0.3)
    mean, low, high = gate.paired_difference(torch.arange(100.0), torch.zeros(100))
    assert low < mean < high and mean == pytest.approx(49.5)
    assert gate.SHUFFLE.truth() == "only RViT"
    assert gate.H_ZERO.truth() == "no"


def test_the_playground_numbers_its_layers_from_one():
    fig = gate.draw_gate_memory(layer=1)
    titles = " | ".join(ax.get_title() for ax in fig.get_axes())
    assert "layer l = 1 of 3 (from 1, at the bottom)" in titles


def test_the_playgrounds_prediction_panel_names_the_run_it_draws():
    fig = gate.draw_gate_memory(layer=2)
    belief = fig.get_axes()[2]
    labels = [t.get_text() for t in belief.get_legend().get_texts()]
    assert labels == ["as shot", "edited", "edited, h reset after the edit"]
