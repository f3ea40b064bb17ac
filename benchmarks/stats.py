"""The benchmark's arithmetic: FLOP counts, medians and ratios, the interleaved timing loop, and
the op kinds of two compiled XLA programs side by side.

Plain Python, no framework imports, so `tests/unit/test_bench_math.py` checks it in milliseconds
and the printed numbers cannot drift from what the tests pin down.
"""

import collections
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

from helpers.latency import percentile  # lesson 06's: interpolated as NumPy's default

# Backward costs twice the forward: for every layer, one product for the gradient with respect
# to its input and one for the gradient with respect to its weights, each as large as the
# forward product. (The first layer's input gradient is not needed; XLA skips it, the
# convention counts it: the difference for this model is 1.4%.)
TRAIN_TO_FORWARD = 3


def matmul_flops(n: int) -> int:
    """FLOPs of an n×n by n×n matrix product: n² outputs, each n multiplies and n adds."""
    return 2 * n**3


def dense_flops(n_in: int, n_out: int) -> int:
    """FLOPs of one image through a dense layer (multiply-adds of the kernel; bias left out)."""
    return 2 * n_in * n_out


def conv2d_flops(out_h: int, out_w: int, kh: int, kw: int, c_in: int, c_out: int) -> int:
    """FLOPs of one image through a convolution: each output value is a kh·kw·c_in dot product."""
    return 2 * out_h * out_w * kh * kw * c_in * c_out


def kernel_shapes(params: Mapping, prefix: str = "") -> dict[str, tuple[int, ...]]:
    """`{"Conv_0/kernel": (3, 3, 1, 12), ...}` from a Flax params tree (leaves need `.shape`)."""
    shapes = {}
    for key, value in params.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            shapes.update(kernel_shapes(value, prefix=f"{path}/"))
        elif key == "kernel":
            shapes[path] = tuple(int(d) for d in value.shape)
    return shapes


def forward_flops_per_image(kernels: Mapping[str, Sequence[int]], image_hw=(28, 28)) -> int:
    """Forward FLOPs of one image, from the model's kernel shapes.

    4-d kernels `(kh, kw, c_in, c_out)` are stride-1 SAME convolutions over the `image_hw`
    image (the workshop's model has no pooling); 2-d kernels `(n_in, n_out)` are dense layers.
    Biases, batch norm, dropout and activations are elementwise: they are left out (< 1%).
    """
    total = 0
    for name, shape in kernels.items():
        if len(shape) == 4:
            total += conv2d_flops(*image_hw, *shape)
        elif len(shape) == 2:
            total += dense_flops(*shape)
        else:
            raise ValueError(f"{name}: a kernel of shape {tuple(shape)} is neither conv nor dense")
    return total


def train_flops_per_image(kernels: Mapping[str, Sequence[int]], image_hw=(28, 28)) -> int:
    """Forward + backward FLOPs of one training image: `TRAIN_TO_FORWARD` × the forward."""
    return TRAIN_TO_FORWARD * forward_flops_per_image(kernels, image_hw)


def median(values: Sequence[float]) -> float:
    """The median; robust to the odd sample another process slowed down."""
    if not values:
        raise ValueError("median of no samples")
    return statistics.median(values)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float | None:
    """Median over rounds of numerator[i] / denominator[i]: two contenders timed in the same rounds.

    Each round of `interleaved` times every contender back to back, so a load change between
    rounds scales both samples of a round alike and cancels in their ratio; the median of these
    per-round ratios is steadier than the ratio of the two medians.
    """
    if not numerator or len(numerator) != len(denominator):
        return None
    pairs = [n / d for n, d in zip(numerator, denominator, strict=True) if d > 0]
    return median(pairs) if pairs else None


def summarize(seconds_per_iteration: Sequence[float], batch: int) -> dict:
    """Median and quartiles of per-iteration times, and the median throughput in images/s.

    `spread` is the interquartile range relative to the median: how noisy the machine was.
    """
    med = median(seconds_per_iteration)
    p25, p75 = percentile(seconds_per_iteration, 25), percentile(seconds_per_iteration, 75)
    return {
        "median_s": med,
        "p25_s": p25,
        "p75_s": p75,
        "min_s": min(seconds_per_iteration),
        "spread": (p75 - p25) / med,
        "images_per_second": batch / med,
        "samples": len(seconds_per_iteration),
    }


def interleaved(
    contenders: Mapping[str, Callable[[int], float | None]],
    *,
    repeats: int,
    target_seconds: float,
    warmup: int = 2,
    max_iterations: int = 1000,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, dict]:
    """Time every contender `repeats` times, round-robin, so a load change hits all alike.

    `run(n)` performs n iterations and returns only once they are done (it synchronises); it may
    return its own measured seconds (e.g. without a per-call set-up it does not want timed)
    instead of the wall time around the call. Each contender first runs `warmup` single
    iterations (the first compiles); the last one is timed to pick n so that one sample takes about
    `target_seconds`. The first contender of each round rotates, so none always runs first.

    Returns `{name: {"iterations": n, "first_call_s": s, "seconds_per_iteration": [...]}}`, one
    value per repeat.
    """

    def timed(run, n):
        start = clock()
        own = run(n)
        elapsed = clock() - start
        return own if own is not None else elapsed

    iterations, first_call = {}, {}
    for name, run in contenders.items():
        first_call[name] = timed(run, 1)  # includes compiling: reported, never in the medians
        for _ in range(max(warmup, 1) - 2):
            run(1)
        one = timed(run, 1) if warmup > 1 else first_call[name]
        iterations[name] = max(1, min(max_iterations, round(target_seconds / max(one, 1e-9))))
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            n = iterations[name]
            samples[name].append(timed(contenders[name], n) / n)
    return {
        name: {
            "iterations": iterations[name],
            "first_call_s": first_call[name],
            "seconds_per_iteration": samples[name],
        }
        for name in names
    }


# --------------------------------------------------------------------------- XLA programs

_ENTRY = re.compile(r"^ENTRY .*?^\}", re.M | re.S)  # the entry computation, not fused bodies
_OP = re.compile(r"^\s+(?:ROOT )?%\S+ = (.+?) ([a-z][\w-]*)\((.*)$", re.M)  # shape opcode(...
_DETAIL = re.compile(r'\bkind=(k\w+)|custom_call_target="([^"]+)"')
NO_WORK = {"parameter", "constant", "bitcast", "get-tuple-element", "tuple"}
BY_SHAPE = {"convolution", "dot", "custom-call", "copy"}  # FLOPs or bytes moved: also by shape


def op_kinds(hlo_text: str) -> collections.Counter:
    """What one compiled step runs: the ops of its entry computation (`compiled.as_text()`).

    A fusion counts by its kind (`fusion:kLoop`; `fusion:kCustom` is XNNPACK's `ynn_fusion`), a
    custom call by its target (`custom-call:__onednn$matmul`); convolutions, dots, custom calls
    and copies once more with their output shape (`copy f32[9408,200]`: a weight copied every step).
    """
    entry = _ENTRY.search(hlo_text)
    if entry is None:
        raise ValueError("no ENTRY computation in this HLO text")
    kinds: collections.Counter = collections.Counter()
    for shape, opcode, rest in _OP.findall(entry.group()):
        if opcode in NO_WORK:
            continue
        detail = _DETAIL.search(rest) if opcode in ("fusion", "custom-call") else None
        kind = f"{opcode}:{detail.group(1) or detail.group(2)}" if detail else opcode
        kinds[kind] += 1
        if opcode in BY_SHAPE:
            kinds[f"{kind} {shape.split('{')[0]}"] += 1
    return kinds


def compare_programs(programs: Mapping[str, str]) -> dict:
    """Op kinds of the same step compiled by two XLAs: `{"totals": {label: ops}, "differences":
    [{"kind": ..., label: count, ...}, ...]}`, only the kinds whose counts differ, largest first.
    """
    counts = {label: op_kinds(text) for label, text in programs.items()}
    rows = [
        {"kind": kind, **{label: c[kind] for label, c in counts.items()}}
        for kind in sorted(set().union(*counts.values()))
    ]
    rows = [r for r in rows if len({r[label] for label in counts}) > 1]
    rows.sort(key=lambda r: min(r[x] for x in counts) - max(r[x] for x in counts))  # stable
    totals = {label: sum(n for k, n in c.items() if " " not in k) for label, c in counts.items()}
    return {"totals": totals, "differences": rows}
