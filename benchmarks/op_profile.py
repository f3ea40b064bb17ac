"""Where one JAX training step's time goes: a `jax.profiler` trace, attributed to XLA's HLO ops.

Method (explained in the report, because the numbers depend on it):

1. The compiled step's optimized HLO (`compiled.as_text()`) gives every top-level op of the step
   (fusions, dots, convolutions, loops), what it computes (`metadata op_name`, e.g.
   `transpose(jvp(ConvModel.loss))/ConvModel/Dense_0/dot_general` is the backward Dense_0
   matmul) and the FLOPs of its dots and convolutions (from the shapes).
2. A profiler trace of a few windows of consecutive steps, each wrapped in a
   `TraceAnnotation`, records when each op ran (XLA:CPU emits one trace event per op, with `hlo_op` in its args).
3. Each instant of a step is attributed to the ops running then (split evenly when several run
   at once, on the two cores). XLA:CPU runs plain `dot` and `convolution` ops asynchronously in
   Eigen's thread pool: their event covers only the launch. An instant when no op runs is
   therefore attributed to such an op if it was launched and its first consumer has not started
   yet; otherwise it is an idle gap. Time before the first op and after the last one is
   dispatch and synchronisation, outside the compiled program.

The parsing and attribution are plain Python (unit-tested); only `profile_steps` needs JAX.
"""

import collections
import gzip
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "bench_train_step"  # the TraceAnnotation around each profiled step

# Ops that launch work on XLA:CPU's thread pool and return before it is done.
ASYNC_OPCODES = {"dot", "convolution"}
# Ops with no run-time work of their own (no trace event): follow through them to consumers.
PASS_THROUGH = {"bitcast", "get-tuple-element", "tuple", "parameter", "constant"}
RNG_WORDS = ("threefry", "_bernoulli", "_uniform", "random_bits", "rng")
LAYER = re.compile(r"(Conv_\d+|Dense_\d+|BatchNorm_\d+|Dropout_\d+|log_softmax|relu)")

CATEGORIES = (
    "matmul (dense layers)",
    "convolution",
    "batch norm (elementwise + reductions)",
    "other elementwise (bias, dropout, relu, loss)",
    "Adam update",
    "dropout RNG",
    "copies / layout",
    "idle (no op running)",
    "dispatch + sync (outside the program)",
)


@dataclass
class Instr:
    """One HLO instruction: `%name = shape opcode(operands), attributes`."""

    name: str
    opcode: str
    shape: str
    operands: list[str]
    op_name: str = ""
    calls: list[str] = field(default_factory=list)
    attributes: str = ""


_HEADER = re.compile(r"^(ENTRY\s+)?%(\S+)\s+\(.*\)\s+->\s+.*\{\s*$")
_INSTR = re.compile(r"^\s+(?:ROOT\s+)?%(\S+)\s+=\s+(.+?)\s([a-z][a-z0-9\-]*)\((.*)$")
_CALLS = re.compile(r"\b(?:calls|to_apply|body|condition)=%([\w.\-]+)")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_DIMS = re.compile(r"^[a-z][a-z0-9]*\[([\d,]*)\]")


def _split_args(rest: str) -> tuple[str, str]:
    """`a, b), attrs` → (`a, b`, `attrs`): the operand list up to its closing parenthesis."""
    depth = 0
    for i, ch in enumerate(rest):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            if depth == 0:
                return rest[:i], rest[i + 1 :]
            depth -= 1
    return rest, ""


def parse_hlo(text: str) -> tuple[dict[str, list[Instr]], str]:
    """Computations of an HLO module's text (`{name: [Instr, ...]}`) and the entry's name."""
    computations: dict[str, list[Instr]] = {}
    entry, current = "", None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            current = header.group(2)
            computations[current] = []
            if header.group(1):
                entry = current
            continue
        if line.startswith("}"):
            current = None
            continue
        match = _INSTR.match(line) if current is not None else None
        if match:
            name, shape, opcode, rest = match.groups()
            args, attributes = _split_args(rest)
            op_name = _OP_NAME.search(attributes)
            computations[current].append(
                Instr(
                    name=name,
                    opcode=opcode,
                    shape=shape,
                    operands=re.findall(r"%([\w.\-]+)", args),
                    op_name=op_name.group(1) if op_name else "",
                    calls=_CALLS.findall(attributes),
                    attributes=attributes,
                )
            )
    if not entry:
        raise ValueError("no ENTRY computation in this HLO text")
    return computations, entry


def dims(shape: str) -> tuple[int, ...] | None:
    """`f32[256,28,28,12]{3,2,1,0}` → (256, 28, 28, 12); None for tuples and tokens."""
    match = _DIMS.match(shape.strip())
    if not match:
        return None
    return tuple(int(d) for d in match.group(1).split(",") if d)


def _prod(values: Iterable[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def instr_flops(instr: Instr, shapes: dict[str, str]) -> int:
    """FLOPs of a dot or convolution (2 per multiply-add), from its shapes; 0 for other ops."""
    out = dims(instr.shape)
    if out is None or len(instr.operands) < 2:
        return 0
    if instr.opcode == "dot":
        lhs = dims(shapes.get(instr.operands[0], ""))
        contracting = re.search(r"lhs_contracting_dims=\{([\d,]*)\}", instr.attributes)
        if lhs is None or contracting is None:
            return 0
        k = _prod(lhs[int(i)] for i in contracting.group(1).split(",") if i)
        return 2 * _prod(out) * k
    if instr.opcode == "convolution":
        kernel = dims(shapes.get(instr.operands[1], ""))
        labels = re.search(r"dim_labels=\w+_(\w+)->", instr.attributes)
        if kernel is None or labels is None or "o" not in labels.group(1):
            return 0
        per_output = _prod(kernel) // kernel[labels.group(1).index("o")]
        return 2 * _prod(out) * per_output
    return 0


class HloModule:
    """The entry ops of a compiled module, with what they compute and their FLOPs."""

    def __init__(self, text: str):
        self.computations, self.entry_name = parse_hlo(text)
        self.entry = {i.name: i for i in self.computations[self.entry_name]}

    def _called(self, instr: Instr, seen=None) -> list[Instr]:
        """Every instruction of the computations `instr` calls, recursively."""
        seen = set() if seen is None else seen
        out = []
        for name in instr.calls:
            if name in seen or name not in self.computations:
                continue
            seen.add(name)
            for inner in self.computations[name]:
                out.append(inner)
                out.extend(self._called(inner, seen))
        return out

    def tag(self, name: str) -> str:
        """The op's `op_name`: its own, else the most common one among the ops it calls."""
        instr = self.entry[name]
        if instr.op_name:
            return instr.op_name
        inner = self._called(instr)
        names = [i.op_name for i in inner if i.op_name]
        if not names:
            return ""
        return collections.Counter(names).most_common(1)[0][0]

    def opcodes(self, name: str) -> set[str]:
        instr = self.entry[name]
        return {instr.opcode} | {i.opcode for i in self._called(instr)}

    def flops(self, name: str) -> int:
        """FLOPs of the dots and convolutions this op performs (fusions included)."""
        instr = self.entry[name]
        total = instr_flops(instr, {i.name: i.shape for i in self.computations[self.entry_name]})
        for comp in instr.calls:
            body = self.computations.get(comp, [])
            shapes = {i.name: i.shape for i in body}
            total += sum(instr_flops(i, shapes) for i in body)
        return total

    def category(self, name: str) -> str:
        """One of `CATEGORIES`, from the op's opcodes and what its `op_name` says it computes."""
        ops, tag = self.opcodes(name), self.tag(name)
        if "convolution" in ops:
            return "convolution"
        if "dot" in ops:
            return "matmul (dense layers)"
        if any(word in tag for word in RNG_WORDS) or ("while" in ops and not tag):
            return "dropout RNG"
        if tag and "jvp(" not in tag:
            return "Adam update"
        if "BatchNorm" in tag:
            return "batch norm (elementwise + reductions)"
        if not tag or ops <= PASS_THROUGH | {"copy", "transpose", "fusion", "broadcast"}:
            return "copies / layout"
        return "other elementwise (bias, dropout, relu, loss)"

    def label(self, name: str) -> str:
        """`bwd Dense_0 dot_general`: direction, layer and operation of an op, for the table."""
        tag = self.tag(name)
        direction = "bwd" if "transpose(jvp" in tag else "fwd" if "jvp(" in tag else ""
        layer = LAYER.search(tag)
        if tag:
            what = tag.rsplit("/", 1)[-1]
        else:  # e.g. an untagged fusion: name what it contains, `fusion(convolution)`
            inner = sorted(self.opcodes(name) - PASS_THROUGH - {self.entry[name].opcode})
            what = (
                f"{self.entry[name].opcode}({', '.join(inner)})"
                if inner
                else self.entry[name].opcode
            )
        return " ".join(p for p in (direction, layer.group(1) if layer else "", what) if p)

    def consumers(self) -> dict[str, set[str]]:
        """For each entry op, the ops that read its result (through bitcasts and tuples)."""
        direct = collections.defaultdict(set)
        for instr in self.entry.values():
            for operand in instr.operands:
                direct[operand].add(instr.name)

        def real(name, seen):
            out = set()
            for user in direct.get(name, ()):
                if user in seen:
                    continue
                seen.add(user)
                if self.entry[user].opcode in PASS_THROUGH:
                    out |= real(user, seen)
                else:
                    out.add(user)
            return out

        return {name: real(name, set()) for name in self.entry}


def attribute_window(
    ops: list[tuple[str, float, float]],
    window: tuple[float, float],
    async_ops: set[str],
    consumers: dict[str, set[str]],
) -> dict[str, float]:
    """Split a step's wall time among its ops; see the module docstring for the rules.

    `ops` are (name, start, end) events inside `window` (any time unit). Returns time per op
    name plus the keys "idle (no op running)" and "dispatch + sync (outside the program)";
    the values sum to the window's length.
    """
    start, end = window
    result: dict[str, float] = collections.defaultdict(float)
    if not ops:
        result["dispatch + sync (outside the program)"] = end - start
        return dict(result)
    first, last = min(s for _, s, _ in ops), max(e for _, _, e in ops)
    result["dispatch + sync (outside the program)"] = (first - start) + (end - last)
    starts = collections.defaultdict(list)
    for name, s, _ in ops:
        starts[name].append(s)
    pending = []  # (name, launched, first consumer start) of each async launch
    for name, s, e in ops:
        if name in async_ops:
            later = [t for c in consumers.get(name, ()) for t in starts.get(c, ()) if t >= e]
            pending.append((name, s, min(later) if later else last))
    bounds = sorted({first, last, *(t for _, s, e in ops for t in (s, e))})
    for t0, t1 in zip(bounds, bounds[1:], strict=False):
        dt = t1 - t0
        running = [n for n, s, e in ops if s <= t0 and e >= t1]
        if not running:
            running = [n for n, s, until in pending if s <= t0 and t1 <= until]
        if not running:
            result["idle (no op running)"] += dt
            continue
        for name in running:
            result[name] += dt / len(running)
    return dict(result)


def load_trace_events(log_dir: str | Path) -> list[dict]:
    """The events of the (newest) Chrome-format trace `jax.profiler` wrote under `log_dir`."""
    files = sorted(Path(log_dir).rglob("*.trace.json.gz"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise FileNotFoundError(f"no *.trace.json.gz under {log_dir}")
    with gzip.open(files[-1], "rt", encoding="utf-8") as f:
        data = json.load(f)
    return data["traceEvents"] if isinstance(data, dict) else data


def breakdown(
    events: list[dict],
    hlo_text: str,
    module: str,
    matmul_flops_per_s: float | None = None,
    steps_per_window: int = 1,
) -> dict:
    """Per-op and per-category time per step, from the windows marked by `MARKER` in a trace.

    `module` is a substring of the compiled module's name (`jit_train_step`); each marked
    window holds `steps_per_window` steps. Of several windows, the one with the median wall
    time is reported (a burst of load from another process spoils a window, not the report);
    all windows' times per step are listed. Times are per step; `share` is relative to the
    step's wall time.
    """
    hlo = HloModule(hlo_text)
    windows = [
        (e["ts"], e["ts"] + e["dur"])
        for e in events
        if e.get("ph") == "X" and e.get("name") == MARKER
    ]
    if not windows:
        raise ValueError(f"no {MARKER!r} events in the trace")
    op_events = [
        (e["args"]["hlo_op"], e["ts"], e["ts"] + e.get("dur", 0.0))
        for e in events
        if e.get("ph") == "X"
        and e.get("args", {}).get("hlo_op") in hlo.entry
        and module in e.get("args", {}).get("hlo_module", "")
    ]
    if not op_events:
        raise ValueError(f"the trace has no per-op events of {module!r} with known HLO names")
    async_ops = {n for n, i in hlo.entry.items() if i.opcode in ASYNC_OPCODES}
    consumers = hlo.consumers()
    walls = [(w[1] - w[0]) / steps_per_window for w in windows]
    chosen = sorted(range(len(windows)), key=lambda i: walls[i])[(len(windows) - 1) // 2]
    w = windows[chosen]
    inside = [op for op in op_events if w[0] <= op[1] and op[2] <= w[1]]
    totals = attribute_window(inside, w, async_ops, consumers)
    n = steps_per_window
    wall_us = walls[chosen]
    limit = matmul_flops_per_s

    def row(seconds, flops):
        per_s = flops / seconds if flops and seconds > 0 else None
        return {
            "ms": seconds * 1e3,
            "share": seconds * 1e6 / wall_us,
            "gflop": flops / 1e9,
            "gflops_per_s": per_s / 1e9 if per_s else None,
            "of_matmul_limit": per_s / limit if per_s and limit else None,
        }

    ops, by_category = [], collections.defaultdict(lambda: [0.0, 0, 0])
    for name, total_us in totals.items():
        seconds = total_us / n / 1e6
        if name in hlo.entry:
            category, flops = hlo.category(name), hlo.flops(name)
            ops.append(
                {"op": name, "what": hlo.label(name), "category": category, **row(seconds, flops)}
            )
        else:
            category, flops = name, 0
        cat = by_category[category]
        cat[0] += seconds
        cat[1] += flops
        cat[2] += 1
    categories = [
        {"category": c, "ops": v[2], **row(v[0], v[1])}
        for c, v in sorted(by_category.items(), key=lambda kv: -kv[1][0])
    ]
    ops.sort(key=lambda r: -r["ms"])
    return {
        "steps": n,
        "windows": len(windows),
        "window_ms_per_step": [t / 1e3 for t in walls],
        "wall_ms_per_step": wall_us / 1e3,
        "categories": categories,
        "top_ops": ops[:12],
        "hlo_ops": len(hlo.entry),
        "traced_ops": len({o[0] for o in op_events}),
    }


def profile_steps(
    run: Callable[[int], None], steps: int, windows: int = 1, log_dir: str | None = None
) -> list[dict]:
    """Trace `windows` marked windows of `run(steps)` (which waits for its last step); the events.

    The steps of a window run back to back as in the timed loop (each dispatched while the
    previous one computes), so the per-step wall time matches the throughput measurement.
    """
    import jax  # only the profiling process needs JAX

    options = jax.profiler.ProfileOptions()
    options.python_tracer_level = 0  # Python function events would only add overhead here
    with tempfile.TemporaryDirectory(prefix="bench-trace-") as tmp:
        target = log_dir or tmp
        jax.profiler.start_trace(target, create_perfetto_trace=False, profiler_options=options)
        try:
            for _ in range(windows):
                with jax.profiler.TraceAnnotation(MARKER):
                    run(steps)
        finally:
            jax.profiler.stop_trace()
        return load_trace_events(target)


_FUSION_KIND = re.compile(r"\bkind=(k\w+)")
_TARGET = re.compile(r'custom_call_target="([^"]+)"')
_HEAVY = {"convolution", "dot", "custom-call", "copy"}  # FLOPs, or bytes moved: shown by shape


def op_kinds(text: str) -> collections.Counter:
    """What one compiled step runs: its entry computation's ops by kind, heavy ops by shape.

    A fusion counts as `fusion:kLoop` (or kInput, kOutput...); a custom call by its target
    (e.g. a oneDNN matmul); convolutions, dots, custom calls and copies once more with their
    output shape, so that the same product computed in another layout, or a weight copied every
    step, shows up.
    """
    computations, entry = parse_hlo(text)
    kinds: collections.Counter = collections.Counter()
    for instr in computations[entry]:
        if instr.opcode in PASS_THROUGH:
            continue
        kind = instr.opcode
        if kind == "fusion" and (match := _FUSION_KIND.search(instr.attributes)):
            kind = f"fusion:{match.group(1)}"
        elif kind == "custom-call" and (match := _TARGET.search(instr.attributes)):
            kind = f"custom-call:{match.group(1)}"
        kinds[kind] += 1
        if instr.opcode in _HEAVY:
            kinds[f"{kind} {instr.shape.split('{')[0]}"] += 1
    return kinds


def compare_programs(programs: dict[str, str]) -> dict:
    """Op kinds of the same step compiled by two XLAs, side by side: only the kinds that differ.

    `programs`: {label: optimized HLO text}. Returns {"totals": {label: ops}, "differences":
    [{"kind": ..., label: count, ...}, ...]} with the largest differences first.
    """
    counts = {label: op_kinds(text) for label, text in programs.items()}
    labels = list(counts)
    kinds = sorted(set().union(*counts.values()))
    rows = [{"kind": k, **{label: counts[label][k] for label in labels}} for k in kinds]
    rows = [r for r in rows if len({r[label] for label in labels}) > 1]
    rows.sort(key=lambda r: (-max(r[x] for x in labels) + min(r[x] for x in labels), r["kind"]))
    totals = {label: sum(v for k, v in c.items() if " " not in k) for label, c in counts.items()}
    return {"totals": totals, "differences": rows}
