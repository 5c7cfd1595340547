"""The command line end to end: make-data -> train -> evaluate -> stream, on a few mp4 files."""

import json

import pytest
import torch

from rvit_mini import train
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
    model = train.model_from_checkpoint(out / "last.pt")
    assert (model.cfg.num_classes, model.cfg.tbptt, model.cfg.execution) == \
        (len(CLASSES), 4, "wavefront")

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


def test_paper_recipes_from_a_vit_need_its_weights(tmp_path):
    with pytest.raises(SystemExit, match="starts from a ViT: give --init-from"):
        main(["train", "--recipe", "rvit", "--data", "folder", "--root", str(tmp_path),
              "--val-split", "", "--out", str(tmp_path / "run"), "--max-steps", "1"])


def test_unknown_model_is_named(tmp_path):
    with pytest.raises(SystemExit, match="neither a checkpoint file nor a shipped model"):
        main(["stream", str(tmp_path / "x.mp4"), "--model", "no_such_model"])


def test_resume_continues_the_same_run(folder, tmp_path):
    args = ["train", "--recipe", "mini_rvit_scratch", "--data", "folder", "--root", str(folder),
            "--val-split", "", "--batch-size", "4", "--out", str(tmp_path / "run")]
    main([*args, "--max-steps", "1"])
    first = train.load_checkpoint(tmp_path / "run" / "last.pt")
    main([*args, "--max-steps", "2", "--resume"])
    second = train.load_checkpoint(tmp_path / "run" / "last.pt")
    assert (first["train_state"]["step"], second["train_state"]["step"]) == (1, 2)
    assert not torch.equal(first["model"]["head.weight"], second["model"]["head.weight"])
