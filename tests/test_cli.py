"""The command line end to end: make-data -> train -> evaluate -> stream, on a few mp4 files."""

import json

import pytest
import torch
from cli_errors import error_line  # noqa: E402

import rvit_mini as rm
from rvit_mini.cli import main
from rvit_mini.data import CLASSES
from rvit_mini.training import checkpoint, loading


@pytest.fixture
def folder(clips):
    return clips  # conftest's video folder


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
    model = loading.load_checkpoint(out / "last.pt")  # how it ran is not part of the model
    assert (type(model).__name__, model.cfg.num_classes, model.cfg.tbptt) == \
        ("RViT", len(CLASSES), 4)

    main(["evaluate", "--checkpoint", str(out / "last.pt"), "--data", "folder", "--root", str(folder),
          "--split", "train", "--json", str(tmp_path / "m.json")])
    metrics = json.loads((tmp_path / "m.json").read_text())[str(out / "last.pt")]
    assert metrics["n"] == 18 and sum(map(sum, metrics["confusion"])) == 18
    assert "top-1" in capsys.readouterr().out

    video = next((folder / "train" / "wave").iterdir())
    main(["stream", str(video), "--checkpoint", str(out / "last.pt")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 8 + 1 and lines[-1].startswith("8 frames; prediction: ")
    # the last streamed prediction is the clip forward on the decoded frames
    from rvit_mini.data import read_video
    expected = model.classes[model(read_video(video)[None]).argmax()]  # the model's own names
    assert lines[-1].endswith(expected)


def test_paper_recipes_from_a_vit_need_its_weights(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--recipe", "rvit", "--data", "folder", "--root", str(tmp_path),
              "--val-split", "", "--out", str(tmp_path / "run"), "--max-steps", "1"])
    assert "recipe rvit starts from a ViT: give --init-from" in capsys.readouterr().err


def test_unknown_model_is_named(tmp_path, capsys):
    err = error_line(["evaluate", "no_such_model"], capsys)
    assert "no shipped model 'no_such_model' in " in err and "available: cvit, " in err


def test_resume_continues_the_same_run(folder, tmp_path):
    args = ["train", "--recipe", "mini_rvit_scratch", "--data", "folder", "--root", str(folder),
            "--val-split", "", "--batch-size", "4", "--out", str(tmp_path / "run")]
    main([*args, "--max-steps", "1"])
    first = checkpoint.read_checkpoint(tmp_path / "run" / "last.pt")
    main([*args, "--max-steps", "2", "--resume"])
    second = checkpoint.read_checkpoint(tmp_path / "run" / "last.pt")
    assert (first["train_state"]["step"], second["train_state"]["step"]) == (1, 2)
    assert not torch.equal(first["model"]["head.weight"], second["model"]["head.weight"])


def train_args(folder, out, *extra):
    return ["train", "--recipe", "mini_rvit_scratch", "--data", "folder", "--root", str(folder),
            "--val-split", "", "--batch-size", "4", "--out", str(out), *extra]


def test_the_same_seed_gives_the_same_run(folder, tmp_path):
    for name in ("a", "b"):
        main(train_args(folder, tmp_path / name, "--max-steps", "1", "--seed", "3"))
    a, b = (checkpoint.read_checkpoint(tmp_path / n / "last.pt")["model"] for n in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # W_h too: the seed comes before the model


def test_a_run_is_not_overwritten_and_resume_needs_a_checkpoint(folder, tmp_path, capsys):
    main(train_args(folder, tmp_path / "run", "--max-steps", "1"))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(train_args(folder, tmp_path / "run", "--max-steps", "1"))
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already holds" in err and "--overwrite" in err
    assert err.count("\n") == 1
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
            "bare_weights": ["evaluate", "--checkpoint", str(tmp_path / "weights.pt"), "--frames",
                             "2"]}[case]
    expected = {"size": "image size 30 is not divisible by patch size 8",
                "root": "needs --root", "out_is_a_file": "is a file; give a folder",
                "bare_weights": "holds weights but no model config"}[case]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err or str(exit_.value.code)
    assert expected in err and "Traceback" not in err


def test_evaluate_matches_classes_by_name_not_index(folder, capsys):
    # the export's classes are its sorted folder names; the shipped model's are CLASSES' order
    assert sorted(CLASSES) != CLASSES
    main(["evaluate", "rvit", "--data", "folder", "--root", str(folder), "--split", "train"])
    top1 = float(capsys.readouterr().out.split("top-1 ")[1].split()[0])
    assert top1 > 0.8


def test_a_model_and_data_without_a_class_in_common_are_refused(folder, tmp_path, capsys):
    other = tmp_path / "other" / "train"
    for name in ("jump", "wave"):
        (other / f"not_{name}").mkdir(parents=True)
        for video in list((folder / "train" / name).iterdir())[:1]:
            (other / f"not_{name}" / video.name).write_bytes(video.read_bytes())
    err = error_line(["evaluate", "vit", "--data", "folder", "--root", str(tmp_path / "other"),
                      "--split", "train"], capsys)
    assert "share none: this model was trained for another data set" in err


def test_nothing_the_cli_writes_replaces_a_file_without_overwrite(folder, tmp_path, capsys):
    kept = tmp_path / "kept.json"
    kept.write_text("mine")
    err = error_line(["evaluate", "vit", "--json", str(kept)], capsys)
    assert f"{kept} exists; give another --json, or replace it with --overwrite" in err
    err = error_line(["check-data", "--data", "folder", "--root", str(folder), "--out",
                      str(kept)], capsys)
    assert "give another --out, or replace it with --overwrite" in err
    err = error_line(["evaluate-stream", "majority", "--json", str(kept)], capsys)
    assert f"{kept} exists; give another --json, or replace it with --overwrite" in err
    assert kept.read_text() == "mine"
    main(["check-data", "--data", "folder", "--root", str(folder), "--split", "train", "--out",
          str(kept), "--overwrite"])
    assert kept.read_text().startswith("# videos that do not decode")


def test_make_data_does_not_mix_a_new_export_with_an_old_one(tmp_path, capsys):
    args = ["make-data", "--out", str(tmp_path), "--split", "val", "--frames", "2", "--size", "32"]
    main([*args, "--clips", "9"])
    err = error_line([*args, "--clips", "3"], capsys)
    assert "already holds a val split" in err and "--overwrite" in err
    main([*args, "--clips", "3", "--overwrite"])
    assert sum(1 for _ in (tmp_path / "val").rglob("*.mp4")) == 3  # no stale clips left
    (tmp_path / "train").mkdir()
    err = error_line([*args[:4], "train", *args[5:], "--clips", "1", "--overwrite"], capsys)
    assert "was not written by make-data, so --overwrite leaves it alone" in err


def test_check_data_on_a_folder_that_is_not_there_is_an_error(tmp_path, capsys):
    err = error_line(["check-data", "--data", "kinetics", "--root", str(tmp_path / "nope"),
                      "--out", str(tmp_path / "x.txt")], capsys)
    assert "--root" in err and "no such folder" in err
    err = error_line(["check-data", "--data", "kinetics", "--root", str(tmp_path), "--out",
                      str(tmp_path / "x.txt")], capsys)
    assert f"no split of {tmp_path} could be read as kinetics: train: annotation file" in err
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("case", ["missing", "cvit", "resume"])
def test_init_from_is_refused_where_it_cannot_apply(case, folder, tmp_path, capsys):
    source = {"missing": str(tmp_path / "nonexistent.pt"), "cvit": "cvit", "resume": "vit"}[case]
    argv = train_args(folder, tmp_path / "run", "--max-steps", "1", "--init-from", source)
    argv[argv.index("mini_rvit_scratch")] = "mini_rvit"
    expected = {"missing": "checkpoint not found: ", "cvit": "is a CViT; give an image ViT",
                "resume": "--init-from starts a new run from a model, --resume continues"}[case]
    err = error_line([*argv, *(["--resume"] if case == "resume" else [])], capsys)
    assert expected in err


def test_init_from_is_applied_to_a_recipe_from_scratch(folder, tmp_path):
    main(train_args(folder, tmp_path / "run", "--max-steps", "1", "--val-split", "",
                    "--init-from", "vit"))
    card = json.loads(next((tmp_path / "run").glob("*.json")).read_text())
    assert card["init"] == "the shipped vit"
    vit = rm.load_pretrained("vit")
    model = loading.load_checkpoint(tmp_path / "run" / "last.pt")
    # one small step from the ViT's weights: the patch embedding is still close to the ViT's
    assert (model.patch_embed.proj.weight - vit.patch_embed.proj.weight).abs().max() < 0.05


def test_a_head_initialised_from_a_vit_follows_the_class_names(folder, tmp_path):
    main(train_args(folder, tmp_path / "run", "--max-steps", "1", "--val-split", ""))
    vit = rm.load_pretrained("vit")
    main(["train", "--recipe", "mini_rvit", "--data", "folder", "--root", str(folder),
          "--val-split", "", "--batch-size", "4", "--out", str(tmp_path / "init"),
          "--max-steps", "1", "--init-from", "vit"])
    # after one small step the head rows are still close to the ViT's row of the same class
    head = loading.load_checkpoint(tmp_path / "init" / "last.pt").head.weight
    rows = [CLASSES.index(c) for c in sorted(CLASSES)]
    assert (head - vit.head.weight[rows]).abs().max() < 0.05
    assert (head - vit.head.weight).abs().max() > 0.05


def test_a_batch_larger_than_the_data_set_is_an_error(folder, tmp_path, capsys):
    argv = train_args(folder, tmp_path / "run", "--max-steps", "1")
    argv[argv.index("--batch-size") + 1] = "100000"
    err = error_line(argv, capsys)
    assert "a global batch of 100000 clips is larger than the training set (18 clips)" in err


def test_no_readable_video_is_an_error_not_a_finished_run(tmp_path, capsys):
    for name in ("jump", "wave"):
        (tmp_path / "train" / name).mkdir(parents=True)
        (tmp_path / "train" / name / "0.mp4").write_bytes(b"not a video")
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(train_args(tmp_path, tmp_path / "run", "--batch-size", "2"))
    lines = capsys.readouterr().err.splitlines()
    # the command line shows each warning as one line, then the error as its last
    assert any(line.startswith("warning: skipped: cannot decode") for line in lines)
    assert "no batch of the 2 training clips could be read" in lines[-1]
    assert not (tmp_path / "run" / "last.pt").exists()
    err = error_line(["evaluate", "vit", "--data", "folder", "--root", str(tmp_path),
                      "--split", "train"], capsys)
    assert "none of the 2 clips could be read" in err


def test_stream_refuses_a_model_that_cannot_stream(folder, capsys):
    video = next((folder / "train" / "wave").iterdir())
    err = error_line(["stream", str(video), "--model", "cvit"], capsys)
    assert "a CViT attends over the whole clip at once and cannot stream" in err


@pytest.mark.parametrize("argv", [
    ["train", "--recipe", "mini_vit", "--size", "100000", "--max-steps", "1"],
    ["make-data", "--size", "100000", "--clips", "2"],
    ["evaluate", "vit", "--frames", "100000"],
])
def test_a_clip_too_large_for_memory_is_refused_before_anything_is_made(argv, tmp_path, capsys):
    if "evaluate" not in argv:
        argv = [*argv, "--out", str(tmp_path / "out")]
    err = error_line(argv, capsys)
    assert "more than this machine's" in err and "give a smaller frame size" in err, err
    assert not (tmp_path / "out").exists()


def test_a_batch_that_fits_is_not_refused(monkeypatch):
    from rvit_mini.common import checks

    clips = rm.data.StickActions("test", num_frames=16, size=32, num_clips=4)
    checks.check_batch_fits(clips, 32)  # 4 clips of 16 x 3 x 32 x 32 floats: 0.8 MB
    monkeypatch.setattr(checks, "physical_memory", lambda: 4 * 16 * 3 * 32 * 32 * 4 - 1)
    with pytest.raises(ValueError, match="a batch of 4 clips of 16 frames at 32x32 pixels"):
        checks.check_batch_fits(clips, 32)
