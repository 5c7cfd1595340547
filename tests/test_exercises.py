import torch

from rvit_mini.lessons.check import check


def test_right_answers_say_right(capsys):
    assert check(65, 65, name="tokens")
    assert check(torch.ones(2, 3), torch.ones(2, 3) + 1e-8)
    assert check((1, [2.0, "a"]), (1, [2.0, "a"]))
    assert check(True, True)
    assert capsys.readouterr().out.splitlines()[0] == "right: tokens"


def test_wrong_answers_say_what_is_off(capsys):
    assert not check(torch.ones(2, 3), torch.ones(3, 2))
    assert "shape (2, 3), expected (3, 2)" in capsys.readouterr().out
    assert not check(torch.zeros(4), torch.tensor([0.0, 0.0, 1.0, 0.0]))
    assert "1 of 4 entries off" in capsys.readouterr().out
    assert not check(64, 65, name="tokens")
    assert capsys.readouterr().out.strip() == "not yet: tokens: got 64, expected 65"
    assert not check(1, True)
    assert not check([1, 2], [1, 3])
    assert "item 1" in capsys.readouterr().out
    assert not check(None, torch.ones(1))
    assert not check(torch.tensor([1, 2]), torch.tensor([1, 3]))
    assert "1 of 2 entries differ" in capsys.readouterr().out
