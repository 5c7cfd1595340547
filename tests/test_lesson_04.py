"""Notebook 04, training the variants: its pieces, told a hand-written student's mistakes; its
prediction; prepare_run for the notebook's live run; the playground's runs on fixed axes."""

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from rvit_mini.lessons import training
from rvit_mini.training import RECIPES, prepare_run


def test_a_loop_that_steps_the_scheduler_once_per_epoch_is_told_where_it_differs(capsys):
    def student(model, batches, optimizer, scheduler):  # scheduler.step() outside the loop
        model.train()
        losses = []
        for video, target in batches:
            loss = F.cross_entropy(model(video), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        return losses

    assert training.LOOP.check(student) is training.LOOP.reference
    line = capsys.readouterr().out.strip()
    assert line == ("not yet: the training loop: the scheduler is not stepped: the learning rate "
                    "stays at its first step's value (call scheduler.step() after every "
                    "optimiser step)")


def test_a_loop_that_clears_the_gradients_after_the_step_is_right(capsys):
    def student(model, batches, optimizer, scheduler):  # zero_grad at the end: just as good
        model.train()
        losses = []
        for video, target in batches:
            loss = F.cross_entropy(model(video), target)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.detach().item())
        return losses

    assert training.LOOP.check(student) is student
    assert capsys.readouterr().out.startswith("right: the training loop")


def test_a_loop_without_train_mode_is_caught_by_the_batchnorm_net():
    net = training.NormedVideoNet(12)
    video = torch.rand(4, 2, 3, 2, 2)
    assert not torch.allclose(net.train()(video), net.eval()(video))


def test_an_init_with_w_h_orthogonal_but_the_last_blocks_is_named(capsys):
    @torch.no_grad()
    def student(rvit, vit):
        rvit.load_state_dict(vit.state_dict(), strict=False)  # also the head: shapes differ
        return rvit

    training.INIT.check(student)
    out = capsys.readouterr().out
    assert out.startswith("not yet: the initialisation from a ViT raises RuntimeError")

    @torch.no_grad()
    def student_last(rvit, vit):
        for name in ("patch_embed", "norm"):
            getattr(rvit, name).load_state_dict(getattr(vit, name).state_dict())
        rvit.cls_token.copy_(vit.cls_token)
        rvit.pos_embed.copy_(vit.pos_embed)
        for gate, block in zip(rvit.blocks, vit.blocks[2:]):
            gate.load_state_dict(block.state_dict(), strict=False)
            for w in gate.qkv_h.weight.chunk(3):
                nn.init.orthogonal_(w)
            gate.norm_h.reset_parameters()
        return rvit

    training.INIT.check(student_last)
    assert capsys.readouterr().out.strip() == (
        "not yet: the initialisation from a ViT: the gates take the ViT's last L blocks: Sec. "
        "3.2 copies its first L (vit.blocks[:L])")


def test_an_init_with_w_h_from_qr_of_its_own_is_right(capsys):
    @torch.no_grad()
    def student(rvit, vit):  # W_h orthogonal by a QR of its own: any orthogonal blocks will do
        rvit.patch_embed.load_state_dict(vit.patch_embed.state_dict())
        rvit.norm.load_state_dict(vit.norm.state_dict())
        rvit.cls_token.copy_(vit.cls_token)
        rvit.pos_embed.copy_(vit.pos_embed)
        d = rvit.cfg.dim
        for gate, block in zip(rvit.blocks, vit.blocks):
            gate.load_state_dict(block.state_dict(), strict=False)
            gate.qkv_h.weight.copy_(torch.cat([torch.linalg.qr(torch.randn(d, d))[0]
                                               for _ in range(3)]))
            gate.norm_h.weight.fill_(1.0)
            gate.norm_h.bias.zero_()
        return rvit

    assert training.INIT.check(student) is student
    assert capsys.readouterr().out.startswith("right: the initialisation from a ViT")


def test_a_schedule_that_decays_from_the_end_of_the_warm_up_is_told_where(capsys):
    def student(step, steps_per_epoch, warmup_epochs, lr_step_epochs):
        w = round(warmup_epochs * steps_per_epoch)
        return min(1, (step + 1) / w) * 0.1 ** (max(0, step - w) // (lr_step_epochs * steps_per_epoch))

    training.SCHEDULE.check(student)
    assert capsys.readouterr().out.startswith("not yet: the learning-rate schedule: returns ")


def test_an_rvit_started_with_w_h_zero_is_blind_to_order_and_sec_3_2s_is_not(capsys):
    assert training.order_blind_starts() == "only W_h = 0"
    assert training.REVERSED.check("only W_h = 0")
    assert not training.REVERSED.check("neither")
    assert "where a gate reads the hidden state" in capsys.readouterr().out


def test_prepare_run_starts_a_frame_mean_vit_for_a_few_actions_from_the_image_vit():
    """The live run's control: a 3-class ViT from the shipped 9-class one (its head's rows for
    those actions copied by name), where init_from_model would refuse the head's shape."""
    three = ["sit_down", "stand_up", "jump"]
    setup = prepare_run(replace(RECIPES["mini_vit"], init="vit", num_frames=4),
                        subset={"train": 32, "val": 9, "classes": three})
    image_vit = training.shipped("vit")
    assert setup.model.head.weight.shape == (3, 64) and setup.init == "the shipped vit"
    rows = [image_vit.classes.index(c) for c in three]
    assert torch.equal(setup.model.head.weight, image_vit.head.weight[rows])
    assert torch.equal(setup.model.blocks[3].mlp.fc2.weight, image_vit.blocks[3].mlp.fc2.weight)
    same = prepare_run(replace(RECIPES["mini_vit"], init="vit"), subset={"train": 32, "val": 9})
    assert torch.equal(same.model.head.weight, image_vit.head.weight)  # 9 classes: continued


def test_wilson_interval_contains_the_rate_and_narrows_with_n():
    lo, hi = training.wilson(45, 60)
    assert lo < 0.75 < hi
    lo2, hi2 = training.wilson(450, 600)
    assert hi2 - lo2 < hi - lo


def test_a_claim_prints_one_line_and_fails_when_it_stops_holding(capsys):
    training.claim("two is more than one", 2 > 1)
    assert capsys.readouterr().out == "two is more than one: True\n"
    try:
        training.claim("one is more than two", 1 > 2)
    except AssertionError as err:
        assert "one is more than two" in str(err)
    else:
        raise AssertionError("a claim that does not hold must fail")
