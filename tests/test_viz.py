import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from rvit_mini import viz  # noqa: E402


def test_scrubber_falls_back_to_a_static_figure_without_a_widget_frontend(monkeypatch):
    monkeypatch.setenv("RVIT_MINI_STATIC", "1")
    assert not viz.widget_frontend()
    calls = []
    monkeypatch.setattr(plt, "show", lambda: calls.append(plt.gcf()))
    viz.frame_scrubber(torch.rand(10, 3, 32, 32), [lambda t, ax: ax.set_title(f"t={t}")], n_static=3)
    (fig,) = calls
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["frame 0", "t=0", "frame 4", "t=4", "frame 9", "t=9"]


def test_similarity_and_pca_of_states():
    states = torch.cat([torch.ones(4, 3, 2), -torch.ones(4, 3, 2)]) + 0.01 * torch.randn(8, 3, 2)
    sim = viz.cosine_similarity_matrix(states)
    torch.testing.assert_close(sim.diag(), torch.ones(8))
    assert (sim[:4, 4:] < -0.9).all() and (sim[:4, :4] > 0.9).all()
    xy = viz.pca_2d(states)
    assert xy.shape == (8, 2) and (xy[:4, 0] * xy[4:, 0] < 0).all()  # PC 1 separates the halves


def test_live_history_keeps_every_record_and_draws_loss_and_accuracy():
    live = viz.LiveHistory("t")
    for step in range(1, 4):
        live({"step": step, "loss": 1.0 / step})
    live({"step": 3, "epoch": 1, "val_top1": 0.5})
    assert len(live.records) == 4
    loss_ax, acc_ax = live.fig.axes
    assert list(loss_ax.lines[0].get_ydata()) == [1.0, 0.5, 1 / 3]
    assert list(acc_ax.lines[0].get_ydata()) == [50.0]
