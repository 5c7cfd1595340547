"""Real data sets as they are downloaded: the official annotation files (copied row formats),
both Kinetics layouts, absent and undecodable videos, exclude lists, check-data."""

import io
import json
import re
import warnings
from dataclasses import replace

import av
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import rvit_mini as rm
import rvit_mini.cli.train
from rvit_mini import data
from rvit_mini import training as train
from rvit_mini.cli import main
from rvit_mini.data import CLASSES, render_clip, write_video
from rvit_mini.training import checkpoint

# H.264 / VP9 round trip at 32x32: see test_data.py
MEAN_ROUND_TRIP_ERROR = 10 / 255
KINETICS_LABELS = ["abseiling", "air drumming", "passing American football (in game)",
                   "massaging person's head"]


def frames(i, t=8):
    return render_clip(CLASSES[i % len(CLASSES)], t, 32, i)


def check_loaded(ds, expected):
    """expected: [(frames index, label or None for unlabeled)] in the data set's order."""
    assert len(ds) == len(expected)
    for (video, target), (i, label) in zip(ds, expected):
        assert video.shape == (8, 3, 32, 32)
        assert (video - data.to_tensor(frames(i))).abs().mean() < MEAN_ROUND_TRIP_ERROR
        assert target == (-1 if label is None else ds.classes.index(label))


def kinetics_tree(root, present=range(4), labels=KINETICS_LABELS, split="train", by_class=False,
                  newline="\n"):
    """annotations/{split}.csv in the CVDF format (six columns, quoted labels) for one row per
    label; the videos of `present` written flat or one folder per class (torchvision's names)."""
    rows = ["label,youtube_id,time_start,time_end,split,is_cc"]
    for i, label in enumerate(labels):
        rows.append(f'"{label}",-x{i}_Yt-{split},{10 * i},{10 * i + 10},{split},{i % 2}')
        folder = root / split
        if by_class:
            folder = folder / label.replace(" ", "_").replace("'", "").replace("(", "").replace(")", "")
        if i in present:
            write_video(folder / f"-x{i}_Yt-{split}_{10 * i:06d}_{10 * i + 10:06d}.mp4", frames(i))
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / f"{split}.csv").write_bytes(
        ("\ufeff" + newline.join(rows) + newline).encode())


def test_kinetics_reads_the_official_csv_flat_or_by_class(tmp_path):
    kinetics_tree(tmp_path, newline="\r\n")  # with a BOM and CRLF line endings
    kinetics_tree(tmp_path, split="val", by_class=True)
    train_set = data.kinetics(tmp_path, "train", num_frames=8)
    assert train_set.classes == sorted(KINETICS_LABELS)
    check_loaded(train_set, list(enumerate(KINETICS_LABELS)))
    check_loaded(data.kinetics(tmp_path, "val", num_frames=8), list(enumerate(KINETICS_LABELS)))


def test_kinetics_test_rows_without_labels_get_target_minus_one(tmp_path):
    kinetics_tree(tmp_path)
    (tmp_path / "test").mkdir()
    write_video(tmp_path / "test" / "abc_000005_000015.mp4", frames(0))
    (tmp_path / "annotations" / "test.csv").write_text(
        "youtube_id,time_start,time_end,split\nabc,5,15,test\n")
    check_loaded(data.kinetics(tmp_path, "test", num_frames=8), [(0, None)])


def test_kinetics_csv_without_the_columns_is_refused(tmp_path):
    kinetics_tree(tmp_path)
    (tmp_path / "annotations" / "val.csv").write_text("label,youtube,start\nwave,x,1\n")
    with pytest.raises(ValueError, match="val.csv: expected the columns youtube_id,time_start,"
                                         "time_end; its header is label,youtube,start"):
        data.kinetics(tmp_path, "val")


def test_absent_videos_are_skipped_with_one_warning(tmp_path):
    kinetics_tree(tmp_path, present=[1])
    with pytest.warns(UserWarning) as said:
        ds = data.kinetics(tmp_path, "train", num_frames=8)
    assert len(said) == 1
    assert "3 of 4 videos are absent and skipped: " in str(said[0].message)
    assert "-x0_Yt-train_000000_000010.mp4" in str(said[0].message)
    check_loaded(ds, [(1, KINETICS_LABELS[1])])
    assert len(ds.missing) == 3
    with pytest.raises(ValueError, match="3 of 4 videos are absent: .*-x3_Yt-train"):
        data.kinetics(tmp_path, "train", missing="error")


def test_a_copy_with_no_video_there_is_refused(tmp_path):
    kinetics_tree(tmp_path, present=[0])
    (tmp_path / "annotations" / "val.csv").write_text(
        "label,youtube_id,time_start,time_end,split,is_cc\nabseiling,zz,1,11,val,0\n")
    (tmp_path / "val").mkdir()
    with pytest.raises(ValueError, match="no videos left of 1 listed: 0 excluded, 1 absent"):
        data.kinetics(tmp_path, "val")


def test_exclude_takes_ids_paths_or_a_file(tmp_path):
    kinetics_tree(tmp_path)
    names = [f"-x{i}_Yt-train_{10 * i:06d}_{10 * i + 10:06d}" for i in range(4)]
    ds = data.kinetics(tmp_path, "train", num_frames=8,
                       exclude=[names[0], f"train/{names[2]}.mp4"])
    check_loaded(ds, [(1, KINETICS_LABELS[1]), (3, KINETICS_LABELS[3])])
    exclude = tmp_path / "exclude.txt"
    exclude.write_text(f"# a comment\ntrain/{names[1]}.mp4\tcannot decode ...\n")
    check_loaded(data.kinetics(tmp_path, "train", num_frames=8, exclude=exclude),
                 [(i, KINETICS_LABELS[i]) for i in (0, 2, 3)])
    with pytest.raises(FileNotFoundError, match="exclude file not found: .*nothing.txt"):
        data.kinetics(tmp_path, "train", exclude=tmp_path / "nothing.txt")


def test_an_undecodable_video_is_none_and_collate_drops_it(tmp_path):
    good = write_video(tmp_path / "good.mp4", frames(0))
    (tmp_path / "bad.mp4").write_bytes(good.read_bytes()[:300])
    ds = data.VideoClips([(good, 0), (tmp_path / "bad.mp4", 1)], ["a", "b"], num_frames=8)
    with pytest.warns(UserWarning, match="skipped: cannot decode .*bad.mp4"):
        assert ds[1] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds[1] is None  # warned once per file
    video, target = data.collate([ds[0], ds[1]])
    assert video.shape == (1, 8, 3, 32, 32) and target.tolist() == [0]
    assert data.collate([None, None]) is None
    batches = list(DataLoader(ds, batch_size=1, collate_fn=data.collate))
    assert batches[0][1].tolist() == [0] and batches[1] is None
    ds.on_error = "raise"
    with pytest.raises(ValueError, match="cannot decode .*bad.mp4"):
        ds[1]
    with pytest.raises(ValueError, match="on_error must be one of"):
        data.VideoClips([(good, 0)], ["a"], on_error="ignore")


SSV2_TEMPLATES = ["Holding [something] next to [something]", "Pushing [something] from left to right",
                  "Putting [something], [something] and [something] on the table"]


@pytest.mark.parametrize("layout", ["labels/", "20bn"])
def test_something_something_v2(tmp_path, layout):
    """labels/{labels,train,...}.json, or the original something-something-v2-*.json in root."""
    name = (lambda n: f"labels/{n}.json") if layout == "labels/" else \
        (lambda n: f"something-something-v2-{n}.json")
    (tmp_path / "labels").mkdir()
    classes = {t.replace("[", "").replace("]", ""): str(i) for i, t in enumerate(SSV2_TEMPLATES)}
    (tmp_path / name("labels")).write_text(json.dumps(classes, indent=4))
    train_entries = []
    for i, template in enumerate(SSV2_TEMPLATES):
        write_video(tmp_path / "20bn-something-something-v2" / f"{78687 + i}.webm", frames(i))
        train_entries.append({"id": str(78687 + i), "label": template.replace("[something]", "a cup"),
                              "template": template, "placeholders": ["a cup"] * 3})
    (tmp_path / name("train")).write_text(json.dumps(train_entries))
    (tmp_path / name("test")).write_text(json.dumps([{"id": "78688"}, {"id": "78689"}]))
    check_loaded(data.something_something_v2(tmp_path, "train", num_frames=8),
                 [(i, t.replace("[", "").replace("]", "")) for i, t in enumerate(SSV2_TEMPLATES)])
    check_loaded(data.something_something_v2(tmp_path, "test", num_frames=8), [(1, None), (2, None)])


CHARADES_HEADER = ("id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,"
                   "length")


def test_charades_original_resolution_folder_and_videos_without_actions(tmp_path):
    (tmp_path / "Charades_v1_classes.txt").write_text(
        "".join(f"c{i:03d} {c}\r\n" for i, c in enumerate(CLASSES)))
    rows = [CHARADES_HEADER,
            '46GP8,HR43,Kitchen,6,7,Yes,"A person cooking on a stove, then drinking.",'
            'cup;dish;stove,"A person cooks food, then drinks.","c000 0.00 3.10;c004 2.50 6.00",6.40',
            'N11GT,P7VO,Bedroom,5,6,Yes,A person sits down.,,,,5.00']
    (tmp_path / "Charades_v1_test.csv").write_text("\r\n".join(rows) + "\r\n")
    for i, vid in enumerate(("46GP8", "N11GT")):
        write_video(tmp_path / "Charades_v1" / f"{vid}.mp4", frames(i))
    ds = data.charades(tmp_path, "test", num_frames=8)
    assert ds.classes == CLASSES and len(ds) == 2
    assert ds[0][1].nonzero().flatten().tolist() == [0, 4]
    assert ds[1][1].tolist() == [0.0] * len(CLASSES)
    assert ds.segments == [[("c000", 0.0, 3.1), ("c004", 2.5, 6.0)], []]
    assert (ds[1][0] - data.to_tensor(frames(1))).abs().mean() < MEAN_ROUND_TRIP_ERROR


def test_charades_segments_follow_the_videos_that_are_there(tmp_path):
    (tmp_path / "Charades_v1_classes.txt").write_text("c000 Holding some clothes\nc001 Eating\n")
    (tmp_path / "Charades_v1_train.csv").write_text(
        f'{CHARADES_HEADER}\nAAAAA,s,x,1,1,Yes,x,,x,"c000 0.0 1.0",2\nBBBBB,s,x,1,1,Yes,x,,x,'
        '"c001 1.0 2.0",2\n')
    write_video(tmp_path / "Charades_v1_480" / "BBBBB.mp4", frames(0))
    with pytest.warns(UserWarning, match="1 of 2 videos are absent"):
        ds = data.charades(tmp_path, "train", num_frames=8)
    assert ds.segments == [[("c001", 1.0, 2.0)]] and ds[0][1].tolist() == [0.0, 1.0]


JESTER_LABELS = ["Swiping Left", "Doing other things", "No gesture"]  # not sorted: the file's order


def jester_tree(root):
    """The Jester files: labels, a validation and a test split, two videos of JPEG frames."""
    (root / "jester-v1-labels.csv").write_text("\r\n".join(JESTER_LABELS) + "\r\n")
    for i, video_id in enumerate((34870, 56557)):
        folder = root / "20bn-jester-v1" / str(video_id)
        folder.mkdir(parents=True)
        for k, frame in enumerate(frames(i), 1):
            Image.fromarray(frame).save(folder / f"{k:05d}.jpg", quality=95)
    (root / "jester-v1-validation.csv").write_text(
        "34870;Doing other things\r\n56557;No gesture\r\n")
    (root / "jester-v1-test.csv").write_text("56557\n")


def test_jester_classes_follow_the_labels_file_and_test_has_ids_only(tmp_path):
    jester_tree(tmp_path)
    ds = data.jester(tmp_path, "validation", num_frames=8)
    assert ds.classes == JESTER_LABELS
    check_loaded(ds, [(0, "Doing other things"), (1, "No gesture")])
    check_loaded(data.jester(tmp_path, "test", num_frames=8), [(1, None)])
    with pytest.raises(FileNotFoundError, match="annotation file not found: .*jester-v1-train.csv"):
        data.jester(tmp_path, "train")
    (tmp_path / "jester-v1-train.csv").write_text("34870;No gesture\n7;Doing a backflip\n")
    with pytest.raises(ValueError, match=r"jester-v1-train.csv:2: unknown label 'Doing a backflip'"):
        data.jester(tmp_path, "train")


def test_each_data_set_names_its_validation_split():
    assert set(data.VAL_SPLITS) == {"stick_actions", *data.LOADERS}
    assert all(data.VAL_SPLITS[name] in data.SPLITS[name] for name in data.LOADERS)
    assert data.VAL_SPLITS["jester"] == "validation" and data.VAL_SPLITS["charades"] == "test"


def test_video_folder_takes_common_containers_in_any_case(tmp_path):
    write_video(tmp_path / "jump" / "a.mp4", frames(0))
    write_video(tmp_path / "wave" / "b.mp4", frames(1))
    (tmp_path / "jump" / "a.mp4").rename(tmp_path / "jump" / "A.MP4")
    (tmp_path / "wave" / "b.mp4").rename(tmp_path / "wave" / "b.mov")
    (tmp_path / "wave" / "notes.txt").write_text("x")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    with pytest.warns(UserWarning, match="skipped 1 files that are not videos .*notes.txt"):
        ds = data.video_folder(tmp_path, num_frames=8)
    assert ds.classes == ["jump", "wave"] and [t for _, t in ds.items] == [0, 1]
    check_loaded(ds, [(0, "jump"), (1, "wave")])
    (tmp_path / "sit").mkdir()
    (tmp_path / "sit" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="class folders without videos under .*: sit; add"):
        data.video_folder(tmp_path)


def test_check_data_counts_and_writes_an_exclude_file(tmp_path, capsys):
    kinetics_tree(tmp_path, present=[0, 1, 2])
    bad = tmp_path / "train" / "-x1_Yt-train_000010_000020.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    out = tmp_path / "bad.txt"
    main(["check-data", "--data", "kinetics", "--root", str(tmp_path), "--workers", "2",
          "--out", str(out)])
    printed = capsys.readouterr().out
    assert "train: 4 listed, 3 present, 1 missing, 1 undecodable" in printed
    assert "val: not checked: annotation file not found" in printed
    assert out.read_text().splitlines()[1].startswith("train/-x1_Yt-train_000010_000020.mp4\t")
    with pytest.warns(UserWarning, match="1 of 3 videos are absent"):
        ds = data.kinetics(tmp_path, "train", exclude=out)
    assert [p.name[:3] for p, _ in ds.items] == ["-x0", "-x2"]


def test_train_on_a_kinetics_copy_with_most_videos_absent(tmp_path, capsys):
    labels = [*KINETICS_LABELS, *(f"class {i}" for i in range(8))]
    kinetics_tree(tmp_path, present=[0, 1, 2, 3], labels=labels)
    kinetics_tree(tmp_path, present=[0], labels=labels, split="val")
    main(["train", "--recipe", "mini_vit", "--data", "kinetics", "--root", str(tmp_path),
          "--out", str(tmp_path / "run"), "--size", "32", "--batch-size", "2",
          "--max-steps", "2"])
    # the command line shows each warning as one line on stderr
    absent = [line for line in capsys.readouterr().err.splitlines() if "absent" in line]
    assert absent[0].startswith("warning: 8 of 12 videos are absent and skipped")
    assert absent[1].startswith("warning: 11 of 12 videos are absent and skipped")
    assert len(absent) == 2
    saved = checkpoint.read_checkpoint(tmp_path / "run" / "last.pt")
    assert saved["train_state"]["step"] == 2
    assert saved["classes"] == sorted(labels)  # the class order of this copy
    assert torch.isfinite(saved["model"]["head.weight"]).all()


class Fitted(Exception):
    pass


def test_train_validates_on_the_data_sets_own_split(tmp_path, monkeypatch):
    jester_tree(tmp_path)

    def fit(model, train_set, val_set, *args, **kwargs):
        raise Fitted(val_set)

    monkeypatch.setattr(rvit_mini.cli.train, "fit", fit)
    (tmp_path / "jester-v1-train.csv").write_text("56557;No gesture\n")
    with pytest.raises(Fitted) as fitted:
        main(["train", "--recipe", "mini_vit", "--data", "jester", "--root", str(tmp_path),
              "--out", str(tmp_path / "run")])
    val_set = fitted.value.args[0]
    assert [path.name for path, _ in val_set.items] == ["34870", "56557"]  # jester-v1-validation


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_an_unlabelled_split_is_refused_for_training_and_evaluation(tmp_path, command, capsys):
    jester_tree(tmp_path)
    args = {"train": ["train", "--recipe", "mini_vit", "--out", str(tmp_path / "run")],
            "evaluate": ["evaluate", "vit"]}[command]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--data", "jester", "--root", str(tmp_path), "--split", "test"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "error: jester split 'test' has no labels for 1 of its 1 clips (target -1): it is for "
        "inference only (rvit_mini.train.predict); train and evaluate on a labelled split\n")
    assert len(data.jester(tmp_path, "test")) == 1  # predict-style use still loads it


def test_fit_refuses_an_unlabelled_split_before_its_first_step(tmp_path):
    jester_tree(tmp_path)
    clips = data.jester(tmp_path, "test", num_frames=4, size=32)
    recipe = replace(train.RECIPES["mini_vit"], batch_size=1, epochs=1)
    model = rm.create_model("vit", scale="mini", num_classes=len(clips.classes))
    with pytest.raises(ValueError, match=r"the training set has no labels for 1 of its 1 clips"):
        train.fit(model, clips, None, recipe, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def bomb_jpeg() -> bytes:
    """A small JPEG whose header claims 20000 x 20000 pixels (PIL's DecompressionBombError)."""
    buffer = io.BytesIO()
    Image.fromarray(frames(0)[0]).save(buffer, "JPEG")
    jpeg = bytearray(buffer.getvalue())
    start = jpeg.index(b"\xff\xc0")  # the frame header: length, precision, height, width
    jpeg[start + 5:start + 9] = (20000).to_bytes(2, "big") * 2
    return bytes(jpeg)


@pytest.mark.parametrize("broken", ["bomb", "truncated", "not a jpeg"])
def test_a_jester_frame_that_cannot_be_read_is_named_and_skipped(tmp_path, broken):
    jester_tree(tmp_path)
    frame = tmp_path / "20bn-jester-v1" / "34870" / "00004.jpg"
    frame.write_bytes({"bomb": bomb_jpeg(), "truncated": frame.read_bytes()[:200],
                       "not a jpeg": b"GIF89a" + bytes(50)}[broken])
    clips = data.jester(tmp_path, "validation", num_frames=8)
    with pytest.warns(UserWarning, match=f"skipped: cannot decode {re.escape(str(frame))}: "):
        assert clips[0] is None
    assert clips[1][0].shape == (8, 3, 32, 32)
    clips.on_error = "raise"
    with pytest.raises(ValueError, match=f"cannot decode {re.escape(str(frame))}: ") as error:
        clips[0]
    assert "\n" not in str(error.value)


def test_check_data_reports_a_decompression_bomb_frame_as_undecodable(tmp_path, capsys):
    jester_tree(tmp_path)
    (tmp_path / "20bn-jester-v1" / "56557" / "00002.jpg").write_bytes(bomb_jpeg())
    out = tmp_path / "bad.txt"
    main(["check-data", "--data", "jester", "--root", str(tmp_path), "--split", "validation",
          "--out", str(out)])
    assert "validation: 2 listed, 2 present, 0 missing, 1 undecodable" in capsys.readouterr().out
    line = out.read_text().splitlines()[1]
    assert line.startswith("20bn-jester-v1/56557\tcannot decode ") and "00002.jpg" in line


def test_jester_frames_of_different_sizes_are_refused_naming_them(tmp_path):
    jester_tree(tmp_path)
    Image.fromarray(render_clip("jump", 1, 64, 0)[0]).save(
        tmp_path / "20bn-jester-v1" / "34870" / "00005.jpg")
    with pytest.raises(ValueError, match=re.escape(
            f"cannot decode {tmp_path / '20bn-jester-v1' / '34870'}: its frames differ in size "
            "(00001.jpg is 32x32, 00005.jpg is 64x64)")):
        data.jester(tmp_path, "validation", num_frames=8, on_error="raise")[0]


def test_frames_numbered_without_leading_zeros_are_read_in_order(tmp_path):
    clip = frames(0, t=12)
    for k, frame in enumerate(clip, 1):
        Image.fromarray(frame).save(tmp_path / f"{k}.jpg", quality=95)
    video = data.datasets.read_jpeg_folder(tmp_path, None, "all")
    errors = [(video[t] - data.to_tensor(clip[[u]])[0]).abs().mean() for t in range(12)
              for u in range(12)]
    nearest = [min(range(12), key=lambda u: errors[12 * t + u]) for t in range(12)]
    assert nearest == list(range(12))  # 1, 2, ..., 12: not 1, 10, 11, 12, 2, ...


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_a_video_whose_frames_change_size_is_refused_naming_it(tmp_path, backend):
    if backend == "decord" and data.video_backend() != "decord":
        pytest.skip("decord is not installed")

    def transport_stream(size):
        path = tmp_path / f"{size}.ts"
        with av.open(str(path), "w", format="mpegts") as container:
            stream = container.add_stream("libx264", rate=12)
            stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
            for frame in render_clip("wave", 6, size, 0):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        return path.read_bytes()

    video = tmp_path / "switch.ts"  # two streams back to back: 32x32, then 64x64
    video.write_bytes(transport_stream(32) + transport_stream(64))
    reads = {"read_video": lambda: data.read_video(video, 8, backend=backend),
             "count_frames (check-data)": lambda: data.count_frames(video, backend=backend),
             "iter_frames (stream)": lambda: list(data.iter_frames(video, backend=backend))}
    for read in reads.values():
        with pytest.raises(ValueError, match=f"cannot decode {re.escape(str(video))}"):
            read()


def test_an_unknown_data_set_name_is_refused_naming_the_known_ones(tmp_path):
    for call in (lambda: data.load("kinetic", tmp_path, "train"),
                 lambda: data.check_data("kinetic", tmp_path)):
        with pytest.raises(ValueError, match=re.escape(
                "unknown data set 'kinetic'; choose one of folder, jester, ssv2, kinetics, "
                "charades")):
            call()


def test_check_data_takes_one_split_as_a_string(tmp_path):
    kinetics_tree(tmp_path)
    report, bad = data.check_data("kinetics", tmp_path, "train")
    assert list(report) == ["train"] and report["train"]["present"] == 4 and bad == []
