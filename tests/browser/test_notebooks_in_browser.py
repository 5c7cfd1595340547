"""The notebooks as a student sees them: each one opened, run and reopened in JupyterLab in
headless Chromium.

    make test-browser        # python -m pytest -m browser tests/browser

A JupyterLab server (a free local port, a token) serves a temporary copy of notebooks/, so the
committed files are never changed. For each notebook the test
1. opens it as committed and checks what a reader sees before running anything;
2. runs all cells and checks every output;
3. moves every slider and checks that its figure changes: the first slider of each frame
   scrubber and of each playground (rm.lessons.<notebook>.playground(), whose picture the
   kernel redraws), and presses the training playground's Train (its curve must appear) and
   Stop;
4. saves it, shuts its kernel down, reopens it with a new kernel and checks it again; the
   scrubbers still scrub, and each playground still shows its last picture (JupyterLab saves
   the widgets' state with the notebook, "Save Widget State Automatically" switched on).
"What a reader sees" must show no traceback or error, no text on stderr, no widget that cannot
be displayed, no function or object repr, no progress bar short of 100%, and execution counts
1..n. Screenshots go to build/browser/ (or RVIT_MINI_SCREENSHOTS), printed at the start.

Needs Chromium (Debian/Ubuntu: apt-get install chromium; elsewhere set RVIT_MINI_CHROMIUM to a
Chrome or Chromium binary) and Playwright's Python package (pip install -e ".[browser]"); it
uses the installed Chromium, not a browser of Playwright's own. RVIT_MINI_NOTEBOOKS=FOLDER tests
the notebooks of another folder.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = Path(os.environ.get("RVIT_MINI_NOTEBOOKS", ROOT / "notebooks")).resolve()
SHOTS = Path(os.environ.get("RVIT_MINI_SCREENSHOTS", ROOT / "build" / "browser")).resolve()
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN_TIMEOUT_S = 900  # one notebook's Run All; they take 10 s to 2 min on 2 free CPU cores
SETTLE_S = 4  # after the kernel is idle, for widget views to be restored or fail

# what no output may show, and what it means
BAD_OUTPUT = [
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
    (re.compile(r"Error displaying widget|Loading widget\.\.\.|Waiting for widget"),
     "a widget that cannot be displayed"),
    (re.compile(r"<function \S+"), "a function's repr"),
    (re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>"), "an object's repr"),
    (re.compile(r"(?<![\d.])\d{1,2}%\|"), "a progress bar short of 100%"),
]

# every output of the current notebook: cell index, prompt, outputs (mime type, visible text),
# images (a hash of each src) and whether the cell holds a slider
READ_CELLS = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent);
  const hash = s => { let h = 2166136261; for (let i = 0; i < s.length; i++)
    h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0; return s.length + ':' + h; };
  return [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map((cell, index) => ({
    index,
    code: cell.classList.contains('jp-CodeCell'),
    prompt: cell.querySelector('.jp-InputPrompt')?.textContent.trim() ?? '',
    outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
      mime: o.getAttribute('data-mime-type') ?? '', text: o.innerText })),
    images: [...cell.querySelectorAll('.jp-OutputArea img')].map(i => hash(i.src)),
    sliders: cell.querySelectorAll(
      '.jp-OutputArea input[type=range], .jp-OutputArea .noUi-target').length,
  }));
}"""

# while running, cheaper: each cell's prompt (None for a markdown cell), and whether any error
READ_PROMPTS = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent);
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
  return [cells.map(c => c.classList.contains('jp-CodeCell') ?
                     c.querySelector('.jp-InputPrompt').textContent.trim() : null),
          [...panel.querySelectorAll('.jp-OutputArea-output')]
            .some(o => o.textContent.includes('Traceback (most recent call last)'))];
}"""


def notebooks():
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def say(request, line):
    """Print past pytest's output capture."""
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        request.config.pluginmanager.get_plugin("terminalreporter").write_line(line)


def chromium() -> str:
    """The Chromium to drive; the test fails saying how to get one where there is none."""
    wanted = os.environ.get("RVIT_MINI_CHROMIUM")
    candidates = [wanted] if wanted else ["/usr/bin/chromium", shutil.which("chromium"),
                                          shutil.which("chromium-browser"),
                                          shutil.which("google-chrome")]
    found = next((p for p in candidates if p and os.access(p, os.X_OK)), None)
    if not found:
        looked = wanted or "/usr/bin/chromium, or chromium, chromium-browser, google-chrome on PATH"
        pytest.fail(f"no Chromium found at {looked}: install it with `apt-get install chromium` "
                    "(Debian/Ubuntu, as root), or set RVIT_MINI_CHROMIUM=/path/to/chromium",
                    pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on a copy of the notebooks, in a folder of its own."""

    def __init__(self, home: Path, log):
        self.home, self.port, self.token = home, free_port(), os.urandom(16).hex()
        self.root = home / "notebooks"
        shutil.copytree(NOTEBOOKS, self.root, ignore=shutil.ignore_patterns("runs", ".ipynb_*"))
        env = {k: v for k, v in os.environ.items() if k not in ("RVIT_MINI_STATIC", "MPLBACKEND")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "")
                                                           .split(os.pathsep) if p])
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")]:
            env[var] = str(home / sub)
        # the notebooks' python3 kernel is this interpreter, importing this checkout's rvit_mini
        spec = home / "data" / "kernels" / "python3" / "kernel.json"
        spec.parent.mkdir(parents=True)
        spec.write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                             "{connection_file}"],
                                    "display_name": "Python 3 (ipykernel)", "language": "python"}))
        # JupyterLab's defaults, but no news pop-up, every cell kept in the page to be read, and
        # the widgets' state saved with the notebook (else a reopened playground shows "Error
        # displaying widget: model not found")
        for plugin, settings in [("@jupyterlab/apputils-extension/notification",
                                  {"fetchNews": "false", "checkForUpdates": False}),
                                 ("@jupyterlab/notebook-extension/tracker",
                                  {"windowingMode": "none"}),
                                 ("@jupyter-widgets/jupyterlab-manager/plugin",
                                  {"saveState": True})]:
            path = home / "settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}"]
        if os.getuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.root, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while True:
            try:
                self.api("GET", "status")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    pytest.fail(f"JupyterLab did not start; its log: {log.name}")
                time.sleep(0.5)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{name}?reset&token={self.token}"

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def session(self, name: str):
        return next((s for s in self.api("GET", "sessions") if s["path"] == name), None)

    def wait_idle(self, name: str, timeout: float = 120):
        """Until the notebook has a kernel and it is idle."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.session(name)
            if s and s["kernel"]["execution_state"] == "idle":
                return
            time.sleep(0.5)
        raise AssertionError(f"{name}: no idle kernel after {timeout:.0f} s")

    def shut_down(self, name: str):
        s = self.session(name)
        if s:
            self.api("DELETE", f"sessions/{s['id']}")  # and its kernel

    def stop(self):
        """Stop this server (and so its kernels); it runs in a process group of its own."""
        try:
            for s in self.api("GET", "sessions"):
                self.api("DELETE", f"sessions/{s['id']}")
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def browser_path():
    """Chromium, and Playwright to drive it: checked before JupyterLab is started."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Playwright's Python package is missing: pip install -e \".[browser]\" "
                    "(make test-browser installs it)", pytrace=False)
    return chromium()


@pytest.fixture(scope="module")
def lab(request, browser_path):
    if not notebooks():
        pytest.skip(f"no notebooks in {NOTEBOOKS}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    say(request, f"\nscreenshots and the JupyterLab log: {SHOTS}")
    with tempfile.TemporaryDirectory(prefix="rvit-mini-lab-") as home, \
            open(SHOTS / "jupyterlab.log", "w") as log:
        server = Lab(Path(home), log)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def page(lab, browser_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda dialog: dialog.accept())
        yield page
        browser.close()


def open_notebook(lab, page, name):
    page.goto(lab.url(name))
    page.wait_for_selector(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell", timeout=60_000)
    lab.wait_idle(name)
    time.sleep(SETTLE_S)


def problems(cells, source, page, shot: str) -> list[str]:
    """What a reader should not see, one line each; a screenshot of each cell that shows it."""
    found = []
    for cell in cells:
        where, before = f"cell {cell['index']}: ", len(found)
        for out in cell["outputs"]:
            if out["mime"] == "application/vnd.jupyter.stderr":
                found.append(where + "text on stderr: " + out["text"].strip()[:300])
            for pattern, what in BAD_OUTPUT:
                match = pattern.search(out["text"])
                if match:
                    found.append(where + f"{what}: {match.group(0)!r}")
        if len(found) > before:
            page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(
                cell["index"]).screenshot(path=SHOTS / f"{shot}-cell{cell['index']}.png")
    prompts = [c["prompt"] for c, src in zip(cells, source) if c["code"] and src.strip()]
    counts = [p.strip("[]: ") for p in prompts]
    if any(counts) and counts != [str(n) for n in range(1, len(counts) + 1)]:
        found.append(f"execution counts out of step: {' '.join(prompts)}")
    return found


def run_state(page, source) -> str:
    """'done' when every code cell shows a count, 'stopped' after a traceback, else 'running'."""
    prompts, traceback = page.evaluate(READ_PROMPTS)
    if traceback:
        return "stopped by an error"
    prompts = [p for p, src in zip(prompts, source) if p is not None and src.strip()]
    return "done" if all(re.fullmatch(r"\[\d+\]:", p) for p in prompts) else "running"


def read(page, name, source):
    cells = page.evaluate(READ_CELLS)
    assert len(cells) == len(source), f"{name}: {len(cells)} cells shown, {len(source)} in the file"
    return cells


def move_sliders(page, cells, stem, tag, skip=()) -> list[str]:
    """Click at 3/4 of the first slider of every cell (but those in `skip`) and check its
    cell's images change; screenshots of each."""
    found = []
    for cell in (c for c in cells if c["sliders"] and c["index"] not in skip):
        node = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(cell["index"])
        out = node.locator(".jp-Cell-outputArea")
        out.screenshot(path=SHOTS / f"{stem}-cell{cell['index']}-{tag}-slider-start.png")
        slider = out.locator("input[type=range], .noUi-target").first
        box = slider.bounding_box()
        page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + box["height"] / 2)
        deadline = time.time() + 30  # a widget redraws through the kernel
        while (now := page.evaluate(READ_CELLS)[cell["index"]]["images"]) == cell["images"]:
            if time.time() > deadline:
                found.append(f"cell {cell['index']}: moving the slider ({tag}) changed no image")
                break
            time.sleep(0.3)
        out.screenshot(path=SHOTS / f"{stem}-cell{cell['index']}-{tag}-slider-moved.png")
        if not now:
            found.append(f"cell {cell['index']}: the slider shows no image ({tag})")
    return found


def train_and_stop(page, cells, indices, stem) -> list[str]:
    """In each of these cells that holds a Train button (the training playground): press it,
    check the picture changes as it trains, screenshot it, and press Stop."""
    found = []
    for index in indices:
        out = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(
            index).locator(".jp-Cell-outputArea")
        train = out.locator("button", has_text="Train")
        if not train.count():
            continue
        before = page.evaluate(READ_CELLS)[index]["images"]
        train.first.click()
        deadline = time.time() + 60
        while page.evaluate(READ_CELLS)[index]["images"] == before:
            if time.time() > deadline:
                found.append(f"cell {index}: pressing Train changed no image")
                break
            time.sleep(0.3)
        time.sleep(10)  # a few steps' curve
        out.screenshot(path=SHOTS / f"{stem}-cell{index}-run-training.png")
        out.locator("button", has_text="Stop").first.click()
    return found


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_notebook_opened_run_and_reopened_in_jupyterlab(lab, page, path, request):
    name, stem = path.name, path.stem
    source = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    found = []

    open_notebook(lab, page, name)  # 1. as committed
    page.screenshot(path=SHOTS / f"{stem}-1-as-committed.png")
    found += [f"as committed, {p}"
              for p in problems(read(page, name, source), source, page, f"{stem}-1-as-committed")]

    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()  # 2. Run All
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    start = time.time()
    while (state := run_state(page, source)) == "running":
        if time.time() > start + RUN_TIMEOUT_S:
            state = f"still running after {RUN_TIMEOUT_S} s"
            break
        time.sleep(2)
    say(request, f"{name}: Run All took {time.time() - start:.0f} s")
    if state != "done":
        lab.shut_down(name)
    else:
        lab.wait_idle(name)
        time.sleep(SETTLE_S)
    cells = read(page, name, source)
    page.screenshot(path=SHOTS / f"{stem}-2-run.png")
    found += [f"after Run All, {p}" for p in problems(cells, source, page, f"{stem}-2-run")]
    assert state == "done", f"{name}: Run All {state}:\n" + "\n".join(found)

    scrubbers = [c for c in cells if c["sliders"]]  # 3. sliders
    if any("frame_scrubber(" in s for s in source) and not scrubbers:
        found.append("after Run All, frame_scrubber is called but no slider is shown")
    playgrounds = {i for i, s in enumerate(source) if ".playground(" in s}
    found += [f"after Run All, cell {i}: its playground shows no slider"
              for i in sorted(playgrounds) if not cells[i]["sliders"]]
    found += [f"after Run All, {p}" for p in move_sliders(page, cells, stem, "run")]
    found += [f"after Run All, {p}" for p in train_and_stop(page, cells, playgrounds, stem)]

    # 4. saved, kernel shut down, reopened with a new kernel
    saved = lab.api("GET", f"contents/{name}?content=0")["last_modified"]
    page.locator(".jp-NotebookPanel:visible .jp-Notebook").first.click()
    page.keyboard.press("Control+s")
    deadline = time.time() + 30
    while lab.api("GET", f"contents/{name}?content=0")["last_modified"] == saved:
        assert time.time() < deadline, f"{name}: not saved after 30 s"
        time.sleep(0.5)
    lab.shut_down(name)
    page.goto("about:blank")
    open_notebook(lab, page, name)
    cells = read(page, name, source)
    page.screenshot(path=SHOTS / f"{stem}-3-reopened.png")
    found += [f"reopened, {p}" for p in problems(cells, source, page, f"{stem}-3-reopened")]
    for old in scrubbers:
        if not cells[old["index"]]["images"]:
            found.append(f"reopened, cell {old['index']}: the slider's figure is gone")
    # a reopened playground is not connected to the new kernel until its cell runs again
    found += [f"reopened, {p}" for p in move_sliders(page, cells, stem, "reopened", playgrounds)]
    lab.shut_down(name)

    assert not found, f"{name} in JupyterLab ({SHOTS}):\n" + "\n".join(found)
