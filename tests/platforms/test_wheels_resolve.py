"""`requirements.txt` and `requirements-dev.txt` install on every platform x Python learners bring (needs the package index).

Resolves the pinned stack with pip's dry run for Linux x86-64 and aarch64 and macOS arm64, each on
Python 3.11, 3.12 and 3.13, binary wheels only; a failure names the package and the platform.
"""

import pytest

from tools import wheels

CELLS = [(p, v) for p in wheels.PLATFORMS for v in wheels.PYTHONS]


@pytest.fixture(scope="module")
def resolutions():
    return {(r.platform, r.python): r for r in wheels.resolve_all()}


@pytest.mark.parametrize(("platform", "python"), CELLS, ids=[f"{p}-py{v}" for p, v in CELLS])
def test_every_pin_has_a_wheel(resolutions, platform, python):
    r = resolutions[(platform, python)]
    assert r.ok, f"no wheel of {r.missing or '?'} for {platform}, Python {python}:\n{r.detail}"


def test_a_pin_without_a_macos_wheel_is_caught(tmp_path):
    """The check can fail: the old, unconditional tensorflow-cpu pin has no macOS arm64 wheel."""
    bad = tmp_path / "requirements.txt"
    bad.write_text("tensorflow-cpu==2.21.0\nnumpy==2.4.6\n")
    r = wheels.resolve("macos-arm64", "3.11", bad)
    assert not r.ok and r.missing == "tensorflow-cpu==2.21.0", r.detail
