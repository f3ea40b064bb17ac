"""`make claims`: run every lesson with one WORKSHOP_SEED in a scratch folder and print its claims.

Each lesson records its claims (value, comparison, threshold, basis) through `helpers.claims.Claims` in
`<ARTIFACTS_DIR>/<stage>/claims.json`. This tool executes the lessons into a scratch folder, with
`ARTIFACTS_DIR` pointing there, so `artifacts/` and the stored notebooks are never touched, then
collects those files. `table` turns several runs into the claims table (min and max of
each claim over the runs), which is how the thresholds' measured bases are produced; `make
claims-table` writes it, with how to read it, to `docs/claims.md` from the runs kept in
`docs/claims-runs/` (copy a run's `summary.json` there to add it).

    python -m tools.claims run --seed 1 [--cpus 0] notebooks/01_data.ipynb ...
    python -m tools.claims table [--out docs/claims.md] [summaries ...]
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from helpers.artifacts import atomic_write_text
from helpers.claims import format_value
from tools.run_notebooks import NBCONVERT

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "claims-runs"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(seed: int, cpus: str | None, notebooks: list[str], out: Path | None) -> int:
    threads = len(cpus.split(",")) if cpus else len(os.sched_getaffinity(0))
    out = (out or RUNS / f"seed{seed}-{threads}cpu").resolve()  # the kernels run in notebooks/
    if out.exists():
        shutil.rmtree(out)
    (out / "notebooks").mkdir(parents=True)
    env = {**os.environ, "WORKSHOP_SEED": str(seed), "ARTIFACTS_DIR": str(out / "artifacts")}
    prefix = ["taskset", "-c", cpus] if cpus else []
    seconds, failed = {}, None
    for nb in notebooks:
        start = time.perf_counter()
        print(
            f"=== {nb} (WORKSHOP_SEED={seed}, {threads} CPU{'s' if threads > 1 else ''})",
            flush=True,
        )
        done = subprocess.run(
            [
                *prefix,
                sys.executable,
                *NBCONVERT,
                "--output-dir",
                str(out / "notebooks"),
                nb,
            ],
            check=False,
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        seconds[Path(nb).stem] = round(time.perf_counter() - start, 1)
        if done.returncode:
            failed = Path(nb).stem
            print(done.stderr[-4000:], file=sys.stderr)
            break
    held = write_summary(
        out / "summary.json",
        collect(out / "artifacts"),
        seed=seed,
        threads=threads,
        cpu=cpu_model(),
        python=platform.python_version(),
        seconds=seconds,
        failed_at=failed,
    )
    print(f"summary: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}/summary.json")
    return 0 if failed is None and held else 1


def write_summary(path: Path, claims: dict, **run_fields) -> bool:
    """Write a run's summary (its fields, then its claims) to `path`, print the claims; all held?"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**run_fields, "claims": claims}, indent=1) + "\n")
    print(report(claims))
    return all(c["holds"] for cs in claims.values() for c in cs)


def collect(artifacts: Path) -> dict:
    """{stage: [claim records]} from every `claims.json` under `artifacts`."""
    found = {}
    for path in sorted(artifacts.glob("*/claims.json")):
        found[path.parent.name] = json.loads(path.read_text())["claims"]
    return found


def _cell(text: str) -> str:
    """Markdown table cells may not contain a bare `|` (as in `max |Δ|`)."""
    return text.replace("|", "\\|")


def report(claims: dict) -> str:
    lines = []
    for stage, records in claims.items():
        for r in records:
            lines.append(
                f"{'OK  ' if r['holds'] else 'FAIL'} {stage:16} {r['name'][:70]:70} "
                f"{format_value(r['value']):>10} {r['op']} {format_value(r['threshold'])}"
            )
    return "\n".join(lines)


def margin(op: str, threshold, low, high):
    """How far the threshold sits beyond the worst run, in units of the runs' spread (max - min).

    The rule for measured thresholds (docs/claims.md) is a margin of at least 3 spreads; None when the
    spread is zero (every run gave the same value) or the comparison is an equality.
    """
    spread = high - low
    if op == "==" or spread <= 0:
        return None
    gap = low - threshold if op in (">=", ">") else threshold - high
    return gap / spread


def table(paths: list[Path]) -> str:
    """The claims table: every claim, its threshold and basis, min/max over the runs.

    The last summary is the lessons as they are now: only its claims are listed (a claim that a
    lesson no longer makes drops out), each with the runs that measured it. A claim is known by
    its name, so one that moved to another lesson keeps its runs and is listed under the lesson
    that makes it now, in that lesson's order.
    """
    runs = [json.loads(p.read_text()) for p in paths]
    rows = {}
    for run_ in runs:
        names = [r["name"] for records in run_["claims"].values() for r in records]
        if len(names) != len(set(names)):
            raise ValueError(
                f"claim names repeat within one run: {sorted(n for n in set(names) if names.count(n) > 1)}"
            )
        for records in run_["claims"].values():
            for r in records:
                row = rows.setdefault(r["name"], {"values": []})
                row.update(op=r["op"], threshold=r["threshold"], basis=r["basis"])
                row["values"].append(r["value"])
    order = [(stage, r["name"]) for stage, records in runs[-1]["claims"].items() for r in records]
    out = [
        "| Lesson | Claim | Threshold | Basis | Min | Max | Margin (spreads) | Runs |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for stage, name in order:
        r = rows[name]
        values = [v for v in r["values"] if isinstance(v, int | float)]
        low, high = (min(values), max(values)) if values else (None, None)
        measured = "measured" in r["basis"]  # the 3-spread rule applies to measured bases only
        m = margin(r["op"], r["threshold"], low, high) if values and measured else None
        shown = "–" if m is None else f"{m:.1f}"
        out.append(
            f"| {stage.split('_')[0]} | {_cell(name)} | {r['op']} {format_value(r['threshold'])} | {_cell(r['basis'])} | "
            f"{format_value(low)} | {format_value(high)} | {shown} | {len(r['values'])} |"
        )
    described = ", ".join(
        f"seed {r['seed']} × {r['threads']} CPU{'s' if r['threads'] > 1 else ''}"
        + (f" (Python {r['python']})" if not r.get("python", "3.11").startswith("3.11") else "")
        for r in runs
    )
    cpus = sorted({r["cpu"] for r in runs})
    return "\n".join(out) + f"\n\nRuns: {described}; CPU: {'; '.join(cpus)}.\n"


DOCS = REPO / "docs" / "claims.md"
KEPT_RUNS = REPO / "docs" / "claims-runs"
INTRO = """\
# Claims

<!-- Generated by `make claims-table` from docs/claims-runs/*.json: edit tools/claims.py, not this file. -->

Every number a lesson promises is checked while it runs, by `helpers.claims.Claims`: the value, the
threshold, and the **basis** of the threshold, recorded in `artifacts/<lesson>/claims.json`. A claim
that does not hold stops the lesson with the three of them. Numbers move from one machine to the
next (XLA picks kernels per CPU and thread count, which changes float32 rounding, and so the trained
weights), so no threshold is set at the edge of one run. Each has one of these bases:

- **exact by construction**: an equality that cannot move (the labels of `classify_uint8` are the
  argmax of `serving_default`; weights left unchanged by a frozen `fit`);
- **a numerical argument**: two runtimes summing the same float32 products in another order differ
  by a few spacings ("ulps") of float32 at the magnitude compared, e.g. 3.8e-6 for log-probabilities
  near 40; such claims are stated in ulps;
- **measured**: the spread over runs that differ in `WORKSHOP_SEED` and in the number of CPU threads,
  with the threshold beyond the worst run by at least 3 times that spread (the *Margin* column).

If a claim fails on your machine, find it below: a value far outside Min–Max means something is
wrong; a value just outside it is a machine the runs did not cover (please report it).

**How the table is made.** `make claims SEED=n` (add `CPUS=0` to pin the run to one core) executes
every lesson in a scratch `ARTIFACTS_DIR` under `claims-runs/` (never touching `artifacts/`) and
prints every claim against its threshold. The runs kept in `docs/claims-runs/` (which seeds, thread
counts and CPUs, and what each one covered: see its README) are summarised here by `make
claims-table`: only the claims the lessons make now, each with every run that measured it (a claim
is known by its name, so one that moved to another lesson keeps its runs).

"""


def document(paths: list[Path]) -> str:
    """docs/claims.md: how to read the claims, then the table over `paths`."""
    return INTRO + table(paths)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the lessons with one seed in a scratch folder")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--cpus", help="taskset CPU list, e.g. 0 for one core")
    r.add_argument("--out", type=Path, help="scratch folder (default claims-runs/seed<N>-<k>cpu)")
    r.add_argument("notebooks", nargs="+")
    c = sub.add_parser("collect", help="summarise the claims a finished run left in ARTIFACTS")
    c.add_argument("artifacts", type=Path)
    c.add_argument("--out", type=Path, required=True, help="summary.json to write")
    t = sub.add_parser("table", help="docs/claims.md: the claims table over several runs")
    t.add_argument("summaries", nargs="*", type=Path, help="default: docs/claims-runs/*.json")
    t.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.seed, args.cpus, args.notebooks, args.out)
    if args.command == "collect":
        manifest = json.loads((args.artifacts / "03_jax_training" / "manifest.json").read_text())
        held = write_summary(
            args.out,
            collect(args.artifacts),
            seed=manifest["seed"],
            threads=manifest.get("usable_cpus") or 0,
            cpu=cpu_model(),
            python=manifest["python"],
        )
        return 0 if held else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, document(args.summaries or sorted(KEPT_RUNS.glob("*.json"))))
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
