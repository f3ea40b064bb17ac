"""Time inference calls and measure model files, the same way for every runtime.

A shared, noisy machine makes single timings meaningless, so every figure is the median of
repeated calls after untimed warm-up calls (which absorb compilation, memory allocation and
tensor resizing). `compare_latency` calls the runtimes in turns, round after round, so a burst
of load from another process slows all of them alike instead of whichever was being timed.

The functions only call and time: a runtime that returns before its work is done (JAX
dispatches asynchronously) must be wrapped so that it waits, e.g.
`lambda: predict(x).block_until_ready()`.
"""

import math
import os
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path


def percentile(values, q: float) -> float:
    """The `q`-th percentile (0–100) of `values`, interpolated linearly as NumPy's default does.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("percentile of no values: measure at least one run")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    position = (len(data) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return data[low] + (data[high] - data[low]) * (position - low)


def summarize(times_ms) -> dict:
    """Median, 90th percentile and minimum of per-call times in milliseconds, and the times."""
    times_ms = [float(t) for t in times_ms]
    return {
        "median_ms": statistics.median(times_ms),
        "p90_ms": percentile(times_ms, 90),
        "min_ms": min(times_ms),
        "runs": len(times_ms),
        "times_ms": times_ms,
    }


def _check_counts(repeats, warmup):
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ValueError(f"repeats must be an int ≥ 1 (timed calls), got {repeats!r}")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise ValueError(f"warmup must be an int ≥ 0 (untimed calls first), got {warmup!r}")


def _check_callable(name, fn):
    if not callable(fn):
        raise TypeError(
            f"{name} must be a callable taking no arguments, got {type(fn).__name__}; "
            "bind the input first, e.g. lambda: model(images)."
        )


def measure_latency(
    fn: Callable[[], object],
    *,
    repeats: int = 20,
    warmup: int = 3,
    timer: Callable[[], float] = time.perf_counter,
) -> dict:
    """Call `fn()` `warmup` times untimed, then `repeats` times timed; summarize the timed calls.

    Args:
        fn: the call to time, with its input already bound (no arguments).
        repeats: number of timed calls.
        warmup: untimed calls made first: the first call of most runtimes compiles or allocates.
        timer: a clock in seconds (tests pass a fake one).

    Returns:
        `{"median_ms", "p90_ms", "min_ms", "runs", "times_ms"}`; report the median.
    """
    return compare_latency({"fn": fn}, repeats=repeats, warmup=warmup, timer=timer)["fn"]


def compare_latency(
    fns: Mapping[str, Callable[[], object]],
    *,
    repeats: int = 20,
    warmup: int = 3,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, dict]:
    """Time several calls in turns: each round calls every function once, in the given order.

    Warm-up rounds come first and are not timed. Interleaving spreads slow periods of a shared
    machine over all runtimes; the result maps each name to `measure_latency`'s summary.
    """
    _check_counts(repeats, warmup)
    if not fns:
        raise ValueError("nothing to time: pass at least one named callable")
    for name, fn in fns.items():
        _check_callable(f"fns[{name!r}]", fn)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = timer()
            fn()
            times[name].append((timer() - start) * 1000.0)
    return {name: summarize(values) for name, values in times.items()}


def in_batches(run: Callable, images, batch: int = 256):
    """`run` over the images `batch` at a time, outputs concatenated; the last batch is zero-padded.

    Why: a whole test set in one call makes every runtime allocate its activations for 10,000
    images at once (gigabytes, for several runtimes side by side), and a model converted for a
    static batch takes no other size. The padding rows are computed and dropped.

    >>> import numpy as np
    >>> in_batches(lambda x: x * 2, np.arange(5.0), batch=2).tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0]
    """
    import numpy as np

    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    images = np.asarray(images)
    outputs = []
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        n = len(chunk)
        if n < batch:
            chunk = np.concatenate([chunk, np.zeros((batch - n, *chunk.shape[1:]), chunk.dtype)])
        outputs.append(np.asarray(run(chunk))[:n])
    return np.concatenate(outputs)


def dir_size(path: str | os.PathLike) -> int:
    """Bytes on disk of a model: a file's size, or the sum over every file below a directory.

    Symbolic links are not followed (a link to a large file would otherwise count twice).
    """
    path = Path(path)
    if path.is_symlink() or not path.exists():
        raise FileNotFoundError(f"{path} does not exist (or is a link): nothing to measure")
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            item = Path(root) / name
            if not item.is_symlink():
                total += item.stat().st_size
    return total


def human_bytes(n: int) -> str:
    """`7_564_924` → `'7.56 MB'` (decimal units, as file managers show sizes).

    >>> human_bytes(1_919_264)
    '1.92 MB'
    """
    if n < 0:
        raise ValueError(f"a size cannot be negative, got {n}")
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover
