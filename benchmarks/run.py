"""`make bench` (`python -m benchmarks.run [--quick]`): every path side by side, in one run.

What it measures, in this order (one process, plus one short child process per training path
for its peak memory):

1. peak resident memory of each training path (children, one path each, run before anything
   else so the main process does not compete with them);
2. training throughput at batch 256, compile excluded, interleaved round-robin with the
   matmul limit (JAX jit, float32 2048×2048), so a load change hits every contender alike:
   lesson 03's JAX step; lesson 05's TensorFlow step by its two routes (the tape over the
   exported loss, and the fused value-and-grad behind `tf.custom_gradient`); and TF running
   lesson 03's whole converted step, the limit for TF;
3. the XLA programs of the JAX step and of TF's limit step, op kinds side by side (where
   jaxlib and TF's XLA compile the same StableHLO differently);
4. inference latency and throughput at batch 1 and 256 of JAX, the SavedModel, LiteRT
   (static batch, fp32 and int8 weights; any batch) and ONNX Runtime, interleaved the same way;
5. where the JAX step's time goes, per op (`benchmarks.op_profile`);
6. the per-lesson times and peak memory of the last `make run` (`artifacts/run_times.tsv`).

Every path is built from the lessons' code through `helpers` (lesson 03's step, lesson 05's
steps and Adam handoff) and from the files the lessons wrote.

It writes `artifacts/bench/results.json` and `artifacts/bench/report.md` and prints the report
(markdown, with the date and the machine) that benchmarks/README.md quotes.
"""

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import op_profile, report, stats
from benchmarks import paths as P
from helpers import recipe
from helpers.artifacts import (
    REPO_ROOT,
    MissingArtifactError,
    artifacts_dir,
    atomic_write_text,
    display_path,
    write_json,
)
from helpers.environment import package_versions, prepare_environment

BATCH = recipe.BATCH_SIZE
MATMUL_N = 2048
SETTINGS = {  # repeats: samples per contender; *_target: seconds per sample
    "full": {
        "repeats": 25,
        "train_target": 0.5,
        "infer_target": 0.25,
        "memory_steps": 10,
        "profile_steps": 2,
        "profile_windows": 7,
    },
    "quick": {
        "repeats": 5,
        "train_target": 0.15,
        "infer_target": 0.08,
        "memory_steps": 3,
        "profile_steps": 1,
        "profile_windows": 3,
    },
}
GOALS = {  # ratio: (goal, what it means); a ratio is a speed ratio, so higher is faster
    "tf_fused_over_tf_limit": (
        0.97,
        "lesson 05's fused TF step ≥ 0.97× TF running the whole JAX step",
    ),
    "litert_b256_over_savedmodel": (
        1.5,
        "LiteRT (static batch 256) ≥ 1.5× the SavedModel's throughput",
    ),
    "litert_b1_over_savedmodel": (1.0, "LiteRT batch-1 latency ≤ the SavedModel's"),
}
MEMORY_PREFIX = "BENCH_MEMORY "
VECTOR_ISAS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("asimd", "NEON"))  # widest first
PACKAGES = (
    "jax", "jaxlib", "flax", "optax", "tensorflow-cpu", "tensorflow", "keras",
    "ai-edge-litert", "onnxruntime", "numpy",
)  # fmt: skip


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def current_rss() -> int | None:
    """Resident memory now, in bytes (Linux; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss() -> int:
    """Peak resident memory of this process, in bytes (`ru_maxrss` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def machine() -> dict:
    """CPU model, cores, OS and memory: what the report quotes next to the numbers."""
    cpu = platform.processor() or platform.machine()
    memory, flags = None, set()
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
        fields = {
            ln.split(":", 1)[0].strip(): ln.split(":", 1)[1] for ln in reversed(info) if ":" in ln
        }
        cpu, flags = (
            fields.get("model name", "").strip() or cpu,
            set(fields.get("flags", "").split()),
        )
        with open("/proc/meminfo") as f:
            memory = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        pass
    vector = next((isa for flag, isa in VECTOR_ISAS if flag in flags), None)
    return {
        "cpu": f"{cpu} ({vector})" if vector else cpu,
        "logical_cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.machine()}",
        "memory_bytes": memory,
        "python": platform.python_version(),
    }


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# --------------------------------------------------------------------------- memory


def memory_child(key: str, steps: int) -> int:
    """In a child process: build one training path, train `steps` steps, print the peak RSS."""
    start = current_rss()
    run = P.build_training(key, P.artifact_paths(), BATCH)
    run(1)  # compile
    run(steps)
    result = {
        "path": key,
        "steps": steps,
        "rss_at_start_bytes": start,
        "peak_rss_bytes": peak_rss(),
    }
    print(MEMORY_PREFIX + json.dumps(result), flush=True)
    return 0


def measure_memory(steps: int) -> dict:
    """Peak RSS per training path, each from its own fresh child process (run one at a time)."""
    results = {}
    for key in P.TRAINING:
        log(f"memory: {key} in a child process")
        cmd = [sys.executable, "-m", "benchmarks.run", "--memory-child", key, "--steps", str(steps)]
        try:
            done = subprocess.run(
                cmd, check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
            )
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith(MEMORY_PREFIX)]
            if done.returncode != 0 or not lines:
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                results[key] = {"error": f"exit {done.returncode}: {tail}"}
            else:
                results[key] = json.loads(lines[-1].removeprefix(MEMORY_PREFIX))
        except subprocess.TimeoutExpired:
            results[key] = {"error": "timed out after 300 s"}
    return results


# --------------------------------------------------------------------------- measurements


def flop_counts(jax_training) -> dict:
    """The model's FLOPs per image by formula (from its kernel shapes) and by XLA's count."""
    import jax

    kernels = stats.kernel_shapes(jax_training.state[0])
    compiled = jax_training.compiled()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    xla = float(cost.get("flops", 0.0)) if cost else 0.0
    return {
        "kernels": {k: list(v) for k, v in kernels.items()},
        "forward_per_image": stats.forward_flops_per_image(kernels),
        "train_per_image": stats.train_flops_per_image(kernels),
        "xla_train_step": xla,
        "xla_train_per_image": xla / BATCH if xla else None,
        "xla_bytes_accessed_step": float(cost.get("bytes accessed", 0.0)) if cost else None,
        "parameters": int(sum(x.size for x in jax.tree.leaves(jax_training.state[0]))),
        "hlo_text": compiled.as_text(),
    }


def measure_training(artifacts, settings) -> tuple[dict, dict, object, dict]:
    """Matmul limit and training throughput of every path, interleaved; the two XLA programs."""
    log("training: building the contenders (loading, converting, compiling)")
    jax_training = P.JaxTraining(artifacts["checkpoint"], BATCH)
    tf_limit = P.TfLimit(artifacts["checkpoint"], BATCH)
    contenders = {
        "matmul": P.matmul(MATMUL_N),
        "jax": jax_training.run,
        "tf_tape": P.tf_training(artifacts["trainable"], artifacts["optimizer"], BATCH, "tape"),
        "tf_fused": P.tf_training(artifacts["trainable"], artifacts["optimizer"], BATCH, "fused"),
        "tf_limit": tf_limit.run,
    }
    log(f"training: {len(contenders)} contenders × {settings['repeats']} interleaved samples")
    timings = stats.interleaved(
        contenders, repeats=settings["repeats"], target_seconds=settings["train_target"]
    )
    flops = flop_counts(jax_training)
    try:
        programs = op_profile.compare_programs(
            {"JAX": flops["hlo_text"], "TF limit": tf_limit.optimized_hlo()}
        )
    except Exception as err:  # the comparison is an extra; the timings stand without it
        programs = {"error": f"{type(err).__name__}: {err}"}
    return timings, flops, jax_training, programs


def measure_inference(artifacts, settings) -> dict:
    """Latency and throughput of every runtime at batch 1 and 256, interleaved."""
    log("inference: building the contenders")
    builders = {
        key: (lambda b, key=key: P.build_inference(key, artifacts, b)) for key in P.INFERENCE
    }
    contenders = {f"{key}@{b}": build(b) for key, build in builders.items() for b in (1, BATCH)}
    log(f"inference: {len(contenders)} contenders × {settings['repeats']} interleaved samples")
    return stats.interleaved(
        contenders, repeats=settings["repeats"], target_seconds=settings["infer_target"]
    )


def profile_jax_step(jax_training, hlo_text: str, steps: int, windows: int, matmul_limit) -> dict:
    """Per-op breakdown of the JAX step; on failure, the reason instead of a traceback."""
    try:
        events = op_profile.profile_steps(jax_training.run, steps, windows)
        result = op_profile.breakdown(
            events, hlo_text, "jit_train_step", matmul_limit, steps_per_window=steps
        )
        result["method"] = (
            f"jax.profiler trace of {windows} windows of {steps} consecutive steps, the median "
            "window reported; each instant attributed to the HLO ops running then (split when "
            "several run at once); gaps while an async dot/convolution is pending are that op's "
            "(XLA:CPU traces only their launch)"
        )
        return result
    except Exception as err:  # the profile is an extra; the numbers stand without it
        return {"error": f"{type(err).__name__}: {err}"}


def lesson_times() -> dict:
    """The per-lesson times `make run` recorded, with when it recorded them."""
    path = artifacts_dir() / "run_times.tsv"
    if not path.exists():
        return {"error": f"no {display_path(path)}: run `make run` to record the lessons' times"}
    rows = [ln.split("\t") for ln in path.read_text().splitlines()[1:] if ln.strip()]
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    lessons = [
        {
            "notebook": r[0],
            "seconds": float(r[1]),
            "peak_rss_mb": float(r[2]) if len(r) > 2 else None,
        }
        for r in rows
    ]
    return {
        "measured_utc": modified.isoformat(timespec="minutes"),
        "lessons": lessons,
        "total_seconds": sum(x["seconds"] for x in lessons),
    }


# --------------------------------------------------------------------------- results


def assemble(timings, flops, inference, memory, profile, lessons, meta, programs=None) -> dict:
    """Medians, throughputs, ratios to JAX and FLOP/s fractions, as one JSON-ready dict."""
    limit_summary = stats.summarize(timings["matmul"]["seconds_per_iteration"], 1)
    limit = stats.matmul_flops(MATMUL_N) / limit_summary["median_s"]
    per_image = flops["train_per_image"]
    training = {}
    for key, label in P.TRAINING.items():
        s = stats.summarize(timings[key]["seconds_per_iteration"], BATCH)
        training[key] = {
            "label": label,
            **s,
            "first_call_s": timings[key]["first_call_s"],
            "iterations_per_sample": timings[key]["iterations"],
            "seconds_per_iteration": timings[key]["seconds_per_iteration"],  # in round order
            "flops_per_second": s["images_per_second"] * per_image,
            "of_matmul_limit": s["images_per_second"] * per_image / limit,
            "peak_rss_bytes": memory.get(key, {}).get("peak_rss_bytes"),
        }
    jax_rate = training["jax"]["images_per_second"]
    for row in training.values():
        row["vs_jax"] = stats.ratio(row["images_per_second"], jax_rate)
    infer = {}
    for key, label in P.INFERENCE.items():
        infer[key] = {"label": label}
        for b in (1, BATCH):
            t = inference[f"{key}@{b}"]
            infer[key][str(b)] = {
                **stats.summarize(t["seconds_per_iteration"], b),
                "p90_s": stats.percentile(t["seconds_per_iteration"], 90),
                "iterations_per_sample": t["iterations"],
            }
    for b in ("1", str(BATCH)):
        base = infer["jax"][b]["images_per_second"]
        for row in infer.values():
            row[b]["vs_jax"] = stats.ratio(row[b]["images_per_second"], base)

    def speed(fast: str, slow: str, samples: dict) -> float | None:
        """How many times faster `fast` ran than `slow`: per-round time ratios, their median."""
        return stats.paired_ratio(
            samples[slow]["seconds_per_iteration"], samples[fast]["seconds_per_iteration"]
        )

    big = f"@{BATCH}"
    ratios = {  # speed ratios: > 1 when the first path is faster
        "tf_fused_over_tf_limit": speed("tf_fused", "tf_limit", timings),
        "tf_fused_over_jax": speed("tf_fused", "jax", timings),
        "jax_over_tf_limit": speed("jax", "tf_limit", timings),
        "tf_fused_over_tf_tape": speed("tf_fused", "tf_tape", timings),
        "litert_b256_over_savedmodel": speed("litert" + big, "savedmodel" + big, inference),
        "litert_b1_over_savedmodel": speed("litert@1", "savedmodel@1", inference),
        "litert_b256_over_any_batch": speed("litert" + big, "litert_any_batch" + big, inference),
    }
    goals = {
        key: {
            "goal": text,
            "at_least": goal,
            "measured": ratios[key],
            "held": ratios[key] is not None and ratios[key] >= goal,
        }
        for key, (goal, text) in GOALS.items()
    }
    flops = {k: v for k, v in flops.items() if k != "hlo_text"}
    return {
        **meta,
        "matmul": {"n": MATMUL_N, "dtype": "float32", **limit_summary, "flops_per_second": limit},
        "flops": flops,
        "training": training,
        "inference": infer,
        "memory": memory,
        "profile": profile,
        "lessons": lessons,
        "ratios": ratios,
        "goals": goals,
        "programs": programs or {"error": "not compared"},
    }


def render(r: dict) -> str:
    """The markdown report: header with date and machine, then one table per question."""
    m, f = r["machine"], r["flops"]
    limit = r["matmul"]["flops_per_second"]
    accel = ", ".join(r["devices"]) or "CPU"
    out = [
        f"Measured by `make bench{' --quick' if r['quick'] else ''}` on {r['date_utc']} UTC: "
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['system']}, devices: {accel}; "
        f"load average {r['load_average_start']} at start, {r['load_average_end']} at end; "
        f"{r['settings']['repeats']} interleaved samples per contender, medians; "
        f"finished in {r['wall_seconds']:.0f} s.",
        "",
        f"**Training**, batch {BATCH}, compile excluded (first call shown apart). The model costs "
        f"{f['train_per_image'] / 1e6:.2f} MFLOP per image forward + backward (3 × "
        f"{f['forward_per_image'] / 1e6:.2f} MFLOP of conv and dense products; XLA's cost "
        f"analysis of the compiled JAX step counts {f['xla_train_per_image'] / 1e6:.2f} MFLOP, "
        f"batch norm, loss and Adam included). Machine limit: float32 {MATMUL_N}×{MATMUL_N} "
        f"matmul with JAX jit, {report.fmt_gflops(limit)} "
        f"({report.fmt_ms(r['matmul']['median_s'])} per product).",
        "",
    ]
    rows = []
    for row in r["training"].values():
        rows.append(
            [
                row["label"],
                report.fmt_ms(row["median_s"]),
                report.fmt_number(row["images_per_second"]),
                report.fmt_ratio(row["vs_jax"]),
                report.fmt_gflops(row["flops_per_second"]),
                report.fmt_number(row["of_matmul_limit"], 2),
                report.fmt_percent(row["spread"]),
                f"{row['first_call_s']:.1f} s",
                report.fmt_mib(row["peak_rss_bytes"]),
            ]
        )
    out.append(
        report.markdown_table(
            [
                "Training path",
                "step",
                "images/s",
                "× JAX",
                "FLOP/s",
                "of matmul limit",
                "spread (IQR)",
                "first call",
                "peak RSS¹",
            ],
            rows,
        )  # fmt: skip
    )
    out += [
        "",
        f"¹ Peak resident (host) memory of a fresh process running only that path ({r['settings']['memory_steps']}"
        " steps after compiling), framework imports included.",
        *(
            f"Memory of {P.TRAINING[k]} not measured: {v['error']}"
            for k, v in r["memory"].items()
            if "error" in v
        ),
        "",
        "**Inference**, NumPy in → NumPy out per call (batch 1: latency; batch 256: throughput).",
        "",
    ]
    rows = []
    for row in r["inference"].values():
        one, big = row["1"], row[str(BATCH)]
        rows.append(
            [
                row["label"],
                report.fmt_ms(one["median_s"]),
                report.fmt_ms(one["p90_s"]),
                report.fmt_ratio(one["vs_jax"]),
                report.fmt_ms(big["median_s"]),
                report.fmt_number(big["images_per_second"]),
                report.fmt_ratio(big["vs_jax"]),
            ]
        )
    out.append(
        report.markdown_table(
            [
                "Runtime",
                "batch 1 latency",
                "p90",
                "× JAX",
                f"batch {BATCH} call",
                "images/s",
                "× JAX",
            ],
            rows,
        )  # fmt: skip
    )
    noise = max(r["training"][k]["spread"] or 0 for k in ("jax", "tf_limit"))
    out += ["", *render_ratios(r), "", *render_programs(r["programs"], r["ratios"], noise)]
    out += ["", *render_profile(r["profile"], r["training"]["jax"]["median_s"])]
    out += ["", *render_lessons(r["lessons"])]
    return "\n".join(out) + "\n"


RATIO_TEXT = {
    "tf_fused_over_tf_limit": "TF fused step / TF running the whole JAX step",
    "tf_fused_over_jax": "TF fused step / the JAX step",
    "jax_over_tf_limit": "the JAX step / TF running the same program",
    "tf_fused_over_tf_tape": "TF fused step / TF tape route",
    "litert_b256_over_savedmodel": "LiteRT static, batch 256 / SavedModel",
    "litert_b1_over_savedmodel": "LiteRT static, batch 1 / SavedModel (latency)",
    "litert_b256_over_any_batch": "LiteRT static / LiteRT any batch, batch 256",
}


def render_ratios(r: dict) -> list[str]:
    """The ratios `results.json` holds (speed: > 1 means the first is faster), goals marked."""
    rows = []
    for key, text in RATIO_TEXT.items():
        goal = r["goals"].get(key)
        verdict = (
            f"goal ≥ {goal['at_least']:g}: {'held' if goal['held'] else 'not held'}" if goal else ""
        )
        rows.append([f"`{key}`", text, report.fmt_number(r["ratios"][key], 2), verdict])
    return [
        "**Ratios** (speed ratios, > 1: the first is faster; each the median over the rounds of the "
        "two contenders' time ratio within a round, so load changes between rounds cancel):",
        "",
        report.markdown_table(["ratio", "what", "measured", "goal"], rows),
    ]


def render_programs(programs: dict, ratios: dict, noise: float = 0.0) -> list[str]:
    """Where jaxlib's and TF's XLA compile the same step differently: op kinds that differ."""
    if "error" in programs:
        return [f"**The two XLA programs**: not compared ({programs['error']})."]
    jax_vs_tf = ratios.get("jax_over_tf_limit")
    if jax_vs_tf is None:
        verdict = "the two steps were not both timed"
    elif abs(jax_vs_tf - 1) <= noise:
        verdict = f"the JAX step is as fast as TF running its program, within the timing spread ({noise:.0%})"
    else:
        verdict = (
            f"the JAX step is {'slower' if jax_vs_tf < 1 else 'faster'} than TF running its program"
        )
    totals = programs["totals"]
    lines = [
        f"**The two XLA programs** ({verdict} here: `jax_over_tf_limit` "
        f"{report.fmt_number(jax_vs_tf, 2)}). Both compile lesson 03's step from the same "
        f"StableHLO; their optimized HLO has {totals.get('JAX')} ops (jaxlib) and "
        f"{totals.get('TF limit')} (TF). The op kinds whose counts differ, heavy ops also by "
        "output shape:",
        "",
    ]
    rows = [
        [f"`{d['kind']}`", str(d["JAX"]), str(d["TF limit"])] for d in programs["differences"][:12]
    ]
    lines.append(report.markdown_table(["op kind", "JAX", "TF limit"], rows, left=1))
    return lines


def render_profile(p: dict, step_s: float) -> list[str]:
    if "error" in p:
        return [f"**Where the JAX step's time goes**: profile unavailable ({p['error']})."]
    lines = [
        f"**Where the JAX step's time goes**: `jax.profiler` traced {p['windows']} windows of "
        f"{p['steps']} consecutive steps; shown: the median window ({p['wall_ms_per_step']:.1f} ms "
        "per step while traced, "
        f"{report.fmt_ms(step_s)} in the timing above). Each instant of a step is charged to the "
        "XLA ops running then (split when both cores run one); when none runs, to a launched "
        "dot or convolution still computing (XLA:CPU traces only their launch), else to idle. "
        "FLOP/s: the dot and convolution FLOPs of a category over its time.",
        "",
    ]
    rows = [
        [
            c["category"],
            f"{c['ms']:.2f}",
            report.fmt_percent(c["share"]),
            report.fmt_gflops(c["gflops_per_s"] * 1e9 if c["gflops_per_s"] else None),
            report.fmt_number(c["of_matmul_limit"], 2),
        ]
        for c in p["categories"]
    ]
    lines.append(
        report.markdown_table(["Category", "ms/step", "share", "FLOP/s", "of matmul limit"], rows)
    )
    lines += ["", "Largest single ops:", ""]
    rows = [
        [
            f"`{o['op']}` ({o['what']})",
            o["category"],
            f"{o['ms']:.2f}",
            report.fmt_percent(o["share"]),
            report.fmt_gflops(o["gflops_per_s"] * 1e9 if o["gflops_per_s"] else None),
        ]
        for o in p["top_ops"][:6]
    ]
    lines.append(
        report.markdown_table(["HLO op", "category", "ms/step", "share", "FLOP/s"], rows, left=2)
    )
    return lines


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
        report.markdown_table(["Lesson", "time", "peak memory"], rows),
    ]


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer and shorter samples (about 2 min)"
    )
    parser.add_argument("--memory-child", choices=sorted(P.TRAINING), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    prepare_environment(show=False)  # before TensorFlow or JAX is imported
    if args.memory_child:
        return memory_child(args.memory_child, args.steps)
    try:
        artifacts = P.artifact_paths()
    except MissingArtifactError as err:
        print(f"make bench needs the lessons' artifacts first:\n{err}", file=sys.stderr)
        return 2

    started, settings = time.perf_counter(), SETTINGS["quick" if args.quick else "full"]
    meta = {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "quick": args.quick,
        "settings": settings,
        "batch": BATCH,
        "machine": machine(),
        "load_average_start": load_average(),
        "versions": package_versions(PACKAGES),
    }
    memory = measure_memory(settings["memory_steps"])
    timings, flops, jax_training, programs = measure_training(artifacts, settings)
    inference = measure_inference(artifacts, settings)
    limit = stats.matmul_flops(MATMUL_N) / stats.median(timings["matmul"]["seconds_per_iteration"])
    log("profile: tracing consecutive JAX steps")
    profile = profile_jax_step(
        jax_training,
        flops["hlo_text"],
        settings["profile_steps"],
        settings["profile_windows"],
        limit,
    )

    import jax  # imported by now; asked only for the device names
    import tensorflow as tf

    meta["devices"] = sorted(
        {f"JAX {d.platform}:{d.device_kind}" for d in jax.devices()}
        | {f"TF {d.device_type}" for d in tf.config.list_physical_devices("GPU")}
    )
    meta["main_process_peak_rss_bytes"] = peak_rss()
    meta["load_average_end"] = load_average()
    meta["wall_seconds"] = time.perf_counter() - started
    results = assemble(timings, flops, inference, memory, profile, lesson_times(), meta, programs)
    text = render(results)
    out = artifacts_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    atomic_write_text(out / "report.md", text)
    print(text)
    log(f"wrote {display_path(out / 'results.json')} and report.md in {meta['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
