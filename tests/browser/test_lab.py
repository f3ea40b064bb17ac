"""`make lab` in a real browser: JupyterLab runs lessons 01 and 02 from its menu, on the venv's Python.

Headless Chromium (Debian's `chromium` package; `.ci/run` installs it) driven by Playwright's
Python package through `executable_path`, so no browser is downloaded. The server's machine has a
user-level `python3` kernelspec of a kernel that cannot start, preferred over the venv's (as
Anaconda or a `pip install --user jupyter` may leave one): the lessons must still run, on the
venv's Python. Each lesson is a copy in a scratch folder, its artifacts go to a scratch
`ARTIFACTS_DIR`, so nothing of the repo changes. Learners never need this test.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from helpers.artifacts import REPO_ROOT
from tests.decoys import write_dead_python3_kernelspec

# 01 draws figures; 02 has a cell that raises on purpose (tagged `raises-exception`).
LESSONS = ["01_data.ipynb", "02_flax_model.ipynb"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What these machines need to start Chromium as root and offline (without the networking flags it
# looks up Google's hosts at every start).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LAB_SETTINGS = {  # every cell rendered (no windowing), no news prompt over the page
    "notebook-extension/tracker": {"windowingMode": "none"},
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
RUN_TIMEOUT_S = 300  # lesson 01 takes under a minute on 2 cores

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def lab_environment(tmp: Path) -> dict[str, str]:
    test_only = ("MPLBACKEND", "TQDM_DISABLE")  # tests/conftest.py's: a learner has neither
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("JUPYTER") and k not in test_only
    }
    keras_cache = Path.home() / ".keras/datasets/mnist.npz"  # before HOME moves
    if "MNIST_NPZ" not in env and keras_cache.exists():
        env["MNIST_NPZ"] = str(keras_cache)
    for extension, values in LAB_SETTINGS.items():
        path = tmp / "lab-settings/@jupyterlab" / f"{extension}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    write_dead_python3_kernelspec(tmp / "home/.local/share/jupyter")
    return {
        **env,
        "HOME": str(tmp / "home"),
        "JUPYTER_PREFER_ENV_PATH": "0",  # the user's kernelspecs before the venv's
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "lab-settings"),
        "ARTIFACTS_DIR": str(tmp / "artifacts"),
    }


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's whole group (make, JupyterLab, kernels), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.pid, sig)
            server.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` serving copies of the lessons from a scratch folder: (url, token, folder)."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    for lesson in LESSONS:
        shutil.copy(REPO_ROOT / "notebooks" / lesson, root / lesson)
    port, token = free_port(), secrets.token_hex(16)
    args = [f"--port={port}", f"--ServerApp.token={token}", "--no-browser"]
    if os.geteuid() == 0:  # these test machines run as root; learners do not
        args.append("--allow-root")
    command = ["make", "--no-print-directory", "lab", f"VENV={sys.prefix}", f"LAB_DIR={root}",
               f"LAB_ARGS={' '.join(args)}"]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=REPO_ROOT, env=lab_environment(tmp), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,  # one group: make, JupyterLab, kernels
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                get_json(f"{base}/api/status?token={token}")
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"make lab exited: {server.stdout.read().decode()[-3000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("make lab did not answer within 60 s")
        yield base, token, root
    finally:
        stop(server)


def kernel_interpreters(base: str, token: str) -> list[str]:
    """argv[0] of each running kernel's process, found by its connection file."""
    import psutil

    ids = [k["id"] for k in get_json(f"{base}/api/kernels?token={token}")]
    found = {}
    for process in psutil.process_iter(["cmdline"]):
        for kernel_id in ids:
            if any(f"kernel-{kernel_id}.json" in part for part in process.info["cmdline"] or []):
                found[kernel_id] = process.info["cmdline"][0]
    assert len(found) == len(ids) > 0, (ids, found)
    return list(found.values())


def run_all_in_browser(base: str, token: str, notebook: Path, screenshot: Path) -> None:
    """Open `notebook` in JupyterLab, Run > Run All Cells, wait until every cell ran, save."""
    from playwright.sync_api import sync_playwright

    n_code = sum(c.cell_type == "code" for c in nbformat.read(notebook, as_version=4).cells)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{notebook.name}?reset&token={token}")  # only this tab
        # The status bar names the kernel once it is connected and idle.
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        deadline, stalled = time.monotonic() + RUN_TIMEOUT_S, 0
        while time.monotonic() < deadline:  # until every code cell is numbered, or the run stopped
            texts = prompts.all_inner_texts()
            if len(texts) == n_code and all(t.strip("[]: ").isdigit() for t in texts):
                break
            stalled = (
                stalled + 1 if idle.count() else 0
            )  # idle with cells left: stopped on an error
            if stalled > 5:
                break
            time.sleep(1)
        page.screenshot(path=str(screenshot))
        before = notebook.stat().st_mtime_ns
        page.keyboard.press("Control+s")  # File > Save Notebook
        deadline = time.monotonic() + 30
        while notebook.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        browser.close()


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_all_cells_from_the_menu_on_the_venvs_python(lab, lesson, tmp_path):
    base, token, root = lab
    stored = nbformat.read(REPO_ROOT / "notebooks" / lesson, as_version=4)
    run_all_in_browser(base, token, root / lesson, tmp_path / "lab.png")

    assert set(kernel_interpreters(base, token)) == {sys.executable}
    ran = nbformat.read(root / lesson, as_version=4)
    for old, new in zip(stored.cells, ran.cells, strict=True):
        if new.cell_type != "code":
            continue
        where = f"{lesson}: {new.source[:60]!r}"
        errors = [o for o in new.outputs if o.output_type == "error"]
        assert new.execution_count, f"{where} did not run (errors above it?)"
        stderr = [o.text for o in new.outputs if o.get("name") == "stderr"]
        expected = "raises-exception" in new.metadata.get("tags", [])
        assert bool(errors) == expected, f"{where}: {[(e.ename, e.evalue) for e in errors]}"
        assert not stderr, (where, stderr)
        figures = [o for o in old.outputs if "image/png" in o.get("data", {})]
        rendered = [o for o in new.outputs if "image/png" in o.get("data", {})]
        assert len(rendered) == len(figures), (
            f"{where}: {len(rendered)} figures, stored {len(figures)}"
        )
