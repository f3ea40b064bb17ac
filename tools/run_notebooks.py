"""`make run` (and `make 03_jax_training`, `make solutions`): execute notebooks in order, recording
each one's wall time and peak memory.

Each notebook runs in a fresh `python -m nbconvert --execute --inplace` process of this
interpreter, on a kernel of this interpreter (`tools.venv_kernel`): never a `jupyter-nbconvert`
that comes first on `PATH`, nor a `python3` kernelspec of another Python. Its peak
resident memory is that process tree's: `os.wait4` reports the largest resident set of the
process and of every descendant it waited for, the notebook's kernel and the kernel's own
subprocesses included (Linux and macOS). This recorder stays a small process on purpose: on
Linux a child started from a large process begins its count at that process's size. The table goes to `artifacts/run_times.tsv`
(`notebook`, `seconds`, `peak_rss_mb`), written when every notebook has run; the README's stage
map and `make bench` quote it. Running some notebooks again replaces only their rows.

    python -m tools.run_notebooks notebooks/01_data.ipynb ...
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from helpers.artifacts import REPO_ROOT, artifacts_dir, atomic_write_text, display_path

NBCONVERT = [  # `jupyter nbconvert` would run the first `jupyter-nbconvert` on PATH instead
    "-m", "nbconvert", "--to", "notebook", "--execute",
    "--ExecutePreprocessor.kernel_manager_class=tools.venv_kernel.VenvKernelManager",
    "--ExecutePreprocessor.timeout=1800", "--ExecutePreprocessor.record_timing=False",
    "--ExecutePreprocessor.store_widget_state=False",
]  # fmt: skip
EXECUTE = [*NBCONVERT, "--inplace"]
MEMORY_BUDGET_MB = 3072  # what a lesson may take on an 8 GB laptop (README, "The lessons")


def peak_rss_mb(max_rss: int, platform: str = sys.platform) -> float:
    """`ru_maxrss` in MiB: Linux reports KiB, macOS bytes.

    >>> peak_rss_mb(2048), peak_rss_mb(2 * 2**20, "darwin")
    (2.0, 2.0)
    """
    return max_rss / 2**20 if platform == "darwin" else max_rss / 1024


HEADER = "notebook\tseconds\tpeak_rss_mb"


def merge_rows(previous: str | None, rows: dict[str, str]) -> str:
    """The table with `rows` ({notebook: row}) replacing those notebooks' rows, others kept in order."""
    kept = {}
    if previous and previous.startswith(HEADER):  # an older table without peak_rss_mb is dropped
        kept = {ln.split("\t")[0]: ln for ln in previous.splitlines()[1:] if ln.strip()}
    kept.update(rows)
    return "\n".join([HEADER, *kept.values()]) + "\n"


def run(command: list[str]) -> tuple[int, float, float]:
    """Exit code, seconds and peak resident MiB of `command` and the processes it waited for."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT)  # where `tools.venv_kernel` imports from
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:  # Ctrl-C: stop the notebook too, then re-raise
        process.kill()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return process.returncode, time.perf_counter() - start, peak_rss_mb(usage.ru_maxrss)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    rows = {}
    for notebook in args.notebooks:
        print(f"=== {notebook}", flush=True)
        code, seconds, peak = run([sys.executable, *EXECUTE, str(notebook)])
        if code != 0:
            print(f"make run: {notebook} failed (exit {code}); fix it and run `make run` again")
            return code
        over = f"  (over the {MEMORY_BUDGET_MB} MB budget)" if peak > MEMORY_BUDGET_MB else ""
        print(f"    {seconds:.0f} s, peak memory {peak:,.0f} MB{over}", flush=True)
        rows[str(notebook)] = f"{notebook}\t{seconds:.0f}\t{peak:.0f}"
    path = artifacts_dir() / "run_times.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, merge_rows(path.read_text() if path.exists() else None, rows))
    print(f"per-notebook times and peak memory in {display_path(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
