"""Notebook 05, streaming and variable length: its pieces, told a hand-written student's
mistakes; its prediction; the playground's rows and what a reset changes."""

import torch
import torch.nn.functional as F

from rvit_mini.lessons import streaming
from rvit_mini.lessons.widgets import png


def test_a_stream_that_keeps_every_feature_is_right_and_one_that_restarts_is_named(capsys):
    @torch.no_grad()
    def keeps_all(model, video):  # right, though its memory grows with the stream
        state, features, out = model.init_state(video.shape[0]), [], []
        for t in range(video.shape[1]):
            f, state = model.step(video[:, t], state)
            features.append(f)
            out.append(model.head(torch.stack(features).mean(0)))
        return torch.stack(out, 1)

    assert streaming.STREAM.check(keeps_all) is keeps_all

    @torch.no_grad()
    def restarts(model, video):  # a fresh state for every frame: it remembers nothing
        total, out = 0, []
        for t in range(video.shape[1]):
            f, _ = model.step(video[:, t], model.init_state(video.shape[0]))
            total = total + f
            out.append(model.head(total / (t + 1)))
        return torch.stack(out, 1)

    streaming.STREAM.check(restarts)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("right: the streaming loop")
    assert lines[1] == ("not yet: the streaming loop: the state is not carried: each frame starts "
                        "from init_state, so the model remembers nothing (pass on the state that "
                        "step returns)")


def test_a_tbptt_loss_that_detaches_after_the_kth_frame_is_told_where_the_gradients_differ(capsys):
    def late(model, video, labels, k):  # detaches after frames k, 2k, ...: one frame late
        model.zero_grad(set_to_none=True)
        state, logits = model.init_state(video.shape[0]), []
        for t in range(video.shape[1]):
            f, state = model.step(video[:, t], state)
            logits.append(model.head(f))
            if (t + 1) % k == 1 and t > 0:
                state = [h.detach() for h in state]
        loss = F.cross_entropy(torch.stack(logits, 1).flatten(0, 1), labels.flatten())
        loss.backward()
        return loss.detach(), {n: p.grad for n, p in model.named_parameters()}

    streaming.TBPTT.check(late)
    line = capsys.readouterr().out.strip()
    assert line.startswith("not yet: the per-frame loss with truncated BPTT: output ")
    assert "of the entries differ; the largest difference is at index" in line


def test_a_tbptt_loss_summed_over_chunks_is_told_apart_from_the_mean(capsys):
    def summed(model, video, labels, k):  # a sum of chunk means, not the mean over frames
        model.zero_grad(set_to_none=True)
        state, total = model.init_state(video.shape[0]), 0
        for lo in range(0, video.shape[1], k):
            state = [h.detach() for h in state]
            logits = []
            for t in range(lo, min(lo + k, video.shape[1])):
                f, state = model.step(video[:, t], state)
                logits.append(model.head(f))
            total = total + F.cross_entropy(torch.stack(logits, 1).flatten(0, 1),
                                            labels[:, lo:lo + k].flatten())
        total.backward()
        return total.detach(), {n: p.grad for n, p in model.named_parameters()}

    assert streaming.TBPTT.check(summed) is streaming.TBPTT.reference
    assert capsys.readouterr().out.startswith("not yet: the per-frame loss with truncated BPTT: ")


def test_the_gradient_of_the_last_frame_reaches_its_chunk_only(capsys):
    assert streaming.gradient_reach(tbptt=4, frames=10) == "frames 8 and 9"
    assert streaming.gradient_reach(tbptt=0, frames=10) == "all 10 frames"
    assert not streaming.REACH.check("frames 6 to 9")
    assert streaming.REACH.check("frames 8 and 9")
    assert capsys.readouterr().out.splitlines()[0].startswith("not yet: the frames the last")


def test_every_rival_has_its_own_row_and_a_reset_shows():
    fig = streaming.draw_stream(frame=60)
    rows = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left").split(":")[0] for ax in rows] == list(streaming.RIVALS)
    reset = streaming.draw_stream(frame=60, resets=(44,))
    titles = {ax.get_title(loc="left").split(":")[0]: ax.get_title(loc="left")
              for ax in reset.axes if ax.get_title(loc="left")}
    assert "the reset changed" in titles["rvit_online"]
    assert all("it keeps no state" in titles[n] for n in ("vit_online", "cvit_online@w8"))
    assert not any(ax.patches for ax in fig.axes)       # no reset, nothing shaded
    assert any(ax.patches for ax in reset.axes)        # the frames whose prediction it changed
    assert png(reset) != png(fig)


def test_a_reset_is_ignored_by_a_rival_without_state():
    assert not streaming.keeps_state("vit_online") and not streaming.keeps_state("cvit_online@w8")
    assert streaming.keeps_state("rvit_online")
    assert streaming.stream_predictions("cvit_online@w8", (30,)) is \
        streaming.stream_predictions("cvit_online@w8")  # the same cached run: nothing recomputed
