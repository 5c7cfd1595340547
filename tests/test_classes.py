"""A model and a data set are matched by class name, whatever order either lists them in."""

import pytest
import torch

import rvit_mini as rm
from rvit_mini import training as train
from rvit_mini.data import CLASSES, StickActions
from rvit_mini.training.evaluate import align_logits, class_index


def test_class_index_maps_each_data_class_to_the_models_output_of_that_name():
    index = class_index(["a", "b", "c"], ["c", "a"], 3)
    assert index.tolist() == [2, 0]
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    assert align_logits(logits, index).tolist() == [[3.0, 1.0]]
    assert class_index(["a", "b"], ["a", "b"], 2) is None  # already in order
    index = class_index(["a", "b"], ["b", "z"], 2)
    assert align_logits(logits[:, :2], index).tolist() == [[2.0, float("-inf")]]


def test_models_and_data_without_a_class_in_common_or_names_are_refused():
    with pytest.raises(ValueError, match=r"the model's classes \(a, b\) and the data set's "
                                         r"\(x, y\) share none"):
        class_index(["a", "b"], ["x", "y"], 2)
    with pytest.raises(ValueError, match="the model has 4 outputs but the data set 6 classes, "
                                         "and the model does not record its classes' names"):
        class_index(None, list("abcdef"), 4)


def test_evaluate_matches_a_shipped_model_to_a_data_set_in_another_class_order():
    model = rm.load_pretrained("vit")
    assert model.classes == CLASSES
    data = StickActions("test", 8, 32, num_clips=12, classes=["wave", "sit_down", "walk_left"])
    metrics = train.evaluate(model, data)
    assert metrics["left_out"] == [c for c in CLASSES if c not in data.classes]  # said, not
    assert metrics["classes"] == data.classes and metrics["unknown"] == []  # a warning
    video = torch.stack([data[i][0] for i in range(len(data))])
    targets = torch.tensor([data[i][1] for i in range(len(data))])
    by_name = model(video)[:, [CLASSES.index(c) for c in data.classes]].argmax(1)
    assert metrics["top1"] == pytest.approx(float((by_name == targets).float().mean()))
    assert metrics["top1"] > 0.9 and len(metrics["per_class"]) == 3


def test_evaluate_refuses_clips_without_labels():
    class Unlabelled(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return torch.rand(2, 3, 32, 32), -1

    with pytest.raises(ValueError, match="2 of 2 clips have no label .* evaluation needs labels"):
        train.evaluate(rm.create_model("vit"), Unlabelled())


def test_evaluate_with_no_readable_clip_says_so():
    class Unreadable(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return None

    with pytest.raises(ValueError, match="none of the 3 clips could be read"):
        train.evaluate(rm.create_model("vit"), Unreadable())
