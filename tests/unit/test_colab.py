"""The Colab setup decides right without Colab: when to act, what to install, what to refuse."""

import sys

import pytest

from helpers import colab
from helpers.artifacts import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements.txt"
COLAB = {"google.colab": object()}


def test_only_colab_counts_as_colab():
    assert colab.in_colab(COLAB) and not colab.in_colab({"IPython": object()})
    assert not colab.in_colab()  # this test process


def test_gpu_is_detected_by_nvidia_smi():
    assert colab.has_gpu(lambda name: "/usr/bin/nvidia-smi")
    assert not colab.has_gpu(lambda name: None)


def test_cpu_runtime_gets_full_tensorflow_and_the_same_versions():
    packages = colab.colab_requirements(REQUIREMENTS, gpu=False)
    assert "tensorflow==2.21.0" in packages
    assert not any(p.startswith("tensorflow-cpu") for p in packages)  # Colab has `tensorflow`
    assert "jax==0.10.0" in packages and "jaxlib==0.10.0" in packages
    assert not any(p.split("==")[0] in colab.NOT_IN_COLAB for p in packages)
    assert all("==" in p and ";" not in p for p in packages)


def test_gpu_runtime_gets_cuda_builds():
    packages = colab.colab_requirements(REQUIREMENTS, gpu=True)
    assert "tensorflow[and-cuda]==2.21.0" in packages and "jax[cuda12]==0.10.0" in packages
    assert not any(p.startswith(("jaxlib", "tensorflow==")) for p in packages)


def test_outside_colab_nothing_runs():
    calls = []
    assert colab.setup_colab(REPO_ROOT, run=lambda *a, **k: calls.append(a), modules={}) == []
    assert calls == []


def test_in_colab_installs_pins_then_helpers(monkeypatch):
    calls = []
    monkeypatch.setenv("MNIST_NPZ", "/nowhere/mnist.npz")
    fresh = dict(COLAB)  # a new Colab process: nothing of the stack imported yet
    packages = colab.setup_colab(
        REPO_ROOT, run=lambda cmd, **k: calls.append(cmd), modules=fresh, gpu=False
    )
    assert (
        calls[0][:4] == [sys.executable, "-m", "pip", "install"]
        and "tensorflow==2.21.0" in calls[0]
    )
    assert calls[1][-2:] == ["-e", str(REPO_ROOT)]
    assert packages == colab.colab_requirements(REQUIREMENTS, gpu=False)
    assert "MNIST_NPZ" not in __import__("os").environ  # Keras downloads it in Colab


def test_in_colab_asks_for_a_restart_when_numpy_was_already_imported():
    stale = {**COLAB, "numpy": object()}
    with pytest.raises(RuntimeError, match="numpy was imported before.*restart the session"):
        colab.setup_colab(REPO_ROOT, run=lambda *a, **k: None, modules=stale, gpu=True)


def test_every_lesson_opens_with_the_colab_cell():
    import nbformat

    cells = {}
    for path in sorted((REPO_ROOT / "notebooks").glob("0*.ipynb")):
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        cells[path.name] = first.source
    assert cells and all('if "google.colab" in sys.modules:' in s for s in cells.values()), list(
        cells
    )
    assert len(set(cells.values())) == 1, "one setup cell, identical in every lesson"
    # Outside Colab it must do nothing at all: executing it here changes nothing.
    before = set(sys.modules)
    exec(compile(next(iter(cells.values())), "colab-cell", "exec"), {})
    assert set(sys.modules) == before
