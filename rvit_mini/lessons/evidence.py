"""The evidence the notebooks print beside a claim: a rate with its Wilson interval, a paired
difference with its bootstrap interval, and `claim`, which prints a claim with whether the numbers
above support it and stops the notebook where they no longer do."""

import math

import numpy as np


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % with z = 1.96) of a rate successes / n."""
    if n <= 0:
        raise ValueError(f"a rate needs at least one trial, got n = {n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(hits, z: float = 1.96) -> str:
    """hits (bools) -> "k/n = p % [lo, hi]", the share with its Wilson interval."""
    hits = [bool(h) for h in hits]
    k, n = sum(hits), len(hits)
    lo, hi = wilson(k, n, z)
    return f"{k}/{n} = {k / n:.0%} [{lo:.0%}, {hi:.0%}]"


def paired(after, before, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Paired difference of two measurements on the same clips: (mean of after - before, and
    the 95 % percentile bootstrap interval of that mean, resampling the clips)."""
    diff = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    if diff.ndim != 1 or len(diff) < 2:
        raise ValueError(f"paired needs two measurements of the same 2 or more clips, got "
                         f"{diff.shape}")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(diff.mean()), float(lo), float(hi)


def difference(after, before, scale: float = 1.0, unit: str = "", digits: int = 1) -> str:
    """paired() as text: "+1.2 [-0.3, +2.8]" (times scale, with a unit)."""
    mean, lo, hi = (scale * v for v in paired(after, before))
    return f"{mean:+.{digits}f}{unit} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def claim(text: str, holds: bool) -> None:
    """Print a claim and whether the numbers above support it; fail loudly if they do not."""
    print(f"{text}: {bool(holds)}")
    if not holds:
        raise AssertionError(f"the claim no longer holds: {text}")
