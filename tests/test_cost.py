"""rm.cost: RViT's schedules as data, what each model runs per step, timing, operator counts;
and the viz functions that draw them."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rvit_mini as rm  # noqa: E402
from rvit_mini.execution import timing  # noqa: E402
from rvit_mini.lessons import schedules, viz  # noqa: E402
from rvit_mini.model.flops import flops_per_frame  # noqa: E402


def test_the_sequential_loop_runs_one_cell_per_step_up_each_frame_then_the_next():
    s = schedules.sequential_schedule(3, 4)
    assert s.shape == (3, 4)
    assert sorted(s.flatten().tolist()) == list(range(12))
    assert s[0, 0] == 0 and s[2, 0] == 2 and s[0, 1] == 3 and s[2, 3] == 11
    assert schedules.respects_dependencies(s)


@pytest.mark.parametrize("layers, frames", [(1, 1), (1, 5), (4, 1), (3, 7), (6, 2)])
def test_the_wavefront_takes_t_plus_l_minus_1_steps_along_the_anti_diagonals(layers, frames):
    s = schedules.wavefront_schedule(layers, frames)
    steps = schedules.diagonals(s)
    assert len(steps) == frames + layers - 1
    assert all(layer + t == d for d, cells in enumerate(steps) for layer, t in cells)
    cells = [cell for step in steps for cell in step]
    assert sorted(cells) == [(la, t) for la in range(layers) for t in range(frames)]
    assert max(len(step) for step in steps) == min(layers, frames)
    assert schedules.respects_dependencies(s)


def test_a_schedule_that_runs_a_cell_before_what_it_reads_is_refused():
    assert not schedules.respects_dependencies(torch.zeros(2, 3, dtype=torch.long))  # all at once
    layer_major = schedules.sequential_schedule(2, 3).T.reshape(2, 3)  # steps 0..5, frame-wise wrong
    assert not schedules.respects_dependencies(schedules.wavefront_schedule(3, 2).flip(0))  # top first
    assert not schedules.respects_dependencies(layer_major.flip(1))  # last frame first
    with pytest.raises(ValueError, match="num_frames"):
        schedules.wavefront_schedule(3, 0)


def test_cell_trace_shows_how_each_model_steps_through_the_clip():
    torch.manual_seed(0)
    video = torch.rand(2, 4, 3, 32, 32)
    rvit = rm.create_model("rvit", depth=3)
    wave = rm.accelerate(rvit, execution="wavefront")
    cell = wave.execution.machinery["wavefront"].cell
    assert schedules.cell_trace(rvit, video) == [1] * 12
    wave_trace = schedules.cell_trace(wave, video)
    assert wave_trace == [1, 2, 3, 3, 2, 1]
    assert wave_trace == [len(c) for c in schedules.diagonals(schedules.wavefront_schedule(3, 4))]
    assert not cell._forward_pre_hooks  # the tracer is removed again
    assert not any(b._forward_pre_hooks for b in rvit.blocks)
    assert schedules.cell_trace(rm.create_model("cvit", depth=3), video) == [4] * 3
    assert schedules.cell_trace(rm.create_model("cvit_divided", depth=2), video) == [4] * 4
    assert schedules.cell_trace(rm.create_model("vit", depth=2), video) == [4] * 2
    with pytest.raises(ValueError, match="compil"):
        schedules.cell_trace(rm.accelerate(rvit, compile=True), video)


def test_frames_per_second_times_in_turn_and_takes_the_median():
    now, calls = [0.0], []

    def runner(label, seconds):
        def run():
            calls.append(label)
            now[0] += seconds.pop(0)
        return run
    # a: 1 s each but for one slow spell of 9 s; b: 2 s each; the first call is a warm-up
    runs = {"a": (runner("a", [50.0, 1.0, 9.0, 1.0]), 10),
            "b": (runner("b", [50.0, 2.0, 2.0, 2.0]), 4)}
    threads = torch.get_num_threads()
    fps = timing.frames_per_second(runs, repeats=3, clock=lambda: now[0], threads=1)
    assert fps == {"a": 10.0, "b": 2.0}
    assert calls == ["a", "b"] * 4
    assert torch.get_num_threads() == threads
    with pytest.raises(ValueError, match="repeats"):
        timing.frames_per_second(runs, repeats=0)


def test_clip_run_trains_or_infers_and_leaves_no_gradients():
    torch.manual_seed(0)
    model = rm.create_model("rvit_s")
    video = torch.rand(2, 3, 3, 32, 32)
    timing.clip_run(model, video, train=True)()
    assert model.training and all(p.grad is None for p in model.parameters())
    timing.clip_run(model, video, train=False, dtype=torch.bfloat16)()
    assert not model.training
    steps = []
    vit = rm.create_model("vit", depth=1)
    recur = vit.recur
    vit.recur = lambda clip, state: steps.append(clip.shape) or recur(clip, state)
    timing.stream_run(vit, video)()
    assert steps == [(2, 1, 3, 32, 32)] * 3  # one frame at a time


def test_count_ops_rvit_calls_grow_with_the_clip_cvit_calls_do_not():
    rvit = rm.create_model("rvit")  # mini: 3 gates
    cvit = rm.create_model("cvit", depth=3)
    wave = rm.accelerate(rvit, execution="wavefront")
    short, long = (2, 2, 3, 32, 32), (2, 4, 3, 32, 32)
    seq2, seq4 = timing.count_ops(rvit, short), timing.count_ops(rvit, long)
    cvit2, cvit4 = timing.count_ops(cvit, short), timing.count_ops(cvit, long)
    wave4 = timing.count_ops(wave, long)
    assert seq4["ops"] - seq2["ops"] > 3 * 10 * 2  # at least ten calls per gate and frame
    assert cvit4["ops"] == cvit2["ops"] < seq4["ops"] / 2
    assert wave4["ops"] < seq4["ops"] * 3 / 4 and wave4["flops"] == seq4["flops"]
    compiled = rm.accelerate(rvit, execution="wavefront", compile=True)
    assert timing.count_ops(compiled, long) == wave4  # counted as it runs eagerly
    head = 2 * 2 * 64 * 9  # the head, once per clip: 2 FLOPs x B x D x K
    assert seq4["flops"] == 2 * 4 * flops_per_frame(rvit) + head
    trained = timing.count_ops(rvit, short, train=True)
    assert trained["ops"] > 2 * seq2["ops"] and trained["flops"] > 2 * seq2["flops"]


def test_plot_schedule_labels_every_cell_with_its_step_and_draws_what_it_reads():
    ax = viz.plot_schedule(schedules.wavefront_schedule(3, 4), arrows=True)
    labels = sorted(int(t.get_text()) for t in ax.texts if t.get_text())
    assert labels == sorted(schedules.wavefront_schedule(3, 4).flatten().tolist())
    arrows = [t for t in ax.texts if not t.get_text()]
    assert len(arrows) == 2 * 4 + 3 * 3  # from below: 2 rows x 4 frames; from the left: 3 x 3
    assert ax.get_title() == "6 steps"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["gate 0", "gate 1", "gate 2"]
    plt.close("all")


def test_plot_frames_per_second_draws_bars_from_zero_coloured_by_model():
    fps = {"RViT-XL, sequential": 100.0, "RViT-XL, wavefront": 150.0, "CViT": 300.0}
    ax = viz.plot_frames_per_second(fps, title="t")
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [100.0, 150.0, 300.0]
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > 300
    colors = [bar.get_facecolor() for bar in ax.patches]
    assert colors[0] == colors[1] != colors[2]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(fps)
    assert ax.patches[0].get_y() > ax.patches[1].get_y() > ax.patches[2].get_y()  # first on top
    plt.close("all")
