"""Set up a notebook process before TensorFlow or JAX is imported."""

import contextlib
import os
import platform
import sys
from importlib import metadata

# What each variable does, and why it must be set before the frameworks are imported.
QUIET_AND_SHARE = {
    # TensorFlow's C++ logs (and the oneDNN banner, which needs the second variable) would
    # otherwise land in stored notebook outputs that a pytest run never produces.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # JAX and TensorFlow in one process on one GPU: neither may grab all memory up front.
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
}

DEFAULT_PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "flax",
    "optax",
    "numpy",
)


def package_versions(packages=DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of `packages` (missing ones are left out), without importing them."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def prepare_environment(packages=DEFAULT_PACKAGES, *, show: bool = True) -> dict[str, str]:
    """Quiet TensorFlow, let TF and JAX share a GPU, and print the versions in use.

    Call it first in every notebook, before importing `tensorflow` or `jax`: the variables are
    read once, at import. Values already set in the environment win, so a user can override any.
    """
    for key, value in QUIET_AND_SHARE.items():
        os.environ.setdefault(key, value)
    versions = package_versions(packages)
    if show:
        print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}")
        for name, version in versions.items():
            print(f"  {name:<16}{version}")
    return versions


@contextlib.contextmanager
def native_stderr_silenced():
    """Discard what C++ code writes to file descriptor 2 inside the block.

    LiteRT logs "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++ the first time
    an interpreter allocates its tensors; no environment variable or Python logger reaches it, and
    a notebook would store it as output. Keep the block small: it hides real C++ errors too
    (Python exceptions still propagate).

    Defined for lesson 06 (`06_deploy`).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
