"""Notebook 08's lesson module (rvit_mini.lessons.successor): its checks name what a student's
hand-written RG-LRU step, linear scan or chunked scan gets wrong, its helpers measure what the
notebook says (an affine update, the scan's rounds, its memory), and its playground redraws."""

import matplotlib
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")

import rvit_mini as rm  # noqa: E402
from rvit_mini.lessons import successor as lesson  # noqa: E402
from rvit_mini.model.trecvit import RGLRU, linear_scan  # noqa: E402


def said(piece, candidate) -> str:
    return piece.verdict(candidate)[1]


# -- hand-written student versions, not the module's variants -------------------------------------

def student_step(rglru, v, h, scale="sqrt", r_gate="recurrence"):
    i = torch.sigmoid(rglru.input_gate(v))
    r = torch.sigmoid((rglru.recurrence_gate if r_gate == "recurrence" else rglru.input_gate)(v))
    a = torch.sigmoid(rglru.lam) ** (lesson.C * r)  # σ(Λ)^(c r), without the logarithm
    factor = torch.sqrt(1 - a ** 2) if scale == "sqrt" else 1 - a
    return a * h + factor * i * v


def test_a_step_written_without_the_logarithm_is_right():
    assert said(lesson.STEP, student_step) == "right: the RG-LRU step (2 inputs)"


def test_a_step_with_1_minus_a_for_its_scale_is_told_where_it_differs():
    line = said(lesson.STEP, lambda g, v, h: student_step(g, v, h, scale="1 - a"))
    assert line.startswith("not yet: the RG-LRU step: ") and "largest difference is at index" in line


def test_a_step_that_uses_the_input_gate_twice_is_not_right():
    line = said(lesson.STEP, lambda g, v, h: student_step(g, v, h, r_gate="input"))
    assert line.startswith("not yet: the RG-LRU step: ")


def test_a_step_with_the_decay_written_as_sigma_times_r_is_named():
    def slip(rglru, v, h):
        r = torch.sigmoid(rglru.recurrence_gate(v))
        a = torch.sigmoid(rglru.lam) * r
        return a * h + torch.sqrt(1 - a ** 2) * torch.sigmoid(rglru.input_gate(v)) * v
    assert said(lesson.STEP, slip).endswith("the recurrence gate goes in the exponent, "
                                            "a_t = σ(Λ)^(c r_t)")


def test_a_scan_written_as_a_loop_is_right_but_makes_a_multiplication_per_frame():
    assert said(lesson.SCAN, lesson.loop_scan) == "right: the linear scan (4 inputs)"
    assert lesson.multiplications(lesson.loop_scan, 64) == 64
    assert lesson.multiplications(linear_scan, 64) == 1 + 2 * 6  # h0 folded in, then 2 per round


def test_a_scan_that_updates_a_before_b_is_not_right():
    def a_first(a, b, h0):
        b = torch.cat([b[:, :1] + a[:, :1] * h0[:, None], b[:, 1:]], dim=1)
        k = 1
        while k < b.shape[1]:
            a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], dim=1)
            b = torch.cat([b[:, :k], b[:, k:] + a[:, k:] * b[:, :-k]], dim=1)
            k *= 2
        return b
    assert said(lesson.SCAN, a_first).startswith("not yet: the linear scan: ")


def test_a_scan_that_forgets_h0_is_named():
    def no_h0(a, b, h0):
        return lesson.loop_scan(a, b, torch.zeros_like(h0))
    assert said(lesson.SCAN, no_h0).endswith("the first step is h_0 = a_0 h_{-1} + b_0")


def test_a_chunked_scan_that_scans_chunk_after_chunk_is_right():
    def one_after_another(a, b, h0, chunk):
        out, h = [], h0
        for start in range(0, a.shape[1], chunk):
            states = linear_scan(a[:, start:start + chunk], b[:, start:start + chunk], h)
            out.append(states)
            h = states[:, -1]
        return torch.cat(out, dim=1)
    assert said(lesson.CHUNKED, one_after_another) == "right: the scan in chunks (3 inputs)"


def test_a_chunked_scan_that_adds_the_carried_state_undecayed_is_named():
    def undecayed(a, b, h0, chunk):  # the chunk ends carried right, the fix-up without A_j
        n = a.shape[1] // chunk
        locals_, h = [], h0
        for c in range(n):
            frames = slice(c * chunk, (c + 1) * chunk)
            local = linear_scan(a[:, frames], b[:, frames], torch.zeros_like(h0))
            locals_.append(local + h[:, None])  # should be local + A_j h
            h = local[:, -1] + a[:, frames].prod(dim=1) * h
        return torch.cat(locals_, dim=1)
    assert said(lesson.CHUNKED, undecayed).endswith("A_j the product of the chunk's decays up to j")


def test_the_shut_gate_prediction(capsys):
    assert lesson.SHUT.check("keeps h and ignores the input")
    assert not lesson.SHUT.check("forgets h and takes the input")
    assert capsys.readouterr().out.splitlines()[-1].startswith("not yet: a shut recurrence gate: set")


# -- the helpers measure what the notebook says ---------------------------------------------------

def test_the_superposition_gap_is_zero_for_an_affine_update_and_not_for_a_gate():
    a, b = torch.rand(3, 8), torch.randn(3, 8)
    assert lesson.superposition_gap(lambda x, h: a * h + b + x, torch.randn(3, 8),
                                    torch.randn(3, 8)) < 1e-6
    assert lesson.superposition_gap(lambda x, h: F.layer_norm(h + x, (8,)), torch.randn(3, 8),
                                    torch.randn(3, 8)) > 0.1


def test_after_log2_t_rounds_every_state_holds_frames_0_to_t():
    rounds = lesson.spans(8)
    assert [k for k, _ in rounds] == [1, 2, 4]
    assert rounds[-1][1] == [(0, t) for t in range(8)]
    assert rounds[0][1][5] == (4, 5)


def test_the_step_counts():
    assert lesson.sequential_steps(3, 8) == {"RViT, plain loop": 24, "RViT, wavefront": 10,
                                             "TRecViT, scan": 12}
    loop, scan = lesson.scan_products(8)
    assert (loop, scan) == (8, 8 + 2 * (7 + 6 + 4))


def test_the_chunked_scan_keeps_less_for_backward_than_one_scan_and_more_than_the_loop():
    one = lesson.saved_for_backward(linear_scan)
    chunked = lesson.saved_for_backward(lambda a, b, h0: lesson.chunked_variant(a, b, h0, 16))
    assert lesson.saved_for_backward(lesson.loop_scan) < chunked < one


def test_measured_decays_leave_the_model_as_it_was():
    model = rm.load_pretrained("trecvit")
    videos = torch.rand(2, 5, 3, 32, 32)
    before = model(videos)
    decays = lesson.measured_decays(model, videos)
    assert len(decays) == len(model.lru_blocks)
    assert all(d.numel() == 2 * model.num_tokens * 4 * model.cfg.dim for d in decays)
    assert all(bool(((d > 0) & (d < 1)).all()) for d in decays)
    assert all("coefficients" not in vars(blk.rg_lru) for blk in model.lru_blocks)
    assert torch.equal(model(videos), before)


def test_the_half_life_of_a_half_is_one_frame_and_of_one_never():
    assert lesson.half_life(0.5) == pytest.approx(1.0)
    assert lesson.half_life(1.0) == float("inf")


def test_a_shut_gate_keeps_the_state_in_the_library_step():
    assert lesson.shut_gate_behaviour() == lesson.SHUT_CHOICES[0]
    rglru = RGLRU(8, 2, min_rad=0.6)
    assert isinstance(rglru.step(torch.randn(2, 8), torch.randn(2, 8),
                                 torch.zeros(2, dtype=torch.bool)), torch.Tensor)


def test_the_playground_redraws_when_a_slider_moves():
    tree = lesson.playground(live=True)
    controls, image = tree.children[0].children, tree.children[1]
    first = image.value
    controls[1].value = 0.0  # r = 0: nothing decays
    assert image.value != first
    controls[0].value = 0.99
    assert image.value != first
    assert type(lesson.playground(live=False)).__name__ == "Picture"


def test_stream_hits_score_every_frame_of_every_stream_and_the_shown_ceiling():
    right = lesson.stream_hits({"vit_online": rm.load_pretrained("vit_online")}, num_streams=2,
                               num_frames=20)
    assert set(right) == {"vit_online", "shown"}
    assert all(r.shape == (2, 20) and r.dtype == torch.bool for r in right.values())
    assert right["shown"].float().mean() < 1  # a new action's first frames still show the last
