"""The report benchmarks/README.md quotes: `render(results)`, one section per question, and the
markdown tables and number formats it is made of. It reads only the results dict `run.py` builds.
"""

import math
from collections.abc import Sequence
from pathlib import Path


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_number(value: float | None, digits: int = 0) -> str:
    """`12,345` / `3.14`; a missing value prints as an en dash."""
    return "–" if _missing(value) else f"{value:,.{digits}f}"


def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds with three significant figures: `0.0123` → `12.3 ms`."""
    if _missing(seconds):
        return "–"
    ms = seconds * 1000
    digits = 2 if ms < 10 else 1 if ms < 100 else 0
    return f"{ms:,.{digits}f} ms"


def fmt_ratio(value: float | None) -> str:
    """A speed ratio: `1.08×`."""
    return "–" if _missing(value) else f"{value:.2f}×"


def fmt_gflops(flops_per_second: float | None) -> str:
    """FLOP/s as `71.2 GFLOP/s`."""
    return "–" if _missing(flops_per_second) else f"{flops_per_second / 1e9:,.1f} GFLOP/s"


def fmt_mib(n_bytes: float | None) -> str:
    """Bytes as `1,234 MiB`."""
    return "–" if _missing(n_bytes) else f"{n_bytes / 2**20:,.0f} MiB"


def fmt_percent(fraction: float | None) -> str:
    """`0.345` → `34.5%`."""
    return "–" if _missing(fraction) else f"{100 * fraction:.1f}%"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A GitHub markdown table: the first `left` columns (text) left-aligned, the others
    (numbers) right-aligned.

    Cells are padded to their column's width, so the table also reads well as plain text.
    """
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"every row needs {len(headers)} cells")
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(3, *(len(row[i]) for row in cells)) for i in range(len(headers))]

    def line(row):
        padded = [
            row[i].ljust(widths[i]) if i < left else row[i].rjust(widths[i])
            for i in range(len(row))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ":" + "-" * (w + 1) if i < left else "-" * (w + 1) + ":" for i, w in enumerate(widths)
    )
    rule += "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


# --------------------------------------------------------------------------- the report


def render(r: dict) -> str:
    """The markdown report: when and where it was measured, then one section per question."""
    noise = max(r["training"][k]["spread"] or 0 for k in ("jax", "tf_limit"))
    sections = [
        [render_header(r)],
        render_training(r),
        render_inference(r),
        render_ratios(r),
        render_programs(r["programs"], r["ratios"], noise),
        render_lessons(r["lessons"]),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def render_header(r: dict) -> str:
    m = r["machine"]
    return (
        f"Measured by `make bench{' --quick' if r['quick'] else ''}` on {r['date_utc']} UTC: "
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['system']}, "
        f"devices: {', '.join(r['devices']) or 'CPU'}; "
        f"load average {r['load_average_start']} at start, {r['load_average_end']} at end; "
        f"{r['settings']['repeats']} interleaved samples per contender, medians; "
        f"finished in {r['wall_seconds']:.0f} s."
    )


def render_training(r: dict) -> list[str]:
    """What a step costs and the machine's limit, the table, and how memory was measured."""
    f, mm = r["flops"], r["matmul"]
    intro = (
        f"**Training**, batch {r['batch']}, compile excluded (first call shown apart). The model "
        f"costs {f['train_per_image'] / 1e6:.2f} MFLOP per image forward + backward (3 × "
        f"{f['forward_per_image'] / 1e6:.2f} MFLOP of conv and dense products; XLA's cost "
        f"analysis of the compiled JAX step counts {f['xla_train_per_image'] / 1e6:.2f} MFLOP, "
        f"batch norm, loss and Adam included). Machine limit: float32 {mm['n']}×{mm['n']} "
        f"matmul with JAX jit, {fmt_gflops(mm['flops_per_second'])} "
        f"({fmt_ms(mm['median_s'])} per product)."
    )
    footnote = (
        "¹ Peak resident (host) memory of a fresh process running only that path "
        f"({r['settings']['memory_steps']} steps after compiling), framework imports included."
    )
    not_measured = [
        f"Memory of {r['training'][k]['label']} not measured: {v['error']}"
        for k, v in r["memory"].items()
        if "error" in v
    ]
    return [intro, "", training_table(r["training"]), "", footnote, *not_measured]


def training_table(training: dict) -> str:
    headers = ["Training path", "step", "images/s", "× JAX", "FLOP/s", "of matmul limit",
               "spread (IQR)", "first call", "peak RSS¹"]  # fmt: skip
    rows = [
        [
            row["label"],
            fmt_ms(row["median_s"]),
            fmt_number(row["images_per_second"]),
            fmt_ratio(row["vs_jax"]),
            fmt_gflops(row["flops_per_second"]),
            fmt_number(row["of_matmul_limit"], 2),
            fmt_percent(row["spread"]),
            f"{row['first_call_s']:.1f} s",
            fmt_mib(row["peak_rss_bytes"]),
        ]
        for row in training.values()
    ]
    return markdown_table(headers, rows)


def render_inference(r: dict) -> list[str]:
    big = str(r["batch"])
    headers = ["Runtime", "batch 1 latency", "p90", "× JAX", f"batch {big} call", "images/s",
               "× JAX"]  # fmt: skip
    rows = [
        [
            row["label"],
            fmt_ms(row["1"]["median_s"]),
            fmt_ms(row["1"]["p90_s"]),
            fmt_ratio(row["1"]["vs_jax"]),
            fmt_ms(row[big]["median_s"]),
            fmt_number(row[big]["images_per_second"]),
            fmt_ratio(row[big]["vs_jax"]),
        ]
        for row in r["inference"].values()
    ]
    return [
        "**Inference**, NumPy in → NumPy out per call (batch 1: latency; batch 256: throughput).",
        "",
        markdown_table(headers, rows),
    ]


RATIO_TEXT = {
    "tf_fused_over_tf_limit": "TF fused step / TF running the whole JAX step",
    "tf_fused_over_jax": "TF fused step / the JAX step",
    "jax_over_tf_limit": "the JAX step / TF running the same program",
    "tf_fused_over_tf_tape": "TF fused step / TF tape route",
    "litert_b256_over_savedmodel": "LiteRT static, batch 256 / SavedModel",
    "litert_b1_over_savedmodel": "LiteRT static, batch 1 / SavedModel (latency)",
    "litert_b256_over_any_batch": "LiteRT static / LiteRT any batch, batch 256",
    "compiled_b256_over_interpreter": "LiteRT CompiledModel / Interpreter, static batch 256",
    "compiled_b1_over_interpreter": "LiteRT CompiledModel / Interpreter, static batch 1",
    "jax2onnx_b256_over_tf2onnx": "ONNX Runtime: jax2onnx (any batch) / tf2onnx static, batch 256",
    "jax2onnx_b1_over_tf2onnx": "ONNX Runtime: jax2onnx (any batch) / tf2onnx static, batch 1",
}


def render_ratios(r: dict) -> list[str]:
    """The ratios `results.json` holds (speed: > 1 means the first is faster), goals marked."""
    rows = []
    for key, text in RATIO_TEXT.items():
        goal = r["goals"].get(key)
        verdict = (
            f"goal ≥ {goal['at_least']:g}: {'held' if goal['held'] else 'not held'}" if goal else ""
        )
        rows.append([f"`{key}`", text, fmt_number(r["ratios"][key], 2), verdict])
    return [
        "**Ratios** (speed ratios, > 1: the first is faster; each the median over the rounds of the "
        "two contenders' time ratio within a round, so load changes between rounds cancel):",
        "",
        markdown_table(["ratio", "what", "measured", "goal"], rows, left=2),
    ]


def jax_vs_tf_verdict(jax_vs_tf: float | None, noise: float) -> str:
    """Whether the JAX step is slower or faster than TF running its program, or a tie."""
    if jax_vs_tf is None:
        return "the two steps were not both timed"
    if abs(jax_vs_tf - 1) <= noise:
        return (
            "the JAX step is as fast as TF running its program, within the timing spread "
            f"({noise:.0%})"
        )
    return f"the JAX step is {'slower' if jax_vs_tf < 1 else 'faster'} than TF running its program"


def render_programs(programs: dict, ratios: dict, noise: float = 0.0) -> list[str]:
    """Where jaxlib's and TF's XLA compile the same step differently: op kinds that differ."""
    if "error" in programs:
        return [f"**The two XLA programs**: not compared ({programs['error']})."]
    jax_vs_tf, totals = ratios.get("jax_over_tf_limit"), programs["totals"]
    rows = [[f"`{d['kind']}`", str(d["JAX"]), str(d["TF limit"])] for d in programs["differences"]]
    return [
        f"**The two XLA programs** ({jax_vs_tf_verdict(jax_vs_tf, noise)} here: "
        f"`jax_over_tf_limit` {fmt_number(jax_vs_tf, 2)}). Both compile lesson 03's step from the "
        f"same StableHLO; their optimized HLO has {totals.get('JAX')} ops (jaxlib) and "
        f"{totals.get('TF limit')} (TF). The op kinds whose counts differ, heavy ops also by "
        "output shape:",
        "",
        markdown_table(["op kind", "JAX", "TF limit"], rows[:12]),
    ]


def render_lessons(lessons: dict) -> list[str]:
    if "error" in lessons:
        return [f"**Lessons** (`make run`): {lessons['error']}."]
    rows = [
        [
            Path(x["notebook"]).stem,
            f"{x['seconds']:.0f} s",
            "–" if x.get("peak_rss_mb") is None else f"{x['peak_rss_mb']:,.0f} MB",
        ]
        for x in lessons["lessons"]
    ]
    rows.append(["total", f"{lessons['total_seconds']:.0f} s", ""])
    return [
        f"**Lessons**: `make run`'s time and peak memory per notebook, recorded "
        f"{lessons['measured_utc']} UTC (artifacts/run_times.tsv):",
        "",
        markdown_table(["Lesson", "time", "peak memory"], rows),
    ]
