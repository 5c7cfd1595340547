"""The command line end to end: make-data -> train -> evaluate -> stream, on a few mp4 files."""

import json

import pytest
import torch

from rvit_mini import run
from rvit_mini.cli import main
from rvit_mini.data import CLASSES


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    main(["make-data", "--out", str(root), "--split", "train", "--clips", "18", "--frames", "8",
          "--size", "32"])
    return root


def test_make_data_writes_a_video_folder(folder):
    rows = (folder / "train.csv").read_text().splitlines()
    assert rows[0] == "path,label" and len(rows) == 19
    assert sorted(p.name for p in (folder / "train").iterdir()) == sorted(CLASSES)


def test_train_evaluate_stream(folder, tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--recipe", "mini_rvit_scratch", "--data", "folder", "--root", str(folder),
          "--val-split", "", "--out", str(out), "--batch-size", "4", "--max-steps", "2",
          "--tbptt", "4", "--execution", "wavefront"])
    assert (out / "history.png").is_file()
    model = run.model_from_checkpoint(out / "last.pt")  # how it ran is not part of the model
    assert (type(model).__name__, model.cfg.num_classes, model.cfg.tbptt) == \
        ("RViT", len(CLASSES), 4)

    main(["evaluate", str(out / "last.pt"), "--data", "folder", "--root", str(folder),
          "--split", "train", "--json", str(tmp_path / "m.json")])
    metrics = json.loads((tmp_path / "m.json").read_text())[str(out / "last.pt")]
    assert metrics["n"] == 18 and sum(map(sum, metrics["confusion"])) == 18
    assert "top-1" in capsys.readouterr().out

    video = next((folder / "train" / "wave").iterdir())
    main(["stream", str(video), "--model", str(out / "last.pt")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 8 + 1 and lines[-1].startswith("8 frames; prediction: ")
    # the last streamed prediction is the clip forward on the decoded frames
    from rvit_mini.data import read_video
    expected = CLASSES[model(read_video(video)[None]).argmax()]
    assert lines[-1].endswith(expected)


def test_paper_recipes_from_a_vit_need_its_weights(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--recipe", "rvit", "--data", "folder", "--root", str(tmp_path),
              "--val-split", "", "--out", str(tmp_path / "run"), "--max-steps", "1"])
    assert "recipe rvit starts from a ViT: give --init-from" in capsys.readouterr().err


def test_unknown_model_is_named(tmp_path):
    with pytest.raises(SystemExit, match="neither a checkpoint file nor a shipped model"):
        main(["stream", str(tmp_path / "x.mp4"), "--model", "no_such_model"])


def test_resume_continues_the_same_run(folder, tmp_path):
    args = ["train", "--recipe", "mini_rvit_scratch", "--data", "folder", "--root", str(folder),
            "--val-split", "", "--batch-size", "4", "--out", str(tmp_path / "run")]
    main([*args, "--max-steps", "1"])
    first = run.load_checkpoint(tmp_path / "run" / "last.pt")
    main([*args, "--max-steps", "2", "--resume"])
    second = run.load_checkpoint(tmp_path / "run" / "last.pt")
    assert (first["train_state"]["step"], second["train_state"]["step"]) == (1, 2)
    assert not torch.equal(first["model"]["head.weight"], second["model"]["head.weight"])


def train_args(folder, out, *extra):
    return ["train", "--recipe", "mini_rvit_scratch", "--data", "folder", "--root", str(folder),
            "--val-split", "", "--batch-size", "4", "--out", str(out), *extra]


def test_the_same_seed_gives_the_same_run(folder, tmp_path):
    for name in ("a", "b"):
        main(train_args(folder, tmp_path / name, "--max-steps", "1", "--seed", "3"))
    a, b = (run.load_checkpoint(tmp_path / n / "last.pt")["model"] for n in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # W_h too: the seed comes before the model


def test_a_run_is_not_overwritten_and_resume_needs_a_checkpoint(folder, tmp_path, capsys):
    main(train_args(folder, tmp_path / "run", "--max-steps", "1"))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(train_args(folder, tmp_path / "run", "--max-steps", "1"))
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already holds a run" in err and err.count("\n") == 1
    main(train_args(folder, tmp_path / "run", "--max-steps", "1", "--overwrite"))
    with pytest.raises(SystemExit):
        main(train_args(folder, tmp_path / "empty", "--max-steps", "1", "--resume"))
    assert f"nothing to resume: {tmp_path / 'empty'} has no checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["train", "--batch-size", "0"], ["train", "--batch-size", "-2"], ["train", "--size", "0"],
    ["train", "--epochs", "-1"], ["train", "--max-steps", "0"], ["train", "--tbptt", "-1"],
    ["train", "--device", "cuda:7"], ["train", "--device", "toaster"],
    ["stream", "x.mp4", "--every", "0"], ["make-data", "--out", "x", "--clips", "0"],
    ["make-data", "--out", "x", "--fps", "0"],
])
def test_nonsense_values_are_refused(argv, capsys):
    if argv[0] == "train":
        argv = ["train", "--recipe", "mini_vit", "--out", "x", *argv[1:]]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and "error: argument" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["size", "root", "out_is_a_file", "bare_weights"])
def test_a_mistake_is_one_line_not_a_traceback(case, folder, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    torch.save({"head.weight": torch.zeros(1)}, tmp_path / "weights.pt")
    argv = {"size": train_args(folder, tmp_path / "run", "--size", "30"),
            "root": ["train", "--recipe", "mini_vit", "--data", "kinetics", "--out", "x"],
            "out_is_a_file": train_args(folder, tmp_path / "file", "--max-steps", "1"),
            "bare_weights": ["evaluate", str(tmp_path / "weights.pt"), "--frames", "2"]}[case]
    expected = {"size": "image size 30 is not divisible by patch size 8",
                "root": "needs --root", "out_is_a_file": "is a file; give a folder",
                "bare_weights": "holds weights but no model config"}[case]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err or str(exit_.value.code)
    assert expected in err and "Traceback" not in err
