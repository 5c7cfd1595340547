"""One line, always: every command, called wrongly (arguments missing or extra, nonsense numbers,
files that are not what they should be, folders in use, paths outside the data's root), exits
with status 1 (a mistake in the input) or 2 (a mistake in the arguments) and says so in one
line on stderr, never a traceback."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rvit_mini as rm
from rvit_mini.cli import main
from rvit_mini.training import loading

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Things that are not what a command wants, and one good video folder."""
    d = tmp_path_factory.mktemp("sweep")
    (d / "text.txt").write_text("id,label\n1,wave\n")
    (d / "empty.pt").write_bytes(b"")
    (d / "folder").mkdir()
    (d / "kept.json").write_text("{}")
    torch.save(rm.create_model("vit").state_dict(), d / "weights.pt")  # a NAME.pt
    model = rm.create_model("vit")
    torch.save({"model": {**model.state_dict(), "head.bias": model.head.bias * math.nan},
                "model_config": model.cfg.to_dict()}, d / "nan.pt")
    torch.save({"model": model.state_dict(), "model_config": [1, 2]}, d / "list_config.pt")
    main(["make-data", "--out", str(d / "clips"), "--split", "train", "--clips", "9",
          "--frames", "4", "--size", "32"])
    outside = d / "outside"
    (d / "clips" / "train" / "wave").rename(outside)
    (d / "clips" / "train" / "wave").symlink_to(outside, target_is_directory=True)
    (d / "resumable").mkdir()
    (d / "resumable" / "last.pt").write_bytes((loading.CHECKPOINTS / "vit.pt").read_bytes())
    return d


@pytest.fixture(scope="module")
def in_use(files):
    """A run folder whose lock another process holds."""
    folder = files / "busy"
    folder.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, json, os, sys, time\n"
         "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); f.truncate(0)\n"
         "f.write(json.dumps({'pid': os.getpid(), 'host': 'elsewhere'})); f.flush()\n"
         "print('held', flush=True); time.sleep(300)", str(folder / "run.lock")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield folder, holder.pid
    holder.kill()
    holder.wait()


def train(*args):
    return ["train", "--recipe", "mini_vit", "--val-split", "", "--max-steps", "1", *args]


CALLS = {  # {name: (argv, with "{f}" for the files' folder, exit status)}
    "nothing": ([], 2), "unknown command": (["fly"], 2), "info extra": (["info", "x"], 2),
    # make-data
    "make-data no --out": (["make-data"], 2),
    "make-data 0 clips": (["make-data", "--out", "{f}/o", "--clips", "0"], 2),
    "make-data size abc": (["make-data", "--out", "{f}/o", "--size", "abc"], 2),
    "make-data frames -1": (["make-data", "--out", "{f}/o", "--frames", "-1"], 2),
    "make-data split": (["make-data", "--out", "{f}/o", "--split", "holdout"], 2),
    "make-data out is a file": (["make-data", "--out", "{f}/text.txt", "--clips", "1"], 1),
    # check-data
    "check-data no --root": (["check-data", "--data", "folder"], 2),
    "check-data loader": (["check-data", "--data", "youtube", "--root", "{f}"], 2),
    "check-data no root": (["check-data", "--data", "kinetics", "--root", "{f}/nope"], 1),
    "check-data root file": (["check-data", "--data", "folder", "--root", "{f}/text.txt"], 1),
    "check-data out exists": (["check-data", "--data", "folder", "--root", "{f}/clips",
                               "--out", "{f}/kept.json"], 1),
    "check-data out folder": (["check-data", "--data", "folder", "--root", "{f}/clips",
                               "--out", "{f}/nope/x.txt"], 1),
    "check-data workers": (["check-data", "--data", "folder", "--root", "{f}", "--workers",
                            "-1"], 2),
    # train
    "train no recipe": (["train", "--out", "{f}/o"], 2),
    "train recipe": (["train", "--recipe", "mini_nope", "--out", "{f}/o"], 2),
    "train extra": (train("--out", "{f}/o", "surplus"), 2),
    "train batch 0": (train("--out", "{f}/o", "--batch-size", "0"), 2),
    "train steps x": (train("--out", "{f}/o", "--max-steps", "x"), 2),
    "train epochs 0": (train("--out", "{f}/o", "--epochs", "0"), 2),
    "train amp": (train("--out", "{f}/o", "--amp", "fp8"), 2),
    "train device": (train("--out", "{f}/o", "--device", "toaster"), 2),
    "train out is a file": (train("--out", "{f}/text.txt"), 1),
    "train no --root": (train("--out", "{f}/o", "--data", "kinetics"), 1),
    "train root missing": (train("--out", "{f}/o", "--data", "folder", "--root", "{f}/nope"), 1),
    "train link out of root": (train("--out", "{f}/o", "--data", "folder", "--root",
                                     "{f}/clips"), 1),
    "train exclude missing": (train("--out", "{f}/o", "--data", "folder", "--root",
                                    "{f}/clips", "--exclude", "{f}/nope.txt"), 1),
    "train split": (train("--out", "{f}/o", "--split", "holdout"), 1),
    "train size 30": (train("--out", "{f}/o", "--size", "30"), 1),
    "train init text": (train("--out", "{f}/o", "--init-from", "{f}/text.txt"), 1),
    "train init folder": (train("--out", "{f}/o", "--init-from", "{f}/folder"), 1),
    "train init missing": (train("--out", "{f}/o", "--init-from", "{f}/nope.pt"), 1),
    "train resume nothing": (train("--out", "{f}/o", "--resume"), 1),
    "train resume overwrite": (train("--out", "{f}/resumable", "--resume", "--overwrite"), 1),
    "train resume weights": (train("--out", "{f}/resumable", "--resume"), 1),
    "train data change": (train("--out", "{f}/o", "--allow-data-change"), 1),
    "train in use": (train("--out", "{busy}"), 1),
    "train resume in use": (train("--out", "{busy}", "--resume"), 1),
    # evaluate
    "evaluate nothing": (["evaluate"], 1),
    "evaluate unknown": (["evaluate", "rvit_xxl"], 1),
    "evaluate a path by name": (["evaluate", "{f}/weights.pt"], 1),
    "evaluate ckpt missing": (["evaluate", "--checkpoint", "{f}/nope.pt"], 1),
    "evaluate ckpt folder": (["evaluate", "--checkpoint", "{f}/folder"], 1),
    "evaluate ckpt text": (["evaluate", "--checkpoint", "{f}/text.txt"], 1),
    "evaluate ckpt empty": (["evaluate", "--checkpoint", "{f}/empty.pt"], 1),
    "evaluate ckpt weights": (["evaluate", "--checkpoint", "{f}/weights.pt"], 1),
    "evaluate ckpt nan": (["evaluate", "--checkpoint", "{f}/nan.pt"], 1),
    "evaluate ckpt config": (["evaluate", "--checkpoint", "{f}/list_config.pt"], 1),
    "evaluate frames 0": (["evaluate", "vit", "--frames", "0"], 2),
    "evaluate frames huge": (["evaluate", "vit", "--frames", "100000"], 1),
    "evaluate json exists": (["evaluate", "vit", "--json", "{f}/kept.json"], 1),
    "evaluate json folder": (["evaluate", "vit", "--json", "{f}/nope/m.json"], 1),
    "evaluate no --root": (["evaluate", "vit", "--data", "charades"], 1),
    "evaluate split": (["evaluate", "vit", "--data", "folder", "--root", "{f}/clips",
                        "--split", "holdout"], 1),
    # evaluate-stream
    "evaluate-stream unknown": (["evaluate-stream", "rvit_xxl"], 1),
    "evaluate-stream option": (["evaluate-stream", "rvit@w4"], 1),
    "evaluate-stream window": (["evaluate-stream", "cvit_online@w100"], 1),
    "evaluate-stream min max": (["evaluate-stream", "majority", "--action-frames", "9", "3"], 1),
    "evaluate-stream one of two": (["evaluate-stream", "majority", "--action-frames", "9"], 2),
    "evaluate-stream 0 streams": (["evaluate-stream", "majority", "--streams", "0"], 2),
    "evaluate-stream 1 frame": (["evaluate-stream", "majority", "--frames", "1", "--streams",
                                 "1", "--pairs", "0"], 1),
    "evaluate-stream split": (["evaluate-stream", "majority", "--split", "holdout"], 2),
    "evaluate-stream ckpt": (["evaluate-stream", "--checkpoint", "{f}/nope.pt"], 1),
    "evaluate-stream json": (["evaluate-stream", "majority", "--json", "{f}/kept.json"], 1),
    # stream
    "stream nothing": (["stream"], 2),
    "stream video missing": (["stream", "{f}/nope.mp4"], 1),
    "stream video folder": (["stream", "{f}/folder"], 1),
    "stream not a video": (["stream", "{f}/text.txt", "--backend", "pyav"], 1),
    "stream model": (["stream", "{f}/text.txt", "--model", "rvit_xxl"], 2),
    "stream model and ckpt": (["stream", "{f}/text.txt", "--model", "rvit", "--checkpoint",
                               "{f}/weights.pt"], 1),
    "stream ckpt weights": (["stream", "{f}/text.txt", "--checkpoint", "{f}/weights.pt"], 1),
    "stream every 0": (["stream", "{f}/text.txt", "--every", "0"], 2),
    "stream classes": (["stream", "{f}/text.txt", "--classes", "a,b"], 1),
    "stream cvit": (["stream", "{f}/text.txt", "--model", "cvit"], 1),
    # checkpoints
    "checkpoints out": (["checkpoints", "--out", "{f}/nope", "--only", "vit"], 1),
    "checkpoints only": (["checkpoints", "--only", "vit_xxl"], 2),
    "checkpoints workers": (["checkpoints", "--workers", "-1"], 2),
    # grade
    "grade nothing": (["grade"], 2),
    "grade missing": (["grade", "{f}/nope.ipynb"], 1),
    "grade not a notebook": (["grade", "{f}/text.txt"], 1),
    "grade timeout": (["grade", "{f}/text.txt", "--timeout", "0"], 2),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_malformed_call_is_one_line_never_a_traceback(name, files, in_use, capsys,
                                                        monkeypatch):
    monkeypatch.chdir(files)
    argv, status = CALLS[name]
    argv = [a.format(f=files, busy=in_use[0]) for a in argv]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.splitlines()
    assert (exit_.value.code, len(err)) == (status, 1), err
    assert "Traceback" not in err[0] and "error: " in err[0]
    if "in use" in name:
        assert f"is in use by pid {in_use[1]} on elsewhere" in err[0]
    assert not (files / "o").exists()  # a refused run leaves nothing behind


def test_python_dash_m_says_a_mistake_in_one_line(files):
    """The same through the interpreter, as a user types it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "rvit_mini", "evaluate", "--checkpoint",
                           str(files / "text.txt")], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: cannot read checkpoint ")
    assert proc.stdout == ""
