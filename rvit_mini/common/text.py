"""Text from files (class names, paths, a checkpoint's fields) made safe for a terminal, and
undefined figures shown as undefined."""

import math
import unicodedata


def printable(text) -> str:
    """str(text) with every control character (ESC, a newline, a carriage return, DEL, C1
    codes) written as its escape (\\x1b, \\n, ...), so that a name read from a file can neither
    drive the terminal nor break a one-line message; other characters, accents too, unchanged."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or unicodedata.category(ch) not in ("Cc", "Cf")
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


def undefined_as_none(value):
    """value with every float that is not finite (NaN: a metric of an empty class) replaced by
    None, in nested dicts, lists and tuples: what JSON writes as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: undefined_as_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [undefined_as_none(v) for v in value]
    return value


def figure(value, spec: str = "{:.3f}") -> str:
    """value in `spec`, or "-" where it is undefined (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return spec.format(value)
