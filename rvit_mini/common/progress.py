"""Progress bars that a saved notebook shows as they ended.

`tqdm.auto` draws a widget in a notebook. A saved notebook keeps only the widget's reference and
the text it had when it appeared ("0%| | 0/144"), so it shows a bar stuck at zero, or "Error
displaying widget: model not found" once reopened. `tqdm` here is a drop-in for `tqdm.auto.tqdm`
that, in a notebook kernel, draws its line as one text output updated in place, so the
notebook file always holds the latest line (at the end, "100%|...| 144/144 [...]"); anywhere
else it is tqdm's terminal bar.

    from rvit_mini.progress import tqdm
"""

from tqdm.std import tqdm as std_tqdm


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code, nbclient)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


class NotebookLine(std_tqdm):
    """tqdm drawn as one text output of the cell, replaced on every refresh."""

    def __init__(self, *args, **kwargs):
        self._handle = None
        kwargs["gui"] = True  # tqdm writes nothing to stderr; display() below draws
        super().__init__(*args, **kwargs)
        if not self.disable:
            self.display()

    def display(self, msg=None, pos=None):
        from IPython.display import display

        bundle = {"text/plain": str(self) if msg is None else msg}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
        return True

    def close(self):
        if self.disable:
            return
        leave = self.leave if self.leave is not None else self.pos == 0
        super().close()  # in gui mode this only unregisters the bar
        self._ema_dt = lambda: None  # the final line shows the overall rate
        self.display(None if leave else "")


def tqdm(*args, **kwargs):
    """tqdm.auto.tqdm's arguments -> a NotebookLine in a notebook kernel, tqdm's terminal bar
    anywhere else."""
    return (NotebookLine if in_notebook_kernel() else std_tqdm)(*args, **kwargs)
