import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from rvit_mini.lessons import viz  # noqa: E402


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


def test_scrubber_in_a_notebook_is_one_html_output_and_returns_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr(viz, "widget_frontend", lambda: True)
    monkeypatch.setattr(viz, "_display", lambda obj, raw=False: shown.append(obj))
    out = viz.frame_scrubber(torch.rand(10, 3, 32, 32), [lambda t, ax: ax.set_title(f"t={t}")])
    assert out is None  # no value (such as interact's function) shown under the slider
    (bundle,) = shown
    html = bundle["text/html"]
    assert 'type="range" min="0" max="9"' in html
    assert html.count("data:image/png;base64,") == 10 + 1  # every frame, and the first shown
    assert "<script>" in html and "widget" not in html  # no widget state to lose on saving


def test_scrubber_draws_at_most_max_frames_evenly_spaced():
    html = viz.scrubber_html(torch.rand(100, 3, 16, 16), [], max_frames=5)
    assert html.count("data:image/png;base64,") == 5 + 1
    assert "ts = [0, 25, 50, 74, 99]" in html


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_scrubber_panels_keep_their_labels_clear_of_each_other():
    classes = [f"class_name_{k}" for k in range(10)]

    def heatmap(t, ax):
        ax.imshow(np.random.rand(4, 4))
        ax.set_title("|h_t - h_(t-1)| per patch")
        ax.axis("off")

    def belief(t, ax):
        ax.barh(range(10), np.random.rand(10))
        ax.set_yticks(range(10), classes, fontsize=7)
        ax.set_title("head(f_t); true: class_name_3", fontsize=9)

    fig = viz.scrubber_figure(torch.rand(16, 3, 32, 32), [heatmap, belief], 3)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]  # axes with ticks, labels, title
    for i in range(len(boxes)):
        assert fig.bbox.contains(boxes[i].x0, boxes[i].y0) and fig.bbox.contains(boxes[i].x1,
                                                                                  boxes[i].y1)
        for j in range(i):
            assert not _overlap(boxes[i], boxes[j]), f"panel {i}'s labels run into panel {j}"
    plt.close(fig)


def test_frame_strip_wraps_into_rows_with_every_label():
    video = torch.rand(16, 3, 32, 32)
    ax = viz.frame_strip(video, n=16, labels=[str(t) for t in range(16)], columns=8)
    assert ax.images[0].get_array().shape == (2 * 44, 8 * 34, 3)
    assert [t.get_text() for t in ax.texts][9] == "t=9\n9"
    plt.close("all")
