"""A run folder's lock: one writer at a time.

    with RunLock("runs/rvit_s"):      # OUT/run.lock, naming this process's pid and host
        ...                           # train, then write the model, its card and the plot

A second `train` into the folder, or `--resume` while the run still trains, is refused in one
line naming the holder's pid, before it touches a file there. The lock is fcntl.flock on
OUT/run.lock, which the system releases when its process dies, however it dies; a lock file
left by a run that is no longer running is taken over, with a message. Where there is no
fcntl (Windows), the file is created with O_EXCL, and one left behind must be deleted by hand.
Locks nest within a process: `train` holds its folder's for the whole command, `fit` takes it
again inside.
"""

import json
import os
import socket
import sys
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_FILE = "run.lock"


class RunInUseError(ValueError):
    """The run folder is held by another process."""


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class RunLock:
    """OUT/run.lock, held from acquire() (or `with`) to release(); creates OUT if needed (and
    removes it again on release if it is left empty)."""

    _held: dict = {}  # resolved lock path -> [file descriptor, nesting depth], this process's

    def __init__(self, folder, say=_say):
        self.folder, self.say = Path(folder), say
        self.path, self.created = self.folder / LOCK_FILE, False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def acquire(self) -> "RunLock":
        self._make_folder()
        key = str(self.path.resolve())
        if key in RunLock._held:
            RunLock._held[key][1] += 1
            return self
        try:
            fd = self._lock() if fcntl is not None else self._create()
        except BaseException:
            self._remove_folder_if_empty()
            raise
        RunLock._held[key] = [fd, 1]
        return self

    def release(self) -> None:
        key = str(self.path.resolve())
        held = RunLock._held.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del RunLock._held[key]
            self.path.unlink(missing_ok=True)  # before closing: a waiter then sees a new file
            os.close(held[0])
            self._remove_folder_if_empty()

    def _make_folder(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"the run folder {self.folder} is a file; give a folder")
        try:
            self.created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"cannot write the run folder {self.folder}: "
                             f"{err.strerror or err}; give a folder you can write to") from None

    def _remove_folder_if_empty(self) -> None:
        if self.created:
            try:
                self.folder.rmdir()
            except OSError:  # it holds files now: the run's
                pass

    def _lock(self) -> int:
        """flock the lock file; refuse if another process holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read(fd)
                os.close(fd)
                raise self.in_use(holder) from None
            try:  # its last holder may have removed the file between our open and our lock
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        left = _read(fd)
        if left.get("pid") not in (None, os.getpid()):
            self.say(f"taking over {self.path}, left by pid {left['pid']} on "
                     f"{left.get('host', '?')}, which no longer holds it (it stopped without "
                     "releasing it)")
        _write(fd)
        return fd

    def _create(self) -> int:
        """Create the lock file, or refuse naming the process that did."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise self.in_use(_read_path(self.path), stale_hint=True) from None
        _write(fd)
        return fd

    def in_use(self, holder: dict, stale_hint: bool = False) -> RunInUseError:
        who = (f"pid {holder['pid']} on {holder.get('host', '?')}" if "pid" in holder
               else "another process")
        hint = (f"; if that process is gone, delete {self.path}" if stale_hint else "")
        return RunInUseError(f"{self.folder} is in use by {who} (a run training into it; it holds "
                             f"{self.path}): a second run there would mix their steps. Wait for "
                             f"it to end, stop it, or choose another folder{hint}")


def _read(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    return _parse(os.read(fd, 4096))


def _read_path(path: Path) -> dict:
    try:
        return _parse(path.read_bytes())
    except OSError:
        return {}


def _parse(raw: bytes) -> dict:
    try:
        holder = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _write(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
