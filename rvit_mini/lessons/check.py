"""Self-checks for the notebooks' exercises: say "right", or what is off.

    from rvit_mini.exercises import check
    check(my_tokens, 65, name="tokens per frame")          # -> True, prints "right: tokens per frame"
    check(my_logits, rm_logits, atol=1e-5)                  # tensors: shape first, then values

`check` compares an answer with the expected one and prints one line; it returns True or False
and never raises, so a wrong answer does not stop the notebook. Numbers and tensors are compared
within `atol` + `rtol` * |expected|; anything else (strings, tuples, lists) by equality, element by
element.
"""

from __future__ import annotations

import math
from numbers import Number

import torch


def _describe_mismatch(answer, expected, atol: float, rtol: float) -> str | None:
    """None when answer matches expected, else a short reason."""
    if isinstance(expected, torch.Tensor) or isinstance(answer, torch.Tensor):
        if not isinstance(answer, torch.Tensor):
            return f"expected a tensor of shape {tuple(expected.shape)}, got {type(answer).__name__}"
        expected = torch.as_tensor(expected)
        if answer.shape != expected.shape:
            return f"shape {tuple(answer.shape)}, expected {tuple(expected.shape)}"
        if expected.dtype == torch.bool or not expected.is_floating_point():
            wrong = int((answer != expected).sum())
            return None if wrong == 0 else f"{wrong} of {expected.numel()} entries differ"
        diff = (answer.double() - expected.double()).abs()
        bound = atol + rtol * expected.double().abs()
        if bool((diff <= bound).all()):
            return None
        return (f"{int((diff > bound).sum())} of {expected.numel()} entries off, "
                f"largest difference {float(diff.max()):.3g}")
    if isinstance(expected, bool) or isinstance(answer, bool):
        return None if answer is expected else f"got {answer!r}, expected {expected!r}"
    if isinstance(expected, Number):
        if not isinstance(answer, Number):
            return f"expected a number, got {type(answer).__name__}"
        if math.isclose(answer, expected, rel_tol=rtol, abs_tol=atol):
            return None
        return f"got {answer:.6g}, expected {expected:.6g}"
    if isinstance(expected, (list, tuple)):
        if not isinstance(answer, (list, tuple)) or len(answer) != len(expected):
            return f"expected {len(expected)} items, got {answer!r}"
        for i, (a, e) in enumerate(zip(answer, expected)):
            reason = _describe_mismatch(a, e, atol, rtol)
            if reason is not None:
                return f"item {i}: {reason}"
        return None
    return None if answer == expected else f"got {answer!r}, expected {expected!r}"


def check(answer, expected, *, name: str = "answer", atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Print "right: <name>" when `answer` matches `expected`, else what is off; return which."""
    reason = _describe_mismatch(answer, expected, atol, rtol)
    if reason is None:
        print(f"right: {name}")
        return True
    print(f"not yet: {name}: {reason}")
    return False
