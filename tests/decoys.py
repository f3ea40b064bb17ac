"""A laptop's other Jupyter, for tests: kernelspecs that must never be the one that runs."""

import json
from pathlib import Path

DEAD_KERNEL = ["/bin/sh", "-c", "echo 'decoy kernel ran' >&2; exit 7", "{connection_file}"]


def write_dead_python3_kernelspec(data_dir: Path) -> None:
    """A `python3` kernelspec under Jupyter data folder `data_dir` whose kernel cannot start."""
    spec = data_dir / "kernels" / "python3"
    spec.mkdir(parents=True)
    kernel = {"argv": DEAD_KERNEL, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
