"""Notebook 06, the hidden state at a boundary: the switch delay that counts the frames before the
boundary, the checks of the pieces the student writes, the lag-matched contrast, the intervals,
the batched runs the notebook measures with, and the playground's delay."""

import math

import pytest
import torch

from rvit_mini import online
from rvit_mini.execution.stream import trace
from rvit_mini.lessons import analysis
from rvit_mini.lessons import boundary as lesson
from rvit_mini.model import create_model

A, B, C = 0, 1, 2
LABELS = torch.tensor([A] * 5 + [B] * 5)  # boundary at frame 5


def delay(*predictions):
    return online.two_sided_switch_delay(torch.tensor(predictions), LABELS)


def test_a_recogniser_right_on_every_frame_switches_in_0_frames():
    assert delay(A, A, A, A, A, B, B, B, B, B) == 0


def test_wrong_frames_just_before_the_boundary_count_as_frames_not_yet_switched():
    assert delay(A, A, A, C, C, B, B, B, B, B) == 2
    assert delay(A, A, A, C, C, B, A, B, B, B) == 4     # the notebook's worked example
    assert delay(A, A, A, B, B, B, B, B, B, B) == 2     # naming the second action early is wrong


def test_a_recogniser_that_never_named_the_first_action_counts_from_the_clip_start():
    always_b = delay(B, B, B, B, B, B, B, B, B, B)
    assert always_b == 5
    assert online.switch_delay(torch.full((10,), B), 5, B) == 0  # the one-sided blind spot


def test_a_prediction_that_never_settles_has_no_delay():
    assert delay(A, A, A, A, A, B, B, B, B, A) is None


def test_the_two_sided_delay_refuses_labels_that_are_not_two_actions():
    with pytest.raises(ValueError, match="two actions"):
        online.two_sided_switch_delay(torch.zeros(6, dtype=torch.long), torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="two actions"):
        online.two_sided_switch_delay(torch.zeros(6, dtype=torch.long), torch.tensor([0, 0, 1, 1, 2, 2]))


def test_the_readme_one_sided_switch_delay_is_unchanged():
    p = torch.tensor([0, 0, 1, 0, 1, 0, 1, 1, 1])
    assert online.switch_delay(p, boundary=3, new_label=1) == 3
    assert online.switch_delay(p, boundary=6, new_label=1) == 0


def test_the_reference_variant_of_the_switch_delay_is_the_library_function():
    for args in lesson.switch_inputs():
        assert lesson.switch_delay(*args) == online.two_sided_switch_delay(*args)


def test_a_hand_written_switch_delay_that_counts_the_wrong_frames_is_told_so(capsys):
    def wrong_frames(predictions, labels):   # a student's idea: the frames it got wrong
        return int((predictions != labels).sum())
    assert lesson.SWITCH_DELAY.check(wrong_frames) is lesson.SWITCH_DELAY.reference
    assert capsys.readouterr().out == "not yet: the switch delay: returns 3, which is not it\n"


def test_a_hand_written_switch_delay_without_the_none_case_is_told_where_it_fails(capsys):
    def crashes(predictions, labels):
        boundary = int((labels != labels[0]).nonzero()[0])
        settled = [t for t in range(boundary, len(predictions))
                   if bool((predictions[t:] == labels[-1]).all())][0]   # IndexError if never
        return settled - boundary
    lesson.SWITCH_DELAY.check(crashes)
    assert capsys.readouterr().out.startswith("not yet: the switch delay raises IndexError")


def test_a_hand_written_change_point_that_maximises_the_cost_is_told_so(capsys):
    def worst_split(states):
        x = states.flatten(1).double()
        cost = {b: sum(((s - s.mean(0)) ** 2).sum().item() for s in (x[:b], x[b:]))
                for b in range(1, len(x))}
        return max(cost, key=cost.get)
    lesson.CHANGE_POINT.check(worst_split)
    out = capsys.readouterr().out
    assert out.startswith("not yet: the change point: returns ") and out.endswith(", which is not it\n")


def test_the_change_point_variants_agree_with_the_library_where_they_should():
    for (states,) in lesson.change_point_inputs():
        assert lesson.change_point(states) == online.change_point(states)


def test_a_smooth_state_without_a_boundary_has_a_lag_contrast_of_0():
    angle = 0.3 * torch.arange(12.0)  # a unit vector turning at a constant speed
    states = torch.stack([angle.cos(), angle.sin()], 1)[None]
    assert lesson.lag_contrast(states, torch.tensor([6]), range(1, 5)).abs().max() < 1e-6
    # the unmatched block contrast calls the same smooth state a boundary
    assert analysis.block_contrast(states[0], 6) > 0.1


def test_a_state_that_jumps_at_the_boundary_has_a_positive_lag_contrast():
    states = torch.tensor([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6)
    contrast = lesson.lag_contrast(states[None], torch.tensor([6]), range(1, 4))
    assert (contrast > 0.5).all()
    with pytest.raises(ValueError, match="lags must be 1 to T - 2"):
        lesson.lag_contrast(states[None], torch.tensor([6]), [11])


def test_wilson_intervals_are_honest_at_0_and_n():
    lo, hi = lesson.wilson(0, 20)
    assert lo == 0 and math.isclose(hi, 0.1611, abs_tol=1e-4)
    lo, hi = lesson.wilson(17, 20)
    assert math.isclose(lo, 0.6396, abs_tol=1e-4) and math.isclose(hi, 0.9476, abs_tol=1e-4)
    assert lesson.rate([True] * 17 + [False] * 3) == "17/20 = 85% [64%, 95%]"


def test_a_paired_interval_holds_its_mean_and_is_seeded():
    after, before = torch.arange(30.0) % 7, torch.arange(30.0) % 5
    mean, lo, hi = lesson.paired(after, before)
    assert lo <= mean <= hi and math.isclose(mean, float((after - before).mean()), rel_tol=1e-6)
    assert lesson.paired(after, before) == (mean, lo, hi)
    assert lesson.paired(after + 1, after) == (1.0, 1.0, 1.0)


def test_a_claim_prints_and_fails_loudly(capsys):
    lesson.claim("two is more than one", 2 > 1)
    assert capsys.readouterr().out == "two is more than one: True\n"
    with pytest.raises(AssertionError, match="no longer holds: one is more than two"):
        lesson.claim("one is more than two", 1 > 2)


@pytest.fixture(scope="module")
def two_clips():
    torch.manual_seed(0)
    model = create_model("rvit", num_classes=9).eval()
    clips = online.composite_clips(clips_per_pair=2, num_frames=12, seed=0,
                                   pairs=[("sit_down", "drink")])
    return model, *lesson.flat(clips)


def test_a_batched_run_is_the_trace_of_each_clip(two_clips):
    model, videos, _, bounds, pairs = two_clips
    out = lesson.run(model, videos)
    assert pairs == ["sit_down > drink"] * 2 and out["states"].shape == (2, 12, 17, 64)
    for i, video in enumerate(videos):
        one = trace(model, video)
        assert torch.allclose(out["states"][i], one["states"], atol=1e-5)
        assert torch.allclose(out["logits"][i], one["frame_logits"], atol=1e-5)
        off = lesson.run(model, videos, memory=False)["states"][i]
        assert torch.allclose(off, analysis.memoryless_states(model, video), atol=1e-5)


def test_a_reset_at_the_boundary_is_a_fresh_start_there(two_clips):
    model, videos, _, bounds, _ = two_clips
    reset = lesson.run(model, videos, resets=lesson.at(bounds, 12))["states"]
    for i, (video, b) in enumerate(zip(videos, bounds.tolist())):
        assert torch.allclose(reset[i, b:], trace(model, video[b:])["states"], atol=1e-5)
    carried = lesson.run(model, videos)["states"]
    curves = lesson.memory_curves(carried, reset, bounds, frames=3)
    assert curves.shape == (2, 3) and (curves > 0).all()
    assert lesson.memory_curves(carried, carried, bounds, frames=3).abs().max() == 0


def test_accuracy_on_the_second_action_counts_only_its_frames():
    bounds = torch.tensor([2, 3])
    frames = lesson.frames_of_second(bounds, 5, 0, 2)
    assert frames.tolist() == [[False, False, True, True, False], [False, False, False, True, True]]
    labels = torch.tensor([[0, 0, 1, 1, 1], [0, 0, 0, 1, 1]])
    pred = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 1, 0]])
    assert lesson.accuracy(pred, labels, frames).tolist() == [0.5, 0.5]


def test_the_playground_shows_the_two_sided_switch_delay():
    fig = lesson.draw_boundary("walk_right > sit_down", 12)
    titles = [ax.get_title() for ax in fig.subfigs[0].axes]
    vit = next(t for t in titles if t.startswith("vit_online"))
    video, labels, _ = lesson._composite("walk_right > sit_down", 12)
    pred, _ = lesson._states_and_predictions("vit_online", video)
    two_sided = online.two_sided_switch_delay(pred, labels)
    assert vit == f"vit_online: switch delay {lesson.delay_text(two_sided)}"
    assert two_sided > online.switch_delay(pred, 12, labels[-1])
