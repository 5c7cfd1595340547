"""What the evaluation commands report is what happened: the clips scored and skipped, the
classes chosen among, undefined figures as undefined, the model's own class names, and names
from files printed harmlessly; shipped models go by name and files by --checkpoint."""

import json
import math
import shutil

import pytest
import torch
from test_datasets import CHARADES_HEADER, frames

import rvit_mini as rm
from rvit_mini.cli import main
from rvit_mini.data import CLASSES, write_video
from rvit_mini.training import loading


@pytest.fixture
def folder(clips):
    return clips  # conftest's video folder


def strict_json(path):
    """JSON as the standard has it: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{path} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def run(argv, capsys) -> tuple[list, list]:
    capsys.readouterr()
    main(argv)
    out, err = capsys.readouterr()
    return out.splitlines(), err.splitlines()


def test_evaluate_on_a_one_class_split_says_its_choice_was_restricted(folder, tmp_path, capsys):
    one = tmp_path / "one" / "train" / "jump"
    shutil.copytree(folder / "train" / "jump", one)
    (one / "broken.mp4").write_bytes(b"not a video")
    args = ["evaluate", "vit", "--data", "folder", "--root", str(tmp_path / "one"), "--split",
            "train", "--frames", "8"]
    out, err = run([*args, "--json", str(tmp_path / "one.json")], capsys)
    assert out[0].startswith("vit, train: top-1 1.0000") and out[0].endswith(
        "over 2 clips, 1 skipped (could not be read); choice restricted to the data set's 1 of "
        "the model's 9 classes (--all-classes: all 9)")
    assert not [line for line in err if "UserWarning" in line or "warnings.warn" in line]
    out, _ = run([*args, "--all-classes", "--json", str(tmp_path / "all.json")], capsys)
    assert out[0].endswith("over 2 clips, 1 skipped (could not be read); choice among all 9 of "
                           "the model's classes")
    metrics = strict_json(tmp_path / "all.json")["vit"]
    assert metrics["classes"] == CLASSES and metrics["n"] == 2 and metrics["skipped"] == 1
    assert [a is None for a in metrics["per_class"]] == [c != "jump" for c in CLASSES]
    assert out[1:] == [f"  {c:<24}" + ("-" if c != "jump" else f"{metrics['per_class'][6]:.3f}")
                       for c in CLASSES]


def charades_tree(root, broken: int):
    (root / "Charades_v1_classes.txt").write_text(
        "".join(f"c{i:03d} {c}\n" for i, c in enumerate(CLASSES)))
    rows = [CHARADES_HEADER] + [f'V{i},s,x,1,1,Yes,x,,x,"c00{i % 2} 0.0 1.0",2' for i in range(4)]
    (root / "Charades_v1_test.csv").write_text("\n".join(rows) + "\n")
    for i in range(4):
        write_video(root / "Charades_v1" / f"V{i}.mp4", frames(i))
    (root / "Charades_v1" / f"V{broken}.mp4").write_bytes(b"not a video")


def test_evaluate_on_charades_counts_the_clips_it_read_and_writes_json_without_nan(tmp_path,
                                                                                 capsys):
    charades_tree(tmp_path, broken=3)
    out, _ = run(["evaluate", "vit", "--data", "charades", "--root", str(tmp_path), "--split",
                  "test", "--json", str(tmp_path / "m.json")], capsys)
    assert "over 3 clips, 1 skipped (could not be read)" in out[0]
    metrics = strict_json(tmp_path / "m.json")["vit"]  # 7 classes without a positive: null
    assert sum(ap is None for ap in metrics["ap_per_class"]) == 7


def test_stream_metrics_of_degenerate_streams_are_undefined_not_perfect(tmp_path, capsys):
    # one stream of one action: no other class, so AP says nothing; one stream: no spread
    out, _ = run(["evaluate-stream", "majority", "vit_online", "--streams", "1", "--frames", "16",
                  "--action-frames", "16", "16", "--pairs", "0", "--json",
                  str(tmp_path / "rows.json")], capsys)
    assert not any("nan" in line for line in out)
    rows = strict_json(tmp_path / "rows.json")["rows"]
    assert all(row["mAP"] is None and row["accuracy_sd"] is None for row in rows)
    table = [line.split("|")[1:-1] for line in out if line.startswith("| vit_online")][0]
    assert [cell.strip() for cell in table][2:4] == ["-", "-"]  # spread, mAP


def test_evaluate_stream_reads_the_models_outputs_by_their_names(tmp_path):
    """A model whose outputs are in another order than the streams' classes still names them."""
    model = rm.load_pretrained("vit_online")
    order = CLASSES[::-1]
    permuted = rm.create_model("vit", num_classes=9)
    permuted.load_state_dict(model.state_dict())
    with torch.no_grad():
        rows = [CLASSES.index(c) for c in order]
        permuted.head.weight.copy_(model.head.weight[rows])
        permuted.head.bias.copy_(model.head.bias[rows])
    permuted.classes = order
    streams = rm.data.StickStreams("test", 32, seed=0, num_streams=2, action_frames=(8, 8))
    same, moved = rm.online.compare({"a": rm.online.Recurrent(model),
                                     "b": rm.online.Recurrent(permuted.eval())}, streams)
    assert same["accuracy"] == moved["accuracy"] > 0.3


def test_a_shipped_name_is_never_a_file_and_files_go_by_checkpoint(folder, tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rvit").write_bytes(b"a file named like a shipped model")
    args = ["--data", "folder", "--root", str(folder), "--split", "train"]
    out, _ = run(["evaluate", "rvit", *args], capsys)
    assert out[0].startswith("rvit, train: top-1 ")
    shutil.copy(loading.CHECKPOINTS / "vit.pt", tmp_path / "vit.pt")
    with pytest.raises(SystemExit):
        main(["evaluate", "vit.pt", *args])
    assert "no shipped model 'vit.pt'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no shipped model '/any/path'"):
        rm.load_pretrained("/any/path")
    with pytest.raises(ValueError, match=r"no shipped model '\.\./checkpoints/vit'"):
        rm.load_pretrained("../checkpoints/vit")


def test_class_names_from_files_reach_the_terminal_escaped(folder, tmp_path, capsys):
    evil = "jump\x1b[2J\x1b]0;pwned\x07"
    shutil.copytree(folder / "train" / "jump", tmp_path / "data" / "train" / evil)
    shutil.copytree(folder / "train" / "wave", tmp_path / "data" / "train" / "wave")
    model = rm.create_model("vit", num_classes=2)
    torch.save({"model": model.state_dict(), "model_config": model.cfg.to_dict(),
                "classes": [evil, "wave"]}, tmp_path / "evil.pt")
    out, err = run(["evaluate", "--checkpoint", str(tmp_path / "evil.pt"), "--data", "folder",
                    "--root", str(tmp_path / "data"), "--split", "train"], capsys)
    text = "\n".join(out + err)
    assert "\x1b" not in text and "\x07" not in text
    assert "jump\\x1b[2J\\x1b]0;pwned\\x07" in text
    video = next((folder / "train" / "wave").iterdir())
    out, _ = run(["stream", str(video), "--checkpoint", str(tmp_path / "evil.pt")], capsys)
    assert not any("\x1b" in line for line in out)


def test_a_model_that_answers_nan_is_refused_in_one_line(folder, tmp_path, capsys):
    model = rm.create_model("vit")
    torch.nn.init.constant_(model.head.bias, math.inf)  # what a diverged run might leave
    data = rm.data.StickActions("test", 2, 32, num_clips=3)
    with pytest.raises(ValueError, match="the model's outputs are NaN or inf for 3 of 3 clips"):
        rm.training.evaluate(model, data)
