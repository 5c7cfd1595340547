import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from torch.utils.data import Dataset

import rvit_mini as rm
from rvit_mini import training as train
from rvit_mini.data import StickActions
from rvit_mini.training import checkpoint, loading, run
from rvit_mini.training.resume import data_identity

TINY = replace(train.RECIPES["mini_rvit_s"], batch_size=4, num_frames=4, epochs=3,
               lr_step_epochs=1)
# SGD for DDP: Adam divides by sqrt(v), which magnifies the all-reduce's rounding differences
TINY_SGD = replace(TINY, optimizer="sgd", lr=0.05, batch_size=8)


def tiny_model():
    torch.manual_seed(0)
    return rm.create_model("rvit_s", dim=32, num_heads=2)


def tiny_data(n=12):
    return StickActions("train", 4, 32, seed=5, num_clips=n)


def params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_recipes_follow_table_s1():
    r = train.RECIPES
    for name in ("rvit_s_scratch", "rvit_scratch", "rvit_l_scratch"):
        assert (r[name].optimizer, r[name].lr, r[name].batch_size, r[name].init) == \
            ("adamw", 3e-4, 32, "scratch")
    for name in ("rvit", "rvit_l"):
        assert (r[name].optimizer, r[name].lr, r[name].batch_size, r[name].init) == \
            ("sgd", 5e-3, 32, "vit")
    assert (r["rvit_xl"].batch_size, r["rvit_xl"].lr) == (16, 5e-3)
    assert all(x.num_frames == 32 and x.lr_step_epochs == 10 for x in r.values() if
               x.scale == "paper")


def test_lr_is_divided_by_ten_every_step_epochs(tmp_path):
    records = train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path, progress=False,
                        log_every=1)
    lrs = [r["lr"] for r in records if "lr" in r]
    steps_per_epoch = 12 // 4
    assert lrs[0] == pytest.approx(TINY.lr)
    assert lrs[steps_per_epoch] == pytest.approx(TINY.lr / 10)
    assert lrs[2 * steps_per_epoch] == pytest.approx(TINY.lr / 100)


def test_resume_continues_bit_exactly(tmp_path):
    data = tiny_data()
    straight = tiny_model()
    train.fit(straight, data, None, TINY, tmp_path / "a", max_steps=8, progress=False)
    interrupted = tiny_model()
    train.fit(interrupted, data, None, TINY, tmp_path / "b", max_steps=4, save_every=4,
              progress=False)
    resumed = tiny_model()  # fresh weights: everything must come from the checkpoint
    train.fit(resumed, data, None, TINY, tmp_path / "b", max_steps=8, resume=True,
              progress=False)
    assert torch.equal(params(straight), params(resumed))
    assert not torch.equal(params(straight), params(tiny_model()))
    # how the model runs is not part of what a checkpoint must match: the wavefront resumes
    train.fit(tiny_model(), data, None, TINY, tmp_path / "c", max_steps=4, progress=False)
    wave = rm.accelerate(tiny_model(), execution="wavefront")
    train.fit(wave, data, None, TINY, tmp_path / "c", max_steps=8, resume=True, progress=False)
    torch.testing.assert_close(params(wave), params(straight))


def test_a_compiled_model_trains_as_the_eager_one_and_saves_plain_weights(tmp_path):
    def vit():  # quick to compile; what is tested is fit's handling of a compiled model
        torch.manual_seed(0)
        return rm.create_model("vit", dim=16, num_heads=2, depth=1)

    eager, compiled = vit(), vit()
    train.fit(eager, tiny_data(16), None, TINY_SGD, tmp_path / "eager", max_steps=2,
              progress=False)
    train.fit(torch.compile(compiled), tiny_data(16), None, TINY_SGD, tmp_path / "compiled",
              max_steps=2, progress=False)
    # SGD: the compiled kernels round differently, which Adam would magnify
    torch.testing.assert_close(params(compiled), params(eager), rtol=1e-4, atol=1e-5)
    loaded = loading.load_checkpoint(tmp_path / "compiled" / "last.pt")  # no _orig_mod.
    torch.testing.assert_close(params(loaded), params(compiled))


class TurnsNaN(Dataset):
    """StickActions whose clips turn huge after the first `good` clips served: finite, so the
    model takes them (it refuses NaN frames), but they overflow inside it to a NaN loss."""

    def __init__(self, good, n=24):
        self.data, self.left = tiny_data(n), good

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        video, label = self.data[i]
        self.left -= 1
        return (video if self.left >= 0 else video * 1e30), label


def test_non_finite_loss_stops_with_last_good_checkpoint_intact(tmp_path):
    model = tiny_model()
    recipe = replace(TINY, epochs=20)
    train.fit(model, tiny_data(), None, recipe, tmp_path, max_steps=3, save_every=3,
              progress=False)
    good = checkpoint.read_checkpoint(tmp_path / "last.pt")
    with pytest.raises(run.NonFiniteLossError, match=r"loss is nan at step \d+; stopped. The "
                                                       r"last good checkpoint is .*last.pt \(step 3\)"):
        train.fit(model, TurnsNaN(good=0), None, recipe, tmp_path, resume=True, save_every=1,
                  progress=False, data=data_identity(tiny_data()))  # the same clips, spoilt
    after = checkpoint.read_checkpoint(tmp_path / "last.pt")
    assert after["train_state"]["step"] == good["train_state"]["step"] == 3
    assert all(torch.equal(after["model"][k], v) for k, v in good["model"].items())


def test_a_non_finite_loss_between_checks_is_named_by_its_step(tmp_path):
    # 6 steps an epoch of 4 clips, clips NaN from the 9th: step 3 is the first bad one, and
    # losses are read only at the end of the epoch, before its checkpoint
    with pytest.raises(run.NonFiniteLossError, match=r"loss is nan at step 3; stopped. No "
                                                       r"checkpoint was written yet"):
        train.fit(tiny_model(), TurnsNaN(good=8), None, TINY, tmp_path, progress=False,
                  log_every=100, save_every=100)
    assert not (tmp_path / "last.pt").exists()


def test_weights_a_non_finite_gradient_reached_are_not_saved(tmp_path):
    model = tiny_model()
    model.head.bias.register_hook(lambda grad: grad * float("inf"))  # the loss stays finite
    with pytest.raises(run.NonFiniteLossError, match="the weights are not finite at step 1"):
        train.fit(model, tiny_data(), None, TINY, tmp_path, max_steps=1, progress=False)
    assert not (tmp_path / "last.pt").exists()


def test_a_log_record_holds_the_mean_loss_since_the_last_one(tmp_path):
    every_step = train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path / "a",
                           max_steps=4, progress=False, log_every=1)
    every_other = train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path / "b",
                            max_steps=4, progress=False, log_every=2)
    single = [r["loss"] for r in every_step]
    assert [r["step"] for r in every_other] == [2, 4]
    assert [r["loss"] for r in every_other] == pytest.approx(
        [(single[0] + single[1]) / 2, (single[2] + single[3]) / 2])


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*nope.pt"):
        checkpoint.read_checkpoint(tmp_path / "nope.pt")
    train.fit(tiny_model(), tiny_data(), None, TINY, tmp_path / "run", max_steps=2,
              progress=False)
    good = (tmp_path / "run" / "last.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="cannot read checkpoint .*cut.pt"):
        checkpoint.read_checkpoint(tmp_path / "cut.pt")
    other = rm.create_model("rvit_s", dim=48, num_heads=2)
    with pytest.raises(ValueError, match=r"written for another config: model_config: checkpoint"
                                         r" \{.*'dim': 32.*\} vs requested \{.*'dim': 48"):
        train.fit(other, tiny_data(), None, TINY, tmp_path / "run", resume=True, progress=False)
    torch.save(other.state_dict(), tmp_path / "weights.pt")  # as the shipped models are stored
    with pytest.raises(ValueError, match="weights but no model config, so it is not a training"):
        loading.load_checkpoint(tmp_path / "weights.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read checkpoint .*empty.pt: the file is empty"):
        loading.load_checkpoint(tmp_path / "empty.pt")
    (tmp_path / "text.pt").write_text("id,label\n1,wave\n")
    with pytest.raises(ValueError, match="cannot read checkpoint .*text.pt: "):
        loading.load_checkpoint(tmp_path / "text.pt")
    ckpt = checkpoint.read_checkpoint(tmp_path / "run" / "last.pt")
    torch.save({**ckpt, "model": other.state_dict()}, tmp_path / "mixed.pt")
    with pytest.raises(ValueError, match=r"the weights in .*mixed.pt do not fit a RViT of 9 "
                                         r"classes \(Error\(s\) in loading state_dict"):
        loading.load_checkpoint(tmp_path / "mixed.pt")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint"])
def test_a_shipped_model_whose_file_is_damaged_says_so(tmp_path, content):
    for suffix in (".pt", ".json"):
        (tmp_path / f"rvit{suffix}").write_bytes((loading.CHECKPOINTS / f"rvit{suffix}")
                                                 .read_bytes())
    (tmp_path / "rvit.pt").write_bytes(content)
    with pytest.raises(ValueError, match="cannot read checkpoint .*rvit.pt"):
        rm.load_pretrained("rvit", root=tmp_path)


def test_model_from_checkpoint_rebuilds_the_same_model(tmp_path):
    model = tiny_model()
    train.fit(model, tiny_data(), None, TINY, tmp_path, max_steps=2, progress=False)
    loaded = loading.load_checkpoint(tmp_path / "last.pt")
    x = torch.rand(1, 4, 3, 32, 32)
    torch.testing.assert_close(loaded.eval()(x), model.eval()(x))


def test_evaluate_reports_accuracy_confusion_and_map():
    class Fixed(Dataset):
        def __init__(self, targets):
            self.targets = targets

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, i):
            return torch.full((2, 3, 32, 32), float(i)), self.targets[i]

    class Oracle(torch.nn.Module):  # predicts class = clip index % 3
        def forward(self, video):
            idx = video[:, 0, 0, 0, 0].long()
            return torch.nn.functional.one_hot(idx % 3, 3).float()

    metrics = train.evaluate(Oracle(), Fixed([0, 1, 2, 0, 2, 2]))
    assert metrics["top1"] == pytest.approx(5 / 6)  # predictions 0 1 2 0 1 2
    assert metrics["confusion"] == [[2, 0, 0], [0, 1, 0], [0, 1, 2]]
    assert metrics["per_class"] == pytest.approx([1.0, 1.0, 2 / 3])
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.1, 0.2]])
    targets = torch.tensor([[1, 0], [0, 1], [1, 1]]).float()
    ap = rm.online.metrics.class_ap(scores, targets.bool())
    assert ap.tolist() == pytest.approx([(1 + 2 / 3) / 2, (1 + 1) / 2])
    ties = rm.online.metrics.class_ap(torch.tensor([[0.5], [0.5], [0.1]]),
                                      torch.tensor([[False], [True], [True]]))
    assert ties.item() == pytest.approx((1 / 2 + 2 / 3) / 2)  # a tie is one rank, in any order


def test_short_training_run_beats_chance(tmp_path):
    # walk left vs walk right, 8 frames, 32 steps (about 10 s on 2 idle cores): chance is 50 %
    pair = ["walk_left", "walk_right"]
    recipe = replace(train.RECIPES["mini_rvit_s"], batch_size=16, num_frames=8, epochs=8,
                     lr_step_epochs=8, warmup_epochs=0.5)
    torch.manual_seed(0)
    model = rm.create_model("rvit_s", num_classes=2)
    train_set = StickActions("train", 8, 32, seed=1, num_clips=64, classes=pair)
    train.fit(model, train_set, None, recipe, tmp_path, progress=False)
    val_set = StickActions("val", 8, 32, seed=1, num_clips=40, classes=pair)
    assert train.evaluate(model, val_set)["top1"] >= 0.7


DDP_SCRIPT = """
import os, sys
sys.path.insert(0, %r)
from test_train import TINY_SGD, TurnsNaN, tiny_data, tiny_model
from rvit_mini import training as train
RANK = int(os.environ["RANK"])
train.fit(tiny_model(), %s, None, TINY_SGD, sys.argv[1], max_steps=4, progress=False)
"""


def fit_on_two_processes(tmp_path, data: str) -> subprocess.CompletedProcess:
    """fit(tiny_model(), <data>, ...) under torchrun with two processes, out to tmp_path / "ddp";
    data: a Python expression, in which RANK is the process's rank. --standalone: torchrun takes
    a free port, so runs side by side (two test sessions on one machine) never collide."""
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT % (os.path.dirname(__file__), data))
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(script), str(tmp_path / "ddp")],
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=900)


needs_gloo = pytest.mark.skipif(sys.platform == "win32", reason="gloo over localhost")


@needs_gloo
def test_ddp_on_two_processes_equals_one_process_with_double_batch(tmp_path):
    proc = fit_on_two_processes(tmp_path, "tiny_data(16)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = tiny_model()
    train.fit(single, tiny_data(16), None, TINY_SGD, tmp_path / "one",
              max_steps=4, progress=False)
    ddp = loading.load_checkpoint(tmp_path / "ddp" / "last.pt")
    # float sums in a different order (all-reduce): equal to float32 rounding, not bitwise
    torch.testing.assert_close(params(ddp), params(single), rtol=1e-4, atol=1e-5)


@needs_gloo
def test_a_non_finite_loss_on_one_rank_stops_every_rank(tmp_path):
    # rank 1's second batch is NaN; had rank 1 stopped alone, rank 0 would wait for it in the
    # next all-reduce
    proc = fit_on_two_processes(tmp_path, "TurnsNaN(good=4, n=16) if RANK == 1 else tiny_data(16)")
    assert proc.returncode != 0
    assert "NonFiniteLossError: loss is nan at step 2" in proc.stderr  # rank 1
    assert "NonFiniteLossError: the loss on another rank is not finite at step 2" in proc.stderr


def test_per_frame_labels_train_every_frame_and_evaluate_per_frame(tmp_path):
    streams = rm.data.StickStreams("train", num_frames=12, size=32, seed=3, num_streams=8)
    model = tiny_model()
    before = train.evaluate(model, streams)
    video, labels = streams[0]
    loss = train.loss_fn(model, video[None], labels[None])
    expected = torch.nn.functional.cross_entropy(model.frame_logits(video[None])[0], labels)
    torch.testing.assert_close(loss, expected)
    assert before["n"] == 8 * 12  # one prediction per frame
    records = train.fit(model, streams, streams, replace(TINY, epochs=1, batch_size=4), tmp_path,
                        progress=False, log_every=1)
    assert [r["step"] for r in records if "loss" in r] == [1, 2]
    assert "val_top1" in records[-1]
