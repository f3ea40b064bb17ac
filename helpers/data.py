"""MNIST from a local file first; lesson 01 builds the `tf.data` pipelines on top of it.

Workshops often run offline, so the loader looks for a file before it touches the network:
`$MNIST_NPZ`, then Keras' own cache, then a download the way
`tf.keras.datasets.mnist.load_data()` does it. Whatever it loads is checked, so a truncated or
foreign file fails here, with a message that says how to fix it, instead of deep in training.
"""

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

# Exactly what keras.datasets.mnist.load_data() downloads and checks.
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

EXPECTED = {
    "x_train": ((60000, 28, 28), np.uint8),
    "y_train": ((60000,), np.uint8),
    "x_test": ((10000, 28, 28), np.uint8),
    "y_test": ((10000,), np.uint8),
}

HOW_TO_FIX = (
    "Provide Keras' mnist.npz (uint8 x_train 60000x28x28, y_train, x_test, y_test): "
    "set MNIST_NPZ=/path/to/mnist.npz, or place it at {cache} (`make data` does, once online)."
)


class MnistUnavailableError(RuntimeError):
    """MNIST could not be found, downloaded or validated; the message says how to provide it."""


def keras_cache_path() -> Path:
    """Where Keras keeps its download: `$KERAS_HOME/datasets/mnist.npz` (default `~/.keras`)."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets" / "mnist.npz"


def _how_to_fix() -> str:
    return HOW_TO_FIX.format(cache=keras_cache_path())


def _download() -> Path:
    """Download (and hash-check) into Keras' cache exactly as `mnist.load_data()` does."""
    import keras  # lazy: only when no local file exists

    return Path(keras.utils.get_file("mnist.npz", origin=MNIST_URL, file_hash=MNIST_SHA256))


def locate_mnist() -> Path:
    """The file `load_mnist` will read, downloading it only if nothing local exists."""
    env = os.environ.get("MNIST_NPZ")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise MnistUnavailableError(
                f"MNIST_NPZ points to {path}, which does not exist. " + _how_to_fix()
            )
        return path
    cached = keras_cache_path()
    if cached.is_file():
        return cached
    try:
        return _download()
    except Exception as err:  # no network, proxy, hash mismatch, ...
        raise MnistUnavailableError(
            f"MNIST is not available locally and the download from {MNIST_URL} failed "
            f"({type(err).__name__}: {err}). " + _how_to_fix()
        ) from err


def describe_source() -> str:
    """Where `load_mnist` reads from, named without this machine's paths (for outputs and manifests).

    >>> import os; os.environ["MNIST_NPZ"] = "/data/mnist.npz"; describe_source()
    '$MNIST_NPZ (mnist.npz)'
    """
    env = os.environ.get("MNIST_NPZ")
    if env:
        return f"$MNIST_NPZ ({Path(env).name})"
    home = "$KERAS_HOME" if os.environ.get("KERAS_HOME") else "~/.keras"
    if keras_cache_path().is_file():
        return f"Keras' cache ({home}/datasets/mnist.npz)"
    return f"a download from {MNIST_URL} into {home}/datasets/"


def validate_mnist(arrays: dict, source: str | os.PathLike) -> None:
    """Raise `MnistUnavailableError` unless `arrays` look like Keras' MNIST."""
    for key, (shape, dtype) in EXPECTED.items():
        if key not in arrays:
            raise MnistUnavailableError(
                f"{source} is not Keras' mnist.npz: it has no '{key}' array "
                f"(found {sorted(arrays)}). " + _how_to_fix()
            )
        value = arrays[key]
        if value.shape != shape or value.dtype != dtype:
            raise MnistUnavailableError(
                f"{source} is not Keras' mnist.npz: '{key}' is {value.dtype}{list(value.shape)}, "
                f"expected {np.dtype(dtype)}{list(shape)}. " + _how_to_fix()
            )
    for key in ("y_train", "y_test"):
        if arrays[key].max() > 9:
            raise MnistUnavailableError(
                f"{source} is not Keras' mnist.npz: '{key}' has labels above 9. " + _how_to_fix()
            )


def load_mnist():
    """Return `(x_train, y_train), (x_test, y_test)` as uint8 NumPy arrays, like Keras does.

    Raises:
        MnistUnavailableError: missing, unreadable or wrong file (names it, and how to fix it).
    """
    path = locate_mnist()
    try:
        loaded = np.load(path, allow_pickle=False)  # never unpickle a file we were pointed at
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
            raise ValueError("it holds a single array, not an .npz archive of named arrays")
        with loaded as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as err:
        reason = f"{type(err).__name__}: {err}"
        # NumPy would suggest allow_pickle=True: wrong advice for a file we were pointed at
        if "pickle" in str(err):
            reason = "NumPy reads it as pickled data, and this loader never unpickles (allow_pickle=False)"
        raise MnistUnavailableError(
            f"Cannot read {path} as an .npz file ({reason}). " + _how_to_fix()
        ) from err
    validate_mnist(arrays, path)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def install_to_keras_cache() -> Path:
    """`make data`: put a validated MNIST into Keras' cache, from `$MNIST_NPZ` or a download.

    After this, every lesson finds MNIST without `MNIST_NPZ` and without the network, which is
    what a classroom wants: run it once per machine before the day.
    """
    import shutil

    from helpers.artifacts import atomic_write_bytes

    target = keras_cache_path()
    env = os.environ.get("MNIST_NPZ")
    if env:
        source = locate_mnist()  # raises with the fix if MNIST_NPZ is wrong
        load_mnist()  # validates the file before it is copied
        if not (target.is_file() and target.resolve() == source.resolve()):
            atomic_write_bytes(target, source.read_bytes())
        print(
            f"copied $MNIST_NPZ into Keras' cache ({target.name}, {target.stat().st_size:,} bytes)"
        )
    elif target.is_file():
        print("MNIST is already in Keras' cache")
    else:
        try:
            path = _download()
        except Exception as err:
            raise MnistUnavailableError(
                f"the download from {MNIST_URL} failed ({type(err).__name__}: {err}). "
                + _how_to_fix()
            ) from err
        if path != target:
            shutil.copyfile(path, target)
        print("downloaded MNIST into Keras' cache")
    os.environ.pop("MNIST_NPZ", None)
    load_mnist()  # what the lessons will now read
    return target


if __name__ == "__main__":
    install_to_keras_cache()
