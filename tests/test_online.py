import math

import pytest
import torch
from torch.testing import assert_close

import rvit_mini as rm
from rvit_mini import online
from rvit_mini.data import CLASSES, StickStreams, composite_clip
from rvit_mini.data.stick_actions import _chain
from rvit_mini.model.flops import clip_flops
from rvit_mini.model.trecvit import TRecViT


def video(t, b=None, seed=0):
    shape = (t, 3, 32, 32) if b is None else (b, t, 3, 32, 32)
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def model(name, **kw):
    torch.manual_seed(0)
    return rm.create_model(name, **kw).eval()


class Scripted:
    """A recogniser that replays given logits (B, T, K), one frame per update."""

    oracle = False

    def __init__(self, logits):
        self.logits = logits

    def reset(self, batch_size, device=None):
        self.t = 0

    def update(self, frame):
        self.t += 1
        return self.logits[:, self.t - 1]

    def held(self):
        return []


def one_hot(predictions, num_classes=3):
    return 3.0 * torch.nn.functional.one_hot(torch.tensor(predictions), num_classes)


# -- metrics on hand-made predictions -------------------------------------------------------------
def test_frame_accuracy_counts_top_class_hits():
    assert online.frame_accuracy(one_hot([0, 1, 2, 2]), torch.tensor([0, 1, 1, 0])) == 0.5


def test_average_precision_and_calibrated_ap_match_a_hand_computation():
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    positives = torch.tensor([1, 0, 1, 0, 0, 0]).bool()
    # hits at ranks 1 and 3: AP = (1/1 + 2/3) / 2
    assert math.isclose(online.average_precision(scores, positives), (1 + 2 / 3) / 2)
    # w = 4 negatives / 2 positives = 2: cPrec = 2 TP / (2 TP + FP) = 1 at rank 1, 4/5 at rank 3
    assert math.isclose(online.average_precision(scores, positives, calibrated=True), 0.9)


def test_tied_scores_count_as_one_rank_whatever_their_order():
    for positives in ([1, 0], [0, 1]):
        ap = online.average_precision(torch.tensor([0.5, 0.5]), torch.tensor(positives).bool())
        assert ap == 0.5
    # a constant score is chance: AP = the positives' share, cAP = 1/2
    positives = torch.tensor([1, 0, 0, 0]).bool()
    assert online.average_precision(torch.zeros(4), positives) == 0.25
    assert online.average_precision(torch.zeros(4), positives, calibrated=True) == 0.5


def test_frame_map_averages_the_ap_of_the_classes_present():
    labels = torch.tensor([0, 0, 1, 1])
    logits = one_hot([0, 1, 1, 1])
    # class 0 ranks frame 0 (a hit), then frames 1-3 tied (1 hit in 3): AP = (1 + 2/4) / 2
    # class 1 ranks frames 1-3 tied (2 hits in 3), then frame 0: AP = 2/3
    assert_close(online.frame_ap(logits, labels), torch.tensor([0.75, 2 / 3, float("nan")]),
                 equal_nan=True)
    assert online.frame_map(logits, labels) == pytest.approx((0.75 + 2 / 3) / 2)  # not class 2


def test_accuracy_by_position_counts_frames_since_the_action_began():
    labels = torch.tensor([2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0])
    assert online.positions(labels).tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 0]
    logits = one_hot([0, 2, 2, 2, 2, 1, 1, 1, 0, 1, 0])  # late after each boundary
    by_position = online.accuracy_by_position(logits, labels)
    assert by_position == {"0": 1 / 3, "1": 0.5, "2": 1.0, "3-5": 2 / 3, "6+": 1.0}
    assert online.accuracy_by_position(logits, labels, (0, 3)) == {"0-2": 4 / 7, "3+": 0.75}
    # rows of a batch are separate streams: positions restart in each
    assert online.positions(torch.tensor([[0, 0, 1], [1, 1, 1]])).tolist() == [[0, 1, 0],
                                                                                [0, 1, 2]]


def test_switch_delays_report_settling_per_pair():
    drink = CLASSES.index("drink")
    sit = CLASSES.index("sit_down")
    preds = [[sit] * 4 + [drink] * 4,            # boundary 4: settles at once
             [sit] * 6 + [drink] * 2,            # boundary 3: settles after 3 frames
             [sit] * 4 + [drink] * 3 + [sit]]    # never settles
    logits = 3.0 * torch.nn.functional.one_hot(torch.tensor(preds), len(CLASSES))
    clips = {("sit_down", "drink"): (torch.zeros(3, 8, 3, 32, 32), None, [4, 3, 4])}
    (row,) = online.switch_delays(Scripted(logits), clips, within=2)
    assert row == {"pair": "sit_down > drink", "settled": 1 / 3, "median_delay": 3,
                   "never": 1 / 3}
    (row,) = online.switch_delays(Scripted(logits), clips, within=3)
    assert row["settled"] == 2 / 3


def test_switch_delays_reset_an_oracle_at_each_clip_boundary():
    class Oracle(Scripted):
        oracle = True

        def forget(self, mask):  # called before frame self.t's update
            self.forgotten.append((self.t, mask.tolist()))

    logits = torch.zeros(2, 8, len(CLASSES))
    sit, drink = CLASSES.index("sit_down"), CLASSES.index("drink")
    labels = torch.tensor([[sit] * 3 + [drink] * 5, [sit] * 5 + [drink] * 3])
    clips = {("sit_down", "drink"): (torch.zeros(2, 8, 3, 32, 32), labels, [3, 5])}
    oracle = Oracle(logits)
    oracle.forgotten = []
    online.switch_delays(oracle, clips)
    assert oracle.forgotten == [(3, [True, False]), (5, [False, True])]


# -- the stream data set ----------------------------------------------------------------------------
def test_streams_are_seeded_and_splits_differ():
    ds = StickStreams("train", num_frames=40, seed=3, num_streams=2)
    v, y = ds[1]
    assert v.shape == (40, 3, 32, 32) and v.dtype == torch.float32 and y.dtype == torch.long
    assert 0 <= v.min() and v.max() <= 1
    v2, y2 = StickStreams("train", num_frames=40, seed=3, num_streams=2)[1]
    assert torch.equal(v, v2) and torch.equal(y, y2)
    assert not torch.equal(v, ds[0][0])
    assert not torch.equal(v, StickStreams("val", num_frames=40, seed=3, num_streams=2)[1][0])
    assert not torch.equal(v, StickStreams("train", num_frames=40, seed=4, num_streams=2)[1][0])


def test_stream_actions_follow_one_another_with_lengths_in_range():
    ds = StickStreams("test", num_frames=100, seed=1, num_streams=20, action_frames=(6, 20))
    for i in range(len(ds)):
        actions, lengths = ds.plan(i)
        _chain(actions)  # raises if an action cannot start where the last one ended
        assert all(a != b for a, b in zip(actions, actions[1:]))
        assert sum(lengths) == 100
        assert all(6 <= n <= 20 for n in lengths[:-1]) and 1 <= lengths[-1] <= 20
        labels = ds.labels(i)
        changes = (torch.nonzero(labels[1:] != labels[:-1]).flatten() + 1).tolist()
        assert changes == ds.starts(i)
        assert [CLASSES[k] for k in labels[[0, *changes]]] == actions


def test_rendered_labels_are_the_planned_labels():
    ds = StickStreams("val", num_frames=30, seed=2, num_streams=1)
    assert torch.equal(ds[0][1], ds.labels(0))
    with pytest.raises(IndexError, match="stream 1 out of range for 1 streams"):
        ds[1]


def test_composite_clip_takes_a_length_per_action():
    actions = ["sit_down", "wave", "stand_up"]
    _, labels, bounds = composite_clip(actions, 20, lengths=[5, 9, 6])
    assert bounds == [5, 14]
    assert labels.tolist() == [CLASSES.index(a) for a, n in zip(actions, [5, 9, 6]) for _ in range(n)]
    with pytest.raises(ValueError, match="sum to num_frames=20, got \\[5, 9, 5\\]"):
        composite_clip(actions, 20, lengths=[5, 9, 5])


# -- recognisers --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rvit_s", "vit", "trecvit"])
def test_streaming_frame_by_frame_equals_the_whole_clip(name):
    m, x = model(name), video(7, b=2)
    assert_close(online.predict_stream(m, x), m.frame_logits(x))
    assert_close(online.predict_stream(m, x[0]), m.frame_logits(x[:1])[0])


@pytest.mark.parametrize("name", ["rvit_s", "trecvit"])
def test_oracle_reset_equals_running_the_segments_separately(name):
    m, x = model(name), video(9)
    segments = torch.cat([online.predict_stream(m, s) for s in x.split([3, 4, 2])])
    assert_close(online.predict_stream(m, x, resets=[3, 7]), segments)
    assert not torch.allclose(online.predict_stream(m, x), segments)
    # per-stream resets in a batch: row 0 at frame 3, row 1 at frame 5
    batch = torch.stack([x, video(9, seed=1)])
    mask = torch.zeros(2, 9, dtype=torch.bool)
    mask[0, 3] = mask[1, 5] = True
    out = online.predict_stream(m, batch, resets=mask)
    assert_close(out[0], online.predict_stream(m, batch[0], resets=[3]))
    assert_close(out[1], online.predict_stream(m, batch[1], resets=[5]))


def test_a_cvit_cannot_stream_and_its_window_must_fit():
    cvit = model("cvit", num_frames=8)
    with pytest.raises(TypeError, match="CViT attends over the whole clip at once"):
        online.predict_stream(cvit, video(4))
    with pytest.raises(ValueError, match="window must be 1 to 8 frames"):
        online.Window(cvit, 16)


def test_sliding_window_sees_only_the_last_w_frames():
    cvit, x = model("cvit", num_frames=8), video(10)
    out = online.predict_stream(online.Window(cvit, 4), x)
    assert_close(out[9], cvit.frame_logits(x[None, 6:10])[0, -1])
    assert_close(out[2], cvit.frame_logits(x[None, 0:3])[0, -1])
    changed = x.clone()
    changed[5] = 0  # before frame 9's window, inside frame 8's
    out2 = online.predict_stream(online.Window(cvit, 4), changed)
    assert_close(out2[9], out[9])
    assert not torch.allclose(out2[8], out[8])


def test_cost_counts_the_state_held_between_frames():
    rvit, frames = model("rvit_s"), video(24)
    cfg = rvit.cfg
    c = online.cost(rvit, frames, timed=4)
    assert c["state_bytes"] == cfg.depth * rvit.num_tokens * cfg.dim * 4
    assert c["ms"] > 0 and c["mflops"] > 0 and c["peak_bytes"] > 0
    cvit = model("cvit", num_frames=16)
    window = [online.cost(online.Window(cvit, w), frames, timed=4) for w in (4, 16)]
    assert [c["state_bytes"] for c in window] == [(w - 1) * 3 * 32 * 32 * 4 for w in (4, 16)]
    assert window[0]["mflops"] < window[1]["mflops"]
    assert online.cost(online.Constant(0, 9), frames, timed=4)["state_bytes"] == 0


def test_compare_resets_the_oracle_at_each_action_and_prints_a_table():
    rvit, x = model("rvit_s", num_classes=3), video(20, b=2)
    labels = torch.tensor([[0] * 8 + [1] * 12, [2] * 5 + [0] * 15])
    rows = online.compare({"plain": rvit, "oracle": online.Recurrent(rvit, oracle=True),
                           "guess 0": online.Constant(0, 3)}, list(zip(x, labels)))
    reset = online.predict_stream(rvit, x, resets=online.positions(labels) == 0)
    plain = online.predict_stream(rvit, x)
    assert rows[1]["mAP"] == online.frame_map(reset, labels) != online.frame_map(plain, labels)
    assert rows[0]["mAP"] == online.frame_map(plain, labels)
    assert rows[2]["accuracy"] == (8 + 15) / 40 and rows[2]["mAP"] == pytest.approx(
        (23 / 40 + 12 / 40 + 5 / 40) / 3)
    table = online.markdown(rows)
    assert table.splitlines()[0].startswith("|  | frame acc | sd over streams | mAP | mcAP |")
    assert "| guess 0 | 57.5% |" in table


def test_rivals_are_named_by_checkpoint_and_option():
    assert isinstance(online.rival("majority", majority=2), online.Constant)
    assert online.rival("rvit_s@reset").oracle and not online.rival("rvit_s").oracle
    assert online.rival("cvit@w4").window == 4
    with pytest.raises(ValueError, match="unknown rival 'cvit@reset'; use cvit or cvit@w4"):
        online.rival("cvit@reset")
    with pytest.raises(ValueError, match="unknown rival 'rvit_s@w4'; use rvit_s or rvit_s@reset"):
        online.rival("rvit_s@w4")
    trecvit = online.rival("trecvit_online@reset")
    assert trecvit.oracle and isinstance(trecvit.model, TRecViT)
    assert not online.rival("trecvit").oracle
    with pytest.raises(ValueError, match="unknown rival 'trecvit_online@w4'; use trecvit_online "
                                         "or trecvit_online@reset"):
        online.rival("trecvit_online@w4")


def test_trecvit_rivals_run_on_the_same_streams_as_rvit_with_their_own_state_and_cost():
    rows = online.evaluate_streams(["rvit_online", "trecvit_online", "trecvit_online@reset"],
                                   num_streams=1, num_frames=24, action_frames=(8, 8),
                                   clips_per_pair=1)
    assert [row["name"] for row in rows] == ["rvit_online", "trecvit_online",
                                             "trecvit_online@reset"]
    trecvit = rm.load_pretrained("trecvit_online")
    held = sum(h.numel() * h.element_size() for h in trecvit.init_state(1))
    assert rows[1]["state_bytes"] == rows[2]["state_bytes"] == held  # h, the conv's inputs, a count
    assert rows[1]["mflops"] == clip_flops(trecvit.cfg, 1, per_frame=True) / 1e6
    assert rows[1]["mflops"] != rows[0]["mflops"] and rows[1]["state_bytes"] > rows[0]["state_bytes"]
    assert all(0 <= row[k] <= 1 for row in rows for k in ("accuracy", "settled", "worst_pair"))


# -- what the frames show, walks, kept streams, windows ------------------------------------------
def test_motion_onsets_are_those_composite_clip_draws(monkeypatch):
    from rvit_mini.data import stick_actions
    from rvit_mini.data.streams import motion_onsets

    drawn = {}
    render = stick_actions.render_segments

    def spy(segments, *args):
        drawn["onsets"] = [s.start for s in segments]
        return render(segments, *args)

    monkeypatch.setattr(stick_actions, "render_segments", spy)
    composite_clip(["sit_down", "drink"], 16, seed=3)
    assert drawn["onsets"] == motion_onsets(["sit_down", "drink"], 16, seed=3)
    ds = StickStreams("val", num_frames=60, seed=1, num_streams=2, walks=1.0)
    for i in range(2):
        ds[i]
        actions, lengths = ds.plan(i)
        assert drawn["onsets"] == motion_onsets(actions, 60, ds._seeds(i)[2], lengths)


def test_a_frame_shows_the_last_action_until_the_figure_moves():
    ds = StickStreams("test", num_frames=120, seed=2, num_streams=3, action_frames=(8, 8))
    for i in range(3):
        labels, shown = ds.labels(i), ds.shown(i)
        begins = online.positions(labels) == 0
        # an action's first frame still shows the action before; later frames differ only
        # where its figure has not moved yet (at most 30 % of an action's frames)
        assert (shown[begins][1:] == labels[torch.nonzero(begins).flatten()[1:] - 1]).all()
        late = online.positions(labels) >= 3
        assert (shown[late] == labels[late]).all()
    assert torch.equal(StickStreams("test", 120, seed=2, num_streams=3, action_frames=(8, 8),
                                    target="shown")[1][1], ds.shown(1))


def test_walks_begin_or_end_a_stream_and_leave_the_other_streams_alone():
    plain = StickStreams("train", num_frames=80, seed=0, num_streams=40)
    walking = StickStreams("train", num_frames=80, seed=0, num_streams=40, walks=0.5)
    walked = 0
    for i in range(40):
        actions, lengths = walking.plan(i)
        _chain(actions)
        walks = [a for a in actions if a.startswith("walk")]
        if walks:
            walked += 1
            assert len(walks) == 1 and walks[0] in (actions[0], actions[-1])
        else:
            assert (actions, lengths) == plain.plan(i)
    assert 10 <= walked <= 30
    with pytest.raises(ValueError, match="walks is the share of streams with a walk"):
        StickStreams(walks=2)


def test_kept_streams_come_back_exactly():
    ds = StickStreams("val", num_frames=12, seed=4, num_streams=2, keep=True)
    first, again = ds[1], ds[1]
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert torch.equal(first[0], StickStreams("val", num_frames=12, seed=4, num_streams=2)[1][0])


def test_stream_windows_label_the_newest_frame_and_a_batch_is_one_width():
    from torch.utils.data import DataLoader

    from rvit_mini.data import collate
    from rvit_mini.data.streams import StreamWindows

    streams = StickStreams("train", num_frames=12, seed=1, num_streams=6)
    windows = StreamWindows(streams, widths=(4, 8))
    video, target = windows[1]
    assert video.shape[0] == 8 and torch.equal(video, streams[1][0][-8:])
    assert target[-1] == streams[1][1][-1] and (target[:-1] == -100).all()
    loader = DataLoader(windows, batch_sampler=[[0, 1, 3], [1, 2]], collate_fn=collate)
    assert [v.shape[:2] for v, _ in loader] == [(3, 4), (2, 8)]
    with pytest.raises(ValueError, match="windows of up to 16 frames need streams"):
        StreamWindows(streams, widths=(16,))


def test_several_windows_per_stream_end_evenly_from_its_end_to_its_start():
    from rvit_mini.data.streams import StreamWindows

    streams = StickStreams("train", num_frames=12, seed=1, num_streams=2)
    windows = StreamWindows(streams, widths=(4, 8), per_stream=3)
    assert len(windows) == 6
    video, labels = streams[1]
    ends = {4: [12, 8, 4], 8: [12, 10, 8]}  # windows 3, 4, 5 of stream 1
    for j, index in enumerate(range(3, 6)):
        width = windows.width(index)
        assert width == (4, 8)[(1 + j) % 2]
        clip, target = windows[index]
        end = ends[width][j]
        assert torch.equal(clip, video[end - width:end]) and target[-1] == labels[end - 1]
    with pytest.raises(ValueError, match="per_stream is the number of windows"):
        StreamWindows(streams, per_stream=0, widths=(4,))


# -- cost, the ceiling, the table, the command ----------------------------------------------------
def test_cost_per_frame_does_not_grow_with_the_stream():
    rvit, frames = model("rvit_s"), video(70)
    early, late = (online.cost(rvit, frames, timed=2, after=n) for n in (4, 64))
    for key in ("state_bytes", "peak_bytes", "mflops"):
        assert early[key] == late[key]
    cvit = model("cvit", num_frames=8)
    early, late = (online.cost(online.Window(cvit, 8), frames, timed=2, after=n) for n in (7, 60))
    assert early["state_bytes"] == late["state_bytes"] and early["mflops"] == late["mflops"]


def test_the_shown_ceiling_scores_what_the_frames_show():
    ds = StickStreams("test", num_frames=48, seed=0, num_streams=2, action_frames=(8, 8))
    row = online.shown_row(ds)
    labels = torch.stack([ds.labels(i) for i in range(2)])
    shown = torch.stack([ds.shown(i) for i in range(2)])
    assert row["accuracy"] == (labels == shown).double().mean().item() < 1
    assert row["by_position"]["0"] == 1 / 6  # only each stream's first frame
    table = online.markdown([row, {"name": "x", **row, "ms": 1.0}])
    assert table.splitlines()[2].endswith("| - |") and "| 1.00 |" in table


def test_change_points_from_each_model_and_the_controls():
    clips = online.composite_clips(2, pairs=[("sit_down", "drink")])
    errors = online.change_point_errors(clips, {"rvit_s": model("rvit_s"), "vit": model("vit")})
    assert list(errors) == ["rvit_s", "vit", "pixels", "middle frame"]
    bounds = clips[("sit_down", "drink")][2]
    assert errors["middle frame"] == sum(abs(8 - b) for b in bounds) / 2


def test_online_models_continue_shipped_ones():
    from rvit_mini.model.weights import init_from_model
    from rvit_mini.training.recipes import RECIPES, SHIPPED, STREAM_TRAINED

    names = list(SHIPPED)
    for name in STREAM_TRAINED:
        recipe = RECIPES[SHIPPED[name]]
        assert recipe.init in names[:names.index(name)] and recipe.note.startswith("ours")
    cvit32, cvit8 = model("cvit", num_frames=32), model("cvit", num_frames=8)
    init_from_model(cvit32, cvit8)
    assert torch.equal(cvit32.time_embed[:, :8], cvit8.time_embed)
    assert torch.equal(cvit32.blocks[0].attn.qkv.weight, cvit8.blocks[0].attn.qkv.weight)
    with pytest.raises(ValueError, match="pos_embed: the model to start from has shape"):
        init_from_model(model("rvit_s"), model("rvit_s", img_size=64))


def test_evaluate_stream_prints_one_table_of_rivals(tmp_path, capsys):
    from rvit_mini.cli import main

    main(["evaluate-stream", "majority", "shown", "vit", "rvit@reset", "--streams", "1",
          "--frames", "24", "--pairs", "1", "--json", str(tmp_path / "rows.json")])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("1 test streams of 24 frames, actions of 8 frames (seed 0); 1 clips of "
                      "each composite pair")
    assert [line.split(" |")[0] for line in out[4:]] == ["| majority", "| shown", "| vit",
                                                          "| rvit@reset"]
    rows = __import__("json").loads((tmp_path / "rows.json").read_text())["rows"]
    assert rows[1]["name"] == "shown" and "settled" not in rows[1] and "settled" in rows[2]


def test_the_static_scrubber_shows_the_frames_asked_for(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("RVIT_MINI_STATIC", "1")
    drawn = []
    rm.lessons.viz.frame_scrubber(video(12), [lambda t, ax: drawn.append(t)], static_frames=[5, 6, 7])
    assert drawn == [5, 6, 7] and len(plt.gcf().axes) == 6
    plt.close("all")


def test_composite_boundaries_anywhere_spread_beyond_the_middle_third():
    clips = online.composite_clips(12, num_frames=24, pairs=[("sit_down", "wave")], anywhere=True)
    videos, labels, bounds = clips[("sit_down", "wave")]
    assert all(4 <= b <= 20 for b in bounds) and min(bounds) < 8 and max(bounds) > 16
    assert all(labels[i, b - 1] != labels[i, b] for i, b in enumerate(bounds))


def test_stream_metrics_give_the_spread_of_the_streams_own_accuracies():
    labels = torch.zeros(2, 4, dtype=torch.long)
    logits = torch.zeros(2, 4, 3)
    logits[0, :, 0] = 1                      # stream 0: every frame right
    logits[1, :2, 0], logits[1, 2:, 1] = 1, 1  # stream 1: half of them
    metrics = online.stream_metrics(logits, labels)
    assert metrics["accuracy"] == 0.75
    assert metrics["accuracy_sd"] == pytest.approx(torch.tensor([1.0, 0.5]).std().item())


def test_memory_of_the_past_per_clip_averages_to_the_mean():
    torch.manual_seed(0)
    model = rm.create_model("rvit_s")
    clips = online.composite_clips(clips_per_pair=2, num_frames=8, pairs=rm.data.COMPOSITES[:1])
    curves = online.memory_of_the_past(model, clips, frames=3, per_clip=True)
    assert curves.shape == (2, 3)
    torch.testing.assert_close(curves.mean(0), online.memory_of_the_past(model, clips, frames=3))
