"""What the lessons assert: never a timing, and every recorded claim with a stated basis.

Timings move with the machine and its load, so they are measured and shown (and compared side by
side in `make bench`), never asserted. Read from the notebooks' source, so renaming a cell cannot
hide a regression.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
TIMING = re.compile(
    r"(time|seconds|_ms\b|^ms$|speed|latency|throughput|per_second|perf_counter|elapsed)", re.I
)


def _code(path):
    cells = nbformat.read(path, as_version=4).cells

    def python(source):  # IPython magics (%xmode) and shell lines are not Python
        return "\n".join(
            "pass" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()
        )

    return [(i, python(c.source)) for i, c in enumerate(cells) if c.cell_type == "code"]


def _names(node):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id
        elif isinstance(sub, ast.Attribute):
            yield sub.attr
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            if re.fullmatch(r"\w+", sub.value):  # dict keys like "median_ms", not prose
                yield sub.value


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_timing_is_asserted(path):
    offenders = []
    for index, source in _code(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assert):
                timed = [n for n in _names(node.test) if TIMING.search(n)]
                if timed:
                    offenders.append(f"cell {index}: assert on {timed}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "check":
                timed = [n for n in _names(node) if TIMING.search(n) and n != "basis"]
                if timed:
                    offenders.append(f"cell {index}: claim on {timed}")
    assert not offenders, offenders


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_claim_states_its_basis(path):
    calls = 0
    for index, source in _code(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "check":
                calls += 1
                basis = [k for k in node.keywords if k.arg == "basis"]
                assert basis, f"cell {index}: claims.check without basis="
    if path.stem != "01_data":  # 01 checks the data file only, exactly
        assert calls, "a lesson without a recorded claim"


def test_the_detector_catches_a_timed_assert():
    tree = ast.parse("assert jit_speedup >= MIN_JIT_SPEEDUP, step_ms")
    assert any(TIMING.search(n) for n in _names(tree.body[0].test))
    tree = ast.parse("assert all(s['median_ms'] > 0 for s in rows)")
    assert any(TIMING.search(n) for n in _names(tree.body[0].test))
