"""Every control of every playground, set in plain Python: the picture (an Image widget's PNG
bytes) must change, and answer quickly. Runs under ipywidgets 8 and 7.7.1 (Colab's):

    PYTHONPATH=$PWD:/tmp/w77 python -m pytest tests/test_playgrounds.py   # /tmp/w77: 7.7.1
"""

import time

import ipywidgets as widgets
import pytest
import torch
from memory_table import OTHER_RELEASE, made_by_this_torch  # noqa: E402
from widget_tree import widgets_in  # noqa: E402

from rvit_mini.lessons import boundary, gate, memory, streaming, tokens, training, wavefront
from rvit_mini.lessons import widgets as lw

pytestmark = pytest.mark.usefixtures("one_thread")

# generous: an update answers in about a second on a free CPU core. Timed in CPU seconds of this
# process, which other processes on a shared machine do not inflate.
UPDATE_S = 3.0
PLAYGROUNDS = {"tokens": tokens, "gate_memory": gate, "memory": memory, "boundary": boundary,
               "training": training, "stream": streaming, "schedule": wavefront}
# a value to set each control to; the others take a value other than the current one
NEW_VALUE = {("memory", "scale"): "paper (224 px, patch 16)"}


def parts(box):
    """The Image and the controls (widgets with a value that is not the picture) of a tree."""
    found = widgets_in(box)
    (image,) = [w for w in found if isinstance(w, widgets.Image)]
    controls = [w for w in found if hasattr(w, "value") and not isinstance(
        w, (widgets.Image, widgets.IntProgress, widgets.Box))]
    buttons = {w.description: w for w in found if isinstance(w, widgets.Button)}
    return image, controls, buttons


def other_value(playground, control):
    if (playground, control.description) in NEW_VALUE:
        return NEW_VALUE[playground, control.description]
    if isinstance(control, widgets.Checkbox):
        return not control.value
    if isinstance(control, widgets.Dropdown):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return next(o for o in options if o != control.value)
    return control.value + control.step if control.value < control.max else control.min


@pytest.mark.parametrize("name", PLAYGROUNDS)
def test_every_control_changes_the_picture_quickly(name):
    """Each control moved from the playground's defaults: the picture changes, in time."""
    _, controls, _ = parts(PLAYGROUNDS[name].playground(live=True))
    times = {}
    for k in range(len(controls)):
        image, fresh, _ = parts(PLAYGROUNDS[name].playground(live=True))
        control = fresh[k]
        assert image.value[:8] == b"\x89PNG\r\n\x1a\n"
        before, value = image.value, other_value(name, control)
        start = time.process_time()
        control.value = value
        times[control.description] = time.process_time() - start
        assert image.value != before, f"{name}: setting {control.description} to {value!r} " \
                                      "left the picture as it was"
    print(f"\n{name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()), end=" ")
    slow = {k: round(v, 2) for k, v in times.items() if v > UPDATE_S}
    assert not slow, f"{name}: updates slower than {UPDATE_S} s: {slow}"


@pytest.mark.parametrize("name", PLAYGROUNDS)
def test_without_a_widget_frontend_a_playground_is_its_default_picture(name, monkeypatch):
    monkeypatch.setenv("RVIT_MINI_STATIC", "1")
    picture = PLAYGROUNDS[name].playground()
    assert isinstance(picture, lw.Picture) and picture._repr_png_().startswith(b"\x89PNG")
    assert picture._repr_png_() == PLAYGROUNDS[name].playground()._repr_png_()  # deterministic
    assert "object at 0x" not in repr(picture)
    live_image, _, _ = parts(PLAYGROUNDS[name].playground(live=True))
    assert live_image.value == picture.png  # the live playground starts from the same picture


def wait_until(condition, timeout=60):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_training_runs_live_shows_progress_and_stops():
    box = training.playground(live=True)
    image, controls, buttons = parts(box)
    (progress,) = [w for w in box.children[0].children if isinstance(w, widgets.IntProgress)]
    steps = next(c for c in controls if c.description == "steps")
    steps.value = 20
    before = image.value
    buttons["Train"].click()
    assert buttons["Train"].disabled and not buttons["Stop"].disabled
    wait_until(lambda: not buttons["Train"].disabled)
    assert progress.value == progress.max == 20 and image.value != before

    steps.value = 100
    buttons["Train"].click()
    wait_until(lambda: progress.value >= 3)
    buttons["Stop"].click()
    wait_until(lambda: not buttons["Train"].disabled)
    assert progress.value < 100 and buttons["Stop"].disabled


def test_a_training_run_of_the_playground_learns_through_fit():
    run = training.TrainingRun("mini_rvit_s", 30, on_record=lambda step: None).start()
    run.thread.join()
    assert run.error is None
    losses = [r["loss"] for r in run.records if "loss" in r]
    assert len(losses) == 30 and sum(losses[-5:]) < sum(losses[:5])
    # fit validates after every epoch (16 steps of 256 clips) and at the end
    assert [r["step"] for r in run.records if "val_top1" in r] == [16, 30]


def test_stream_reset_play_and_clear():
    image, controls, buttons = parts(streaming.playground(live=True))
    play, frame = (next(c for c in controls if isinstance(c, t)) for t in (widgets.Play,
                                                                          widgets.IntSlider))
    play.value = 40
    assert frame.value == 40  # the Play control drives the frame
    before = image.value
    buttons["Reset state"].click()
    assert image.value != before
    buttons["Clear resets"].click()
    assert image.value == before


def test_a_reset_changes_only_the_recurrent_rivals_and_only_after_it():
    kept = streaming.stream_predictions("vit_online", (30,))
    assert torch.equal(kept, streaming.stream_predictions("vit_online"))
    reset = streaming.stream_predictions("rvit_online", (30,))
    plain = streaming.stream_predictions("rvit_online")
    assert torch.equal(reset[:30], plain[:30]) and not torch.equal(reset, plain)


def test_schedule_steps_stop_at_the_last_cell():
    _, controls, _ = parts(wavefront.playground(live=True))
    step, layers, frames = controls
    layers.value, frames.value = 3, 2
    assert step.max == 5


@pytest.mark.parametrize("name, train, frame_checkpoint, dtype", [
    ("rvit", False, False, "fp32"), ("rvit", True, False, "bf16"), ("rvit", True, True, "fp32"),
    ("rvit", False, True, "bf16"), ("cvit", True, False, "bf16")])
def test_memory_line_is_the_estimator_at_every_length(name, train, frame_checkpoint, dtype):
    """Two short clips give estimate_peak's figure at any longer one (the peak is affine in T)."""
    from rvit_mini.execution import accelerate
    from rvit_mini.execution.memory import GiB, estimate_peak
    from rvit_mini.model.registry import create_model

    extra = {"num_frames": memory.LONGEST} if name == "cvit" else {}
    with torch.device("meta"):
        model = create_model(name, depth=2, **extra)
    if frame_checkpoint:
        model = accelerate(model, frame_checkpoint=True)
    setting = dict(scale="mini", depth=2, dim=64, batch=3, dtype=dtype, train=train,
                   frame_checkpoint=frame_checkpoint)
    for t in (9, 13):
        exact = estimate_peak(model, (3, t, 3, 32, 32), train=train,
                              dtype=memory.DTYPES[dtype]) / GiB
        rel = 1e-12 if made_by_this_torch() else OTHER_RELEASE
        assert memory.memory_curve(name, [t], **setting)[0] == pytest.approx(exact, rel=rel)


def test_gate_memory_control_removes_the_change_after_the_reset():
    model = lw.shipped("rvit")
    video = lw.clip("drink")[:8]
    edited = gate.edited_clip(video, 2, "noise")
    plain, _ = gate.layer_states(model, video, reset_before=3)
    changed, _ = gate.layer_states(model, edited, reset_before=3)
    assert not torch.equal(plain[2], changed[2]) and torch.equal(plain[3:], changed[3:])
    with pytest.raises(ValueError, match="edit must be one of"):
        gate.edited_clip(video, 2, "smudge")


def test_patch_tokens_are_the_patches_in_raster_order():
    frame = torch.arange(3 * 8 * 8, dtype=torch.float).reshape(3, 8, 8)
    patches = tokens.patch_tokens(frame, 4)
    assert patches.shape == (4, 48)
    assert torch.equal(patches[1].reshape(3, 4, 4), frame[:, :4, 4:])
    with pytest.raises(ValueError, match="must divide"):
        tokens.patch_tokens(frame, 3)
