"""What a user's mistake on the command line prints."""

import pytest

from rvit_mini.cli import main


def error_line(argv, capsys) -> str:
    """The one line a user's mistake prints (exit status 1, no traceback, no other error line
    before it, whatever progress was shown)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 1 and err[-1].startswith("error: "), err
    assert not any("Traceback" in line or line.startswith("error") for line in err[:-1]), err
    return err[-1]
