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
   (static batch, fp32 and int8 weights, by Interpreter and by CompiledModel; any batch) and ONNX
   Runtime (lesson 06's static tf2onnx files, lesson 10's any-batch jax2onnx file), interleaved
   the same way;
5. the per-lesson times and peak memory of the last `make run` (`artifacts/run_times.tsv`).

Every path is built from the lessons' code through `helpers` (lesson 03's step, lesson 05's
steps and Adam handoff) and from the files the lessons wrote.

It writes `artifacts/bench/results.json` and `artifacts/bench/report.md` and prints the report
(markdown, with the date and the machine; `benchmarks.report`) that benchmarks/README.md quotes.
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

from benchmarks import paths as P
from benchmarks import report, stats
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
    "full": {"repeats": 25, "train_target": 0.5, "infer_target": 0.25, "memory_steps": 10},
    "quick": {"repeats": 5, "train_target": 0.15, "infer_target": 0.08, "memory_steps": 3},
}
GOALS = {  # ratio: (goal, what it means); a ratio is a speed ratio, so higher is faster
    "tf_fused_over_tf_limit": (
        0.97,
        "05b's fused TF step ≥ 0.97× TF running the whole JAX step",
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


def flop_counts(params, compiled) -> dict:
    """The model's FLOPs per image by formula (from its kernel shapes) and by XLA's count."""
    import jax

    kernels = stats.kernel_shapes(params)
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
        "parameters": int(sum(x.size for x in jax.tree.leaves(params))),
    }


def compare_xla_programs(jax_hlo: str, tf_limit) -> dict:
    """The two XLA programs' op kinds side by side; on failure, the reason instead."""
    try:
        return stats.compare_programs({"JAX": jax_hlo, "TF limit": tf_limit.optimized_hlo()})
    except Exception as err:  # the comparison is an extra; the timings stand without it
        return {"error": f"{type(err).__name__}: {err}"}


def measure_training(artifacts, settings) -> tuple[dict, dict, dict]:
    """Matmul limit and training throughput of every path, interleaved; FLOPs; the XLA programs."""
    log("training: building the contenders (loading, converting, compiling)")
    jax_training = P.JaxTraining(artifacts["checkpoint"], BATCH)
    tf_limit = P.TfLimit(artifacts["checkpoint"], BATCH)
    tf_args = (artifacts["trainable"], artifacts["optimizer"], BATCH)
    contenders = {
        "matmul": P.matmul(MATMUL_N),
        "jax": jax_training.run,
        "tf_tape": P.tf_training(*tf_args, "tape"),
        "tf_fused": P.tf_training(*tf_args, "fused"),
        "tf_limit": tf_limit.run,
    }
    log(f"training: {len(contenders)} contenders × {settings['repeats']} interleaved samples")
    timings = stats.interleaved(
        contenders, repeats=settings["repeats"], target_seconds=settings["train_target"]
    )
    compiled = jax_training.compiled()
    flops = flop_counts(jax_training.state[0], compiled)
    return timings, flops, compare_xla_programs(compiled.as_text(), tf_limit)


def measure_inference(artifacts, settings) -> dict:
    """Latency and throughput of every runtime at batch 1 and 256, interleaved."""
    log("inference: building the contenders")
    contenders = {
        f"{key}@{b}": P.build_inference(key, artifacts, b)
        for key in P.INFERENCE
        for b in (1, BATCH)
    }
    log(f"inference: {len(contenders)} contenders × {settings['repeats']} interleaved samples")
    return stats.interleaved(
        contenders, repeats=settings["repeats"], target_seconds=settings["infer_target"]
    )


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


def matmul_limit(timings) -> dict:
    """The matmul contender's summary and the FLOP/s it reached: the machine's limit."""
    summary = stats.summarize(timings["matmul"]["seconds_per_iteration"], 1)
    per_second = stats.matmul_flops(MATMUL_N) / summary["median_s"]
    return {"n": MATMUL_N, "dtype": "float32", **summary, "flops_per_second": per_second}


def training_rows(timings, per_image: float, limit: float, memory: dict) -> dict:
    """Per training path: medians, images/s, FLOP/s (also as a fraction of the limit), memory."""
    rows = {}
    for key, label in P.TRAINING.items():
        s = stats.summarize(timings[key]["seconds_per_iteration"], BATCH)
        rows[key] = {
            "label": label,
            **s,
            "first_call_s": timings[key]["first_call_s"],
            "iterations_per_sample": timings[key]["iterations"],
            "seconds_per_iteration": timings[key]["seconds_per_iteration"],  # in round order
            "flops_per_second": s["images_per_second"] * per_image,
            "of_matmul_limit": s["images_per_second"] * per_image / limit,
            "peak_rss_bytes": memory.get(key, {}).get("peak_rss_bytes"),
        }
    for row in rows.values():
        row["vs_jax"] = stats.ratio(row["images_per_second"], rows["jax"]["images_per_second"])
    return rows


def inference_rows(inference) -> dict:
    """Per runtime and batch size ("1", "256"): medians, p90, images/s and the ratio to JAX."""
    rows = {}
    for key, label in P.INFERENCE.items():
        rows[key] = {"label": label}
        for b in (1, BATCH):
            t = inference[f"{key}@{b}"]
            rows[key][str(b)] = {
                **stats.summarize(t["seconds_per_iteration"], b),
                "p90_s": stats.percentile(t["seconds_per_iteration"], 90),
                "iterations_per_sample": t["iterations"],
            }
    for b in ("1", str(BATCH)):
        for row in rows.values():
            row[b]["vs_jax"] = stats.ratio(
                row[b]["images_per_second"], rows["jax"][b]["images_per_second"]
            )
    return rows


def speed_ratios(timings, inference) -> dict:
    """The ratios `results.json` holds as `ratios.…`: > 1 when the first path is faster."""

    def speed(fast: str, slow: str, samples: dict) -> float | None:
        """How many times faster `fast` ran than `slow`: per-round time ratios, their median."""
        return stats.paired_ratio(
            samples[slow]["seconds_per_iteration"], samples[fast]["seconds_per_iteration"]
        )

    big = f"@{BATCH}"
    return {
        "tf_fused_over_tf_limit": speed("tf_fused", "tf_limit", timings),
        "tf_fused_over_jax": speed("tf_fused", "jax", timings),
        "jax_over_tf_limit": speed("jax", "tf_limit", timings),
        "tf_fused_over_tf_tape": speed("tf_fused", "tf_tape", timings),
        "litert_b256_over_savedmodel": speed("litert" + big, "savedmodel" + big, inference),
        "litert_b1_over_savedmodel": speed("litert@1", "savedmodel@1", inference),
        "litert_b256_over_any_batch": speed("litert" + big, "litert_any_batch" + big, inference),
        "compiled_b256_over_interpreter": speed("litert_compiled" + big, "litert" + big, inference),
        "compiled_b1_over_interpreter": speed("litert_compiled@1", "litert@1", inference),
        "jax2onnx_b256_over_tf2onnx": speed("onnx_jax2onnx" + big, "onnx" + big, inference),
        "jax2onnx_b1_over_tf2onnx": speed("onnx_jax2onnx@1", "onnx@1", inference),
    }


def goals_held(ratios: dict) -> dict:
    """Each goal of `GOALS` with the ratio measured and whether it held."""
    return {
        key: {
            "goal": text,
            "at_least": goal,
            "measured": ratios[key],
            "held": ratios[key] is not None and ratios[key] >= goal,
        }
        for key, (goal, text) in GOALS.items()
    }


def assemble(timings, flops, inference, memory, lessons, meta, programs) -> dict:
    """Medians, throughputs, ratios to JAX and FLOP/s fractions, as one JSON-ready dict."""
    matmul = matmul_limit(timings)
    ratios = speed_ratios(timings, inference)
    training = training_rows(timings, flops["train_per_image"], matmul["flops_per_second"], memory)
    return {
        **meta,
        "batch": BATCH,
        "matmul": matmul,
        "flops": flops,
        "training": training,
        "inference": inference_rows(inference),
        "memory": memory,
        "lessons": lessons,
        "ratios": ratios,
        "goals": goals_held(ratios),
        "programs": programs,
    }


# --------------------------------------------------------------------------- main


def run_info(quick: bool) -> dict:
    """When, where and how the benchmark ran: the report's header."""
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "quick": quick,
        "settings": SETTINGS["quick" if quick else "full"],
        "machine": machine(),
        "load_average_start": load_average(),
        "versions": package_versions(PACKAGES),
    }


def device_names() -> list[str]:
    import jax  # imported by now; asked only for the device names
    import tensorflow as tf

    return sorted(
        {f"JAX {d.platform}:{d.device_kind}" for d in jax.devices()}
        | {f"TF {d.device_type}" for d in tf.config.list_physical_devices("GPU")}
    )


def benchmark(artifacts, quick: bool) -> dict:
    """Every measurement, in the order of the module docstring, assembled."""
    started, meta = time.perf_counter(), run_info(quick)
    settings = meta["settings"]
    memory = measure_memory(settings["memory_steps"])
    timings, flops, programs = measure_training(artifacts, settings)
    inference = measure_inference(artifacts, settings)
    meta["devices"] = device_names()
    meta["main_process_peak_rss_bytes"] = peak_rss()
    meta["load_average_end"] = load_average()
    meta["wall_seconds"] = time.perf_counter() - started
    return assemble(timings, flops, inference, memory, lesson_times(), meta, programs)


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
    results = benchmark(artifacts, args.quick)
    text = report.render(results)
    out = artifacts_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    atomic_write_text(out / "report.md", text)
    print(text)
    log(
        f"wrote {display_path(out / 'results.json')} and report.md in {results['wall_seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
