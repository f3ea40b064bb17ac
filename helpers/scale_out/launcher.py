"""Start a few local processes that work together, bounded in time, and never leave one behind.

Lesson 09 simulates a multi-host run on one machine: JAX processes that form one runtime with
`jax.distributed.initialize`, TensorFlow workers of a `MultiWorkerMirroredStrategy`. Each process
gets its own session (process group), so a timeout, a failure of one of them or an interrupted
notebook cell kills all of them, children included. Their output goes to log files; when one
fails, the error names it and shows the end of every log.

`python -m helpers.scale_out.launcher` (`make scale-out`) runs lesson 09's two-process JAX training on its
own, given lesson 03's checkpoint and lesson 09's batches.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

WORKER_MODULES = (
    "helpers.scale_out.jax_worker",
    "helpers.scale_out.tf_worker",
)  # what lesson 09 launches
LOG_TAIL = 3000  # characters of each log shown when a launch fails


class LaunchError(RuntimeError):
    """A launched process failed or ran out of time; the message holds every process's log tail."""


@dataclass
class Finished:
    """One launched process: its command, exit status, output and wall time."""

    command: list
    returncode: int
    log: str
    seconds: float


def free_ports(n: int) -> list[int]:
    """`n` distinct TCP ports on 127.0.0.1 that are free now (the OS picks them)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the process and everything it started
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _tails(commands, logs) -> str:
    parts = []
    for i, (command, log) in enumerate(zip(commands, logs, strict=True)):
        text = Path(log).read_text(encoding="utf-8", errors="replace")
        parts.append(f"--- process {i}: {' '.join(map(str, command[-6:]))}\n{text[-LOG_TAIL:]}")
    return "\n".join(parts)


def launch(commands, *, timeout: float, env=None, cwd=None) -> list[Finished]:
    """Run `commands` (argument lists) at the same time; return when all exited 0.

    Raises `LaunchError` if any exits non-zero or if they are not all done within `timeout`
    seconds; in every case (an interrupt included) no process started here is left running.
    """
    env = dict(os.environ if env is None else env)
    started, logs, processes = time.monotonic(), [], []
    with tempfile.TemporaryDirectory(prefix="launch-") as tmp:
        try:
            for i, command in enumerate(commands):
                logs.append(Path(tmp) / f"process{i}.log")
                with open(logs[-1], "wb") as out:
                    processes.append(
                        subprocess.Popen(
                            [str(c) for c in command],
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            env=env,
                            cwd=cwd,
                            start_new_session=True,  # its own process group: killed as a whole
                        )
                    )
            ended = {}
            while len(ended) < len(processes):
                for i, proc in enumerate(processes):
                    if i not in ended and proc.poll() is not None:
                        ended[i] = time.monotonic() - started
                        if proc.returncode != 0:  # one failed: the others would wait forever
                            raise LaunchError(
                                f"process {i} exited with status {proc.returncode}.\n"
                                + _tails(commands, logs)
                            )
                if time.monotonic() - started > timeout:
                    raise LaunchError(
                        f"not all processes finished within {timeout:.0f} s; all were stopped.\n"
                        + _tails(commands, logs)
                    )
                time.sleep(0.05)
            return [
                Finished(
                    list(command),
                    proc.returncode,
                    log.read_text(encoding="utf-8", errors="replace"),
                    ended[i],
                )
                for i, (command, proc, log) in enumerate(
                    zip(commands, processes, logs, strict=True)
                )
            ]
        finally:
            for proc in processes:
                _kill_group(proc)


def running_workers(modules=WORKER_MODULES) -> list[int]:
    """PIDs of live processes running one of lesson 09's worker modules (none after a run)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(m in cmdline for m in modules):
            found.append(proc.info["pid"])
    return found


def jax_commands(num_processes: int, local_devices: int, steps: int, out: Path) -> list[list]:
    """The command lines of lesson 09's data-parallel JAX processes, one per simulated host."""
    (port,) = free_ports(1)
    return [
        [sys.executable, "-m", "helpers.scale_out.jax_worker", "--process-id", i]
        + ["--num-processes", num_processes, "--local-devices", local_devices]
        + ["--port", port, "--steps", steps, "--out", out]
        for i in range(num_processes)
    ]


def main(argv=None) -> int:  # pragma: no cover - launches real workers (make scale-out)
    """`make scale-out`: lesson 09's multi-process JAX training, outside the notebook."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--local-devices", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    from helpers.artifacts import display_path, scratch_dir

    out = scratch_dir("09_scale_out") / "jax_processes.npz"
    commands = jax_commands(args.processes, args.local_devices, args.steps, out)
    for i, done in enumerate(launch(commands, timeout=args.timeout)):
        last = done.log.strip().splitlines()[-1] if done.log.strip() else "(no output)"
        print(f"process {i}: exit {done.returncode} after {done.seconds:.1f} s: {last}")
    print(f"wrote {display_path(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
