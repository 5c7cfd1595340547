"""Paths a data set names, kept inside its folder of videos.

A video id from an annotation file is a plain name ('34870', '-x0_Yt-abc'): one such as
'../../x', '/etc/x' or 'C:x' is refused, and so is a file or folder in the data set that is a
symbolic link leading out of the folder, each naming where it came from. Neither training nor
`python -m rvit_mini check-data` (which reports what is present and what decodes) then reads, or
says anything about, a file outside the data set. A folder of videos that is itself a link (to
another disk) is fine: the links looked at are those below it.
"""

from pathlib import Path, PureWindowsPath


def plain_name(text: str, where: str,
               what: str = "a video id, a plain name such as 34870") -> str:
    """A name for a file or folder (a video id in an annotation file, a class), refused unless
    it is a plain name: no '/', '\\', drive, '.' or '..'; where: 'file:line' it came from."""
    if not text or text in (".", "..") or any(c in text for c in "/\\\0") or \
            PureWindowsPath(text).drive:
        raise ValueError(f"{where}: expected {what}, got {text!r}; a name is never a path (it "
                         "could point outside the data set's folder): fix it")
    return text


def inside(folder: Path, path: Path, where: str = "") -> Path:
    """path, a file or folder directly or further below `folder`, refused if it is a symbolic
    link that resolves outside the folder (resolved); where: 'file:line' it was named in, if any."""
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(folder.resolve()):
            raise ValueError(f"{where + ': ' if where else ''}{path} is a symbolic link to "
                             f"{target}, outside {folder}; copy the video in or remove the link")
    return path
