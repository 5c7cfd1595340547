"""Paths a data set names stay inside its folder: an annotation id such as '../../x' or '/etc/x',
or a symbolic link that leads out of the folder of videos, is refused in one line naming the file
and line, so that neither training nor check-data reads or reports on files outside the data set."""

import json
import re

import pytest
from test_datasets import CHARADES_HEADER, frames, jester_tree, kinetics_tree

from rvit_mini import data
from rvit_mini.cli import main
from rvit_mini.data import write_video

ESCAPES = ["../../outside", "/etc/passwd", "..", "a/../../b", "C:x", "sub\\..\\x"]


def outside_video(tmp_path):
    """A video outside the data set's folder: what an escaping id or link would read."""
    return write_video(tmp_path / "outside" / "secret.mp4", frames(0))


@pytest.mark.parametrize("video_id", ESCAPES)
def test_a_jester_id_that_leaves_the_frame_folder_is_refused(tmp_path, video_id):
    root = tmp_path / "jester"
    root.mkdir()
    jester_tree(root)
    (root / "jester-v1-validation.csv").write_text(f"34870;No gesture\n{video_id};No gesture\n")
    with pytest.raises(ValueError, match=re.escape(
            f"jester-v1-validation.csv:2: expected a video id, a plain name such as 34870, "
            f"got {video_id!r}")) as error:
        data.jester(root, "validation")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("video_id", ESCAPES)
def test_an_ssv2_id_that_leaves_the_video_folder_is_refused(tmp_path, video_id):
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "labels.json").write_text('{"Pushing something": "0"}')
    (tmp_path / "labels" / "train.json").write_text(json.dumps(
        [{"id": "1", "template": "Pushing [something]"},
         {"id": video_id, "template": "Pushing [something]"}]))
    with pytest.raises(ValueError, match=re.escape(
            f"train.json, entry 1: expected a video id, a plain name such as 34870, got "
            f"{video_id!r}")):
        data.something_something_v2(tmp_path, "train")


@pytest.mark.parametrize("video_id", ESCAPES)
def test_a_kinetics_youtube_id_that_leaves_the_split_folder_is_refused(tmp_path, video_id):
    kinetics_tree(tmp_path)
    table = tmp_path / "annotations" / "train.csv"
    table.write_text(table.read_text(encoding="utf-8-sig") + f'abseiling,"{video_id}",0,10\n')
    with pytest.raises(ValueError, match=re.escape(
            f"train.csv:6: expected a video id, a plain name such as 34870, got {video_id!r}")):
        data.kinetics(tmp_path, "train")


@pytest.mark.parametrize("video_id", ["a/b", *ESCAPES])
def test_a_charades_id_with_a_slash_is_refused_in_one_line(tmp_path, video_id):
    (tmp_path / "Charades_v1_classes.txt").write_text("c000 Holding some clothes\n")
    (tmp_path / "Charades_v1_train.csv").write_text(
        f'{CHARADES_HEADER}\n"{video_id}",s,x,1,1,Yes,x,,x,"c000 0.0 1.0",2\n')
    write_video(tmp_path / "Charades_v1_480" / "a" / "b.mp4", frames(0))
    with pytest.raises(ValueError, match=re.escape(
            f"Charades_v1_train.csv:2: expected a video id, a plain name such as 34870, got "
            f"{video_id!r}")):
        data.charades(tmp_path, "train")


def test_a_video_linked_out_of_the_data_set_is_refused(tmp_path):
    secret = outside_video(tmp_path)
    root = tmp_path / "kinetics"
    root.mkdir()
    kinetics_tree(root, present=[0, 1, 2])
    (root / "train" / "-x3_Yt-train_000030_000040.mp4").symlink_to(secret)
    with pytest.raises(ValueError, match=re.escape(
            f"{root / 'annotations' / 'train.csv'}:5: {root / 'train'}/-x3_Yt-train_000030_000040"
            f".mp4 is a symbolic link to {secret}, outside {root / 'train'}; copy the video in "
            "or remove the link")):
        data.kinetics(root, "train")


def test_a_kinetics_class_folder_linked_out_of_the_data_set_is_refused(tmp_path):
    secret = outside_video(tmp_path)
    kinetics_tree(tmp_path / "k", by_class=True)
    (tmp_path / "k" / "train" / "linked").symlink_to(secret.parent)
    with pytest.raises(ValueError, match=re.escape(
            f"{tmp_path / 'k' / 'train' / 'linked'} is a symbolic link to {secret.parent}, "
            f"outside {tmp_path / 'k' / 'train'}")):
        data.kinetics(tmp_path / "k", "train")


def test_a_jester_frame_folder_linked_out_of_the_data_set_is_refused(tmp_path):
    root = tmp_path / "jester"
    root.mkdir()
    jester_tree(root)
    (tmp_path / "outside").mkdir()
    (root / "20bn-jester-v1" / "777").symlink_to(tmp_path / "outside")
    (root / "jester-v1-train.csv").write_text("777;No gesture\n")
    with pytest.raises(ValueError, match="jester-v1-train.csv:1: .*777 is a symbolic link to "):
        data.jester(root, "train")


def test_links_that_stay_inside_the_data_set_are_fine(tmp_path):
    kinetics_tree(tmp_path, present=[0, 1, 2])
    videos = tmp_path / "train"
    (videos / "-x3_Yt-train_000030_000040.mp4").symlink_to(videos / "-x0_Yt-train_000000_000010.mp4")
    assert len(data.kinetics(tmp_path, "train")) == 4


def test_check_data_does_not_say_whether_a_file_outside_exists(tmp_path, capsys):
    outside_video(tmp_path)
    root = tmp_path / "jester"
    root.mkdir()
    jester_tree(root)
    (root / "jester-v1-validation.csv").write_text("34870;No gesture\n../../outside;No gesture\n")
    with pytest.raises(SystemExit):
        main(["check-data", "--data", "jester", "--root", str(root), "--split", "validation",
              "--out", str(tmp_path / "bad.txt")])
    printed = capsys.readouterr()
    assert "validation.csv:2: expected a video id, a plain name such as 34870, got " \
        "'../../outside'" in printed.err
    assert "present" not in printed.out + printed.err and not (tmp_path / "bad.txt").exists()


@pytest.mark.parametrize("linked", ["class folder", "video"])
def test_video_folder_refuses_links_out_of_its_folder(tmp_path, linked):
    secret = outside_video(tmp_path)
    root = tmp_path / "clips"
    write_video(root / "jump" / "a.mp4", frames(0))
    if linked == "class folder":
        (root / "wave").symlink_to(secret.parent)
        link, target = root / "wave", secret.parent
    else:
        (root / "jump" / "b.mp4").symlink_to(secret)
        link, target = root / "jump" / "b.mp4", secret
    with pytest.raises(ValueError, match=re.escape(
            f"{link} is a symbolic link to {target}, outside {root}; copy the video in or remove "
            "the link")):
        data.video_folder(root)


def test_a_jester_frame_linked_out_of_its_folder_is_refused(tmp_path):
    root = tmp_path / "jester"
    root.mkdir()
    jester_tree(root)
    secret = tmp_path / "secret.jpg"
    (root / "20bn-jester-v1" / "34870" / "00003.jpg").rename(secret)
    (root / "20bn-jester-v1" / "34870" / "00003.jpg").symlink_to(secret)
    clips = data.jester(root, "validation", num_frames=8, on_error="raise")
    with pytest.raises(ValueError, match=re.escape(
            f"00003.jpg is a symbolic link to {secret}, outside {root / '20bn-jester-v1' / '34870'}")):
        clips[0]
