"""make-data's export is written whole or not at all: a killed export leaves a partial folder that
video_folder refuses and a rerun with --overwrite replaces; nothing is written through a link."""

import re

import pytest
import torch

import rvit_mini.cli.data
from rvit_mini import data
from rvit_mini.cli import main

ARGS = ["--split", "val", "--frames", "2", "--size", "32", "--clips", "9"]


def make_data(out, *extra):
    main(["make-data", "--out", str(out), *ARGS, *extra])


def killed_after(n):
    """A progress bar that stops the export after n clips, as Ctrl-C or a kill would."""
    def progress(iterable, **kwargs):
        for i, item in enumerate(iterable):
            if i == n:
                raise KeyboardInterrupt
            yield item
    return progress


def snapshot(folder):
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_mtime_ns)
                  for p in folder.rglob("*"))


def test_a_killed_export_leaves_nothing_that_looks_finished(tmp_path, monkeypatch, capsys):
    with monkeypatch.context() as m:
        m.setattr(rvit_mini.cli.data, "tqdm", killed_after(5))
        with pytest.raises(SystemExit) as exit_:
            make_data(tmp_path)
    assert exit_.value.code == 130
    assert not (tmp_path / "val").exists() and not (tmp_path / "val.csv").exists()
    partial = tmp_path / "val.partial"
    with pytest.raises(ValueError, match=re.escape(
            f"{partial} holds an export of val that did not finish (make-data was stopped); "
            "rerun make-data with --overwrite to write it again, or remove it")):
        data.video_folder(tmp_path / "val")
    with pytest.raises(SystemExit):
        make_data(tmp_path)
    err = capsys.readouterr().err
    assert f"{tmp_path} holds an unfinished export of val ({partial})" in err
    assert "val.csv" not in err  # it does not claim a CSV that is not there
    make_data(tmp_path, "--overwrite")
    assert not partial.exists() and len(data.video_folder(tmp_path / "val")) == 9
    assert len((tmp_path / "val.csv").read_text().splitlines()) == 10


def test_an_overwrite_that_is_killed_keeps_the_old_export_out_of_use(tmp_path, monkeypatch):
    make_data(tmp_path)
    with monkeypatch.context() as m:
        m.setattr(rvit_mini.cli.data, "tqdm", killed_after(3))
        with pytest.raises(SystemExit):
            make_data(tmp_path, "--overwrite")
    with pytest.raises(ValueError, match="val.partial holds an export of val that did not finish"):
        data.video_folder(tmp_path / "val")
    with pytest.raises(ValueError, match="did not finish"):
        data.video_folder(tmp_path / "val.partial")
    make_data(tmp_path, "--overwrite")
    assert len(data.video_folder(tmp_path / "val")) == 9


@pytest.mark.parametrize("linked", ["val", "val.partial", "val.csv"])
def test_overwrite_never_writes_through_a_link(tmp_path, linked, capsys):
    elsewhere = tmp_path / "elsewhere"
    make_data(elsewhere)
    before = snapshot(elsewhere)
    out = tmp_path / "out"
    make_data(out)
    target = elsewhere / linked.replace(".partial", "")
    if linked != "val.partial":
        (out / linked).rename(tmp_path / "moved")
    (out / linked).symlink_to(target)
    with pytest.raises(SystemExit):
        make_data(out, "--overwrite")
    err = capsys.readouterr().err
    assert f"{out / linked} is a symbolic link to {target}; make-data writes into " in err
    assert snapshot(elsewhere) == before


def test_export_split_writes_any_labelled_clips(tmp_path):
    class Clips(torch.utils.data.Dataset):
        classes = ["left", "right"]

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.full((2, 3, 8, 8), i / 4), i % 2

    folder = data.export_split(Clips(), tmp_path, "train", fps=8)
    assert folder == tmp_path / "train"
    assert (tmp_path / "train.csv").read_text().splitlines() == [
        "path,label", "train/left/00000.mp4,left", "train/right/00001.mp4,right",
        "train/left/00002.mp4,left"]
    assert data.video_folder(folder).classes == ["left", "right"]
    Clips.classes = ["left", "../up"]
    with pytest.raises(ValueError, match=re.escape(
            "class 1 of the data set: expected a class name, a plain name such as sit_down, got "
            "'../up'")):
        data.export_split(Clips(), tmp_path, "val")
    assert not (tmp_path / "val.partial").exists()


def test_make_data_keeps_no_rendered_clip_in_memory(tmp_path, monkeypatch):
    # StickActions keeps every clip it rendered: 5.3 GB for make-data's default 27,000 training
    # clips at 64x64, where one clip at a time is written and never read again
    made = []

    class Recorded(data.StickActions):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(data, "StickActions", Recorded)
    make_data(tmp_path)
    clips = made[0]
    assert clips.frames(0) is not clips.frames(0)  # rendered on every access, kept nowhere


def test_stick_actions_keep_their_clips_unless_told_not_to():
    kept, not_kept = (data.StickActions("val", 4, 32, num_clips=2, keep=k) for k in (True, False))
    assert kept.frames(1) is kept.frames(1)
    assert not_kept.frames(1) is not not_kept.frames(1)
    assert (kept.frames(1) == not_kept.frames(1)).all()
