"""Check that the installed packages match the exact pins in requirements.txt.

`make check-env` runs `python -m tools.check_env requirements.txt` and prints one line per
`name==version` pin: `[OK] name==version`, `[FAIL] name: installed X, pinned Y` or
`[FAIL] name: not installed`. It exits 1 if any line failed, so a workshop attendee sees at once
which package to reinstall instead of meeting a confusing error in lesson 04.

Pure standard library plus pip's own vendored `packaging` (it must work in a broken environment)
and runnable as a plain script (`python tools/check_env.py requirements.txt`). Comments, blank
lines, pip options (`-e .`, `-r ...`), requirements that are not exact `==` pins, and pins whose
environment marker excludes this machine (e.g. `tensorflow==…; sys_platform != "linux"` on Linux,
where `tensorflow-cpu` is pinned instead) are skipped.

"""

import re
import sys
from importlib import metadata
from pathlib import Path

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*(?P<version>[A-Za-z0-9.*+!_-]+)\s*$"
)


def normalize(name: str) -> str:
    """PEP 503 name: case-insensitive, runs of `-`, `_`, `.` are one `-`.

    >>> normalize("Ml_Dtypes"), normalize("tensorflow.cpu")
    ('ml-dtypes', 'tensorflow-cpu')
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def marker_applies(marker: str) -> bool:
    """Whether a PEP 508 environment marker holds here; True when no evaluator can be imported.

    >>> marker_applies('python_version >= "3"'), marker_applies('sys_platform == "no-such-os"')
    (True, False)
    """
    try:
        from packaging.markers import Marker
    except ImportError:
        try:
            from pip._vendor.packaging.markers import Marker
        except ImportError:  # a venv always has pip; a bare interpreter may not
            return True
    return Marker(marker).evaluate()


def parse_requirements(text: str) -> list[tuple[str, str]]:
    """The `(name, version)` exact pins in requirements-file `text` that apply here, in order.

    >>> parse_requirements("numpy==2.4.6  # everything\\n# a comment\\n-e .\\nfoo>=1\\n")
    [('numpy', '2.4.6')]
    >>> parse_requirements('a==1; sys_platform == "no-such-os"\\nb==2; python_version >= "3"')
    [('b', '2')]
    """
    pins = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw)  # comments, inline ones included
        line, _, marker = (part.strip() for part in line.partition(";"))
        if not line or line.startswith("-") or (marker and not marker_applies(marker)):
            continue
        match = _PIN.match(line)
        if match:
            pins.append((match["name"], match["version"]))
    return pins


def installed_versions() -> dict[str, str]:
    """Normalised name → version of every installed distribution (first on sys.path wins)."""
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            versions.setdefault(normalize(name), dist.version)
    return versions


def _same_version(installed: str, pinned: str) -> bool:
    """`==` as pip reads it for plain versions: `2.0 == 2.0.0`, and `2.*` matches `2.1`."""
    if pinned.endswith(".*"):
        prefix = pinned[:-2]
        return installed == prefix or installed.startswith(prefix + ".")
    if installed == pinned:
        return True

    def release(version: str) -> tuple[int, ...] | None:
        if not re.fullmatch(r"\d+(\.\d+)*", version):
            return None
        parts = [int(part) for part in version.split(".")]
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    return release(installed) is not None and release(installed) == release(pinned)


def check(pins: list[tuple[str, str]], versions: dict[str, str]) -> list[tuple[bool, str]]:
    """One `(ok, line)` per pin, e.g. `(False, "[FAIL] numpy: installed 1.0, pinned 2.4.6")`."""
    results = []
    for name, pinned in pins:
        installed = versions.get(normalize(name))
        if installed is None:
            results.append((False, f"[FAIL] {name}: not installed"))
        elif _same_version(installed, pinned):
            results.append((True, f"[OK] {name}=={pinned}"))
        else:
            results.append((False, f"[FAIL] {name}: installed {installed}, pinned {pinned}"))
    return results


def main(argv: list[str] | None = None) -> int:
    """Print the check for each file in `argv` (default `requirements.txt`); the exit status."""
    args = sys.argv[1:] if argv is None else argv
    status = 0
    for path in map(Path, args or ["requirements.txt"]):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            print(f"[FAIL] cannot read {path}: {err.strerror or err}", file=sys.stderr)
            return 2
        results = check(parse_requirements(text), installed_versions())
        for _, line in results:
            print(line)
        failed = sum(not ok for ok, _ in results)
        if failed:
            print(
                f"{failed} of {len(results)} pinned packages do not match {path}: "
                "run `make install`."
            )
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
