"""A run folder is the run's own: one writer at a time, final files written whole and never
replaced unless asked, SIGTERM handled as Ctrl-C, and every step's loss in the log."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_errors import error_line  # noqa: E402
from test_train import TINY, tiny_data, tiny_model

from rvit_mini import training as train
from rvit_mini.cli import main
from rvit_mini.training import checkpoint, run

ROOT = Path(__file__).resolve().parents[1]


def log(folder):
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def wait_for(condition, proc, seconds=240):
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the training process did not get going"
        time.sleep(0.2)


def train_cli(out, *extra):
    return ["train", "--recipe", "mini_vit", "--size", "32", "--batch-size", "2",
            "--val-split", "", "--out", str(out), *extra]


def test_a_folder_in_training_is_refused_and_sigterm_saves_it(tmp_path, capsys):
    """A second train, and a resume, while a run trains are refused naming its pid; SIGTERM
    then ends that run at a step boundary, saved and logged, as Ctrl-C would."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rvit_mini", *train_cli(out, "--max-steps",
                                                                              "100000")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (out / "log.jsonl").is_file() and log(out), proc)  # 10 steps taken
        before = (out / "log.jsonl").read_text()
        for extra in ([], ["--overwrite"], ["--resume"]):
            err = error_line(train_cli(out, "--max-steps", "12", *extra), capsys)
            assert f"{out} is in use by pid {proc.pid} on {socket.gethostname()}" in err
        assert (out / "log.jsonl").read_text().startswith(before)  # nothing dropped
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    step = checkpoint.read_checkpoint(out / "last.pt")["train_state"]["step"]
    assert f"interrupted (SIGTERM) after step {step}; saved {out / 'last.pt'}" in err
    assert log(out)[-1]["step"] == step  # the steps since the last record too
    assert not (out / "run.lock").exists()


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_message(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "run.lock").write_text(json.dumps({"pid": dead.pid,
                                                   "host": socket.gethostname()}))
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=1, progress=False)
    assert f"taking over {tmp_path / 'run.lock'}, left by pid {dead.pid}" in capsys.readouterr().err
    assert checkpoint.read_checkpoint(tmp_path / "last.pt")["train_state"]["step"] == 1


def test_the_last_steps_are_logged_and_resume_logs_as_one_run(tmp_path):
    data = tiny_data()
    records = train.fit(tiny_model(), data, None, TINY, tmp_path / "short", max_steps=5,
                        progress=False)
    assert [r["step"] for r in log(tmp_path / "short")] == [5] == [r["step"] for r in records]
    train.fit(tiny_model(), data, None, TINY, tmp_path / "short", max_steps=7, resume=True,
              progress=False, log_every=10)
    train.fit(tiny_model(), data, None, TINY, tmp_path / "straight", max_steps=7,
              progress=False)
    resumed, straight = ([(r["step"], r["loss"]) for r in log(tmp_path / name)]
                         for name in ("short", "straight"))
    assert resumed == straight and [s for s, _ in resumed] == [7]


def test_a_damaged_log_line_is_named_and_resume_keeps_the_intact_records(tmp_path, capsys):
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=4, save_every=4,
              log_every=1, progress=False)
    with open(tmp_path / "log.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 2.1, "lr": 0.00')  # a write cut short
    with pytest.raises(ValueError, match=f"{tmp_path / 'log.jsonl'}, line 5: damaged"):
        run.read_log(tmp_path / "log.jsonl")
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, max_steps=6, resume=True,
              log_every=1, progress=False)
    assert f"{tmp_path / 'log.jsonl'}: skipped damaged line 5" in capsys.readouterr().err
    assert [r["step"] for r in log(tmp_path)] == [1, 2, 3, 4, 5, 6]


def folder_train(clips, out, *extra):
    return ["train", "--recipe", "mini_vit", "--data", "folder", "--root", str(clips),
            "--val-split", "", "--batch-size", "3", "--max-steps", "1", "--out", str(out),
            *extra]


def test_a_trained_model_card_and_plot_are_not_replaced_without_overwrite(clips, tmp_path,
                                                                          capsys):
    out = tmp_path / "shipped"
    out.mkdir()
    kept = {name: f"mine: {name}".encode() for name in ("vit.pt", "vit.json", "history.png")}
    for name, content in kept.items():
        (out / name).write_bytes(content)
    err = error_line(folder_train(clips, out), capsys)
    assert f"{out} already holds vit.pt, vit.json, history.png" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == kept  # nothing trained, nothing new
    main(folder_train(clips, out, "--overwrite"))
    assert train.load_pretrained("vit", out).classes == sorted(train.model_card("vit")["classes"])


def test_a_full_disk_while_the_model_is_written_leaves_no_truncated_file(clips, tmp_path,
                                                                         monkeypatch, capsys):
    save = torch.save

    def full_disk(obj, f, *args, **kwargs):
        if str(f).endswith("vit.pt.tmp"):
            Path(f).write_bytes(b"half a model")
            raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 "
                               "vs 0")
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    err = error_line(folder_train(clips, tmp_path / "run"), capsys)
    assert f"could not write {tmp_path / 'run' / 'vit.pt'} (" in err and "MiB free" in err
    assert "the run is saved" in err and "--resume" in err
    assert not (tmp_path / "run" / "vit.pt").exists()
    assert not (tmp_path / "run" / "vit.pt.tmp").exists()
    assert (tmp_path / "run" / "last.pt").is_file()  # the run itself is saved
    monkeypatch.setattr(torch, "save", save)  # room again: resume writes the model
    main(folder_train(clips, tmp_path / "run", "--resume"))
    assert train.load_pretrained("vit", tmp_path / "run").cfg.num_classes == 9
