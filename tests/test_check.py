"""Checks that teach (rvit_mini.lessons.check): every piece a notebook's student writes says
"right" to the library's reference, "not written yet" to a skeleton, and names each of its known
mistakes in its own words, without ever printing the expected value."""

import importlib

import pytest
import torch

from rvit_mini.lessons import MODULES
from rvit_mini.lessons.check import RESULTS, Mistake, Piece, Prediction

PIECES = [piece for name in MODULES
          for piece in getattr(importlib.import_module(f"rvit_mini.lessons.{name}"), "PIECES", [])]


def skeleton(*args):
    raise NotImplementedError


def test_every_notebook_that_builds_a_piece_has_its_check():
    assert {piece.name for piece in PIECES} >= {"the stem"}


@pytest.mark.parametrize("piece", PIECES, ids=lambda p: p.name)
def test_a_piece_says_right_not_written_and_names_each_mistake(piece, capsys):
    assert len(piece.mistakes) >= 3, f"{piece.name} names {len(piece.mistakes)} mistakes"
    assert piece.check(piece.reference) is piece.reference
    assert capsys.readouterr().out.startswith(f"right: {piece.name}")
    assert piece.check(skeleton) is piece.reference  # the notebook goes on with the library's
    assert capsys.readouterr().out.startswith(f"not written yet: {piece.name}")
    assert RESULTS[piece.name] == "not written"
    for mistake in piece.mistakes:
        assert piece.check(mistake.variant) is piece.reference
        assert capsys.readouterr().out.strip() == f"not yet: {piece.name}: {mistake.says}"


@pytest.mark.parametrize("piece", PIECES, ids=lambda p: p.name)
def test_the_known_mistakes_differ_from_the_reference_and_from_one_another(piece):
    outputs = [[m.variant(*args) for args in piece.inputs()] for m in piece.mistakes]
    expected = [piece.reference(*args) for args in piece.inputs()]
    from rvit_mini.lessons.check import same

    def alike(a, b):
        return all(same(x, y, piece.atol, piece.rtol) for x, y in zip(a, b))
    for i, out in enumerate(outputs):
        assert not alike(out, expected), f"{piece.mistakes[i].says} gives the right answer"
        for j in range(i):
            assert not alike(out, outputs[j]), \
                f"{piece.mistakes[i].says} and {piece.mistakes[j].says} cannot be told apart"


def toy(bias: float = 0.0, scale: float = 1.0):
    return lambda x: x.softmax(dim=-1) * scale + bias


TOY = Piece("the toy softmax", reference=toy(), inputs=lambda: [(torch.randn(
    2, 5, generator=torch.Generator().manual_seed(0)),)], mistakes=[
    Mistake("the softmax is over the wrong axis", lambda x: x.softmax(dim=0))])


def test_a_check_never_prints_the_expected_value(capsys):
    TOY.check(toy(bias=0.25))
    line = capsys.readouterr().out
    assert line.startswith("not yet: the toy softmax: 100% of the entries differ")
    expected = toy()(*TOY.inputs()[0])
    assert not any(f"{v:.2f}" in line for v in expected.flatten().tolist())


def test_unexpected_failures_are_one_line_and_hand_back_the_reference(capsys):
    def wrong_shape(x):
        return x.T.softmax(dim=-1)

    def crashes(x):
        return x @ torch.ones(3)
    assert TOY.check(wrong_shape) is TOY.reference
    assert "returns shape (5, 2), not the (2, 5) the docstring describes" in capsys.readouterr().out
    TOY.check(crashes)
    out = capsys.readouterr().out
    assert out.startswith("not yet: the toy softmax raises RuntimeError: ") and out.count("\n") == 1
    right = toy()
    assert TOY.check(right) is right  # a right piece is the one the notebook goes on with


def test_a_prediction_is_checked_against_what_the_library_measures(capsys):
    question = Prediction("does it grow?", choices=("yes", "no"), truth=lambda: "no",
                          why="compare the peaks at T = 8 and T = 64")
    assert not question.check(None) and RESULTS["does it grow?"] == "not answered"
    assert not question.check("maybe")
    assert not question.check("yes")
    assert question.check("no")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("not answered yet: does it grow?: choose one of 'yes', 'no'")
    assert lines[2] == "not yet: does it grow?: compare the peaks at T = 8 and T = 64"
    assert lines[3] == "right: does it grow?"
