"""The one check of a count given as an argument: an integer (not a bool) at least `minimum`."""


def check_count(name: str, value, minimum: int = 1) -> int:
    """Return value, or raise ValueError saying what `name` must be and what it got."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value
