"""rm.flops counts from the architecture what torch's FLOP counter counts when it runs the model."""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import rvit_mini as rm
from rvit_mini import online
from rvit_mini.model import flops


def counted(model, video, per_frame=False) -> int:
    """torch's count of model(video); the math attention kernel, which every torch counts."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(video, per_frame=per_frame)
    return counter.get_total_flops()


@pytest.mark.parametrize("name,overrides", [
    ("vit", {}), ("vit", {"pool": "mean"}), ("rvit", {}), ("rvit_s", {"mlp_ratio": 2.0}),
    ("rvit_linear", {}), ("cvit", {}), ("cvit_divided", {}), ("trecvit", {}),
])
@pytest.mark.parametrize("frames", [1, 5])
def test_the_count_equals_torchs_counter_for_every_architecture(name, overrides, frames):
    with torch.device("meta"):
        model = rm.create_model(name, **overrides)
    video = torch.empty(2, frames, 3, 32, 32, device="meta")
    assert counted(model, video) == 2 * flops.clip_flops(model.cfg, frames)
    assert counted(model, video, per_frame=True) == 2 * flops.clip_flops(model.cfg, frames, True)


def test_the_count_equals_torchs_counter_at_paper_scale_and_on_a_real_run():
    with torch.device("meta"):
        rvit_xl = rm.create_model("rvit_xl", scale="paper")
    video = torch.empty(1, 2, 3, 224, 224, device="meta")
    assert counted(rvit_xl, video) == flops.clip_flops(rvit_xl.cfg, 2)
    rvit = rm.create_model("rvit").eval()
    assert counted(rvit, torch.rand(1, 3, 3, 32, 32)) == flops.clip_flops(rvit.cfg, 3)


def test_the_count_is_what_each_part_costs():
    cfg = rm.model_config("rvit")  # mini: 32x32 frames, patch 8, D 64, 3 gates, 9 classes
    n, d = 17, 64
    block = 2 * n * d * (3 * d + d + 2 * 4 * d) + 2 * 2 * n * n * d  # projections, MLP, attention
    assert flops.block(cfg, n) == block
    assert flops.gate(cfg, n) == block + 2 * n * d * 3 * d      # W_h's q, k, v
    assert flops.frame_embedding(cfg) == 2 * 16 * (3 * 8 * 8) * d
    assert flops.flops_per_frame(cfg) == flops.frame_embedding(cfg) + 3 * flops.gate(cfg, n)
    assert flops.clip_flops(cfg, 4) == 4 * flops.flops_per_frame(cfg) + 2 * d * 9
    cvit = rm.model_config("cvit")                               # joint: one block over T x N
    assert flops.clip_flops(cvit, 4) == 4 * flops.frame_embedding(cvit) \
        + 4 * flops.block(cvit, 4 * n) + 2 * d * 9


def test_a_recognisers_cost_is_the_count_of_one_update():
    rvit, cvit = rm.create_model("rvit").eval(), rm.create_model("cvit").eval()
    frames = torch.rand(12, 3, 32, 32)
    assert online.cost(rvit, frames, timed=1)["mflops"] * 1e6 == \
        flops.flops_per_frame(rvit) + 2 * 64 * 9
    window = online.cost(online.Window(cvit, 4), frames, timed=1)["mflops"] * 1e6
    assert window == flops.clip_flops(cvit.cfg, 4, per_frame=True)
    assert online.cost(online.Constant(0, 9), frames, timed=1)["mflops"] == 0
