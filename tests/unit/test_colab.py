"""The Colab setup decides right without Colab: when to act, what to install, when to restart.

A Colab kernel has imported NumPy (and pandas) before the first cell runs, and a kernel restarted
by the learner imports it again: the setup must judge a loaded module by its version, not by its
presence, or it asks for a restart forever.
"""

import sys
import types

import pytest

from helpers import colab
from helpers.artifacts import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements.txt"
CPU_PACKAGES = colab.colab_requirements(REQUIREMENTS, gpu=False) + colab.colab_requirements(
    REPO_ROOT / "requirements-no-deps.txt", gpu=False
)
PINS = colab.pinned_versions(CPU_PACKAGES)
COLAB = {"google.colab": types.ModuleType("google.colab")}
COLAB_PREINSTALLED = {"numpy": "2.0.2", "tensorflow": "2.20.0", "keras": "3.13.0", "jax": "0.7.2"}


def module(name: str, version: str | None) -> types.ModuleType:
    """A stand-in for a module some earlier code imported, at `version`."""
    mod = types.ModuleType(name)
    if version is not None:
        mod.__version__ = version
    return mod


class Runtime:
    """A Colab runtime's packages: what pip has installed, updated by the calls to pip."""

    def __init__(self, installed: dict[str, str]):
        self.installed = dict(installed)
        self.pip_calls: list[list[str]] = []
        self.restarts = 0

    def version(self, name: str) -> str | None:
        return self.installed.get(name)

    def run(self, command, check=False, **_):
        assert check, "a failed pip install must stop the cell"
        self.pip_calls.append(command)
        if "-e" in command:
            self.installed[colab.WORKSHOP_DIST] = "0.1.0"
        else:
            self.installed.update(colab.pinned_versions(command[5:]))

    def restart(self):
        self.restarts += 1

    def setup(self, modules):
        return colab.setup_colab(
            REPO_ROOT,
            run=self.run,
            modules=modules,
            gpu=False,
            installed=self.version,
            restart=self.restart,
        )


def test_only_colab_counts_as_colab():
    assert colab.in_colab(COLAB) and not colab.in_colab({"IPython": object()})
    assert not colab.in_colab()  # this test process


def test_gpu_is_detected_by_nvidia_smi():
    assert colab.has_gpu(lambda name: "/usr/bin/nvidia-smi")
    assert not colab.has_gpu(lambda name: None)


def test_cpu_runtime_gets_full_tensorflow_and_the_same_versions():
    assert "tensorflow==2.21.0" in CPU_PACKAGES
    assert not any(p.startswith("tensorflow-cpu") for p in CPU_PACKAGES)  # Colab has `tensorflow`
    assert "jax==0.10.0" in CPU_PACKAGES and "jaxlib==0.10.0" in CPU_PACKAGES
    assert not any(
        p.startswith(("pytest", "ruff", "jupyterlab", "ipykernel")) for p in CPU_PACKAGES
    )
    assert all("==" in p and ";" not in p for p in CPU_PACKAGES)


def test_gpu_runtime_gets_cuda_builds():
    packages = colab.colab_requirements(REQUIREMENTS, gpu=True)
    assert "tensorflow[and-cuda]==2.21.0" in packages and "jax[cuda12]==0.10.0" in packages
    assert not any(p.startswith(("jaxlib", "tensorflow==")) for p in packages)
    assert colab.pinned_versions(packages)["tensorflow"] == "2.21.0"


def test_outside_colab_nothing_runs():
    runtime = Runtime({})
    assert colab.setup_colab(REPO_ROOT, run=runtime.run, modules={}) == []
    assert runtime.pip_calls == []


def test_nothing_preloaded_installs_pins_then_helpers_and_goes_on(monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", "/nowhere/mnist.npz")
    runtime = Runtime(COLAB_PREINSTALLED)
    assert runtime.setup(dict(COLAB)) == CPU_PACKAGES
    pip, editable = runtime.pip_calls
    assert pip[:4] == [sys.executable, "-m", "pip", "install"] and "tensorflow==2.21.0" in pip
    assert editable[-2:] == ["-e", str(REPO_ROOT)]
    assert runtime.restarts == 0
    assert "MNIST_NPZ" not in __import__("os").environ  # Keras downloads it in Colab


def test_numpy_preloaded_at_the_pinned_version_is_fine():
    runtime = Runtime(COLAB_PREINSTALLED)
    runtime.setup({**COLAB, "numpy": module("numpy", PINS["numpy"])})
    assert runtime.restarts == 0


def test_numpy_preloaded_at_another_version_restarts_once_then_passes(capsys):
    runtime = Runtime(COLAB_PREINSTALLED)
    with pytest.raises(RuntimeError, match=r"numpy 2\.0\.2 \(installed: 2\.4\.6\)"):
        runtime.setup({**COLAB, "numpy": module("numpy", "2.0.2")})  # Colab's own NumPy
    assert runtime.restarts == 1 and len(runtime.pip_calls) == 2
    assert "Restarting the runtime" in capsys.readouterr().out
    # The restarted kernel imports NumPy again, now the installed (pinned) one: no loop, no pip.
    assert runtime.setup({**COLAB, "numpy": module("numpy", PINS["numpy"])}) == []
    assert runtime.restarts == 1 and len(runtime.pip_calls) == 2
    assert "pinned stack is installed" in capsys.readouterr().out


def test_tensorflow_preloaded_at_colabs_version_is_stale():
    runtime = Runtime(COLAB_PREINSTALLED)
    modules = {**COLAB, "tensorflow": module("tensorflow", "2.20.0")}
    with pytest.raises(RuntimeError, match=r"tensorflow 2\.20\.0 \(installed: 2\.21\.0\)"):
        runtime.setup(modules)
    assert runtime.restarts == 1


def test_a_loaded_module_without_version_is_judged_by_what_was_installed_before():
    runtime = Runtime(COLAB_PREINSTALLED)
    with pytest.raises(RuntimeError, match=r"keras 3\.13\.0"):
        runtime.setup({**COLAB, "keras": module("keras", None)})
    runtime = Runtime({**COLAB_PREINSTALLED, "keras": PINS["keras"]})
    with pytest.raises(RuntimeError, match="numpy"):  # keras was already right; numpy was not
        runtime.setup({**COLAB, "keras": module("keras", None), "numpy": module("numpy", "2.0.2")})


def test_versions_compare_as_pip_compares_them():
    assert colab.same_version("2.21", "2.21.0") and not colab.same_version("2.21.0rc0", "2.21.0")
    assert colab.same_version("weird", "weird") and not colab.same_version("weird", "other")


def test_installed_version_reads_pips_metadata():
    assert colab.installed_version("numpy") == __import__("numpy").__version__
    assert colab.installed_version("no-such-distribution-here") is None


def test_every_notebook_opens_with_the_colab_cell():
    import nbformat

    cells = {}
    notebooks = [
        *(REPO_ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"),
        *(REPO_ROOT / "solutions").glob("*.ipynb"),
    ]
    for path in sorted(notebooks):
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        cells[path.name] = first.source
    assert cells and all('if "google.colab" in sys.modules:' in s for s in cells.values()), list(
        cells
    )
    assert len(cells) == 22 and len(set(cells.values())) == 1, (
        "one setup cell, identical everywhere"
    )
    assert len(next(iter(cells.values())).splitlines()) <= 12
    # Outside Colab it must do nothing at all: executing it here changes nothing.
    before = set(sys.modules)
    exec(compile(next(iter(cells.values())), "colab-cell", "exec"), {})
    assert set(sys.modules) == before


def test_restart_ends_the_kernel_process_as_colab_expects():
    import subprocess

    code = "from helpers import colab; colab.restart_runtime(); print('still alive')"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    assert done.returncode == -9 and b"still alive" not in done.stdout
