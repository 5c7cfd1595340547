"""Resume checks what it continues: a training checkpoint (not a model's weights), of this
data (loader, root, split, exclude list, seed, length, classes in their order), at a position
inside this data's epochs."""

import shutil

import pytest
import torch
from cli_errors import error_line  # noqa: E402
from test_train import TINY, tiny_data, tiny_model

from rvit_mini import training as train
from rvit_mini.cli import main
from rvit_mini.data import CLASSES, StickActions
from rvit_mini.training import checkpoint


@pytest.fixture
def saved(tmp_path):
    """A run of two steps of three-batch epochs (12 clips, batch 4), saved."""
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=2, progress=False)
    return tmp_path


def resume(folder, data=None):
    train.fit(tiny_model(), data or tiny_data(), None, TINY, folder, max_steps=4, resume=True,
              progress=False)


@pytest.mark.parametrize("data, expected", [
    (StickActions("train", 4, 32, seed=6, num_clips=12), "its seed was 5, now 6"),
    (StickActions("val", 4, 32, seed=5, num_clips=12), "its split was 'train', now 'val'"),
    (tiny_data(8), "its length was 12, now 8"),
    (StickActions("train", 4, 32, seed=5, num_clips=12, classes=CLASSES[::-1]),
     "the classes are in another order \\(class 0 was 'sit_down', now 'walk_right'\\)"),
])
def test_resume_on_other_data_is_refused_naming_what_differs(saved, data, expected):
    with pytest.raises(ValueError, match=f"checkpoint {saved / 'last.pt'} was trained on other "
                                         f"data: {expected}; resume with the data the run began"):
        resume(saved, data)
    assert checkpoint.read_checkpoint(saved / "last.pt")["train_state"]["step"] == 2


def edit(folder, **changes):
    ckpt = checkpoint.read_checkpoint(folder / "last.pt")
    for key, value in changes.items():
        if value is None:
            del ckpt[key]
        else:
            ckpt[key] = value
    checkpoint.save_checkpoint(folder / "last.pt", **ckpt)


@pytest.mark.parametrize("position, expected", [
    ({"step": 2, "epoch": 0, "batch_in_epoch": 5}, "stopped after batch 5 of epoch 0, but an "
     "epoch of this data has 3 batches"),
    ({"step": -50, "epoch": 0, "batch_in_epoch": 2}, "is damaged: its step is -50, expected an "
     "integer >= 0"),
    ({"step": 9, "epoch": 1, "batch_in_epoch": 2}, "is damaged: 9 steps in 5 batches"),
    ({"step": 2, "batch": 2}, "is damaged: its position .* is not \\(step, epoch, batch_in_"),
])
def test_a_position_outside_the_datas_epochs_is_refused(saved, position, expected):
    edit(saved, train_state=position)
    with pytest.raises(ValueError, match=expected):
        resume(saved)


def test_a_checkpoint_without_optimiser_state_is_refused_saying_what_it_is(saved):
    torch.save(tiny_model().state_dict(), saved / "last.pt")  # what train writes as NAME.pt
    with pytest.raises(ValueError, match="holds a model's weights only .* not a training "
                                         "checkpoint: it has no optimiser state"):
        resume(saved)
    train.fit(tiny_model(), tiny_data(), None, TINY, saved, max_steps=2, progress=False,
              overwrite=True)
    edit(saved, optimizer=None, scheduler=None)
    with pytest.raises(ValueError, match="is not a checkpoint a run can resume from: it has no "
                                         "optimizer, scheduler"):
        resume(saved)


def test_a_checkpoint_from_before_data_was_recorded_still_resumes(saved):
    edit(saved, data=None)
    resume(saved)
    assert checkpoint.read_checkpoint(saved / "last.pt")["train_state"]["step"] == 4


def folder_train(root, out, *extra):
    return ["train", "--recipe", "mini_vit", "--data", "folder", "--root", str(root),
            "--val-split", "", "--batch-size", "3", "--out", str(out), *extra]


def test_the_command_line_refuses_to_resume_on_other_data(clips, tmp_path, capsys):
    out = tmp_path / "run"
    main(folder_train(clips, out, "--max-steps", "5"))  # 6 batches an epoch; stopped at 5
    exclude = tmp_path / "exclude.txt"  # 12 of the 18 videos: 2 batches an epoch
    videos = sorted(p.relative_to(clips).as_posix() for p in clips.rglob("*.mp4"))
    exclude.write_text("\n".join(videos[:12]) + "\n")
    for extra, expected in [(["--exclude", str(exclude)], "the exclude list differs (0 videos "
                                                          "then, 12 now)"),
                            (["--data-seed", "7"], "its seed was 0, now 7")]:
        err = error_line(folder_train(clips, out, "--max-steps", "8", "--resume", *extra), capsys)
        assert f"{out / 'last.pt'} was trained on other data: {expected}" in err
    moved = tmp_path / "moved"
    shutil.copytree(clips, moved)
    err = error_line(folder_train(moved, out, "--max-steps", "6", "--resume"), capsys)
    assert "its root was" in err and "resume with --allow-data-change" in err
    main(folder_train(moved, out, "--max-steps", "6", "--resume", "--allow-data-change"))
    assert checkpoint.read_checkpoint(out / "last.pt")["train_state"]["step"] == 6
