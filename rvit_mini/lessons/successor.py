"""Notebook 08, after RViT: the RG-LRU step and the linear scan the student writes (their checks
and known mistakes)."""

import functools
import math

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ..data import StickActions, StickStreams
from ..model.trecvit import RGLRU, linear_scan
from ..online import predict_stream
from .check import Mistake, Piece, Prediction
from .evidence import claim, difference, paired, wilson  # noqa: F401 (the notebook uses them)
from .wavefront import Counter
from .widgets import figure, shipped, wide
from .widgets import playground as make_playground

C = 8.0  # Griffin's constant in a_t = σ(Λ)^(c r_t)


# -- the first piece: one step of the RG-LRU ---------------------------------------------------

def rg_lru_step(rglru: RGLRU, v: torch.Tensor, h: torch.Tensor, mistake: str = "") -> torch.Tensor:
    """One step of Griffin's RG-LRU, inside a stream: v_t (S, L), h_{t-1} (S, L) -> h_t (S, L).

        i_t = σ(W_i v_t + b_i)            r_t = σ(W_r v_t + b_r)
        a_t = σ(Λ)^(c r_t), c = 8         h_t = a_t ⊙ h_{t-1} + sqrt(1 - a_t²) ⊙ (i_t ⊙ v_t)

    `mistake` names a known mistake to make (the check's variants)."""
    i = torch.sigmoid(rglru.input_gate(v))
    r = torch.sigmoid(rglru.recurrence_gate(v))
    c = 1.0 if mistake == "no c" else C
    log_a = -c * F.softplus(-rglru.lam) * r  # log σ(Λ)^(c r) = -c softplus(-Λ) r
    a = torch.sigmoid(rglru.lam) * r if mistake == "gate times decay" else torch.exp(log_a)
    x = v if mistake == "no input gate" else i * v
    scale = 1.0 if mistake == "unscaled" else torch.sqrt(1 - a ** 2)
    decayed = h if mistake == "no decay" else a * h
    return decayed + scale * x


def rg_lru_inputs() -> list[tuple]:
    """Two RG-LRUs of their own weights (width 8, 2 heads), each with inputs and states."""
    out = []
    for seed in (0, 1):
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        rglru = RGLRU(8, 2, min_rad=0.6)
        out.append((rglru, torch.randn(3, 8, generator=generator),
                    torch.randn(3, 8, generator=generator)))
    return out


STEP = Piece(
    "the RG-LRU step",
    reference=lambda rglru, v, h: rglru.step(v, h, torch.zeros(len(v), dtype=torch.bool)),
    inputs=rg_lru_inputs, mistakes=[
        Mistake("a_t is σ(Λ) ⊙ r_t: the recurrence gate goes in the exponent, a_t = σ(Λ)^(c r_t)",
                lambda *args: rg_lru_step(*args, mistake="gate times decay")),
        Mistake("c is missing: a_t = σ(Λ)^(c r_t) with c = 8",
                lambda *args: rg_lru_step(*args, mistake="no c")),
        Mistake("the input is not scaled by sqrt(1 - a_t²)",
                lambda *args: rg_lru_step(*args, mistake="unscaled")),
        Mistake("the input gate is missing: what enters is i_t ⊙ v_t",
                lambda *args: rg_lru_step(*args, mistake="no input gate")),
        Mistake("h_{t-1} is not decayed: it enters as a_t ⊙ h_{t-1}",
                lambda *args: rg_lru_step(*args, mistake="no decay")),
    ])


# -- the second piece: the recurrence over a whole clip at once --------------------------------

def scan_variant(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, mistake: str) -> torch.Tensor:
    """linear_scan with a known mistake: a, b (S, T, L), h0 (S, L) -> h (S, T, L)."""
    if mistake == "cumulative product":  # the closed form h_t = A_t (h0 + sum_s b_s / A_s)
        products = torch.cumprod(a, dim=1)
        return products * (h0[:, None] + torch.cumsum(b / products, dim=1))
    if mistake == "no h0":
        return linear_scan(a, b, torch.zeros_like(h0))
    if mistake == "products not carried":
        b = torch.cat([b[:, :1] + a[:, :1] * h0[:, None], b[:, 1:]], dim=1)
        k = 1
        while k < b.shape[1]:
            b = torch.cat([b[:, :k], b[:, k:] + a[:, k:] * b[:, :-k]], dim=1)
            k *= 2
        return b
    if mistake == "one frame late":
        h = linear_scan(a, b, h0)
        return torch.cat([h0[:, None], h[:, :-1]], dim=1)
    raise ValueError(f"unknown mistake {mistake!r}")


def scan_inputs() -> list[tuple]:
    """Clips of 1, 5 and 64 steps with decays in (0, 1), and one of 96 steps whose decays are
    small enough that their running product underflows to zero in float32."""
    out = []
    for seed, (steps, low, high) in enumerate([(1, 0.1, 0.99), (5, 0.1, 0.99), (64, 0.5, 1.0),
                                               (96, 0.2, 0.3)]):
        generator = torch.Generator().manual_seed(seed)
        a = low + (high - low) * torch.rand(2, steps, 4, generator=generator)
        out.append((a, torch.randn(2, steps, 4, generator=generator),
                    torch.randn(2, 4, generator=generator)))
    return out


SCAN = Piece("the linear scan", reference=linear_scan, inputs=scan_inputs, mistakes=[
    Mistake("it divides by a running product of the decays, which underflows to 0 in a long "
            "clip (inf, then nan): combine steps instead of dividing",
            lambda *args: scan_variant(*args, mistake="cumulative product")),
    Mistake("h_{-1} is left out: the first step is h_0 = a_0 h_{-1} + b_0",
            lambda *args: scan_variant(*args, mistake="no h0")),
    Mistake("the decays are not carried: when two spans combine, their decays multiply too",
            lambda *args: scan_variant(*args, mistake="products not carried")),
    Mistake("each h_t comes one frame late: output t must include b_t",
            lambda *args: scan_variant(*args, mistake="one frame late")),
], atol=1e-4)



# -- linear in h, or not -------------------------------------------------------------------------

def superposition_gap(update, x: torch.Tensor, h: torch.Tensor, seed: int = 0) -> float:
    """How far h -> update(x, h) is from affine: |f(h + g) - f(h) - f(g) + f(0)| / |f(h + g) - f(0)|
    for h and a random g of the same shape; 0 for h_t = a_t ⊙ h_{t-1} + b_t, whatever a_t, b_t."""
    g = torch.randn(h.shape, generator=torch.Generator().manual_seed(seed))
    zero = torch.zeros_like(h)
    with torch.no_grad():
        gap = update(x, h + g) - update(x, h) - update(x, g) + update(x, zero)
        return float(gap.norm() / (update(x, h + g) - update(x, zero)).norm())


def multiplications(scan, frames: int = 64) -> int:
    """How many multiplication calls `scan` (a, b, h0 -> h) makes on a clip of `frames` steps:
    a loop over frames makes one or more per frame, a doubling scan two per round."""
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, frames, 4, generator=generator), torch.randn(2, frames, 4, generator=generator)
    with Counter(words=("mul",)) as counter:  # notebook 07's operator counter
        scan(a, b, torch.zeros(2, 4))
    return counter.calls


def loop_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_t = a_t h_{t-1} + b_t, one frame after another: a, b (S, T, L), h0 (S, L) -> (S, T, L)."""
    h, states = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return torch.stack(states, dim=1)


def spans(frames: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """After each round of the doubling scan (span k = 1, 2, 4, ...): (k, for each t the first and
    last frame whose input b_t now holds), found by running the rounds on one-hot inputs."""
    b, a = torch.eye(frames)[None], torch.ones(1, frames, frames)  # b_t = e_t, a_t = 1
    rows, k = [], 1
    while k < frames:
        b = torch.cat([b[:, :k], b[:, k:] + a[:, k:] * b[:, :-k]], dim=1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], dim=1)
        held = [row.nonzero()[:, 0] for row in b[0]]
        rows.append((k, [(int(h.min()), int(h.max())) for h in held]))
        k *= 2
    return rows


def saved_for_backward(scan, frames: int = 128, width: int = 64) -> float:
    """MiB that `scan` (a, b, h0 -> h) keeps for backward on 8 sequences of `frames` steps and
    `width` channels, as autograd's saved-tensor hooks see them."""
    generator = torch.Generator().manual_seed(0)
    a = (0.5 + 0.5 * torch.rand(8, frames, width, generator=generator)).requires_grad_()
    b = torch.randn(8, frames, width, generator=generator).requires_grad_()
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        scan(a, b, torch.zeros(8, width))
    return total / 2 ** 20


def sequential_steps(layers: int, frames: int) -> dict[str, int]:
    """The steps that must run one after another over a clip: RViT's gate calls (plain loop and
    wavefront), TRecViT's scan rounds (ceil(log2 T) per layer) and its L ViT-block calls."""
    rounds = math.ceil(math.log2(frames)) if frames > 1 else 0
    return {"RViT, plain loop": frames * layers, "RViT, wavefront": frames + layers - 1,
            "TRecViT, scan": layers * (rounds + 1)}


def scan_products(frames: int) -> tuple[int, int]:
    """(the loop's, the doubling scan's) multiply-adds per channel over `frames` steps."""
    k, scan = 1, frames
    while k < frames:
        scan += 2 * (frames - k)  # b_t += a_t b_{t-k}, a_t *= a_{t-k} for t >= k
        k *= 2
    return frames, scan


# -- the shipped models on the same test clips ---------------------------------------------------

@functools.cache
def test_clips(num_frames: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """StickActions' test split (450 clips, the shipped cards' test set): videos (N, T, 3, 32, 32),
    labels (N,)."""
    data = StickActions("test", num_frames=num_frames)
    clips = [data[i] for i in range(len(data))]
    return torch.stack([v for v, _ in clips]), torch.tensor([y for _, y in clips])


def hits(model, videos: torch.Tensor, labels: torch.Tensor, batch: int = 50) -> torch.Tensor:
    """(N,) bool: the model's top-1 is the label, clip by clip."""
    with torch.no_grad():
        logits = torch.cat([model(videos[i:i + batch]) for i in range(0, len(videos), batch)])
    return logits.argmax(-1) == labels


def rate(right: torch.Tensor) -> str:
    """(N,) bool -> "k/N = p [lo, hi]" with the 95 % Wilson interval."""
    k, n = int(right.sum()), len(right)
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.3f} [{lo:.3f}, {hi:.3f}]"


def paired_text(after: torch.Tensor, before: torch.Tensor) -> tuple[str, tuple]:
    """The paired difference of two models' hits on the same clips: (its text, (mean, lo, hi)),
    with the clips only one of them gets right."""
    mean, lo, hi = paired(after.double().numpy(), before.double().numpy())
    only_after, only_before = int((after & ~before).sum()), int((before & ~after).sum())
    return (f"{100 * mean:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]; right only for the "
            f"first: {only_after} clips, only for the second: {only_before}"), (mean, lo, hi)


# -- on streams: the stream-trained models, frame by frame ----------------------------------------

def stream_hits(models: dict, num_streams: int = 8, num_frames: int = 240, seed: int = 0):
    """Held-out StickStreams (test split, actions of 6 to 20 frames), each model streamed frame by
    frame -> ({name: (streams, frames) bool, right per frame}, the same for 'shown': the action
    each frame shows, the ceiling of a recogniser that names what it sees)."""
    streams = StickStreams("test", num_frames, seed=seed, num_streams=num_streams)
    videos = torch.stack([streams[i][0] for i in range(num_streams)])
    labels = torch.stack([streams.labels(i) for i in range(num_streams)])
    right = {name: predict_stream(model, videos).argmax(-1) == labels
             for name, model in models.items()}
    right["shown"] = torch.stack([streams.shown(i) for i in range(num_streams)]) == labels
    return right


# -- the cost: the committed benchmark -----------------------------------------------------------

def draw_cost(results: dict, axes) -> None:
    """benchmarks/recurrences.py's results on two axes: training frames/s over CViT's at mini
    scale (this project's CPU) and the estimated training memory at paper scale, against T."""
    lengths = results["lengths"]
    speed, memory = axes
    for label, row in results["over_cvit"]["train"].items():
        speed.plot(lengths, row, "o-", label=label)
    speed.axhline(1.0, color="C3", ls="--", label="CViT (joint), the reference")
    speed.set(ylabel="frames/s over CViT's", ylim=(0, None),
              title=f"training, mini scale ({results['depth']['mini']} layers), batch "
                    f"{results['batch']}, CPU")
    for label, row in results["memory_gib"]["paper"]["training"].items():
        memory.plot(lengths, row, "o-", label=label)
    memory.plot(lengths, results["trecvit_scan_state_gib_by_hand"]["paper"], "--", color="gray",
                label="of which the scan's 2 log2 T\ncopies of its states")
    memory.set(yscale="log", ylabel="estimated peak memory (GiB)",
               title=f"training, paper scale ({results['depth']['paper']} layers), batch 2, bf16")
    for ax in (speed, memory):
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(t) for t in lengths])
        ax.set_xlabel("clip length T (frames)")
        ax.legend(fontsize=7)


# -- the playground: how long the RG-LRU remembers -----------------------------------------------

def half_life(a) -> float:
    """Frames until a^t falls to 1/2: ln(1/2) / ln(a); inf where a = 1."""
    a = torch.as_tensor(a, dtype=torch.float64)
    return torch.where(a < 1, math.log(0.5) / torch.log(a.clamp(max=1 - 1e-12)), math.inf)


@functools.cache
def shipped_radii() -> torch.Tensor:
    """σ(Λ) of the shipped trecvit's RG-LRUs, (layers, D)."""
    model = shipped("trecvit")
    return torch.stack([torch.sigmoid(blk.rg_lru.lam.detach()) for blk in model.lru_blocks])


def measured_decays(model, videos: torch.Tensor) -> list[torch.Tensor]:
    """The decays a_t that `model`'s RG-LRUs used on `videos` (B, T, ...), per layer, every
    channel of every tube and frame after the first (where h_{-1} is dropped): 1-D tensors."""
    seen = []
    for blk in model.lru_blocks:
        def keep(v, fresh, own=RGLRU.coefficients, rglru=blk.rg_lru):
            a, b = own(rglru, v, fresh)
            seen.append(a[:, 1:].flatten())
            return a, b
        blk.rg_lru.coefficients = keep  # on the instance, for this call only
    try:
        with torch.no_grad():
            model(videos)
    finally:
        for blk in model.lru_blocks:
            del blk.rg_lru.coefficients
    return seen


def draw_decay(radius: float = 0.9, r: float = 0.5) -> Figure:
    """The decay a = σ(Λ)^(c r) against r, one input's share left after t frames, and the shipped
    trecvit's half-lives at this r."""
    a = radius ** (C * r)
    fig = figure(11, 3.2)
    gate, memory, shipped_ax = fig.subplots(1, 3)
    rs = torch.linspace(0, 1, 101)
    gate.plot(rs, radius ** (C * rs), label="a = σ(Λ)^(c r), c = 8")
    gate.plot(rs, radius ** rs, ":", label="with c = 1")
    gate.plot(rs, (1 - radius ** (2 * C * rs)).sqrt(), "--", label="input scale sqrt(1 - a²)")
    gate.plot([r], [a], "ko")
    gate.set(xlabel="recurrence gate r", ylim=(0, 1.02), title=f"σ(Λ) = {radius:.3f}, r = {r:.2f}")
    gate.legend(fontsize=7)
    frames = torch.arange(31)
    life = float(half_life(a))
    memory.plot(frames, a ** frames.double(), "o-", ms=3)
    memory.axhline(0.5, color="gray", lw=0.8)
    said = "never" if math.isinf(life) else f"{life:.1f} frames"
    memory.set(xlabel="frames later", ylabel="share of one input left", ylim=(0, 1.02),
               title=f"a = {a:.3f}: half-life {said}")
    if r > 0:
        lives = half_life(shipped_radii() ** (C * r)).flatten().clamp(max=1e4)
        shipped_ax.hist(lives.numpy(), bins=torch.logspace(-1, 3, 25).numpy(), color="C2")
        shipped_ax.axvline(8, color="k", lw=1, ls="--", label="8 frames: a training clip")
        shipped_ax.set(xscale="log", xlabel="half-life (frames)", ylabel="channels")
        shipped_ax.legend(fontsize=7)
    else:
        shipped_ax.text(0.5, 0.5, "r = 0: a = 1 for every channel,\nnothing decays",
                        ha="center", va="center", transform=shipped_ax.transAxes)
    shipped_ax.set_title(f"the shipped trecvit's {shipped_radii().numel()} channels at r = {r:.2f}",
                         fontsize=9)
    return fig


def playground(live=None):
    """Two sliders, σ(Λ) and r: the decay, the memory of one input, the shipped model's half-lives."""
    return make_playground("decay", draw_decay, {
        "radius": lambda v: widgets.FloatSlider(value=v, min=0.5, max=0.999, step=0.001,
                                                continuous_update=False, readout_format=".3f",
                                                **wide("σ(Λ)")),
        "r": lambda v: widgets.FloatSlider(value=v, min=0.0, max=1.0, step=0.05,
                                           continuous_update=False, **wide("r"))}, live)


# -- exercise 1: the scan in chunks ----------------------------------------------------------------

def chunked_variant(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int,
                    mistake: str = "") -> torch.Tensor:
    """h_t = a_t h_{t-1} + b_t from h_{-1} = h0, T a multiple of `chunk`: every chunk scanned at once
    from zero, then the chunk ends' short scan, then each frame fixed up with its chunk's start.
    a, b (S, T, L), h0 (S, L) -> h (S, T, L). `mistake` makes a known mistake."""
    s, t, width = a.shape
    n = t // chunk
    a_c, b_c = (x.reshape(s * n, chunk, width) for x in (a, b))
    local = linear_scan(a_c, b_c, torch.zeros(s * n, width)).reshape(s, n, chunk, width)
    decay = torch.cumprod(a_c, dim=1).reshape(s, n, chunk, width)  # A: running products
    ends = linear_scan(decay[:, :, -1], local[:, :, -1], h0)  # (S, n, L): after each chunk
    starts = torch.cat([h0[:, None], ends[:, :-1]], dim=1)  # (S, n, L): before each chunk
    if mistake == "every chunk from h0":
        starts = h0[:, None].expand_as(starts)
    elif mistake == "not carried":
        starts = torch.cat([h0[:, None], torch.zeros_like(ends[:, :-1])], dim=1)
    if mistake == "not decayed":
        decay = torch.ones_like(decay)
    elif mistake == "whole chunk's decay":
        decay = decay[:, :, -1:].expand_as(decay)
    return (local + decay * starts[:, :, None]).reshape(s, t, width)


def chunked_inputs() -> list[tuple]:
    """Clips of 12 frames in chunks of 4 and of 3, and of 8 frames in chunks of 2, with h0."""
    out = []
    for seed, (steps, chunk) in enumerate([(12, 4), (12, 3), (8, 2)]):
        generator = torch.Generator().manual_seed(seed)
        a = 0.3 + 0.69 * torch.rand(2, steps, 4, generator=generator)
        out.append((a, torch.randn(2, steps, 4, generator=generator),
                    torch.randn(2, 4, generator=generator), chunk))
    return out


CHUNKED = Piece("the scan in chunks", reference=lambda a, b, h0, chunk: linear_scan(a, b, h0),
                inputs=chunked_inputs, mistakes=[
    Mistake("every chunk starts from h_{-1}: each starts from the state the chunk before ended in",
            lambda *args: chunked_variant(*args, mistake="every chunk from h0")),
    Mistake("the state is not carried: the chunks after the first start from zero",
            lambda *args: chunked_variant(*args, mistake="not carried")),
    Mistake("the carried state is not decayed: it enters frame j of a chunk as A_j ⊙ h_start, "
            "A_j the product of the chunk's decays up to j",
            lambda *args: chunked_variant(*args, mistake="not decayed")),
    Mistake("the carried state is decayed by the whole chunk's product at every frame: frame j "
            "takes the product of the decays up to j only",
            lambda *args: chunked_variant(*args, mistake="whole chunk's decay")),
], atol=1e-4)


# -- exercise 2: a shut recurrence gate -------------------------------------------------------------

SHUT_CHOICES = ("keeps h and ignores the input", "forgets h and takes the input",
                "keeps half of each")


def shut_gate_behaviour() -> str:
    """What the library's RG-LRU step does with r_t = 0 (the recurrence gate's bias at -1e4)."""
    torch.manual_seed(0)
    rglru = RGLRU(8, 2, min_rad=0.6)
    with torch.no_grad():
        rglru.recurrence_gate.bias.fill_(-1e4)
        v, h = torch.randn(3, 8), torch.randn(3, 8)
        new = rglru.step(v, h, torch.zeros(3, dtype=torch.bool))
    if torch.allclose(new, h, atol=1e-5):
        return SHUT_CHOICES[0]
    scale = torch.sigmoid(rglru.input_gate(v)) * v
    return SHUT_CHOICES[1] if torch.allclose(new, scale, atol=1e-5) else SHUT_CHOICES[2]


SHUT = Prediction("a shut recurrence gate", choices=SHUT_CHOICES, truth=shut_gate_behaviour,
                  why="set r_t = 0 in a_t = σ(Λ)^(c r_t), then look at both terms of h_t")

PIECES = [STEP, SCAN, CHUNKED]
