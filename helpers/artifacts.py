"""Where stages hand over their files, and how those files are written without ever half-existing.

Stages exchange data only through `artifacts/NN_stage/` (checkpoints, SavedModels, JSON). Writes go
to a temporary name in the same folder and are renamed into place when complete, so an interrupted
run never leaves a half-written artifact where the next stage would read it.
"""

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

from helpers.environment import package_versions
from helpers.seed import workshop_seed

REPO_ROOT = Path(__file__).resolve().parent.parent


class MissingArtifactError(FileNotFoundError):
    """An input a stage needs is not there; the message names the stage to run."""


def artifacts_dir() -> Path:
    """The artifacts root: `$ARTIFACTS_DIR` if set, else `<repo>/artifacts`.

    Found from this package's location, not the kernel's working directory, so notebooks,
    tests and scripts agree wherever they are started.
    """
    env = os.environ.get("ARTIFACTS_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "artifacts"


def stage_dir(stage: str, *, create: bool = True) -> Path:
    """`artifacts/<stage>/`, e.g. `stage_dir("03_jax_training")`."""
    path = artifacts_dir() / stage
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def scratch_dir(name: str) -> Path:
    """`artifacts/scratch/<name>/`, emptied: where solutions and experiments write.

    The solutions notebooks (`solutions/`) re-run parts of the lessons with other settings; writing
    here keeps every lesson's own artifacts exactly as its last run left them.

    >>> import os, tempfile
    >>> os.environ["ARTIFACTS_DIR"] = tempfile.mkdtemp()
    >>> scratch = scratch_dir("03_solutions")
    >>> _ = (scratch / "x.txt").write_text("1")
    >>> list(scratch_dir("03_solutions").iterdir())  # a second call starts empty again
    []
    >>> del os.environ["ARTIFACTS_DIR"]
    """
    path = artifacts_dir() / "scratch" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def display_path(path: str | os.PathLike) -> str:
    """`artifacts/...` for a path under the artifacts root (what notebooks print), else the path."""
    path = Path(path)
    try:
        return str(Path("artifacts") / path.resolve().relative_to(artifacts_dir().resolve()))
    except ValueError:
        return str(path)


_display = display_path


def require(path: str | os.PathLike, producer: str) -> Path:
    """Return `path` (relative to the artifacts root, or absolute) if it exists, else raise.

    The error is one sentence naming the notebook to run, e.g. "Missing
    artifacts/03_jax_training/checkpoint — run notebooks/03_jax_training.ipynb first (make
    03_jax_training)." It raises rather than prints so nbval and CI fail at the right cell.
    """
    full = Path(path)
    if not full.is_absolute():
        full = artifacts_dir() / full
    if not full.exists():
        raise MissingArtifactError(
            f"Missing {display_path(full)} — run notebooks/{producer}.ipynb first (make {producer})."
        )
    return full


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once: changing the umask is process-wide


def _temp_sibling(path: Path, kind: str) -> Path:
    """A new, empty temp file or dir next to `path`, with the permissions a plain create gives.

    `mkstemp`/`mkdtemp` create 0600/0700 entries; without the chmod every artifact would be
    private to its writer (a container or another user serving the model could not read it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dir":
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        os.chmod(tmp, 0o777 & ~_UMASK)
        return tmp
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_UMASK)
    return Path(name)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    tmp = _temp_sibling(path, "file")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_npz(path: str | os.PathLike, **arrays) -> Path:
    """`atomic_write_bytes` for a NumPy `.npz` of `arrays` (`np.savez` would write in place)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def _to_jsonable(obj: Any) -> Any:
    """NumPy/JAX scalars and arrays become plain numbers and lists."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write `obj` as indented JSON (NumPy scalars and arrays allowed)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_to_jsonable) + "\n")


def read_json(path: str | os.PathLike, producer: str | None = None) -> Any:
    """Read JSON; with `producer`, a missing file raises `require`'s message."""
    path = require(path, producer) if producer else Path(path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Build a directory under a temporary name, then swap it in for `path` when the block ends.

    If the block raises, the temporary directory is removed and whatever was at `path` is left
    untouched. On success the old directory is first moved aside, then the new one renamed in,
    then the old one deleted. SavedModels and checkpoints are written this way.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_dir(root / "model") as tmp:
    ...     _ = (tmp / "weights.bin").write_bytes(b"1")
    >>> sorted(p.name for p in (root / "model").iterdir())
    ['weights.bin']
    """
    path = Path(path)
    tmp = _temp_sibling(path, "dir")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
    except BaseException:  # the swap failed: put the previous directory back
        if old is not None and (old / path.name).exists() and not path.exists():
            os.replace(old / path.name, path)
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_manifest(
    stage: str,
    *,
    config: dict | None = None,
    results: dict | None = None,
    files: list[str] | None = None,
    inputs: list[str] | None = None,
) -> Path:
    """Write `artifacts/<stage>/manifest.json`: who produced what, with which config and versions.

    A consumer prints it to show what it loaded; later lessons and `make claims` read its `results`. The
    run's `WORKSHOP_SEED` and the CPUs it could use are recorded, since both move the numbers.
    """
    manifest = {
        "stage": stage,
        "producer": f"notebooks/{stage}.ipynb",
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "seed": workshop_seed(),
        "versions": package_versions(),
        "config": config or {},
        "results": results or {},
        "inputs": inputs or [],
        "files": files or [],
    }
    return write_json(stage_dir(stage) / "manifest.json", manifest)
