"""The package as a user installs it: what `import rvit_mini` loads, the shipped models and
the benchmark results inside the wheel, `info`, FLOPs, a weights file that is not plain weights,
and the requirements: the lock and Binder's environment in step with pyproject.toml."""

import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

import rvit_mini as rm
from rvit_mini.cli import main
from rvit_mini.model.flops import flops_per_frame

ROOT = Path(__file__).resolve().parents[1]


def test_import_loads_no_plotting_video_or_data_code():
    code = ("import sys, torch; before = set(sys.modules); import rvit_mini as rm; "
            "print(sorted(m.split('.')[0] for m in set(sys.modules) - before))")
    added = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout
    for heavy in ("matplotlib", "av", "decord", "PIL", "ipywidgets"):
        assert f"'{heavy}'" not in added
    assert rm.data.StickActions and rm.execution.stream.trace and rm.flops.flops_per_frame  # on use
    assert rm.__all__ == sorted(rm.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'dta'"):
        _ = rm.dta


def test_the_wheel_carries_the_shipped_models(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("rvit_mini-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in rm.list_pretrained():
        assert {f"rvit_mini/checkpoints/{name}.pt", f"rvit_mini/checkpoints/{name}.json",
                f"rvit_mini/checkpoints/runs/{name}/log.jsonl"} <= names
    results = {f"rvit_mini/results/{p.name}" for p in rm.results.FOLDER.glob("*.*")
               if p.suffix in (".json", ".png")}
    assert len(results) > 10 and results <= names
    # and they load from an installed copy, away from the source tree
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import rvit_mini as rm; print(rm.__file__, rm.load_pretrained('rvit').cfg.depth, "
            "rm.results.load('memory')['lengths'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(site)}).stdout
    assert out.startswith(str(site)) and out.split(maxsplit=2)[1:] == ["3", "[8, 16, 32, 64, 128]\n"]


def test_the_results_reader_imports_nothing_heavy_and_names_what_it_has():
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('results', "
            f"{str(ROOT / 'rvit_mini' / 'results' / '__init__.py')!r}); "
            "results = importlib.util.module_from_spec(spec); spec.loader.exec_module(results); "
            "print(sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert {"memory", "online", "frame_checkpoint", "speed_mini_batch8"} <= set(rm.results.names())
    assert rm.results.load("frame_checkpoint")["machine"].startswith("NVIDIA H100")
    with pytest.raises(FileNotFoundError, match=r"no results named 'memroy': choose one of \[.*'mem"):
        rm.results.load("memroy")


def test_a_malicious_pickle_is_refused_by_load_pretrained(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this ran",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"weights": Exploit()}))
    card = rm.training.model_card("rvit_s")
    (tmp_path / "evil.json").write_text(__import__("json").dumps(card))
    with pytest.raises(ValueError, match=r"evil.pt: torch.load\(weights_only=True\) refused it "
                                         r"\(.+\); only weights and plain "
                                         "values load, never code"):
        rm.load_pretrained("evil", root=tmp_path)


def test_every_shipped_model_loads_and_matches_its_card():
    for name in rm.list_pretrained():
        model, card = rm.load_pretrained(name), rm.training.model_card(name)
        assert not model.training
        assert sum(p.numel() for p in model.parameters()) == card["parameters"]


def test_flops_per_frame_follow_the_architecture():
    def gflops(name, **kw):
        with torch.device("meta"):
            return flops_per_frame(rm.create_model(name, scale="paper", **kw)) / 1e9

    vit, rvit_xl, cvit = gflops("vit"), gflops("rvit_xl"), gflops("cvit")
    assert 34 < vit < 36  # ViT-B/16 at 224: about 17.6 GMACs
    # per gate, W_h adds 3 D^2 per token to the block's 12 D^2 (plus attention)
    assert 1.2 < rvit_xl / vit < 1.3
    assert cvit > 2 * vit  # attention over 32 frames' tokens at once
    rvit_s, rvit_l = gflops("rvit_s"), gflops("rvit_l")
    assert rvit_xl - rvit_s == pytest.approx(2 * (rvit_l - rvit_s))  # linear in the gates


def test_info_lists_every_model_at_both_scales(capsys):
    main(["info"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 2 * len(rm.list_models())
    rvit_xl = next(line.split() for line in lines if line.split()[:2] == ["rvit_xl", "paper"])
    assert rvit_xl[2:4] == ["12", "107,358,352"]  # the published 107.7M within 0.4 %


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reads pyproject.toml: Python 3.11 or newer")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def declared_requirements():
    """pyproject.toml's requirements, with every extra's."""
    from packaging.requirements import Requirement

    project = pyproject()
    lines = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    return [Requirement(line) for line in lines]


def test_the_lock_pins_every_requirement_at_a_version_it_allows():
    from packaging.utils import canonicalize_name

    pinned = {}  # name -> the versions the lock pins (one per Python or platform marker)
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(";")[0].strip().split("==")
            pinned.setdefault(canonicalize_name(name), []).append(version)
    for requirement in declared_requirements():
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in requirements.lock: run `make lock`"
        assert all(v in requirement.specifier for v in versions), (requirement, versions)


def test_binders_environment_asks_for_what_pyproject_does():
    from packaging.specifiers import SpecifierSet

    environment = (ROOT / "environment.yml").read_text()
    python = re.search(r"^\s*- python=([\d.]+)$", environment, re.M).group(1)
    assert python in SpecifierSet(pyproject()["requires-python"])
    torch_floor = re.search(r"^\s*- pytorch-cpu(>=[\d.]+)$", environment, re.M).group(1)
    (torch_req,) = [r for r in declared_requirements() if r.name == "torch"]
    assert str(torch_req.specifier) == torch_floor
    # the rest comes from pyproject.toml, installed as Binder users get it: not editable
    assert re.search(r"^\s*- \.$", environment, re.M)
    assert not re.search(r"^\s*- (-e|--editable)\b", environment, re.M)
