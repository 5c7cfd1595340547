"""The library pieces the lessons (notebooks 01, 02, 05) use: measurements and figures."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rvit_mini as rm  # noqa: E402
from rvit_mini.lessons.analysis import feature_change, moving_average  # noqa: E402
from rvit_mini.lessons.viz import plot_confusion_counts, plot_layer_time_grid  # noqa: E402


@pytest.fixture
def clip_and_edit():
    torch.manual_seed(0)
    video = torch.rand(2, 5, 3, 32, 32)
    edited = video.clone()
    edited[:, 2] = torch.rand(2, 3, 32, 32)
    return video, edited


def test_feature_change_of_a_frame_mean_vit_stays_on_the_edited_frame(clip_and_edit):
    video, edited = clip_and_edit
    change = feature_change(rm.create_model("vit"), video, edited)
    assert change.shape == (2, 5)
    assert (change[:, 2] > 0.01).all()
    assert (change[:, [0, 1, 3, 4]] == 0).all()


def test_feature_change_of_an_rvit_carries_the_edit_forward_and_never_back(clip_and_edit):
    video, edited = clip_and_edit
    model = rm.create_model("rvit_s").train()
    change = feature_change(model, video, edited)
    assert (change[:, :2] == 0).all()          # causal: frames before the edit do not move
    assert (change[:, 2:] > 1e-3).all()        # the hidden state carries the edit on
    assert model.training                      # measured in eval mode, the mode given back


def test_feature_change_is_relative_and_zero_for_the_same_clip(clip_and_edit):
    video, _ = clip_and_edit
    model = rm.create_model("rvit_s")
    assert (feature_change(model, video, video.clone()) == 0).all()
    with torch.no_grad():
        f = model.forward_features(video)
    torch.testing.assert_close(feature_change(model, video, video * 0.5),
                               (model.forward_features(video * 0.5) - f).norm(dim=-1)
                               / f.norm(dim=-1))
    with pytest.raises(ValueError, match="one shape"):
        feature_change(model, video, video[:, :3])


def test_moving_average_uses_full_windows_only():
    np.testing.assert_allclose(moving_average([1, 2, 3, 4], 2), [1.5, 2.5, 3.5])
    np.testing.assert_allclose(moving_average([5.0] * 7, 3), [5.0] * 5)  # no edge artefacts
    np.testing.assert_allclose(moving_average([1, 2, 3], 1), [1, 2, 3])
    for window in (0, 4):
        with pytest.raises(ValueError, match="window"):
            moving_average([1, 2, 3], window)


def arrows(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_layer_time_grid_draws_an_arrow_from_below_and_from_the_left_into_every_cell():
    depth, frames = 3, 4
    ax = plot_layer_time_grid(depth, frames)
    assert len(arrows(ax, "from_below")) == depth * frames
    assert len(arrows(ax, "from_left")) == depth * (frames - 1)
    assert len(arrows(ax, "zero_state")) == depth
    assert len(arrows(ax, "feature")) == frames
    for a in arrows(ax, "from_left"):       # horizontal: same layer, one frame later
        (x0, y0), (x1, y1) = a._posA_posB
        assert y0 == y1 and 0 < x1 - x0 < 1
    for a in arrows(ax, "from_below"):      # vertical: same frame, one layer up
        (x0, y0), (x1, y1) = a._posA_posB
        assert x0 == x1 and 0 < y1 - y0 < 1
    labels = {t.get_text() for t in ax.texts}
    assert {"$y^{1}_{0}$", f"$y^{{{depth}}}_{{{frames - 1}}}$", "$f_{0}$", "frame 0"} <= labels
    plt.close("all")
    with pytest.raises(ValueError, match="depth and frames"):
        plot_layer_time_grid(0, 4)


def test_confusion_counts_prints_every_nonzero_count_and_colours_by_row_fraction():
    confusion = [[25, 5, 0], [2, 28, 0], [1, 0, 29]]
    ax = plot_confusion_counts(confusion, ["a", "b", "c"], title="t")
    assert sorted(t.get_text() for t in ax.texts) == sorted(["25", "5", "2", "28", "1", "29"])
    np.testing.assert_allclose(ax.images[0].get_array()[0], [25 / 30, 5 / 30, 0])
    assert len(ax.figure.axes) == 2             # the matrix and its colour bar
    plt.close("all")
    ax = plot_confusion_counts(confusion, ["a", "b", "c"], colorbar=False)
    assert len(ax.figure.axes) == 1
    plt.close("all")


def test_a_vit_for_other_classes_starts_from_an_image_vit_with_a_new_head():
    torch.manual_seed(0)
    vit = rm.create_model("vit")                       # 9 classes
    model = rm.model.weights.init_vit_from_vit(rm.create_model("vit", num_classes=3), vit)
    x = torch.rand(2, 3, 3, 32, 32)
    torch.testing.assert_close(model.forward_features(x), vit.forward_features(x))
    assert model.head.weight.shape == (3, 64)
    same = rm.model.weights.init_vit_from_vit(rm.create_model("vit"), vit)
    torch.testing.assert_close(same(x), vit(x))        # same classes: the head is copied too
    with pytest.raises(ValueError, match="the ViT has 4 blocks; this model needs at least 5"):
        rm.model.weights.init_vit_from_vit(rm.create_model("vit", depth=5), vit)
