import pytest
import torch

from rvit_mini.data import CLASSES, StickStreams, composite_clip
from rvit_mini.data.stick_actions import _chain


# -- the stream data set ----------------------------------------------------------------------------
def test_streams_are_seeded_and_splits_differ():
    ds = StickStreams("train", num_frames=40, seed=3, num_streams=2)
    v, y = ds[1]
    assert v.shape == (40, 3, 32, 32) and v.dtype == torch.float32 and y.dtype == torch.long
    assert 0 <= v.min() and v.max() <= 1
    v2, y2 = StickStreams("train", num_frames=40, seed=3, num_streams=2)[1]
    assert torch.equal(v, v2) and torch.equal(y, y2)
    assert not torch.equal(v, ds[0][0])
    assert not torch.equal(v, StickStreams("val", num_frames=40, seed=3, num_streams=2)[1][0])
    assert not torch.equal(v, StickStreams("train", num_frames=40, seed=4, num_streams=2)[1][0])


def test_stream_actions_follow_one_another_with_lengths_in_range():
    ds = StickStreams("test", num_frames=100, seed=1, num_streams=20, action_frames=(6, 20))
    for i in range(len(ds)):
        actions, lengths = ds.plan(i)
        _chain(actions)  # raises if an action cannot start where the last one ended
        assert all(a != b for a, b in zip(actions, actions[1:]))
        assert sum(lengths) == 100
        assert all(6 <= n <= 20 for n in lengths[:-1]) and 1 <= lengths[-1] <= 20
        labels = ds.labels(i)
        changes = (torch.nonzero(labels[1:] != labels[:-1]).flatten() + 1).tolist()
        assert changes == ds.starts(i)
        assert [CLASSES[k] for k in labels[[0, *changes]]] == actions


def test_rendered_labels_are_the_planned_labels():
    ds = StickStreams("val", num_frames=30, seed=2, num_streams=1)
    assert torch.equal(ds[0][1], ds.labels(0))
    with pytest.raises(IndexError, match="stream 1 out of range for 1 streams"):
        ds[1]


def test_composite_clip_takes_a_length_per_action():
    actions = ["sit_down", "wave", "stand_up"]
    _, labels, bounds = composite_clip(actions, 20, lengths=[5, 9, 6])
    assert bounds == [5, 14]
    assert labels.tolist() == [CLASSES.index(a) for a, n in zip(actions, [5, 9, 6]) for _ in range(n)]
    with pytest.raises(ValueError, match="sum to num_frames=20, got \\[5, 9, 5\\]"):
        composite_clip(actions, 20, lengths=[5, 9, 5])
