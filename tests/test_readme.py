"""The figures the README quotes are the committed ones: the shipped models' cards and the
memory and online benchmarks' results files; every file the README links to exists."""

import re
from pathlib import Path

import rvit_mini as rm

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_model_table_quotes_the_shipped_cards():
    for name in ("vit", "rvit_s", "rvit", "rvit_scratch", "cvit"):
        card = rm.training.model_card(name)
        row = re.search(rf"^\| `{name}` [^|]*\| ([\d,]+) \| ([\d.]+) % \| ([\d.]+) % \|$", README, re.M)
        assert row, f"no README row for {name}"
        assert row.group(1) == f"{card['parameters']:,}"
        assert row.group(2) == f"{100 * card['test_top1']:.1f}"
        assert row.group(3) == f"{100 * card['test_reversed_pairs_top1']:.1f}"


def test_the_memory_table_quotes_the_benchmark_results():
    results = rm.results.load("memory")
    for part, prefix in (("inference", "inference, batch 8: "), ("training", "training, batch 2: ")):
        for label, runs in results[part].items():
            row = re.search(rf"^\| {re.escape(prefix + label)} \| (.*) \|$", README, re.M)
            assert row, f"no README row for {prefix}{label}"
            assert row.group(1).split(" | ") == [f"{x:.2f}" for x in runs["estimated"]]
    summary = results["summary"]
    assert f"CViT needs {summary['cvit_over_rvit_streaming_T128']:.2f}x the memory" in README
    assert f"{summary['rvit_ckpt_over_cvit_train_T32']:.3f}x CViT's peak" in README


def test_the_online_table_quotes_the_benchmark_results():
    results = rm.results.load("online")
    head = "| recogniser | per-frame accuracy (sd over the 8 streams) |"
    lines = README[README.index(head):].splitlines()[2:]
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


def test_the_files_the_readme_links_and_names_exist():
    linked = re.findall(r"\]\(((?!https?:)[^)#]+)\)", README)
    named = re.findall(r"\brvit_mini/results/[\w.]+\.(?:json|png)", README)
    assert named and "rvit_mini/results/memory.png" in linked
    missing = [path for path in linked + named if not (ROOT / path).exists()]
    assert not missing, f"the README names files that are not in the repository: {missing}"
