"""Files written whole or not at all: to a temporary file beside the target, then os.replace."""

import os
from pathlib import Path


def write_atomically(path, write, noun: str = "file", then: str = "try again") -> Path:
    """write(temporary path) fills a file beside `path`, which then replaces `path` in one step,
    so that `path` is never half-written. A failed write (a full disk, say) removes the
    temporary file, leaves `path` as it was and raises an OSError that says so in one line (the
    previous `noun` is intact: free some space, then `then`)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
    except (OSError, RuntimeError) as err:  # torch reports a full disk as a RuntimeError
        tmp.unlink(missing_ok=True)
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0].strip()
        raise OSError(f"could not write {path} ({reason}; {free_bytes(path.parent) / 2**20:.0f} "
                      f"MiB free on that disk); the previous {noun}, if any, is intact: free some "
                      f"space, then {then}") from None
    os.replace(tmp, path)
    return path


def free_bytes(folder: Path) -> int:
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return 0
    return stats.f_bavail * stats.f_frsize
