"""Notebook 07's lesson module (rvit_mini.lessons.wavefront): its checks name what a student's
hand-written wavefront or batched diagonal gets wrong, its references are the plain loop's
arithmetic, its timing helpers pair their rounds, and its playground numbers gates from 0."""

import re
from pathlib import Path

import matplotlib
import nbformat
import pytest
import torch

matplotlib.use("Agg")

import rvit_mini as rm  # noqa: E402
from rvit_mini.lessons import check, schedules  # noqa: E402
from rvit_mini.lessons import wavefront as lesson  # noqa: E402
from rvit_mini.lessons.check import same  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_recurrence_and_its_cost.ipynb"


def said(piece, candidate) -> str:
    return piece.verdict(candidate)[1]


# -- hand-written student versions, not the module's variants -------------------------------------

def plain_loop_wavefront(model, video):
    """The plain loop, written out: right features, frame by frame."""
    state, features = model.init_state(len(video)), []
    for t in range(video.shape[1]):
        x = model.embed(video[:, t])
        for layer, gate in enumerate(model.blocks):
            x = state[layer] = gate(x, state[layer])
        features.append(model.pool(x))
    return torch.stack(features, dim=1)


def layer_by_layer_wavefront(model, video):
    xs = [model.embed(video[:, t]) for t in range(video.shape[1])]
    for gate in model.blocks:
        h, out = torch.zeros_like(xs[0]), []
        for x in xs:
            h = gate(x, h)
            out.append(h)
        xs = out
    return torch.stack([model.pool(x) for x in xs], dim=1)


def latest_per_gate_wavefront(model, video, bottom_up_in_place=True, gate0_from_latest=False,
                              detach_state=False):
    """A wavefront that keeps each gate's latest output in a list, the way students write it."""
    T, L = video.shape[1], len(model.blocks)
    latest = model.init_state(len(video))
    features = []
    for d in range(T + L - 1):
        made = {}
        for layer in range(L):
            t = d - layer
            if not 0 <= t < T:
                continue
            if layer == 0 and not gate0_from_latest:
                x = model.embed(video[:, t])
            else:
                x = latest[layer - 1]
            h = latest[layer].detach() if detach_state else latest[layer]
            y = model.blocks[layer](x, h)
            if bottom_up_in_place:
                latest[layer] = y
            else:
                made[layer] = y
        for layer, y in made.items():
            latest[layer] = y
        if d >= L - 1:
            features.append(model.pool(latest[L - 1]))
    return torch.stack(features, dim=1)


def test_a_wavefront_that_stores_each_output_at_once_bottom_up_reads_the_next_frame():
    line = said(lesson.WAVEFRONT, latest_per_gate_wavefront)
    assert line == ("not yet: the wavefront: gate l reads gate l - 1's output on frame t + 1, made "
                    "earlier on the same diagonal: a cell reads only what diagonal d - 1 made "
                    "(store a diagonal's outputs after all its cells have run)")


def test_the_same_wavefront_storing_after_the_diagonal_is_right():
    def right(model, video):
        return latest_per_gate_wavefront(model, video, bottom_up_in_place=False)
    assert said(lesson.WAVEFRONT, right) == "right: the wavefront (2 inputs)"


def test_gate_0_reading_latest_minus_one_is_named():
    def wrong(model, video):
        return latest_per_gate_wavefront(model, video, bottom_up_in_place=False,
                                         gate0_from_latest=True)
    assert said(lesson.WAVEFRONT, wrong).startswith(
        "not yet: the wavefront: gate 0 reads the top gate's output (with l = 0, index l - 1")


def test_a_detached_state_is_caught_by_the_gradients():
    def detached(model, video):
        return latest_per_gate_wavefront(model, video, bottom_up_in_place=False, detach_state=True)
    line = said(lesson.WAVEFRONT, detached)
    assert line.startswith("not yet: the wavefront: the output is right but the gradients differ")
    assert "detached" in line


def test_the_plain_loop_and_the_layer_by_layer_loop_are_right_results_in_the_wrong_order():
    assert said(lesson.WAVEFRONT, plain_loop_wavefront) == (
        "not yet: the wavefront: right result, but the cells run frame by frame, as the plain loop "
        "runs them (T x L steps): run every cell of anti-diagonal d = l + t on step d")
    assert "the cells run layer by layer" in said(lesson.WAVEFRONT, layer_by_layer_wavefront)


def per_cell(weights, first, x, h, attend):
    """The diagonal cell by cell through the batched reference: right, but not batched."""
    return torch.cat([lesson.batched_diagonal(weights, first + i, x[i:i + 1], h[i:i + 1], attend)
                      for i in range(len(x))])


def test_a_diagonal_looping_over_its_cells_is_told_to_batch():
    assert said(lesson.DIAGONAL, per_cell).startswith(
        "not yet: the batched diagonal: right result, but 24 matrix products and attention calls "
        "for 4 cells where 1 cell takes 6")


def student_diagonal(weights, first, x, h, attend, rows=None, bias_dims=2):
    """A batched diagonal written on 4-D tensors with torch.matmul (not the module's code)."""
    n = len(x)
    rows = rows if rows is not None else slice(first, first + n)
    w = {k: v[rows] for k, v in weights.items()}

    def lin(t, name, bias=True):
        out = torch.matmul(t, w[name + ".weight"].unsqueeze(1).mT)  # (L', B, N, out)
        if not bias:
            return out
        b = w[name + ".bias"]
        return out + (b[:, None, None] if bias_dims == 2 else b[:, None])

    def ln(t, name):
        mean, var = t.mean(-1, keepdim=True), t.var(-1, keepdim=True, unbiased=False)
        return (t - mean) / torch.sqrt(var + 1e-6) * w[name + ".weight"][:, None, None] \
            + w[name + ".bias"][:, None, None]

    qkv = lin(ln(x, "norm1"), "attn.qkv") + lin(ln(h, "norm_h"), "qkv_h", bias=False)
    z = x + lin(attend(qkv), "attn.proj")
    return z + lin(torch.nn.functional.gelu(lin(ln(z, "norm2"), "mlp.fc1")), "mlp.fc2")


def test_a_hand_written_diagonal_is_right_and_its_slips_are_named():
    assert said(lesson.DIAGONAL, student_diagonal) == "right: the batched diagonal (4 inputs)"
    assert said(lesson.DIAGONAL, lambda w, f, x, h, a: student_diagonal(w, f, x, h, a, bias_dims=1)) \
        .startswith("not yet: the batched diagonal: clip b gets the bias of cell b")
    assert said(lesson.DIAGONAL, lambda w, f, x, h, a: student_diagonal(
        w, f, x, h, a, rows=slice(0, len(x)))).startswith(
        "not yet: the batched diagonal: the weights are those of gates 0 .. L' - 1")


def test_stacked_weights_cut_from_the_graph_are_caught():
    def detached(gates):
        return {name: torch.stack([g.get_parameter(name).detach() for g in gates])
                for name, _ in gates[0].named_parameters()}
    assert said(lesson.STACK, detached).startswith(
        "not yet: the stacked weights: the output is right but the gradients differ")


def test_a_schedule_of_the_wrong_shape_says_so():
    def transposed(num_layers, num_frames):
        return lesson.layer_by_layer_schedule(num_layers, num_frames).T
    assert "returns shape (4, 3), not the (3, 4) the docstring describes" in said(
        lesson.SCHEDULE, transposed)


# -- the references are the plain loop's arithmetic -----------------------------------------------

def test_the_references_give_the_plain_loops_features_and_gradients():
    for model, video in lesson.wavefront_inputs():
        plain = check.gradients(lambda m, v: m.forward_features(v), (model, video))
        for reference in (lesson.wavefront, lesson.batched_wavefront):
            mine = check.gradients(reference, (model, video))
            assert same(mine[0], plain[0], 1e-5, 1e-4)
            assert mine[1].keys() == plain[1].keys()
            assert all(check.alike(mine[1][k], g, 1e-5, 1e-4) for k, g in plain[1].items())


def test_the_batched_diagonal_is_the_gates_called_one_by_one_on_every_ramp():
    torch.manual_seed(0)
    gates = lesson.perturbed(rm.create_model("rvit", depth=4, dim=32, num_heads=2), 0).blocks
    weights = lesson.stack_weights(gates)
    for _, first, x, h, _ in lesson.diagonal_inputs():
        expected = lesson.per_cell_diagonal(gates, first, x, h)
        assert same(lesson.batched_diagonal(weights, first, x, h, gates[0].attn.attend),
                    expected, 1e-5, 1e-4)


def test_a_training_step_through_the_library_wavefront_is_the_plain_loops():
    torch.manual_seed(0)
    model = rm.create_model("rvit", depth=3)
    wave = rm.accelerate(model, execution="wavefront")
    video, target = torch.rand(2, 4, 3, 32, 32), torch.tensor([0, 1])
    plain = lesson.training_step(model, model, video, target)
    assert lesson.same_step(lesson.training_step(wave, model, video, target), plain)
    wrong = lesson.training_step(lambda v: model(v) * 1.01, model, video, target)
    assert not lesson.same_step(wrong, plain)


def test_the_predictions_truths():
    assert lesson.VALID.truth() == "yes"
    assert lesson.GAINS_MORE.truth() == "RViT-XL (6 gates), 8 frames"
    assert not schedules.respects_dependencies(lesson.layer_by_layer_schedule(3, 4).flip(1))


# -- measuring ------------------------------------------------------------------------------------

def test_time_in_turn_pairs_the_rounds_and_speedup_reports_their_spread():
    now = [0.0]

    def takes(*durations):
        durations = list(durations)

        def run():
            now[0] += durations.pop(0)
        return run
    seconds = lesson.time_in_turn({"slow": takes(9, 2, 4, 2), "fast": takes(9, 1, 1, 2)},
                                  repeats=3, clock=lambda: now[0])
    assert seconds == {"slow": [2, 4, 2], "fast": [1, 1, 2]}
    assert lesson.speedup(seconds, "slow", "fast") == (2.0, 1.0, 4.0)


def test_a_claim_prints_one_line_and_fails_when_it_no_longer_holds(capsys):
    lesson.claim("two is more than one", 2 > 1)
    assert capsys.readouterr().out == "two is more than one: True\n"
    with pytest.raises(AssertionError, match="no longer holds: one is more than two"):
        lesson.claim("one is more than two", 1 > 2)


# -- the playground and the notebook ----------------------------------------------------------------

def test_the_playground_numbers_gates_and_steps_from_0():
    fig = lesson.draw_schedule(layers=3, frames=2, step=0)
    for ax, name in zip(fig.axes, ("plain loop", "wavefront")):
        assert [t.get_text() for t in ax.get_yticklabels()] == ["gate 0", "gate 1", "gate 2"]
        assert ax.get_title().startswith(f"{name}: steps 0 to ")
    grey = [t for t in fig.axes[0].texts if t.get_text() and t.get_color() == "0.45"]
    assert len(grey) == 5  # after step 0 only cell (0, 0) has run


def test_the_notebook_checks_without_answers_and_marks_only_timings_unchecked():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any("NBVAL" in c.source or re.search(r"check\([^()]*,", c.source) for c in code)
    ignored = [c.source for c in code if "nbval-ignore-output" in c.metadata.get("tags", [])]
    assert all("time_in_turn" in s or "count_ops" in s for s in ignored)
    assert sum("raise NotImplementedError" in c.source for c in code) >= 4
