"""Write the Colab and Binder links from the one place the repository's address is kept.

    python scripts/links.py          # `make links`

Reads `Repository` under `[project.urls]` in pyproject.toml and writes
- the README's notebook table (between the `notebooks:start` / `notebooks:end` markers), with a
  Colab and a Binder badge per notebook when the address is a GitHub repository;
- the first code cell of every notebook (tagged `colab-setup`): in Colab it installs the project
  (a regular `pip install`, which the running kernel imports at once, no restart) from a folder or
  `rvit-mini*.zip` uploaded to /content, else from a clone of the repository, else it says what to
  upload; run again, before or after a restart, it does nothing. Everywhere else it does nothing.
Without an address the badges are left out and the cell relies on an upload in Colab.
"""

import json
import re
import sys
from pathlib import Path

if sys.version_info < (3, 11):
    raise SystemExit("scripts/links.py reads pyproject.toml with tomllib: Python 3.11 or newer")
import tomllib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
COLAB = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER = "https://mybinder.org/badge_logo.svg"
# notebook -> what it shows; RUN_TIMES: seconds to run it top to bottom in a fresh kernel on 2 idle
# CPU cores (scripts/execute_notebooks.py, kernel start included; measured 2026-12-06)
TABLE = {
    "01_video_to_tokens": "the paper and Fig. S1 drawn; a StickActions clip, mp4 decoding, "
                          "uniform and dense sampling; you write the stem (checked against "
                          "`model.embed`, 7 named mistakes); f_t and head(mean_t f_t) checked; "
                          "CViT's attention over T·N tokens against RViT's per frame; a CViT "
                          "stretched to 16 frames (89/90) against RViT trained on 8 (70/90); "
                          "exercises: CViT's tokens, a sampling prediction, mean pooling",
    "02_attention_gate_from_scratch": "you write the attention gate (13 named mistakes) and "
                                      "RViT's double loop (8), run with a shipped model's "
                                      "weights; with h = 0 a ViT block; the hidden state's share "
                                      "of q, k, v and of the attention; memory with only the "
                                      "past changed on 108 clips, same-scene and same-action "
                                      "donors, untrained seeds and a frame-mean ViT as controls; "
                                      "causality, ViT initialisation; exercises: memory by hand, "
                                      "two predictions",
    "03_memory_rvit_vs_cvit": "memory, RViT against a depth-matched CViT: you count what "
                              "backward keeps (17 token tensors a gate, every frame) and write "
                              "frame checkpointing; streaming stays flat, and the estimator "
                              "takes it to paper scale; exercises: two predictions and the "
                              "estimate call",
    "04_training_the_variants": "you write one training epoch and Sec. 3.2's start from a ViT "
                                "(known mistakes named); Table S1 beside our mini recipes; RViT-S "
                                "against the frame-mean ViT from the same start over 3 seeds "
                                "(Wilson intervals, paired differences); the shipped models' "
                                "cards checked; exercises: the LR schedule in code, what lets an "
                                "RViT see order",
    "05_streaming_and_variable_length": "you write the streaming loop and the per-frame loss with "
                                        "truncated BPTT (checked on loss and gradients); one "
                                        "model on 4 to 480 frames; 60 actions followed frame by "
                                        "frame; the rivals on 8 held-out streams against their "
                                        "cost; an mp4 classified as it decodes; flat memory; a "
                                        "reset drawn; a playground with one row per rival; "
                                        "exercises: a stream with resets, how far back the "
                                        "gradient reaches",
    "06_hidden_state_at_a_boundary": "Sec. 2's claim about the hidden state quoted and judged; "
                                     "the student writes the two-sided switch delay; the clip- "
                                     "and the stream-trained RViT across an action boundary on "
                                     "120 composite clips, with Wilson and paired intervals, "
                                     "against a memoryless ViT and the majority guess; the "
                                     "lag-matched contrast; the oracle reset as the test of "
                                     "forgetting; change points as an exercise; a frame scrubber",
    "07_recurrence_and_its_cost": "gates over layers x time; the student writes the wavefront "
                                  "(checked on features, gradients and call order) and the "
                                  "batched diagonal (stacked weights, one bmm per linear layer); "
                                  "live CPU timing of batching at batch 1, 8 and 32 and of the "
                                  "whole clip; the committed H100 figure; exercises with worked "
                                  "solutions",
    "08_after_rvit": "TRecViT, RViT's successor: RViT's gate is nonlinear in its state, the "
                     "RG-LRU affine (measured); you write the RG-LRU step and the doubling linear "
                     "scan (checked); streaming equals the whole-clip scan; scan against loop "
                     "timed live, the committed speed and memory cost; trecvit against rvit on "
                     "450 clips (a tie) and trecvit_online against rvit_online on held-out "
                     "streams, with vit_online and the 'shown' ceiling; the decay playground; "
                     "exercises: a chunked scan, a prediction",
}
RUN_TIMES = {"01_video_to_tokens": 10, "02_attention_gate_from_scratch": 15,
             "03_memory_rvit_vs_cvit": 20, "04_training_the_variants": 25,
             "05_streaming_and_variable_length": 35, "06_hidden_state_at_a_boundary": 15,
             "07_recurrence_and_its_cost": 15, "08_after_rvit": 15}

SETUP = '''# Colab: install rvit-mini from its repository or your upload; elsewhere this does nothing.
import glob, importlib.util, os, shutil, subprocess, sys
REPOSITORY = {repository!r}
if "google.colab" in sys.modules and importlib.util.find_spec("rvit_mini") is None:
    for archive in glob.glob("rvit-mini*.zip"):  # an uploaded zip, unpacked beside itself
        if not os.path.isdir(archive[:-4]):
            shutil.unpack_archive(archive, archive[:-4])
    found = [os.path.dirname(os.path.abspath(toml)) for toml in glob.glob("*/pyproject.toml")
             + glob.glob("*/*/pyproject.toml") if 'name = "rvit-mini"' in open(toml).read()]
    if not found and REPOSITORY:
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPOSITORY, "rvit-mini"], check=True)
        found = [os.path.abspath("rvit-mini")]
    if not found:
        raise RuntimeError("Upload the rvit-mini zip (or folder) to /content in the Files pane, "
                           "then run this cell again")
    # a regular install, so this kernel imports it at once; Colab's torch and ipywidgets stay
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", found[0]], check=True)
    importlib.invalidate_caches()'''


def repository() -> str | None:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"].get("urls", {}).get("Repository")


def github_slug(url: str | None) -> str | None:
    """'https://github.com/OWNER/REPO(.git)' -> 'OWNER/REPO'; None for anything else."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", url or "")
    return match.group(1) if match else None


def readme_table(slug: str | None) -> str:
    rows = ["| notebook | what you see | 2-core CPU run time | open |", "| --- | --- | --- | --- |"]
    for name, what in TABLE.items():
        path = f"notebooks/{name}.ipynb"
        links = "run locally with `make lab`"
        if slug:
            colab = f"https://colab.research.google.com/github/{slug}/blob/main/{path}"
            binder = f"https://mybinder.org/v2/gh/{slug}/HEAD?labpath=notebooks%2F{name}.ipynb"
            links = f"[![Colab]({COLAB})]({colab}) [![Binder]({BINDER})]({binder})"
        rows.append(f"| [`{name}`]({path}) | {what} | ~{RUN_TIMES[name]} s | {links} |")
    return "\n".join(rows)


def write_readme(slug: str | None) -> None:
    path = ROOT / "README.md"
    text = path.read_text()
    start, end = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"README.md has no {start} ... {end} markers")
    head, rest = text.split(start)
    tail = rest.split(end)[1]
    path.write_text(f"{head}{start}\n{readme_table(slug)}\n{end}{tail}")


def write_setup_cell(notebook: Path, url: str | None) -> None:
    nb = json.loads(notebook.read_text())
    is_setup = [("colab-setup" in c.get("metadata", {}).get("tags", [])) for c in nb["cells"]]
    old = next((c for c, setup in zip(nb["cells"], is_setup) if setup), {})
    # keep the replaced cell's execution count, so that an executed notebook stays in step
    cell = {"cell_type": "code", "execution_count": old.get("execution_count"), "id": "colab-setup",
            "metadata": {"tags": ["colab-setup"]}, "outputs": [],
            "source": SETUP.format(repository=url).splitlines(keepends=True)}
    cells = [c for c, setup in zip(nb["cells"], is_setup) if not setup]
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    nb["cells"] = cells[:first_code] + [cell] + cells[first_code:]
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    url = repository()
    slug = github_slug(url)
    write_readme(slug)
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        write_setup_cell(notebook, url)
    print(f"repository: {url or 'none in pyproject.toml [project.urls]'}; "
          f"badges: {'written' if slug else 'left out'}")


if __name__ == "__main__":
    main()
