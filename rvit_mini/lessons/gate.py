"""Notebook 02, the attention gate from scratch: the two pieces the student writes (the gate, and
RViT as a double loop over frames and layers), their checks and known mistakes; the exercise
pieces and predictions; the clips of the memory experiment (the past changed, the scene kept);
and the playground (edit a past frame, watch the hidden states carry it).

Layers are numbered l = 1..L, as in the equations (y^0_t is the frame's tokens, below layer 1);
Python counts from 0, so layer l is model.blocks[l - 1] and its state state[l - 1]."""

import copy
import zlib
from functools import partial

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ..data import CLASSES, render_clip, to_tensor
from ..model import create_model
from ..model.layers import Block
from . import viz
from .analysis import past_change
from .check import RESULTS, Mistake, Piece, Prediction
from .tokens import randomise
from .widgets import clip, dropdown, figure, shipped, slider
from .widgets import playground as make_playground

# -- the first piece: the gate -------------------------------------------------------------------

GATE_MISTAKES = {
    "softmax axis": "the softmax runs over the wrong axis: each query's weights over the N keys "
                    "must sum to 1 (the last axis of q kᵀ)",
    "no LN_h": "LN_h is missing: the hidden state goes into W_h raw; normalise it with ln_h first",
    "W_h bias": "W_h^Q, W_h^K, W_h^V have a bias: the equations give them none (with one, h = 0 "
                "would no longer give a ViT block)",
    "h before LN_x": "the hidden state is added to x before LN_x and W_x; it has its own LN_h and "
                     "W_h, and the two terms add after the projections",
    "v without h": "v has no hidden-state term: q, k and v each get LN_h(h) W_h",
    "one head": "the heads are not split: one head of width D attends; split q, k, v into H "
                "heads of width d = D / H",
    "merge without transpose": "the heads are merged without moving the head axis back: "
                               "(B, H, N, d) -> (B, N, H, d) before reshaping to (B, N, D)",
    "no scale": "the scores are not scaled: divide q kᵀ by sqrt(d)",
    "scale by D": "the scores are divided by sqrt(D); the scale is sqrt(d), d = D / H the width "
                  "of one head",
    "no W_O": "W_O is missing: the concatenated heads go through w_o before the residual",
    "no residual": "the attention's residual is missing: z = x + a, not z = a",
    "MLP without LN": "the MLP reads z without its LayerNorm: y = z + MLP(LN(z))",
    "no MLP residual": "the MLP's residual is missing: y = z + MLP(LN(z)), not MLP(LN(z))",
}


class GateFromScratch(nn.Module):
    """The attention gate with one weight per symbol of the equations (the reference for the
    student's class, and what the notebook goes on with when theirs is not right):

        q = LN_x(x) W_x^Q + LN_h(h) W_h^Q   (the same for k and v; W_h has no bias)
        a = concat_i softmax(q_i k_iᵀ / sqrt(d)) v_i, then W_O     (H heads of width d = D / H)
        z = x + a ;  y = z + MLP(LN(z))

    forward(x, h): x = y^{l-1}_t, h = h^l_{t-1}, (B, N, D) each -> y^l_t (B, N, D).
    `mistake` (one of GATE_MISTAKES) makes the known mistakes the check recognises."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, *, mistake: str | None = None):
        super().__init__()
        if mistake is not None and mistake not in GATE_MISTAKES:
            raise ValueError(f"mistake must be one of {list(GATE_MISTAKES)}, got {mistake!r}")
        self.heads, self.mistake = heads, mistake
        self.ln_x, self.ln_h, self.ln_mlp = (nn.LayerNorm(dim, eps=1e-6) for _ in range(3))
        self.w_x_q, self.w_x_k, self.w_x_v = (nn.Linear(dim, dim) for _ in range(3))
        bias = mistake == "W_h bias"
        self.w_h_q, self.w_h_k, self.w_h_v = (nn.Linear(dim, dim, bias=bias) for _ in range(3))
        self.w_o = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(),
                                 nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        m = self.mistake
        B, N, D = x.shape
        H = 1 if m == "one head" else self.heads
        d = D // H
        if m == "h before LN_x":
            xn = self.ln_x(x + h)
            q, k, v = self.w_x_q(xn), self.w_x_k(xn), self.w_x_v(xn)
        else:
            xn, hn = self.ln_x(x), (h if m == "no LN_h" else self.ln_h(h))
            q = self.w_x_q(xn) + self.w_h_q(hn)                      # (B, N, D)
            k = self.w_x_k(xn) + self.w_h_k(hn)
            v = self.w_x_v(xn) + (0 if m == "v without h" else self.w_h_v(hn))
        q, k, v = (t.reshape(B, N, H, d).transpose(1, 2) for t in (q, k, v))  # (B, H, N, d)
        scale = {"no scale": 1.0, "scale by D": D ** 0.5}.get(m, d ** 0.5)
        att = (q @ k.transpose(-2, -1) / scale).softmax(dim=-2 if m == "softmax axis" else -1)
        out = att @ v                                                   # (B, H, N, d)
        heads = out.reshape(B, N, D) if m == "merge without transpose" else \
            out.transpose(1, 2).reshape(B, N, D)                        # (B, N, D)
        a = heads if m == "no W_O" else self.w_o(heads)
        z = a if m == "no residual" else x + a
        mlp = self.mlp(z if m == "MLP without LN" else self.ln_mlp(z))
        return mlp if m == "no MLP residual" else z + mlp


def library_weights(gate) -> dict:
    """A library gate's weights (rm.AttentionGate: W_x^{Q,K,V} stacked in attn.qkv, W_h^{Q,K,V}
    in qkv_h) under GateFromScratch's names, one tensor per symbol."""
    wq, wk, wv = gate.attn.qkv.weight.chunk(3)
    bq, bk, bv = gate.attn.qkv.bias.chunk(3)
    hq, hk, hv = gate.qkv_h.weight.chunk(3)
    named = {"w_x_q.weight": wq, "w_x_q.bias": bq, "w_x_k.weight": wk, "w_x_k.bias": bk,
             "w_x_v.weight": wv, "w_x_v.bias": bv,
             "w_h_q.weight": hq, "w_h_k.weight": hk, "w_h_v.weight": hv,
             "w_o.weight": gate.attn.proj.weight, "w_o.bias": gate.attn.proj.bias,
             "mlp.0.weight": gate.mlp.fc1.weight, "mlp.0.bias": gate.mlp.fc1.bias,
             "mlp.2.weight": gate.mlp.fc2.weight, "mlp.2.bias": gate.mlp.fc2.bias}
    for ours, theirs in (("ln_x", gate.norm1), ("ln_h", gate.norm_h), ("ln_mlp", gate.norm2)):
        named[f"{ours}.weight"], named[f"{ours}.bias"] = theirs.weight, theirs.bias
    return {name: t.detach().clone() for name, t in named.items()}


@torch.no_grad()
def load_gate(mine: nn.Module, gate) -> list[str]:
    """Give `mine` (a GateFromScratch, the student's or the reference) the weights of the library
    gate `gate`; return the names of the equations' weights it has no parameter for. A parameter
    the equations do not have (a bias on W_h) gets fixed values drawn from its name, the same
    every time, so that its effect shows."""
    weights = library_weights(gate)
    own = dict(mine.named_parameters())
    for name, p in own.items():
        if name in weights:
            if p.shape != weights[name].shape:
                raise ValueError(f"{name} has shape {tuple(p.shape)}, not the "
                                 f"{tuple(weights[name].shape)} of the equations' symbol")
            p.copy_(weights[name])
        else:
            g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return [name for name in weights if name not in own]


def with_gates(model, gate_class):
    """A copy of the RViT `model` whose gates are gate_class instances (the student's
    GateFromScratch, say) holding the model's weights: model.blocks[l - 1] is layer l's."""
    out = copy.deepcopy(model)
    gates = []
    for block in model.blocks:
        mine = gate_class(model.cfg.dim, model.cfg.num_heads, model.cfg.mlp_ratio)
        missing = load_gate(mine, block)
        if missing:
            raise ValueError(f"{gate_class.__name__} has no parameter {missing[0]}")
        gates.append(mine)
    out.blocks = nn.ModuleList(gates)
    return out.eval()


def random_library_gate(dim: int, heads: int, seed: int):
    """An rm.AttentionGate with every weight drawn at random (biases and LN_h's too), so that
    each term of the equations leaves its mark on the output."""
    from ..model.gate import AttentionGate
    gen = torch.Generator().manual_seed(seed)
    gate = AttentionGate(dim, heads)
    with torch.no_grad():
        for name, p in gate.named_parameters():
            if p.ndim == 1 and name.startswith("norm"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)
    return gate.eval()


def gate_inputs() -> list[tuple]:
    """(library gate, x, h): two gates of other widths and head counts, random tokens."""
    inputs = []
    for seed, (dim, heads, n) in enumerate(((64, 4, 17), (48, 3, 5))):
        gen = torch.Generator().manual_seed(100 + seed)
        inputs.append((random_library_gate(dim, heads, seed), torch.randn(2, n, dim, generator=gen),
                       torch.randn(2, n, dim, generator=gen)))
    return inputs


def gate_output(gate_class):
    """gate_class -> a function (library gate, x, h) -> y: the class built at the library gate's
    width and head count, given its weights, run on (x, h)."""
    def output(gate, x, h):
        dim, heads = gate.norm1.normalized_shape[0], gate.attn.num_heads
        mine = gate_class(dim, heads)
        missing = load_gate(mine, gate)
        try:
            with torch.no_grad():
                return mine.eval()(x, h)
        except NotImplementedError:
            raise
        except Exception as err:
            if missing:  # a weight left out of __init__ explains the failure better
                name = missing[0].rsplit(".", 1)[0]
                raise ValueError(f"the gate has no {name} (no parameter {missing[0]}); "
                                 "write it in __init__") from err
            raise
    return output


class ClassPiece(Piece):
    """A Piece the student writes as an nn.Module class. check(a class) builds it, gives it the
    weights of each input's library module and compares outputs; it returns the student's class
    if right, else `reference_class`. check(a function) checks it as a plain Piece does."""

    def __init__(self, name, reference_class, output, inputs, mistakes, **kw):
        self.reference_class, self.output = reference_class, output
        super().__init__(name, reference=output(reference_class), inputs=inputs,
                         mistakes=[Mistake(says, output(variant)) for says, variant in mistakes],
                         **kw)

    def check(self, candidate):
        if not isinstance(candidate, type):
            return super().check(candidate)
        status, line = self.verdict(self.output(candidate))
        RESULTS[self.name] = status
        print(line)
        return candidate if status == "right" else self.reference_class


GATE = ClassPiece("the gate", GateFromScratch, gate_output, gate_inputs, mistakes=[
    (says, partial(GateFromScratch, mistake=key)) for key, says in GATE_MISTAKES.items()])


# -- the second piece: RViT as a double loop -----------------------------------------------------

LOOP_MISTAKES = {
    "state not carried": "the state is not carried: h^l starts at zeros once, before the first "
                         "frame, and each frame leaves y^l_t in it for the next",
    "one state": "one hidden state serves all the layers: each layer l keeps its own h^l (a list "
                 "of L states)",
    "top layer's state": "every layer's state is the top layer's output: h^l_t is layer l's own "
                         "output y^l_t",
    "written before read": "h^l is overwritten before gate l reads it: the gate reads h^l_{t-1}, "
                           "then its output becomes h^l_t",
    "loops swapped": "the loops are swapped: with layers outside and frames inside, every layer "
                     "read the frame's tokens, not the layer below's output at that frame",
    "last frame": "the logits are the last frame's: the clip logits are head(mean_t f_t), the "
                  "mean over all T frames",
    "no final LN": "f_t misses the final LayerNorm: f_t = LN(y^L_t)[CLS], with model.norm",
    "token mean": "f_t is the mean of the tokens; with pool='cls' it is the CLS token, token 0",
}


def rvit_loop(model, video: torch.Tensor, mistake: str | None = None) -> torch.Tensor:
    """RViT over a clip, from its gates: video (B, T, 3, H, W) -> clip logits (B, K).

    Frames outside, layers inside: y^0_t = model.embed(frame t); for l = 1..L,
    y^l_t = Gate_l(y^{l-1}_t, h^l_{t-1}) and h^l_t = y^l_t (h^l_{-1} = 0); f_t = LN(y^L_t)[CLS];
    logits = head(mean_t f_t). `mistake` (one of LOOP_MISTAKES) makes the known mistakes."""
    if mistake is not None and mistake not in LOOP_MISTAKES:
        raise ValueError(f"mistake must be one of {list(LOOP_MISTAKES)}, got {mistake!r}")
    B, T = video.shape[:2]
    L = len(model.blocks)

    def zeros():
        return torch.zeros(B, model.num_tokens, model.cfg.dim)

    def feature(y):                                     # y^L_t (B, N, D) -> f_t (B, D)
        if mistake == "no final LN":
            return y[:, 0]
        return model.norm(y).mean(dim=1) if mistake == "token mean" else model.norm(y)[:, 0]

    h = [zeros() for _ in range(L)]                     # h^l_{-1} = 0, l = 1..L
    features = []
    if mistake == "loops swapped":
        for layer in range(1, L + 1):
            for t in range(T):
                h[layer - 1] = model.blocks[layer - 1](model.embed(video[:, t]), h[layer - 1])
                if layer == L:
                    features.append(feature(h[layer - 1]))
    else:
        for t in range(T):                              # frames, in order
            if mistake == "state not carried":
                h = [zeros() for _ in range(L)]
            x = model.embed(video[:, t])                # y^0_t (B, N, D)
            for layer in range(1, L + 1):               # layers l = 1..L, bottom to top
                slot = 0 if mistake == "one state" else layer - 1
                if mistake == "written before read":
                    h[slot] = x
                x = model.blocks[layer - 1](x, h[slot])  # y^l_t = Gate_l(y^{l-1}_t, h^l_{t-1})
                h[slot] = x                             # h^l_t = y^l_t
            if mistake == "top layer's state":
                h = [x] * L
            features.append(feature(x))
    features = torch.stack(features, dim=1)             # (B, T, D)
    return model.head(features[:, -1] if mistake == "last frame" else features.mean(dim=1))


def loop_inputs() -> list[tuple]:
    """(model, video): two small RViTs of random weights (2 and 3 layers), 2 clips of 4 frames."""
    inputs = []
    for seed, depth in ((0, 2), (1, 3)):
        torch.manual_seed(seed)
        model = randomise(create_model("rvit", depth=depth), seed)
        video = torch.rand(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(10 + seed))
        inputs.append((model, video))
    return inputs


def library_logits(model, video):
    with torch.no_grad():
        return model(video)


LOOP = Piece("the double loop", reference=library_logits, inputs=loop_inputs, mistakes=[
    Mistake(says, partial(rvit_loop, mistake=key)) for key, says in LOOP_MISTAKES.items()])


# -- the memory experiment: the past changed, the scene kept -------------------------------------

DONORS = ("another action, same scene", "same action, another scene")


def memory_clips(num_clips: int = 108, num_frames: int = 8, seed: int = 7) -> dict:
    """The clips of the memory experiment, rendered at 32x32: clip i shows action i % 9 in a
    scene of its own, and has two donors, clips whose frames replace its past:

        "another action, same scene": another action (each of the other 8 in turn), another
            movement, the clip's scene (background, colours, noise);
        "same action, another scene": the clip's movement, frame for frame, in another scene.

    Returns {"clips": (B, T, 3, 32, 32), "labels": (B,), "donors": {name: (B, T, 3, 32, 32)}}."""
    def render(action, motion, scene):
        return to_tensor(render_clip(action, num_frames, 32, seed=[seed, motion, i],
                                     scene_seed=[seed, scene, i]))
    clips, donors = [], {name: [] for name in DONORS}
    for i in range(num_clips):
        action = CLASSES[i % len(CLASSES)]
        other = CLASSES[(i + 1 + (i // len(CLASSES)) % (len(CLASSES) - 1)) % len(CLASSES)]
        clips.append(render(action, 0, 1))
        donors[DONORS[0]].append(render(other, 2, 1))
        donors[DONORS[1]].append(render(action, 0, 3))
    return {"clips": torch.stack(clips),
            "labels": torch.arange(num_clips) % len(CLASSES),
            "donors": {name: torch.stack(d) for name, d in donors.items()}}


def background_agreement(video: torch.Tensor, donor: torch.Tensor, tolerance: float = 20 / 255):
    """The share of frame 0's pixels (all three channels within `tolerance`) that a donor clip
    shares with the clip, mean over clips: near 1 - (the figures' area) for one scene, near 0
    for two. video, donor (B, T, 3, H, W) -> a float."""
    close = ((video[:, 0] - donor[:, 0]).abs() <= tolerance).all(dim=1)   # (B, H, W)
    return float(close.float().mean())


def paired_difference(a: torch.Tensor, b: torch.Tensor, draws: int = 2000, seed: int = 0):
    """Mean of a - b over paired samples (B,), and its 95 % bootstrap interval."""
    diff = (a - b).double()
    gen = torch.Generator().manual_seed(seed)
    means = diff[torch.randint(len(diff), (draws, len(diff)), generator=gen)].mean(dim=1)
    low, high = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=torch.double))
    return float(diff.mean()), float(low), float(high)


def plot_memory(changes: dict, axes=None, low: float = 0.1, high: float = 0.9):
    """The memory experiment, one panel per donor kind: changes {donor kind: {model name: (B, K)
    from past_change}}. A trained model is a line (the mean over clips) with a band (the low-high
    quantiles); untrained seeds ("untrained" in their name) thin grey lines; the control (its
    name holds "control") a thick line. Returns the axes."""
    import matplotlib.pyplot as plt
    if axes is None:
        axes = plt.subplots(1, len(changes), figsize=(5 * len(changes), 3.4), sharey=True,
                            layout="constrained")[1]
    for ax, (donor, by_model) in zip(np.atleast_1d(axes), changes.items()):
        for name, change in by_model.items():
            lags = np.arange(1, change.shape[1] + 1)
            mean = change.mean(dim=0).numpy()
            if "untrained" in name:
                seeds = sum("untrained" in other for other in by_model)
                first = next(other for other in by_model if "untrained" in other) == name
                ax.plot(lags, mean, "-", color="0.55", lw=1,
                        label=f"RViT, untrained ({seeds} seeds, means)" if first else None)
            elif "control" in name:
                ax.plot(lags, mean, "s-", color="C2", lw=3, ms=6, clip_on=False, zorder=3,
                        label=name)
            else:
                line, = ax.plot(lags, mean, "o-", color="C0", label=f"{name} (mean)")
                ax.fill_between(lags, change.quantile(low, dim=0).numpy(),
                                change.quantile(high, dim=0).numpy(), color=line.get_color(),
                                alpha=0.15, label=f"{low:.0%}-{high:.0%} of clips")
        ax.set_title(f"donor: {donor}", fontsize=10)
        ax.set_xlabel("k: frames k or more steps back were replaced")
        ax.set_ylim(-0.05, None)
    np.atleast_1d(axes)[0].set_ylabel("$|f'_t - f_t| \\,/\\, |f_t|$ at the present t")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    return axes


# -- the exercises -------------------------------------------------------------------------------

PAST_MISTAKES = {
    "one too many": "one frame too many comes from the donor: frames k or more steps back from "
                    "t are 0 .. t - k; frame t - k + 1 stays",
    "recent replaced": "the recent frames were replaced: keep the present and the k - 1 frames "
                       "before it, take the older ones from the donor",
    "edited norm": "divided by the edited clip's |f'_t|; divide by |f_t|, the clip as it was",
    "absolute": "the change is not relative: divide |f'_t - f_t| by |f_t|",
    "clip mean": "compares the clip's mean feature; compare the present frame's, f_t at t = T - 1",
}


def change_of_past(model, video, donor, k: int, mistake: str | None = None) -> torch.Tensor:
    """video, donor (B, T, 3, H, W), k >= 1 -> (B,): |f'_t - f_t| / |f_t| at the last frame
    t = T - 1, where f' is the feature of the clip whose frames k or more steps back
    (0 .. t - k) come from the donor. `mistake` (one of PAST_MISTAKES) makes the known ones."""
    t = video.shape[1] - 1
    cut = t - k + 1 + (mistake == "one too many")        # frames before `cut` from the donor
    if mistake == "recent replaced":
        edited = torch.cat([video[:, :cut], donor[:, cut:]], dim=1)
    else:
        edited = torch.cat([donor[:, :cut], video[:, cut:]], dim=1)
    with torch.no_grad():
        f, f_edited = model.forward_features(video), model.forward_features(edited)
    f, f_edited = (x.mean(dim=1) if mistake == "clip mean" else x[:, t] for x in (f, f_edited))
    moved = (f_edited - f).norm(dim=-1)
    if mistake == "absolute":
        return moved
    return moved / (f_edited if mistake == "edited norm" else f).norm(dim=-1)


def past_inputs() -> list[tuple]:
    """(model, video, donor, k): a small RViT of random weights, 2 clips of 5 frames, k = 1, 3."""
    torch.manual_seed(0)
    model = randomise(create_model("rvit", depth=2), 3)
    gen = torch.Generator().manual_seed(20)
    video, donor = torch.rand(2, 2, 5, 3, 32, 32, generator=gen)
    return [(model, video, donor, 1), (model, video, donor, 3)]


PAST = Piece("memory by hand", inputs=past_inputs,
             reference=lambda model, video, donor, k: past_change(model, video, donor)[:, k - 1],
             mistakes=[Mistake(says, partial(change_of_past, mistake=key))
                       for key, says in PAST_MISTAKES.items()])

PIECES = [GATE, LOOP, PAST]


def logits_change_when_shuffled() -> str:
    """Which clip logits move when a clip's frames are shuffled: the shipped RViT's, the shipped
    frame-mean ViT's, both or neither (one test clip, a fixed shuffle)."""
    video = clip("sit_down")[None, :8]
    order = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    moved = {}
    with torch.no_grad():
        for name in ("rvit", "vit"):
            model = shipped(name)
            moved[name] = not torch.allclose(model(video), model(video[:, order]), atol=1e-5,
                                             rtol=0)
    return {(True, True): "both", (True, False): "only RViT",
            (False, True): "only the frame-mean ViT", (False, False): "neither"}[
        moved["rvit"], moved["vit"]]


SHUFFLE = Prediction("shuffled frames: whose clip logits change?", truth=logits_change_when_shuffled,
                     choices=("both", "only RViT", "only the frame-mean ViT", "neither"),
                     why="the ViT's f_t reads frame t alone and its logits are head(mean_t f_t); "
                         "RViT's f_t reads frames 0..t through h")


def trained_gate_is_a_vit_block() -> str:
    """Is the shipped RViT's first gate, given h = 0, the ViT block with its weights?"""
    gate = shipped("rvit").blocks[0]
    block = Block(gate.norm1.normalized_shape[0], gate.attn.num_heads)
    block.load_state_dict(gate.state_dict(), strict=False)
    x = torch.randn(2, 17, block.norm1.normalized_shape[0], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same = torch.allclose(gate(x, torch.zeros_like(x)), block(x), atol=1e-5, rtol=0)
    return "yes" if same else "no"


H_ZERO = Prediction("the trained gate with h = 0: a ViT block?", choices=("yes", "no"),
                    truth=trained_gate_is_a_vit_block,
                    why="LN_h of a zero vector is LN_h's bias: zero at initialisation, and after "
                        "training?")


# -- the playground -----------------------------------------------------------------------------

EDITS = ("blank", "noise", "another action's frame", "none")


def edited_clip(video: torch.Tensor, at: int, edit: str) -> torch.Tensor:
    """video (T, 3, H, W) with frame `at` replaced: blank (grey), noise, another action's frame
    (the same frame of the first 'jump' clip, or 'wave' for a jump), or none."""
    if edit not in EDITS:
        raise ValueError(f"edit must be one of {EDITS}, got {edit!r}")
    out = video.clone()
    if edit == "blank":
        out[at] = 0.5
    elif edit == "noise":
        out[at] = torch.rand(out[at].shape, generator=torch.Generator().manual_seed(at))
    elif edit == "another action's frame":
        other = clip("jump" if not torch.equal(video, clip("jump")[:len(video)]) else "wave")
        out[at] = other[at]
    return out


@torch.no_grad()
def layer_states(model, video: torch.Tensor, reset_before: int | None = None):
    """Stream video (T, 3, H, W) through an RViT: every layer's state after every frame
    (T, L, N, D) and the per-frame probabilities head(f_t) (T, K); reset_before: zero the
    state just before that frame."""
    states = []
    features, _ = model.recur(video[None], resets=None if reset_before is None else [reset_before],
                              observe=lambda t, layer, x, h, y: states.append(y[0]))
    return torch.stack(states).unflatten(0, (len(video), -1)), model.head(features[0]).softmax(-1)


def draw_gate_memory(action: str = "drink", edit: str = "blank", edited_frame: int = 2,
                     layer: int = 3) -> Figure:
    """The playground's picture; `layer` is l = 1..L, counted from 1 at the bottom."""
    model = shipped("rvit")
    video = clip(action)[:model.cfg.num_frames]
    edited = edited_clip(video, edited_frame, edit)
    _, probs = layer_states(model, video)
    # each edited run against the clip as shot, run the same way
    runs = {"edited": (layer_states(model, edited), layer_states(model, video)),
            "both with h reset after the edit": (layer_states(model, edited, edited_frame + 1),
                                                 layer_states(model, video, edited_frame + 1))}
    fig = figure(11, 3.3)
    pics, change, belief = fig.subplots(1, 3, width_ratios=[0.8, 1.3, 1.3])
    pics.imshow(viz.to_image(torch.cat([video[edited_frame], edited[edited_frame]], 2)))
    pics.set_title(f"frame {edited_frame}\nas shot | {edit}", fontsize=9)
    pics.axis("off")
    ts = range(len(video))
    belief.plot(ts, probs[:, CLASSES.index(action)], "k.-", label="as shot")
    for (name, ((s, p), (s0, _))), style in zip(runs.items(), ("o-", "s--")):
        s, s0 = s[:, layer - 1].flatten(1), s0[:, layer - 1].flatten(1)
        change.plot(ts, (s - s0).norm(dim=1) / s0.norm(dim=1), style, label=name)
        belief.plot(ts, p[:, CLASSES.index(action)], style,  # the edited clip's run
                    label="edited" if name == "edited" else "edited, h reset after the edit")
    for ax in (change, belief):
        ax.axvline(edited_frame, color="0.6", lw=4, alpha=0.4)
        ax.set_xlabel("frame t")
        ax.set_xticks(ts)
    change.set_ylim(bottom=0)
    change.set_ylabel(r"$|h_t - h_t(\mathrm{as\ shot})|\ /\ |h_t|$")
    change.set_title(f"layer l = {layer} of {model.cfg.depth} (from 1, at the bottom): "
                     "the change\nthe edit leaves in its hidden state", fontsize=9)
    change.legend(fontsize=8)
    belief.set_ylim(0, 1.02)
    belief.set_ylabel(f"p({action})")
    belief.set_title("rvit's per-frame prediction of the true action", fontsize=9)
    belief.legend(fontsize=8)
    return fig


def playground(live=None):
    """02: edit one past frame of a clip and pick a layer l = 1..L (numbered from 1 at the
    bottom, as in the notebook): the shipped RViT's hidden state carries the change to every
    later frame, and resetting h after the edit removes it."""
    depth = shipped("rvit").cfg.depth
    return make_playground("gate_memory", draw_gate_memory, {
        "action": dropdown("clip", CLASSES), "edit": dropdown("edit", EDITS),
        "edited_frame": slider("edited frame", 0, shipped("rvit").cfg.num_frames - 2),
        "layer": slider("layer l", 1, depth)}, live)
