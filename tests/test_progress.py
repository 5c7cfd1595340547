from tqdm.std import tqdm as std_tqdm

from rvit_mini.common import progress


class FakeHandle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, bundle, raw):
        self.shown.append(bundle["text/plain"])


def test_outside_a_notebook_kernel_it_is_tqdms_terminal_bar():
    assert not progress.in_notebook_kernel()
    bar = progress.tqdm(total=3, disable=True)
    assert type(bar) is std_tqdm


def test_in_a_notebook_the_last_line_drawn_is_the_finished_bar(monkeypatch, capsys):
    import IPython.display

    shown = []

    def display(bundle, raw, display_id):
        shown.append(bundle["text/plain"])
        return FakeHandle(shown)

    monkeypatch.setattr(IPython.display, "display", display)
    bar = progress.NotebookLine(total=144, unit="step", mininterval=0)
    for _ in range(144):
        bar.update(1)
    bar.set_postfix(loss="0.852", refresh=False)
    bar.close()
    assert shown[0].startswith("  0%|") and "0/144" in shown[0]
    assert shown[-1].startswith("100%|") and "144/144" in shown[-1] and "loss=0.852" in shown[-1]
    assert capsys.readouterr().err == ""  # nothing on stderr: no stream output in the cell
