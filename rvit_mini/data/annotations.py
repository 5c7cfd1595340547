"""Annotation files as the data sets ship them (CSV, JSON, one entry per line), read so that a
mistake in one is refused in a line naming the file and the line (or JSON entry) and what was
expected, and a row that repeats an earlier one is dropped with one warning, never kept twice.

Rows come back with their line numbers: [(line, row), ...]. Extra columns, quoted fields, CRLF
line endings, a UTF-8 BOM and blank lines are fine.
"""

import csv
import io
import json
import math
import warnings
from pathlib import Path


def read_text(path: Path) -> str:
    """The file's text; a file that is not UTF-8 is refused, naming it."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        line = err.object[:err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte {err.object[err.start]:#04x}); "
                         "save the file as UTF-8") from None


def _csv_rows(path: Path, reader) -> list:
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise ValueError(f"{path}:{reader.line_num}: not a CSV row ({err})") from None


def read_rows(path: Path, delimiter: str = ",") -> list:
    """The non-empty rows of a CSV file without a header, fields stripped -> [(line, fields)]."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    return [(n, [field.strip() for field in row]) for n, row in _csv_rows(path, reader)
            if any(field.strip() for field in row)]


def read_table(path: Path, required: tuple) -> list:
    """The rows of a CSV file with a header -> [(line, {column: value})]; other columns are
    kept. A row that lacks a required column's value is refused."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    header = reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
    twice = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if twice is not None:
        raise ValueError(f"{path}:1: the header names the column {twice!r} twice; keep one")
    lacking = [name for name in required if name not in header]
    if lacking:
        raise ValueError(f"{path}: expected the columns {','.join(required)}; its header is "
                         f"{','.join(header) or 'empty'}")
    rows = [(n, row) for n, row in _csv_rows(path, reader)
            if any(v and v.strip() for v in row.values() if isinstance(v, str))]
    for n, row in rows:
        if any(row[name] is None for name in required):
            raise ValueError(f"{path}:{n}: expected {len(header)} fields ({','.join(header)}), "
                             f"got {sum(v is not None for k, v in row.items() if k)}")
    return rows


def read_lines(path: Path) -> list:
    """The non-empty lines of a text file, stripped -> [(line, text)]."""
    return [(n, line.strip()) for n, line in enumerate(read_text(path).splitlines(), start=1)
            if line.strip()]


class _RepeatedKey(Exception):
    pass


def _object(pairs: list) -> dict:
    """A JSON object's pairs -> dict, refused if a key repeats (json keeps the last silently)."""
    value = dict(pairs)
    if len(value) < len(pairs):
        seen = set()
        raise _RepeatedKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return value


def read_json(path: Path, kind: type, expected: str):
    """The JSON value in the file, refused unless it is a `kind` (list or dict); expected: what
    it should hold, for the message. An object that holds a key twice is refused."""
    try:
        value = json.loads(read_text(path), object_pairs_hook=_object)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: not JSON ({err.msg}); expected {expected}") \
            from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to read; expected {expected}") from None
    except _RepeatedKey as err:
        raise ValueError(f"{path}: the key {err.args[0]!r} appears twice in one JSON object; "
                         "keep one of them") from None
    if not isinstance(value, kind):
        raise ValueError(f"{path}: expected {expected}, got a JSON {type(value).__name__}")
    return value


def number(text, where: str, column: str) -> float:
    """A field that holds a finite number; where: 'file:line'."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = None
    if value is None or isinstance(text, bool):
        raise ValueError(f"{where}: {column} should be a number, got {text!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where}: {column} should be a finite number, got {text!r}")
    return value


def whole(text, where: str, column: str) -> int:
    """A field that holds a whole number >= 0 ('10', or '10.0'); where: 'file:line'."""
    value = number(text, where, column)
    if value < 0 or not value.is_integer():
        raise ValueError(f"{where}: {column} should be a whole number >= 0, got {text!r}")
    return int(value)


def label_index(classes: list, label: str, where: str) -> int:
    try:
        return classes.index(label)
    except ValueError:
        raise ValueError(f"{where}: unknown label {label!r}; known: {len(classes)} classes "
                         f"such as {classes[:3]}") from None


def at(path: Path, line) -> str:
    """Where in an annotation file: 'file:12' for a line, 'file, entry 3' for a JSON entry."""
    return f"{path}:{line}" if isinstance(line, int) else f"{path}, {line}"


def _line(line) -> str:
    return f"line {line}" if isinstance(line, int) else str(line)


def unique_names(rows: list, path, what: str = "class") -> list:
    """rows [(line, name)] of a class list -> the names, refused if one is listed twice (it
    would take two indices, and the second would never be a target)."""
    first = {}
    for line, name in rows:
        if name in first:
            raise ValueError(f"{at(path, line)}: the {what} {name!r} is listed again "
                             f"({_line(first[name])}); list each class once")
        first[name] = line
    return list(first)


def unique_rows(rows: list, path: Path) -> list:
    """rows [(line, video id, annotation)] -> those that do not repeat an earlier row's video.
    Repeats with the same annotation are dropped with one warning (how many, which lines); a
    video annotated twice differently is refused, as neither can be chosen for it."""
    first, kept, repeats = {}, [], []
    for line, video, annotation in rows:
        if video not in first:
            first[video] = line, annotation
            kept.append((line, video, annotation))
            continue
        line0, annotation0 = first[video]
        if annotation != annotation0:
            raise ValueError(f"{at(path, line)}: {video} is listed again with another annotation "
                             f"({annotation!r}; {_line(line0)}: {annotation0!r}); keep one of them")
        repeats.append(line)
    if repeats:
        shown = ", ".join(map(_line, repeats[:5])) + (" ..." if len(repeats) > 5 else "")
        warnings.warn(f"{path}: {len(repeats)} rows repeat an earlier row's video and "
                      f"annotation and were dropped ({shown})", stacklevel=3)
    return kept
