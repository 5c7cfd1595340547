"""Fixtures the tests share."""

import pytest
import torch

from rvit_mini.cli import main


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """A video folder of 18 StickActions training clips (8 frames, 32x32) and its train.csv, as
    `python -m rvit_mini make-data` writes it."""
    root = tmp_path_factory.mktemp("clips")
    main(["make-data", "--out", str(root), "--split", "train", "--clips", "18", "--frames", "8",
          "--size", "32"])
    return root


@pytest.fixture
def one_thread():
    """torch on one CPU thread for the test (small models: several threads only wait)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
