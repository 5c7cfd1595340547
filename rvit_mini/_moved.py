"""The library's modules before it was grouped into packages, still importable by their old
names (`import rvit_mini.train`, `from rvit_mini.pretrained import load_pretrained`): each old
name is the module that now holds what it held, with a DeprecationWarning naming the new one."""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "accelerate": "execution.accelerate", "analysis": "lessons.analysis",
    "cards": "training.cards", "checks": "common.checks", "classes": "training.evaluate",
    "config": "model.config", "cost": "execution.timing", "diagrams": "lessons.diagrams",
    "exercises": "lessons.check", "flops": "model.flops", "gate": "model.gate",
    "graphs": "execution.graphs", "inputs": "model.inputs", "layers": "model.layers",
    "memory": "execution.memory", "models": "model.models", "pretrained": "training.loading",
    "progress": "common.progress", "recipes": "training.recipes", "registry": "model.registry",
    "retrain": "cli.train", "run": "training.run", "stream": "execution.stream",
    "train": "training", "viz": "lessons.viz", "wavefront": "execution.wavefront",
    "weights": "model.weights",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `rvit_mini.<old name>` and loads it as the module it moved to."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __package__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = f"{__package__}.{MOVED[spec.name.rpartition('.')[2]]}"
        warnings.warn(f"{spec.name} is now {new}", DeprecationWarning, stacklevel=3)
        return importlib.import_module(new)

    def exec_module(self, module):
        pass  # the module it moved to is loaded already


def install() -> None:
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
