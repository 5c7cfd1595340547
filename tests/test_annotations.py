"""Annotation files with mistakes in them: each refused in one line naming the file and line (or
JSON entry) and what was expected; repeated rows dropped with one warning; excludes that match
nothing reported."""

import re

import pytest
from test_datasets import CHARADES_HEADER, KINETICS_LABELS, jester_tree, kinetics_tree

from rvit_mini import data


def ssv2_files(root, labels, train):
    (root / "labels").mkdir()
    (root / "labels" / "labels.json").write_text(labels)
    (root / "labels" / "train.json").write_text(train)


def charades_files(root, classes, rows):
    (root / "Charades_v1_classes.txt").write_text(classes)
    (root / "Charades_v1_train.csv").write_text("\n".join([CHARADES_HEADER, *rows]) + "\n")
    (root / "Charades_v1_480").mkdir()


def kinetics_rows(root, *rows):
    (root / "annotations").mkdir()
    (root / "annotations" / "train.csv").write_text(
        "\n".join(["label,youtube_id,time_start,time_end", *rows]) + "\n")
    (root / "train").mkdir()


MALFORMED = {
    "kinetics: a time that is not a number": (
        lambda root: kinetics_rows(root, "a,x1,0,10", "b,x2,abc,10"), "kinetics",
        "annotations/train.csv:3: time_start should be a number, got 'abc'"),
    "kinetics: a row cut short": (
        lambda root: kinetics_rows(root, "a,x1,0,10", "b,x2"), "kinetics",
        r"annotations/train.csv:3: expected 4 fields \(label,youtube_id,time_start,time_end\), "
        "got 2"),
    "ssv2: an entry without an id": (
        lambda root: ssv2_files(root, '{"Pushing something": "0"}',
                                '[{"id": "1", "template": "Pushing something"}, {"template": "x"}]'),
        "ssv2", "train.json, entry 1: expected an object with an id"),
    "ssv2: a split file that is not a list": (
        lambda root: ssv2_files(root, '{"Pushing something": "0"}', '{"id": "1"}'),
        "ssv2", r"train.json: expected a list of .* entries, got a JSON dict"),
    "ssv2: a labels file that is not an object": (
        lambda root: ssv2_files(root, '["Pushing something"]', "[]"),
        "ssv2", r"labels.json: expected an object .*, got a JSON list"),
    "ssv2: a file that is not JSON": (
        lambda root: ssv2_files(root, '{"Pushing something": "0",\n', "[]"),
        "ssv2", "labels.json:2: not JSON"),
    "charades: a class without a name": (
        lambda root: charades_files(root, "c000 Holding some clothes\nc001\n", []),
        "charades", "Charades_v1_classes.txt:2: expected 'c000 class name', got 'c001'"),
    "charades: an action without its times": (
        lambda root: charades_files(root, "c000 Holding\n", ['A,s,x,1,1,Yes,x,,x,"c000 1.0",2']),
        "charades", "Charades_v1_train.csv:2: expected actions as 'c092 11.90 21.20;"),
    "charades: a time that is not a number": (
        lambda root: charades_files(root, "c000 Holding\n",
                                    ['A,s,x,1,1,Yes,x,,x,"c000 abc 2.0",2']),
        "charades", "Charades_v1_train.csv:2: a start should be a number, got 'abc'"),
    "kinetics: a time that is infinite": (
        lambda root: kinetics_rows(root, "a,x1,inf,10"), "kinetics",
        "annotations/train.csv:2: time_start should be a finite number, got 'inf'"),
    "kinetics: a time that is not a number at all": (
        lambda root: kinetics_rows(root, "a,x1,0,nan"), "kinetics",
        "annotations/train.csv:2: time_end should be a finite number, got 'nan'"),
    "kinetics: a time in fractions of a second": (
        lambda root: kinetics_rows(root, "a,x1,0.5,10"), "kinetics",
        r"annotations/train.csv:2: time_start should be a whole number >= 0, got '0.5'"),
    "kinetics: a negative time": (
        lambda root: kinetics_rows(root, "a,x1,-5,10"), "kinetics",
        r"annotations/train.csv:2: time_start should be a whole number >= 0, got '-5'"),
    "kinetics: a clip that ends before it starts": (
        lambda root: kinetics_rows(root, "a,x1,20,10"), "kinetics",
        r"annotations/train.csv:2: time_end 10 is not after time_start 20"),
    "ssv2: labels nested deeper than Python reads": (
        lambda root: ssv2_files(root, "[" * 100_000, "[]"),
        "ssv2", r"labels.json: JSON nested too deeply to read"),
    "ssv2: an index that is infinite": (
        lambda root: ssv2_files(root, '{"Pushing something": "inf"}', "[]"),
        "ssv2", r"labels.json, 'Pushing something': the index should be a finite number, "
                "got 'inf'"),
    "ssv2: an index that is not whole": (
        lambda root: ssv2_files(root, '{"Pushing something": "0.5"}', "[]"),
        "ssv2", r"labels.json, 'Pushing something': the index should be a whole number >= 0"),
    "ssv2: a template listed twice": (
        lambda root: ssv2_files(root, '{"Pushing something": "0",\n"Pushing something": "1"}',
                                "[]"),
        "ssv2", r"labels.json: the key 'Pushing something' appears twice in one JSON object"),
    "ssv2: one index for two templates": (
        lambda root: ssv2_files(root, '{"Pushing something": "0", "Pulling something": "0"}',
                                "[]"),
        "ssv2", r"labels.json, 'Pulling something': the index 0 is also that of "
                r"'Pushing something'; each template has its own index"),
    "charades: a time that is infinite": (
        lambda root: charades_files(root, "c000 Holding\n",
                                    ['A,s,x,1,1,Yes,x,,x,"c000 0.0 inf",2']),
        "charades", "Charades_v1_train.csv:2: an end should be a finite number, got 'inf'"),
    "charades: a class code listed twice": (
        lambda root: charades_files(root, "c000 Holding\nc001 Eating\nc000 Sitting\n", []),
        "charades", r"Charades_v1_classes.txt:3: the class code 'c000' is listed again "
                    r"\(line 1\); list each class once"),
    "charades: a class name listed twice": (
        lambda root: charades_files(root, "c000 Holding\nc001 Holding\n", []),
        "charades", r"Charades_v1_classes.txt:2: the class 'Holding' is listed again"),
    "jester: a class listed twice": (
        lambda root: (jester_tree(root), (root / "jester-v1-labels.csv").write_text(
            "Swiping Left\nNo gesture\nDoing other things\nNo gesture\n")), "jester",
        r"jester-v1-labels.csv:4: the class 'No gesture' is listed again \(line 2\); list each "
        "class once"),
    "jester: a labels file that is not UTF-8": (
        lambda root: (jester_tree(root), (root / "jester-v1-labels.csv").write_bytes(
            b"Swiping Left\nDoing other th\xefngs\n")), "jester",
        r"jester-v1-labels.csv:2: not UTF-8 text \(byte 0xef\); save the file as UTF-8"),
    "jester: a row of three fields": (
        lambda root: (jester_tree(root), (root / "jester-v1-validation.csv").write_text(
            "34870;No gesture\n\n56557;No gesture;x\n")), "jester",
        "jester-v1-validation.csv:3: expected 'id;label' or 'id', got '56557;No gesture;x'"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_annotation_file_is_refused_naming_file_and_line(case, tmp_path):
    write, loader, message = MALFORMED[case]
    write(tmp_path)
    split = "validation" if loader == "jester" else "train"
    with pytest.raises(ValueError, match=message) as error:
        data.load(loader, tmp_path, split)
    assert str(tmp_path) in str(error.value) and "\n" not in str(error.value)


def test_repeated_rows_are_dropped_with_one_warning_and_conflicting_ones_refused(tmp_path):
    jester_tree(tmp_path)
    (tmp_path / "jester-v1-train.csv").write_text(
        "34870;No gesture\n56557;Swiping Left\n34870;No gesture\n34870;No gesture\n")
    with pytest.warns(UserWarning, match=re.escape(
            "jester-v1-train.csv: 2 rows repeat an earlier row's video and annotation and were "
            "dropped (line 3, line 4)")):
        clips = data.jester(tmp_path, "train")
    assert [(path.name, target) for path, target in clips.items] == [("34870", 2), ("56557", 0)]
    (tmp_path / "jester-v1-train.csv").write_text("34870;No gesture\n34870;Swiping Left\n")
    with pytest.raises(ValueError, match=re.escape(
            "jester-v1-train.csv:2: 34870 is listed again with another annotation "
            "('Swiping Left'; line 1: 'No gesture'); keep one of them")):
        data.jester(tmp_path, "train")


def test_a_repeated_charades_id_is_not_merged_with_the_other_rows_segments(tmp_path):
    charades_files(tmp_path, "c000 Holding\nc001 Eating\n",
                   ['A,s,x,1,1,Yes,x,,x,"c000 0.0 1.0",2', 'A,s,x,1,1,Yes,x,,x,"c001 1.0 2.0",2'])
    with pytest.raises(ValueError, match="Charades_v1_train.csv:3: A is listed again"):
        data.charades(tmp_path, "train")


def test_kinetics_repeats_are_kept_once(tmp_path):
    kinetics_tree(tmp_path, present=[0])
    table = tmp_path / "annotations" / "train.csv"
    table.write_text(table.read_text(encoding="utf-8-sig") + table.read_text().splitlines()[1]
                     + "\n")
    with pytest.warns(UserWarning, match="1 rows repeat an earlier row's video"):
        clips = data.kinetics(tmp_path, "train", missing="skip")
    assert len(clips) == 1


def test_exclude_entries_that_match_no_video_are_reported(tmp_path):
    kinetics_tree(tmp_path)
    name = "-x1_Yt-train_000010_000020"
    with pytest.warns(UserWarning, match=re.escape(
            "1 of 2 exclude entries match no video listed here (tarin/x.mp4)")):
        clips = data.kinetics(tmp_path, "train", exclude=[name, "tarin/x.mp4"])
    assert len(clips) == 3


def test_a_kinetics_class_list_with_a_class_twice_is_refused(tmp_path):
    kinetics_tree(tmp_path)
    with pytest.raises(ValueError, match=re.escape(
            "classes, entry 2: the class 'abseiling' is listed again (entry 0); list each class "
            "once")):
        data.kinetics(tmp_path, "train", classes=["abseiling", "air drumming", "abseiling"])


def test_kinetics_labels_are_the_same_class_whatever_the_spaces_around_them(tmp_path):
    kinetics_tree(tmp_path, present=[0])
    table = tmp_path / "annotations" / "train.csv"
    table.write_text(table.read_text(encoding="utf-8-sig").replace('"abseiling"', '" abseiling "'))
    with pytest.warns(UserWarning, match="absent"):
        clips = data.kinetics(tmp_path, "train")
    assert clips.classes == sorted(KINETICS_LABELS) and clips.items[0][1] == 0


def test_a_header_that_names_a_column_twice_is_refused(tmp_path):
    kinetics_rows(tmp_path, "a,x1,0,10")
    table = tmp_path / "annotations" / "train.csv"
    table.write_text("label,youtube_id,time_start,time_end,label\na,x1,0,10,b\n")
    with pytest.raises(ValueError, match=re.escape(
            f"{table}:1: the header names the column 'label' twice; keep one")):
        data.kinetics(tmp_path, "train")
