"""How much of a lesson's code is the technique, and how much is checking it.

A learner came for the technique (the model, the train step, the conversion, the deployment) and
for what shows its result. Every claim is still checked, but in cells tagged `checks`, each at the
end of a section or of the lesson, after a markdown cell that opens with **Checks.** and says in
one sentence what they check. This counts, per lesson, the code lines after the setup (the cells
of the `## Setup` section: Colab, environment, imports):

- **checks**: every line of a cell tagged `checks` (code whose only job is to verify or record:
  a reference computed only to compare against, comparisons, asserts, `claims.check`, the
  manifest), and, in any other cell, every line of an `assert` statement, of a `claims.…(…)` or
  `Claims(…)` call, or of a `write_manifest(…)` call;
- **technique**: every other line: the technique, and what shows its result (a printed accuracy,
  a table of latencies, a figure).

Blank lines and comment-only lines are not counted; a statement spanning five lines counts five.
`tests/unit/test_house_style.py` holds every core lesson to at least 60% technique.

    python -m tools.technique_share notebooks/0[1-9]_*.ipynb
"""

import ast
import re
import sys
from pathlib import Path

import nbformat

HEADING = re.compile(r"^## ", re.MULTILINE)
CHECK_CALLS = {"write_manifest", "Claims"}


def _is_check(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assert):
        return True
    value = getattr(node, "value", None)
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return func.value.id == "claims"
        if isinstance(func, ast.Name):
            return func.id in CHECK_CALLS
    return False


def _code_lines(source: str) -> set[int]:
    return {
        i
        for i, line in enumerate(source.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#")
    }


def _check_lines(source: str) -> set[int]:
    magic = ("%", "!")  # IPython lines: blanked, so line numbers stay those of the cell
    lines_of = [("" if line.lstrip().startswith(magic) else line) for line in source.splitlines()]
    tree = ast.parse("\n".join(lines_of))
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and _is_check(node):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def share(path) -> dict:
    """{'technique': n, 'checks': m, 'share': n / (n + m)} for one notebook."""
    cells = nbformat.read(path, as_version=4).cells
    setup, technique, checks = False, 0, 0
    for cell in cells:
        if cell.cell_type == "markdown" and HEADING.search(cell.source):
            setup = cell.source.startswith("## Setup")
        if setup or cell.cell_type != "code":
            continue
        code = _code_lines(cell.source)
        if "checks" in cell.metadata.get("tags", []):
            checks += len(code)
            continue
        checked = code & _check_lines(cell.source)
        checks += len(checked)
        technique += len(code) - len(checked)
    total = technique + checks
    return {"technique": technique, "checks": checks, "share": technique / total if total else 1.0}


def main(paths) -> None:
    print(f"{'lesson':<28}{'technique':>10}{'checks':>8}{'share':>8}")
    for path in paths:
        s = share(path)
        print(f"{Path(path).stem:<28}{s['technique']:>10}{s['checks']:>8}{s['share']:>8.0%}")


if __name__ == "__main__":
    main(sys.argv[1:])
