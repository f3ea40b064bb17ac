"""Does every pinned package have a wheel for each platform and Python that learners use?

`pip install --dry-run --only-binary=:all: --platform TAG --python-version X` resolves the
requirements for another machine without installing anything. Two traps, both handled here:
pip matches platform tags literally (a wheel tagged `manylinux_2_28_x86_64` is found only if that
exact tag is passed), and it evaluates environment markers (`; sys_platform == "linux"`) for
*this* machine, not the target. So the tag lists are complete, and markers are evaluated here for
the target before pip sees the requirements.

    python -m tools.wheels                 # every platform x Python, in parallel
    python -m tools.wheels macos-arm64 3.13

"""

import concurrent.futures
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import mac_platforms

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = (
    REPO / "requirements.txt",
    REPO / "requirements-dev.txt",
)  # what `make install` takes, resolved together
NO_DEPS = REPO / "requirements-no-deps.txt"  # installed with --no-deps after them
PYTHONS = tuple(  # python-versions.txt: the one list of supported Pythons
    line.strip()
    for line in (REPO / "python-versions.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
GLIBC_MAX = 35  # Ubuntu 22.04 (also Colab's and a common WSL2 image): manylinux_2_35 and older


def _manylinux(arch: str) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MAX, 16, -1)]
    return [*tags, f"manylinux2014_{arch}"] + (
        [f"manylinux2010_{arch}", f"manylinux1_{arch}"] if arch == "x86_64" else []
    )


# platform -> (pip tags, marker environment)
PLATFORMS = {
    "linux-x86_64": (
        _manylinux("x86_64"),
        {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    ),
    "linux-aarch64": (
        _manylinux("aarch64"),
        {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
    ),
    "macos-arm64": (
        list(mac_platforms((14, 0), "arm64")),  # macOS 14 and every older tag it accepts
        {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
    ),
}


@dataclass
class Resolution:
    platform: str
    python: str
    ok: bool
    missing: str | None  # the package pip found no wheel for
    detail: str


def requirements_for(
    platform: str, python: str, paths: Path | tuple[Path, ...] = REQUIREMENTS
) -> list[str]:
    """The pinned requirements of `paths` that apply on `platform` with `python`, markers
    evaluated there (`-r` includes are listed in `paths` instead)."""
    env = {
        **PLATFORMS[platform][1],
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
    }
    selected = []
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in ([paths] if isinstance(paths, Path) else paths)
    )
    for raw in text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw).strip()
        if not line or line.startswith(("#", "-e", "-r", "--")):
            continue  # comments, this repo's own package, options
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            selected.append(f"{req.name}{req.specifier}")
    return selected


def resolve(
    platform: str,
    python: str,
    path: Path | tuple[Path, ...] = REQUIREMENTS,
    no_deps: bool = False,
) -> Resolution:
    """Dry-run pip for `platform` and `python`; name the package without a wheel if it fails."""
    tags, _ = PLATFORMS[platform]
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text("\n".join(requirements_for(platform, python, path)) + "\n")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--no-cache-dir",
            "--only-binary=:all:",
            "--ignore-installed",
            "--target",
            str(Path(tmp) / "t"),
            "--python-version",
            python,
            "--implementation",
            "cp",
        ]
        for tag in tags:
            cmd += ["--platform", tag]
        if no_deps:
            cmd.append("--no-deps")
        done = subprocess.run([*cmd, "-r", str(reqs)], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return Resolution(platform, python, True, None, "")
    text = done.stderr
    match = re.search(r"No matching distribution found for ([^\s]+)", text)
    if match is None:
        match = re.search(r"Could not find a version that satisfies the requirement ([^\s]+)", text)
    missing = match.group(1) if match else None
    lines = [ln for ln in text.splitlines() if "Location 'file" not in ln]
    return Resolution(platform, python, False, missing, "\n".join(lines[-8:]))


def resolve_all(path: Path | tuple[Path, ...] = REQUIREMENTS) -> list[Resolution]:
    """Every platform x Python, resolved in parallel (pip mostly waits on the index); for the
    default files, a cell also needs a wheel for every pin of requirements-no-deps.txt."""
    cells = [(p, v) for p in PLATFORMS for v in PYTHONS]

    def both(cell):
        r = resolve(*cell, path)
        if r.ok and path == REQUIREMENTS and NO_DEPS.is_file():
            r = resolve(*cell, NO_DEPS, no_deps=True)
        return r

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(cells)) as pool:
        return list(pool.map(both, cells))


def main(argv: list[str]) -> int:
    results = [resolve(*argv)] if argv else resolve_all()
    for r in results:
        status = "ok" if r.ok else f"FAILS: no wheel of {r.missing or '?'}"
        print(f"{r.platform:14} Python {r.python}: {status}")
        if not r.ok and not r.missing:
            print(r.detail)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
