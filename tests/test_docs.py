"""The figures the README and the book (docs/) quote are the committed ones: the shipped models'
cards and the memory and online benchmarks' results files; every file they link to exists; the
README stays a front door."""

import re
from pathlib import Path

import pytest

import rvit_mini as rm

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RESULTS = (ROOT / "docs" / "results.md").read_text()
PERFORMANCE = (ROOT / "docs" / "performance.md").read_text()
PAGES = {path: path.read_text() for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]}


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) <= 200


@pytest.mark.parametrize("page", [README, RESULTS], ids=["README", "results"])
def test_the_model_table_quotes_the_shipped_cards(page):
    for name in ("vit", "rvit_s", "rvit", "rvit_scratch", "cvit", "trecvit"):
        card = rm.training.model_card(name)
        row = re.search(rf"^\| `{name}` [^|]*\| ([\d,]+) \| ([\d.]+) % \| ([\d.]+) % \|$", page, re.M)
        assert row, f"no row for {name}"
        assert row.group(1) == f"{card['parameters']:,}"
        assert row.group(2) == f"{100 * card['test_top1']:.1f}"
        assert row.group(3) == f"{100 * card['test_reversed_pairs_top1']:.1f}"


def test_the_memory_table_quotes_the_benchmark_results():
    results = rm.results.load("memory")
    for part, prefix in (("inference", "inference, batch 8: "), ("training", "training, batch 2: ")):
        for label, runs in results[part].items():
            row = re.search(rf"^\| {re.escape(prefix + label)} \| (.*) \|$", PERFORMANCE, re.M)
            assert row, f"no row for {prefix}{label}"
            assert row.group(1).split(" | ") == [f"{x:.2f}" for x in runs["estimated"]]
    summary = results["summary"]
    assert f"CViT needs {summary['cvit_over_rvit_streaming_T128']:.2f}x the memory" in PERFORMANCE
    assert f"{summary['rvit_ckpt_over_cvit_train_T32']:.3f}x CViT's peak" in PERFORMANCE


def test_the_readmes_memory_sentence_quotes_the_benchmark_results():
    results = rm.results.load("memory")
    inference, training = results["inference"], results["training"]
    streaming = inference["RViT-XL, streaming"]["estimated"]
    cvit, rvit_xl = training["CViT (joint)"]["estimated"], training["RViT-XL"]["estimated"]
    checkpointed = training["RViT-XL, frame checkpointing"]["estimated"]
    assert (f"streaming\nRViT-XL holds the same {streaming[0]:.2f} GiB at 8 and at 128 frames, where "
            f"CViT needs {inference['CViT (joint)']['estimated'][-1]:.2f} GiB at 128") in README
    assert f"({rvit_xl[2]:.2f} against {cvit[2]:.2f} GiB at 32 frames, batch 2)" in README
    assert f"with frame checkpointing {checkpointed[2]:.2f} GiB" in README


@pytest.mark.parametrize("page", [README, RESULTS], ids=["README", "results"])
def test_the_online_table_quotes_the_benchmark_results(page):
    results = rm.results.load("online")
    head = "| recogniser | per-frame accuracy (sd over the 8 streams) |"
    lines = page[page.index(head):].splitlines()[2:]
    rows = [line.strip("| ").split(" | ") for line in lines[:lines.index("")]]
    rivals = results["rivals"]["8-frame actions"]
    assert len(rows) == len(rivals)

    def pct(x, digits=1):
        return "100 %" if x == 1 else f"{100 * x:.{digits}f} %"

    for cells, rival in zip(rows, rivals):
        cells = [cell.replace("*", "") for cell in cells]
        assert cells[1] == f"{pct(rival['accuracy'])} ({100 * rival['accuracy_sd']:.1f})", cells
        assert cells[2:4] == [pct(rival["first3"]), pct(rival["rest"])], cells
        if "settled" in rival:
            assert cells[4] == f"{pct(rival['settled'], 0)} / {pct(rival['worst_pair'], 0)}"
            assert cells[5] == (f"{rival['mflops']:.1f}" if rival["mflops"] else "0"), cells
            kept = rival["state_bytes"] and f"{rival['state_bytes'] / 1024:.0f} KiB"
            assert cells[6] == (kept or "-"), cells


@pytest.mark.parametrize("path", list(PAGES), ids=lambda p: p.name)
def test_the_files_a_page_links_and_names_exist(path):
    text = PAGES[path]
    linked = re.findall(r"\]\(((?!https?:)[^)#]+)\)", text)
    named = re.findall(r"\brvit_mini/results/[\w.]+\.(?:json|png)", text)
    missing = [p for p in linked if not (path.parent / p).exists()]
    missing += [p for p in named if not (ROOT / p).exists()]
    assert not missing, f"{path.name} names files that are not in the repository: {missing}"


def test_the_recurrences_tables_quote_the_benchmark_results():
    results = rm.results.load("recurrences")
    rows = {f"training: {k}": v for k, v in results["over_cvit"]["train"].items()}
    rows |= {f"inference: {k}": v for k, v in results["over_cvit"]["inference"].items()}
    paper = results["memory_gib"]["paper"]
    rows |= {f"training, batch 2: {k.replace('RViT,', 'RViT-XL,')}": v
             for k, v in paper["training"].items()}
    rows |= {f"inference, batch 8: {k.replace('RViT,', 'RViT-XL,')}": v
             for k, v in paper["inference"].items()}
    rows = {label.replace("CViT (joint)", "CViT (joint), depth 12"): v for label, v in rows.items()}
    section = PERFORMANCE[PERFORMANCE.index("## TRecViT against RViT"):]
    quoted = 0
    for label, values in rows.items():
        row = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", section, re.M)
        if row:
            quoted += 1
            assert row.group(1).split(" | ") == [f"{x:.2f}" for x in values], label
    assert quoted == 11


def test_the_readmes_side_by_side_table_quotes_the_cards_and_results():
    cards = {name: rm.training.model_card(name) for name in ("rvit", "trecvit")}
    results = rm.results.load("recurrences")
    i = results["lengths"].index(128)
    train, paper = results["over_cvit"]["train"], results["memory_gib"]["paper"]
    expected = {
        "test top-1": [f"{100 * cards[n]['test_top1']:.1f} %" for n in cards],
        "time-reversed pairs": [f"{100 * cards[n]['test_reversed_pairs_top1']:.1f} %"
                                for n in cards],
        "training frames/s": [f"{train[k][i]:.2f}" for k in ("RViT, sequential", "TRecViT, scan")],
        "training peak": [f"{paper['training'][k][i]:.2f} GiB"
                          for k in ("RViT, sequential", "TRecViT, scan")],
        "streaming peak": [f"{paper['inference'][k][i]:.2f} GiB"
                           for k in ("RViT, streaming", "TRecViT, streaming")],
    }
    for start, cells in expected.items():
        row = re.search(rf"^\| {start}[^|]* \| (.*) \| (.*) \|$", README, re.M)
        assert row, f"no row starting {start!r}"
        assert [row.group(1), row.group(2)] == cells, start
