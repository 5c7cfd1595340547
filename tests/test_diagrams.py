"""The drawn figures of the lessons (Fig. S1, the gate's data flow, what the hidden state adds)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rvit_mini.lessons import diagrams  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> str:
    return " ".join(t.get_text() for t in ax.texts)


def test_fig_s1_draws_cvit_taking_the_clip_and_rvit_passing_states_between_frames():
    cvit, rvit = diagrams.draw_fig_s1(frames=5, depth=3)
    assert "grows with T" in texts(cvit) and "5 x N tokens" in texts(cvit)
    assert "the same at every T" in texts(rvit)
    states = [p for p in rvit.patches if p.get_gid() == "state"]
    assert len(states) == 3 * 4                    # one per layer between neighbouring frames
    with pytest.raises(ValueError, match="frames must be >= 2"):
        diagrams.draw_fig_s1(frames=1)


def test_gate_diagram_shows_q_k_v_fed_by_the_frame_and_the_hidden_state():
    ax = diagrams.draw_gate()
    labels = texts(ax)
    for needed in ("$q$", "$k$", "$v$", "W_x", "W_h", "token positions"):
        assert needed in labels
    assert len([p for p in ax.patches if p.get_gid() == "hidden"]) == 2


def test_term_ratio_plots_one_line_per_layer_for_q_k_v():
    x_term, h_term = torch.ones(6, 2, 3), torch.arange(36.0).view(6, 2, 3)
    axes = diagrams.plot_term_ratio(x_term, h_term, boundary=3)
    assert len(axes[1].lines) == 2 + 1             # two layers and the boundary
    np.testing.assert_allclose(axes[2].lines[1].get_ydata(), h_term[:, 1, 2])
    with pytest.raises(ValueError, match=r"\(T, L, 3\)"):
        diagrams.plot_term_ratio(x_term, h_term[:, :, :2])


def test_cls_attention_is_the_cls_row_over_the_patches_averaged_over_heads():
    maps = torch.rand(3, 2, 5, 5).softmax(-1)      # (L, heads, N = 1 + 2x2, N)
    grid = diagrams.cls_attention(maps)
    np.testing.assert_allclose(grid[1], maps[1, :, 0, 1:].mean(0).view(2, 2).numpy(), rtol=1e-6)
    axes = diagrams.plot_cls_attention(torch.rand(3, 8, 8), maps, maps * 0)
    assert axes.shape == (2, 4)
    with pytest.raises(ValueError, match="square grid"):
        diagrams.cls_attention(torch.rand(1, 6, 6))


def test_past_change_plots_the_mean_and_a_quantile_band_per_model():
    change = torch.tensor([[1.0, 0.5], [3.0, 0.5], [2.0, 2.0]])
    ax = diagrams.plot_past_change({"a": change, "b": change * 0})
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 1.0])
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2])
    assert len(ax.collections) == 2
