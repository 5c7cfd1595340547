"""Checks that teach: a piece the student writes is run beside the library's reference and beside
versions of the reference with one known mistake each, and the check says in one line which one
it behaves like.

    piece = Piece("the stem", reference=stem, inputs=stem_inputs, mistakes=[
        Mistake("the CLS token is missing: put it in front of the patch tokens", stem_no_cls),
        ...])
    stem = piece.check(my_stem)      # prints one line; returns the function later cells use

The line is one of
    right: the stem (3 inputs)
    not written yet: the stem raises NotImplementedError; the cells below use the library's
    not yet: the stem: <the mistake, said in the student's terms>
    not yet: the stem: <what differs, and where the largest difference lies>
A check never prints the expected value, and no check call holds the answer: the reference and
the mistakes live in the library (one module per notebook). A piece that is wrong or not written
hands back the library's reference, so a notebook runs top to bottom whatever its student wrote.

Predictions ("will the peak grow with T?") are checked against what the library measures:

    Prediction("does depth change the inference peak?", truth=lambda: ..., choices=("yes", "no"))

A piece of a model that trains is a GradientPiece: checked on its output, then on its gradients
(a .detach() on the way shows there), then on how it runs.

Every check records its outcome in RESULTS ({name: "right" | "not written" | "not yet" |
"not answered"}), which `python -m rvit_mini grade` reads after running a student's notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Number
from typing import Any, Callable

import torch
from torch import nn

RESULTS: dict[str, str] = {}


@dataclass
class Mistake:
    """A known mistake: `says` names it as the student would fix it; `variant` is the
    reference with that mistake made, with the reference's signature."""

    says: str
    variant: Callable


@dataclass
class Piece:
    """A piece of the model or of training that a notebook's student writes.

    reference: the library's version, the same signature as the student's. inputs: a function
    that returns fresh argument tuples, one per input to try (fresh, so that a piece that
    changes its arguments, a training step say, gets the same start each time). mistakes: the
    known mistakes, most telling first. atol, rtol: how close counts as the same."""

    name: str
    reference: Callable
    inputs: Callable[[], list[tuple]]
    mistakes: list[Mistake] = field(default_factory=list)
    atol: float = 1e-5
    rtol: float = 1e-4

    def check(self, candidate: Callable) -> Callable:
        """Print one line on `candidate` (the student's function) and record it in RESULTS;
        return the function the notebook goes on with: the candidate if right, else the
        reference."""
        status, line = self.verdict(candidate)
        RESULTS[self.name] = status
        print(line)
        return self.prepared(candidate) if status == "right" else self.reference

    def verdict(self, candidate: Callable) -> tuple[str, str]:
        """(status, the line to print) for `candidate`, without printing."""
        inputs = self.inputs()
        got = [run(self.prepared(candidate), args) for args in inputs]
        if any(isinstance(g, NotImplementedError) for g in got):
            return "not written", (f"not written yet: {self.name} raises NotImplementedError; "
                                   "the cells below use the library's")
        failed = next((g for g in got if isinstance(g, Exception)), None)
        if failed is not None:
            return "not yet", f"not yet: {self.name} raises {describe_error(failed)}"
        expected = [run(self.reference, args) for args in self.inputs()]
        if all(same(g, e, self.atol, self.rtol) for g, e in zip(got, expected)):
            return "right", f"right: {self.name} ({plural(len(inputs), 'input')})"
        for mistake in self.mistakes:
            theirs = [run(mistake.variant, args) for args in self.inputs()]
            if all(same(g, t, self.atol, self.rtol) for g, t in zip(got, theirs)):
                return "not yet", f"not yet: {self.name}: {mistake.says}"
        g, e = next((g, e) for g, e in zip(got, expected) if not same(g, e, self.atol, self.rtol))
        return "not yet", f"not yet: {self.name}: {self.what_differs(g, e)}"

    def prepared(self, candidate: Callable) -> Callable:
        """What is run and handed back for the student's function (a subclass may wrap it)."""
        return candidate

    def what_differs(self, got, expected) -> str:
        """Where `got` differs from `expected`, without saying the expected value."""
        return difference(got, expected, self.atol, self.rtol)


@dataclass
class Prediction:
    """A question the student answers before running the cell that measures it.

    truth: a function that returns the right choice, computed by the library when checked, so
    that no check call holds the answer; why: one line said after a wrong prediction, which
    points at what to look at without giving the answer away."""

    name: str
    choices: tuple
    truth: Callable[[], Any]
    why: str = "run the cell below and look at what it measures"

    def check(self, answer) -> bool:
        """Print one line on `answer` and record it in RESULTS; True when it is right."""
        if answer is None:
            RESULTS[self.name] = "not answered"
            print(f"not answered yet: {self.name}: choose one of {', '.join(map(repr, self.choices))}")
            return False
        if answer not in self.choices:
            RESULTS[self.name] = "not yet"
            print(f"not yet: {self.name}: {answer!r} is not one of the choices "
                  f"({', '.join(map(repr, self.choices))})")
            return False
        right = answer == self.truth()
        RESULTS[self.name] = "right" if right else "not yet"
        print(f"right: {self.name}" if right else f"not yet: {self.name}: {self.why}")
        return right


# -- pieces checked on their gradients too ----------------------------------------------------

def gradients(fn, args: tuple) -> tuple:
    """fn(*args) and the gradients that the loss sum_k sum(output_k * R_k), R_k fixed, sends to
    the parameters of every module among the arguments and to every float tensor among them
    (alone or as a dict's values): (output, {name: gradient}), zeros where none arrives."""
    def leaf(value):
        return value.detach().clone().requires_grad_(True) \
            if isinstance(value, torch.Tensor) and value.is_floating_point() else value

    args = [{k: leaf(v) for k, v in a.items()} if isinstance(a, dict) else leaf(a) for a in args]
    params = {}
    for i, a in enumerate(args):
        if isinstance(a, nn.Module):
            params |= dict(a.named_parameters())
        elif isinstance(a, dict):
            params |= {f"argument {i}[{k!r}]": v for k, v in a.items()
                       if isinstance(v, torch.Tensor) and v.requires_grad}
        elif isinstance(a, torch.Tensor) and a.requires_grad:
            params[f"argument {i}"] = a
    for p in params.values():
        p.grad = None
    out = fn(*args)
    outputs = [v for v in leaves(out) if isinstance(v, torch.Tensor) and v.requires_grad]
    if outputs:
        generator = torch.Generator().manual_seed(0)
        sum((v * torch.randn(v.shape, generator=generator)).sum() for v in outputs).backward()
    grads = {name: p.grad if p.grad is not None else torch.zeros_like(p)
             for name, p in params.items()}
    for p in params.values():
        p.grad = None
    return out, grads


def alike(got, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    """Two gradients agree within atol + rtol x the largest |expected| (a gradient sums over
    many tokens, so float32 rounding scales with its largest entries, not with each entry)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    scale = float(expected.detach().abs().max()) if expected.numel() else 0.0
    return bool(torch.allclose(got.detach().double(), expected.detach().double(), rtol=0.0,
                               atol=atol + rtol * scale))


@dataclass
class GradientPiece(Piece):
    """A Piece checked on its output, then on the gradients that a loss on the output sends
    back (so that a detach or a torch.no_grad on the way shows), then on how it runs:
    `structure(candidate)` returns None when the candidate runs as asked (notebook 07: the
    cells by anti-diagonals, a diagonal batched), else what it does instead, in the student's
    terms. Checked on one CPU thread: the pieces are small, several threads only wait."""

    structure: object = None

    def verdict(self, candidate):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small models: several threads only wait for one another
        try:
            return self.graded(candidate)
        finally:
            torch.set_num_threads(threads)

    def graded(self, candidate):
        status, line = super().verdict(candidate)
        if status != "right":
            return status, line
        for args in self.inputs():
            got, expected = gradients(candidate, args), gradients(self.reference, args)
            wrong = [name for name, g in expected[1].items()
                     if not alike(got[1].get(name), g, self.atol, self.rtol)]
            if wrong:
                return "not yet", (f"not yet: {self.name}: the output is right but the gradients "
                                   f"differ, first those of {wrong[0]}: is something detached "
                                   "(.detach(), .data, torch.no_grad()) on the way?")
        instead = self.structure(candidate) if self.structure is not None else None
        if instead:
            return "not yet", f"not yet: {self.name}: {instead}"
        return status, line



# -- comparing outputs -----------------------------------------------------------------------

def run(fn: Callable, args: tuple):
    """fn(*args), or the exception it raised."""
    try:
        return fn(*args)
    except Exception as err:  # the student's code may raise anything: it is reported, not raised
        return err


def leaves(value) -> list:
    """The tensors and numbers of a nested output (tuples, lists, dicts), in order."""
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in leaves(value[key])]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def same(got, expected, atol: float, rtol: float) -> bool:
    """Do two outputs (nested tensors and numbers) agree within atol + rtol |expected|?"""
    if isinstance(got, Exception) or isinstance(expected, Exception):
        return False
    a, b = leaves(got), leaves(expected)
    return len(a) == len(b) and all(close(x, y, atol, rtol) for x, y in zip(a, b))


def close(x, y, atol: float, rtol: float) -> bool:
    if isinstance(y, torch.Tensor):
        if not isinstance(x, torch.Tensor) or x.shape != y.shape:
            return False
        return bool(torch.allclose(x.detach().double(), y.detach().double(), atol=atol, rtol=rtol,
                                   equal_nan=True))
    if isinstance(y, Number) and isinstance(x, Number) and not isinstance(x, bool):
        return abs(x - y) <= atol + rtol * abs(y)
    return x == y


def difference(got, expected, atol: float, rtol: float) -> str:
    """What differs between two outputs, said without the expected value: the kind, the
    shape, or where the largest difference lies."""
    a, b = leaves(got), leaves(expected)
    if len(a) != len(b):
        return f"returns {plural(len(a), 'value')} where {len(b)} are asked for"
    for k, (x, y) in enumerate(zip(a, b)):
        if close(x, y, atol, rtol):
            continue
        which = f"output {k}: " if len(a) > 1 else ""
        if isinstance(y, torch.Tensor):
            if not isinstance(x, torch.Tensor):
                return f"{which}returns a {type(x).__name__} where a tensor is asked for"
            if x.shape != y.shape:
                return (f"{which}returns shape {tuple(x.shape)}, not the {tuple(y.shape)} the "
                        "docstring describes")
            diff = (x.detach().double() - y.detach().double()).abs().nan_to_num(float("inf"))
            index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
            share = float((diff > atol + rtol * y.detach().double().abs()).double().mean())
            return (f"{which}{share:.0%} of the entries differ; the largest difference is at "
                    f"index {index}")
        return f"{which}returns {x!r}, which is not it"
    return "the outputs differ"


def describe_error(err: Exception) -> str:
    """An exception in one line: its type and the first line of its message."""
    message = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {message[:160]}" if message else type(err).__name__


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"
