"""Google Colab: install the workshop's pinned stack the way a Colab runtime needs it.

Colab (Python 3.13) preinstalls its own TensorFlow (the full `tensorflow` package, with CUDA on
GPU runtimes), Keras, JAX and Flax, at other versions than the ones this workshop pins and tests
together, and it imports NumPy (and pandas) before the first cell runs. The first code cell of
every lesson clones the workshop (Colab has only the notebook) and calls `setup_colab`, which
installs the pins over Colab's packages: `tensorflow` rather than `tensorflow-cpu` (replacing
Colab's own), and the CUDA builds of TensorFlow and JAX on a GPU runtime. A module that this
process had already imported at another version than the pinned one is *stale*: the cell then
restarts the runtime once (as Colab notebooks do, by ending the kernel, which Colab restarts);
the next run finds the pins installed, installs nothing, and goes on. MNIST then comes from
Keras' download (Colab is online). Outside Colab nothing happens.
"""

import importlib
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

# Where a distribution's import name is not its own name with `-` turned into `_`.
IMPORT_NAMES = {
    "protobuf": "google.protobuf",
    "orbax-checkpoint": "orbax.checkpoint",
    "orbax-export": "orbax.export",
}
WORKSHOP_DIST = "jax2tf-workshop-helpers"  # pyproject.toml's name: `helpers`, importable anywhere


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
        if name == "jaxlib" and gpu:
            continue  # jax[cuda12] brings the matching jaxlib
        if name in ("tensorflow", "tensorflow-cpu"):
            line = f"tensorflow[and-cuda]=={version}" if gpu else f"tensorflow=={version}"
        elif name == "jax" and gpu:
            line = f"jax[cuda12]=={version}"
        if line not in lines:
            lines.append(line)
    return lines


def pinned_versions(packages: list[str]) -> dict[str, str]:
    """{distribution: version} of pip requirement lines, extras dropped.

    >>> pinned_versions(["tensorflow[and-cuda]==2.21.0", "ml_dtypes==0.6.0"])
    {'tensorflow': '2.21.0', 'ml-dtypes': '0.6.0'}
    """
    pins = {}
    for line in packages:
        name, _, version = line.partition("==")
        pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version
    return pins


def same_version(a: str | None, b: str | None) -> bool:
    """Versions equal as pip compares them (`2.21` is `2.21.0`); unparsable ones as text.

    >>> same_version("2.21", "2.21.0"), same_version("2.0.2", "2.4.6"), same_version(None, "1")
    (True, False, False)
    """
    if a is None or b is None:
        return False
    try:
        from packaging.version import Version  # in every Colab runtime and in the venv

        return Version(a) == Version(b)
    except Exception:  # no packaging, or not a PEP 440 version
        return a == b


def installed_version(distribution: str) -> str | None:
    """The version pip installed of `distribution`, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def stale_modules(pins: dict[str, str], modules, before: dict[str, str | None]) -> list[str]:
    """'numpy 2.0.2 (installed: 2.4.6)' for each pinned module loaded at another version.

    A loaded module's version is its `__version__`, or, without one, what was installed before
    this cell's install ran. Modules not loaded yet are fine: they import the pinned version.
    """
    stale = []
    for name, pinned in pins.items():
        module = modules.get(IMPORT_NAMES.get(name, name.replace("-", "_")))
        if module is None:
            continue
        loaded = getattr(module, "__version__", None) or before.get(name)
        if loaded is not None and not same_version(str(loaded), pinned):
            stale.append(f"{name} {loaded} (installed: {pinned})")
    return stale


def restart_runtime() -> None:
    """End this kernel: Colab starts a fresh one, which imports the installed versions."""
    os.kill(os.getpid(), signal.SIGKILL)


def setup_colab(
    workshop: str | os.PathLike,
    *,
    run=subprocess.run,
    modules=None,
    gpu=None,
    installed=installed_version,
    restart=restart_runtime,
) -> list[str]:
    """In Colab: install what the pins still need, restart once if a stale module is loaded.

    Returns what was installed (empty outside Colab, and when every pin was already installed).
    """
    modules = sys.modules if modules is None else modules
    if not in_colab(modules):
        return []
    workshop = Path(workshop)
    gpu = has_gpu() if gpu is None else gpu
    # requirements-no-deps.txt's pins need `tensorflow`, which Colab has: one install resolves both.
    packages = [
        *colab_requirements(workshop / "requirements.txt", gpu),
        *colab_requirements(workshop / "requirements-no-deps.txt", gpu),
    ]
    pins = pinned_versions(packages)
    before = {name: installed(name) for name in pins}
    missing = [name for name, version in pins.items() if not same_version(before[name], version)]
    if missing:  # pip skips what is already satisfied, and resolves the rest together
        print(f"Colab: installing the workshop's pinned stack ({len(missing)} packages to change)…")
        run([sys.executable, "-m", "pip", "install", "--quiet", *packages], check=True)
        importlib.invalidate_caches()
    if installed(WORKSHOP_DIST) is None:
        run(  # quiet: setuptools warns about every editable install, even with --quiet
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(workshop)],
            check=True,
            capture_output=True,
        )
    if str(workshop) not in sys.path:
        sys.path.insert(0, str(workshop))
    os.environ.pop("MNIST_NPZ", None)  # Colab is online: Keras downloads MNIST into its cache
    stale = stale_modules(pins, modules, before)
    if stale:
        message = (
            f"Colab had already imported {', '.join(stale)}. Restarting the runtime so that the "
            "pinned versions load; when Colab has reconnected, run this cell again (nothing is "
            "installed twice)."
        )
        print(message, flush=True)
        restart()
        raise RuntimeError(message)  # only reached where the runtime could not be restarted
    print(f"Colab: the workshop's pinned stack is installed ({len(pins)} packages).")
    return [line for line, name in zip(packages, pins, strict=True) if name in missing]
