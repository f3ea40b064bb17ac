"""tools/technique_share.py counts what the house-style test holds lessons to: setup excluded,
cells tagged `checks` and stray asserts or claims counted as checks, everything else technique."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import technique_share


def _lesson(tmp_path, cells):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_setup_is_excluded_and_checks_are_counted(tmp_path):
    checks = new_code_cell("assert x == 2\nclaims.check('x', x, '==', 2, basis='exact')")
    checks.metadata["tags"] = ["checks"]
    path = _lesson(
        tmp_path,
        [
            new_markdown_cell("## Setup"),
            new_code_cell("import numpy as np\nimport jax"),
            new_markdown_cell("## 1. The technique"),
            new_code_cell(
                "# a comment\nx = 1\n\nx = x + 1\nassert x == 2\nclaims.check(\n    'x', x, '==', 2, basis='b')"
            ),
            new_code_cell("%timeit x\nprint(x)"),
            new_markdown_cell("**Checks.** x is two."),
            checks,
        ],
    )
    # technique: x = 1, x = x + 1, print(x); the %timeit line is blank to ast but still a line
    counted = technique_share.share(path)
    assert counted == {"technique": 4, "checks": 5, "share": 4 / 9}


def test_write_manifest_and_claims_objects_are_checks(tmp_path):
    path = _lesson(
        tmp_path,
        [
            new_markdown_cell("## Train"),
            new_code_cell(
                "claims = Claims('03')\nwrite_manifest('03', results={\n    'a': 1,\n})\nloss = 0.1"
            ),
        ],
    )
    assert technique_share.share(path) == {"technique": 1, "checks": 4, "share": 0.2}
