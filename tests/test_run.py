"""The promises a training run keeps: it never overwrites a run it was not asked to, checkpoints
only between steps, validates every epoch, and ends with its last good state saved."""

import json
import signal
from dataclasses import replace

import pytest
import torch
from test_train import TINY, params, tiny_data, tiny_model
from torch.utils.data import Dataset

from rvit_mini import training as train
from rvit_mini.training import checkpoint, loop


def log(folder):
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def test_an_existing_run_is_refused_unless_resumed_or_overwritten(tmp_path):
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=2, progress=False)
    before = (tmp_path / "last.pt").read_bytes(), (tmp_path / "log.jsonl").read_text()
    with pytest.raises(ValueError, match=r"already holds a run .*--resume.*--overwrite"):
        train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=1, progress=False)
    assert ((tmp_path / "last.pt").read_bytes(), (tmp_path / "log.jsonl").read_text()) == before
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=1, progress=False,
              overwrite=True, log_every=1)
    assert [r["step"] for r in log(tmp_path)] == [1]
    assert checkpoint.read_checkpoint(tmp_path / "last.pt")["train_state"]["step"] == 1


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(ValueError, match=f"nothing to resume: {tmp_path / 'new'} has no checkpoint"):
        train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path / "new", resume=True,
                  progress=False)
    assert not (tmp_path / "new").exists()


def test_a_run_folder_that_is_a_file_or_unwritable_is_refused(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="the run folder .*file is a file; give a folder"):
        train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path / "file", progress=False)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(tmp_path), "mkdir", read_only)
    with pytest.raises(ValueError, match="cannot write the run folder .*: Permission denied"):
        train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path / "ro", progress=False)


def test_every_epoch_is_validated_the_last_too(tmp_path):
    records = train.fit(tiny_model(), tiny_data(), tiny_data(4), TINY, tmp_path, progress=False)
    val = [r for r in records if "val_top1" in r]
    assert [(r["epoch"], r["step"]) for r in val] == [(1, 3), (2, 6), (3, 9)]
    # a run cut short by max_steps is validated where it stops
    records = train.fit(tiny_model(), tiny_data(), tiny_data(4), TINY, tmp_path / "short",
                        max_steps=4, progress=False)
    assert [r["step"] for r in records if "val_top1" in r] == [3, 4]


class MultiLabel(Dataset):
    """Clips with multi-hot targets, as Charades'."""

    def __init__(self, n=8):
        self.data = tiny_data(n)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        video, label = self.data[i]
        return video, torch.nn.functional.one_hot(torch.tensor([label, (label + 1) % 9]),
                                                  9).amax(0).float()


def test_a_multi_label_validation_set_logs_map(tmp_path):
    records = train.fit(tiny_model(), MultiLabel(8), MultiLabel(4), replace(TINY, epochs=1),
                        tmp_path, progress=False)
    assert [sorted(r) for r in records if "val_mAP" in r] == [["epoch", "step", "val_mAP"]]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_an_optimiser_step_saves_after_that_step(tmp_path, monkeypatch, capsys,
                                                                 signum):
    """SIGINT (Ctrl-C) or SIGTERM (SLURM, docker, Kubernetes) arrives once every weight has its
    new value but before fit counts the step."""
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)  # SIG_IGN in
    # a job started in the background
    data = tiny_data()
    straight = tiny_model()
    train.fit(straight, data, None, TINY, tmp_path / "straight", max_steps=6, progress=False,
              log_every=2)

    make_optimizer = loop.make_optimizer

    def interrupting_optimizer(model, recipe, steps_per_epoch):
        optimizer, scheduler = make_optimizer(model, recipe, steps_per_epoch)
        steps = []

        def after_step(opt, args, kwargs):
            steps.append(1)
            if len(steps) == 3:
                signal.raise_signal(signum)
        optimizer.register_step_post_hook(after_step)
        return optimizer, scheduler

    monkeypatch.setattr(loop, "make_optimizer", interrupting_optimizer)
    with pytest.raises(KeyboardInterrupt):
        train.fit(tiny_model(), data, None, TINY, tmp_path / "cut", max_steps=6, progress=False,
                  log_every=2)
    assert checkpoint.read_checkpoint(tmp_path / "cut" / "last.pt")["train_state"]["step"] == 3
    name = signal.Signals(signum).name
    assert f"interrupted ({name}) after step 3; saved" in capsys.readouterr().err
    # step 3, trained but not yet due a record, is logged as a partial one
    assert [(r["step"], r.get("partial")) for r in log(tmp_path / "cut")] == [(2, None), (3, True)]
    monkeypatch.setattr(loop, "make_optimizer", make_optimizer)
    resumed = tiny_model()
    train.fit(resumed, data, None, TINY, tmp_path / "cut", max_steps=6, resume=True,
              progress=False, log_every=2)
    assert torch.equal(params(resumed), params(straight))
    # the resumed log is the uninterrupted one: step 4's record holds steps 3 and 4
    losses = [[(r["step"], r["loss"]) for r in log(folder) if "loss" in r]
              for folder in (tmp_path / "cut", tmp_path / "straight")]
    assert losses[0] == losses[1] and [step for step, _ in losses[0]] == [2, 4, 6]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


class Unreadable(Dataset):
    """StickActions whose clip `bad` cannot be decoded (its loader raises, on_error="raise")."""

    def __init__(self, bad):
        self.data, self.bad = tiny_data(), bad

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError("cannot decode videos/broken.mp4: Invalid data found")
        return self.data[i]


def test_a_video_that_fails_mid_run_ends_it_with_the_last_good_state_saved(tmp_path, capsys):
    batches = list(loop.GlobalBatchSampler(12, 4, seed=0))  # the first epoch's
    bad = batches[2][0]  # a clip of the third batch
    with pytest.raises(ValueError, match="cannot decode videos/broken.mp4"):
        train.fit(tiny_model(), Unreadable(bad), None, TINY, tmp_path, progress=False)
    assert checkpoint.read_checkpoint(tmp_path / "last.pt")["train_state"] == \
        {"step": 2, "epoch": 0, "batch_in_epoch": 2}
    assert "stopped by an error after step 2; saved" in capsys.readouterr().err


def test_a_batch_of_unreadable_clips_is_skipped(tmp_path):
    unreadable = {i for batch in list(loop.GlobalBatchSampler(12, 2, seed=0))[1:3] for i in batch}

    class Skipping(Unreadable):
        def __getitem__(self, i):  # None: what VideoClips(on_error="skip") gives
            return None if i in unreadable else self.data[i]

    records = train.fit(tiny_model(), Skipping(-1), None, replace(TINY, batch_size=2, epochs=1),
                        tmp_path, progress=False, log_every=1)
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # 6 batches, 2 of them all unreadable


def test_a_full_disk_says_so_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    path = checkpoint.save_checkpoint(tmp_path / "last.pt", step=1)
    def full_disk(obj, f):  # what torch.save raises when the disk fills half way
        open(f, "wb").write(b"half a checkpoint")
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0\n"
                           "basic_ios::clear: iostream error")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match=r"could not write .*last.pt \(.*; \d+ MiB free on that "
                                      r"disk\); the previous checkpoint, if any, is intact"):
        checkpoint.save_checkpoint(path, step=2)
    assert checkpoint.read_checkpoint(path)["step"] == 1
    assert not (tmp_path / "last.pt.tmp").exists()


def test_a_stale_temporary_checkpoint_is_cleaned_up(tmp_path):
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=1, progress=False)
    (tmp_path / "last.pt.tmp").write_bytes(b"half a checkpoint")  # a write cut short
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=2, resume=True,
              progress=False)
    assert not (tmp_path / "last.pt.tmp").exists()


def test_resume_drops_log_records_past_the_checkpoint(tmp_path):
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=2, save_every=2,
              log_every=1, progress=False)
    with open(tmp_path / "log.jsonl", "a") as f:  # logged, then the run died before saving
        f.write(json.dumps({"step": 3, "loss": 1.0}) + "\n")
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=4, resume=True,
              log_every=1, progress=False)
    assert [r["step"] for r in log(tmp_path) if "loss" in r] == [1, 2, 3, 4]


@pytest.mark.parametrize("option, value", [("max_steps", 0), ("save_every", 0),
                                           ("log_every", -1), ("amp", "fp8")])
def test_fit_refuses_nonsense_options(tmp_path, option, value):
    with pytest.raises(ValueError, match=option if option != "amp" else "amp must be"):
        train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, progress=False,
                  **{option: value})
