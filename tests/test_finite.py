"""Finite or refused: frames, weights, configs and logits with NaN or inf, and nonsense in a
config, are refused in one line; estimate_peak answers quickly or refuses, for any T."""

import json
import math
import shutil
import time

import pytest
import torch

import rvit_mini as rm
from rvit_mini.execution.memory import MAX_STEPPED_FRAMES, estimate_peak
from rvit_mini.model import ModelConfig
from rvit_mini.model import inputs as model_inputs
from rvit_mini.training import checkpoint, loading


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_frames_with_nan_or_inf_are_refused_by_the_model_and_a_stream(bad):
    model = rm.create_model("rvit_s").eval()
    video = torch.rand(1, 2, 3, 32, 32)
    video[0, 1, 2, 3, 4] = bad
    name = "NaN" if math.isnan(bad) else "inf"
    with pytest.raises(ValueError, match=f"the frames hold {name} values"):
        model(video)
    stream = rm.StreamingClassifier(model)
    stream.update(video[0, 0])
    with pytest.raises(ValueError, match=f"the frames hold {name} values"):
        stream.update(video[0, 1])


def test_a_streamed_frame_is_read_once_for_both_of_its_value_checks(monkeypatch):
    calls = []
    aminmax = torch.aminmax
    monkeypatch.setattr(torch, "aminmax", lambda x: calls.append(1) or aminmax(x))
    monkeypatch.setattr(model_inputs, "_warned_range", False)
    stream = rm.StreamingClassifier(rm.create_model("rvit_s").eval())
    for _ in range(3):
        stream.update(torch.rand(3, 32, 32))
    assert len(calls) == 3
    with pytest.warns(UserWarning, match="values up to"):
        stream.update(torch.rand(3, 32, 32) * 255)
    assert len(calls) == 4


@pytest.mark.parametrize("field, value, message", [
    ("pixel_mean", math.nan, "pixel_mean must be a finite number, got nan"),
    ("pixel_std", math.inf, "pixel_std must be a finite number, got inf"),
    ("mlp_ratio", 0.001, "mlp_ratio must be at least 0.25"),
    ("mlp_ratio", math.inf, "mlp_ratio must be a finite number, got inf"),
    ("mlp_ratio", "4", "mlp_ratio must be a finite number, got '4'"),
    ("min_rad", math.nan, "min_rad must be a finite number"),
    ("pixel_std", 0.0, "pixel_std must be positive"),
    ("fp32_state", "yes", "fp32_state must be True or False"),
])
def test_a_config_with_nan_inf_or_nonsense_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig("rvit", **{field: value})


def shipped_copy(tmp_path, name="vit"):
    for suffix in (".pt", ".json"):
        shutil.copy(loading.CHECKPOINTS / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path


def test_weights_with_nan_or_inf_are_refused_when_loaded(tmp_path):
    root = shipped_copy(tmp_path)
    weights = torch.load(root / "vit.pt", weights_only=True)
    weights["head.bias"][3] = math.nan
    torch.save(weights, root / "vit.pt")
    with pytest.raises(ValueError, match=r"the weights in .*vit.pt hold NaN or inf values "
                                         r"\(head.bias\)"):
        rm.load_pretrained("vit", root)
    model = rm.create_model("vit")
    torch.save({"model": {**model.state_dict(), "head.weight": model.head.weight * math.inf},
                "model_config": model.cfg.to_dict()}, tmp_path / "last.pt")
    with pytest.raises(ValueError, match="hold NaN or inf values \\(head.weight\\)"):
        loading.load_checkpoint(tmp_path / "last.pt")


@pytest.mark.parametrize("config, message", [
    ([1, 2, 3], "its model_config is not a model's: a model config is a dict of its fields, "
                "got list"),
    ("KEY", "its model_config is not a model's: a model config with unknown keys \\['colour'\\]"),
])
def test_a_card_or_checkpoint_whose_config_is_not_a_models_is_one_line(tmp_path, config,
                                                                       message):
    root = shipped_copy(tmp_path)
    card = json.loads((root / "vit.json").read_text())
    card["model_config"] = {**card["model_config"], "colour": "red"} if config == "KEY" else config
    (root / "vit.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=f"vit.json: {message}"):
        rm.load_pretrained("vit", root)
    model = rm.create_model("vit")
    checkpoint.save_checkpoint(tmp_path / "last.pt", model=model.state_dict(),
                               model_config=card["model_config"])
    with pytest.raises(ValueError, match=f"last.pt: {message}"):
        loading.load_checkpoint(tmp_path / "last.pt")


@pytest.mark.parametrize("name", rm.list_models())
def test_estimate_peak_answers_or_refuses_at_once_for_any_clip_length(name):
    extra = {"num_frames": 100_000} if name.startswith("cvit") else {}
    with torch.device("meta"):
        model = rm.create_model(name, **extra)
    started = time.perf_counter()
    try:
        peak = estimate_peak(model, (2, 100_000, 3, 32, 32))
    except ValueError as err:
        assert f"estimate_peak takes at most {MAX_STEPPED_FRAMES} frames of a whole clip" in \
            str(err)
        assert model.cfg.arch == "rvit"
    else:
        assert peak > 2 * 100_000 * 3 * 32 * 32 * 4  # the clip itself, at least
    assert time.perf_counter() - started < 10  # a second on an idle machine
    streaming = estimate_peak(model, (2, 100_000, 3, 32, 32), streaming=True) \
        if model.cfg.arch in ("rvit", "vit") else None
    assert streaming is None or streaming < 2**30


def test_estimate_peak_refuses_a_shape_that_is_not_a_clip():
    with torch.device("meta"):
        model = rm.create_model("vit")
    for shape, message in [((2, 8, 3, 32), "must be \\(B, T, C, H, W\\)"),
                           ((2, 0, 3, 32, 32), "input_shape's T must be a positive integer")]:
        with pytest.raises(ValueError, match=message):
            estimate_peak(model, shape)
