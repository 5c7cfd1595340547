"""Notebook 01's lesson module (rvit_mini.lessons.tokens): the checks name a hand-written
student's mistakes, the exercise pieces are what the models compute, the stretched CViT and the
playground's new panels."""

import pytest
import torch

import rvit_mini as rm
from rvit_mini.lessons import tokens
from rvit_mini.lessons.check import RESULTS


def test_a_hand_written_stem_without_positions_is_named(capsys):
    def my_stem(model, frames):  # a student's stem: conv for the patches, no position embedding
        x = model.patch_embed.proj((frames - 0.5) / 0.5).flatten(2).transpose(1, 2)
        return torch.cat([model.cls_token.expand(len(frames), -1, -1), x], dim=1)
    assert tokens.STEM.check(my_stem) is tokens.STEM.reference
    assert capsys.readouterr().out.strip() == \
        "not yet: the stem: the position embedding is not added"


def test_a_hand_written_stem_with_another_normalisation_says_where_it_differs(capsys):
    def my_stem(model, frames):
        return model.embed(frames * 2)  # not a known mistake
    tokens.STEM.check(my_stem)
    line = capsys.readouterr().out.strip()
    assert line.startswith("not yet: the stem: ") and "of the entries differ" in line
    assert RESULTS["the stem"] == "not yet"


def test_cvit_tokens_are_what_the_first_block_reads():
    torch.manual_seed(0)
    cvit = tokens.randomise(rm.create_model("cvit", depth=2, num_frames=8), 0)
    video = torch.rand(2, 5, 3, 32, 32)
    x = tokens.cvit_tokens(cvit, video)
    assert x.shape == (2, 5 * cvit.num_tokens, cvit.cfg.dim)
    with torch.no_grad():
        for blk in cvit.blocks:
            x = blk(x)
        expected = cvit.forward_features(video)
    got = cvit.pool(x.unflatten(1, (5, cvit.num_tokens)))
    assert torch.allclose(got, expected, atol=1e-5)


def test_a_hand_written_token_major_cvit_sequence_is_named(capsys):
    def my_tokens(cvit, video):
        B, T = video.shape[:2]
        x = cvit.embed(video.flatten(0, 1)).unflatten(0, (B, T)) + cvit.time_embed[:, :T]
        return x.permute(0, 2, 1, 3).reshape(B, -1, x.shape[-1])  # position by position
    tokens.CVIT_TOKENS.check(my_tokens)
    assert capsys.readouterr().out.strip().startswith(
        "not yet: CViT's tokens: the tokens are ordered position by position")


def test_mean_feature_is_the_feature_step_returns_with_mean_pooling(capsys):
    torch.manual_seed(0)
    model = rm.create_model("rvit_s", pool="mean").eval()
    frame = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        f_0, state = model.step(frame, model.init_state(1))
        assert torch.allclose(tokens.mean_feature(model, state[-1]), f_0, atol=1e-6)

    def mine(model, tokens_):  # mean over the tokens, then LN: a hand-written mistake
        return model.norm(tokens_.sum(dim=1) / tokens_.shape[1])
    tokens.MEAN_POOL.check(mine)
    assert capsys.readouterr().out.strip() == (
        "not yet: f_t with pool='mean': the LayerNorm comes after the mean: normalise each token "
        "first, then average the N tokens")


def test_sampled_twins_are_reversed_only_when_the_picks_are_symmetric():
    assert tokens.sampled_twins_reversed() == "no"
    assert tokens.sampled_twins_reversed(total=8, frames=8) == "yes"  # every frame: symmetric


def test_a_stretched_cvit_takes_longer_clips_and_keeps_its_ends():
    torch.manual_seed(0)
    cvit = rm.create_model("cvit", num_frames=8).eval()
    same = tokens.stretch_time(cvit, 8)
    video = torch.rand(1, 8, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(same(video), cvit(video), atol=1e-6)
        with pytest.raises(ValueError, match="supports at most 8"):
            cvit(torch.rand(1, 16, 3, 32, 32))
        long = tokens.stretch_time(cvit, 16)
        assert long(torch.rand(1, 16, 3, 32, 32)).shape == (1, cvit.cfg.num_classes)
    assert torch.equal(long.time_embed[:, [0, -1]], cvit.time_embed[:, [0, -1]])
    assert cvit.cfg.num_frames == 8  # the original is untouched


def test_wilson_interval():
    low, high = tokens.wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert tokens.wilson(0, 20)[0] == 0 and tokens.wilson(20, 20)[1] == pytest.approx(1)
    assert tokens.rate(torch.tensor([True] * 9 + [False])) == \
        " 9/10 =  90% (95 % interval 60%-98%)"


def test_the_playground_shows_the_stems_tokens_and_the_counts_at_t():
    fig = tokens.draw_tokens(clip_length=16)
    titles = " | ".join(ax.get_title() for ax in fig.get_axes())
    assert "(17, 64)" in titles and "CLS + 16 patch tokens" in titles
    assert "patches, flattened: (16, 192)" in titles
    assert "T = 16, N = 17: CViT attends over 272 tokens at once, RViT over 17 a step" in titles
    assert "16 x as many pairs" in titles
