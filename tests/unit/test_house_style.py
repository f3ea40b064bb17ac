"""Every lesson opens and closes the same way, so a learner always knows where to look.

Opening: `# NN · Title`, what you will do, a navigation line; then **Needs / Produces / Runtime**;
then `## Setup` and the Colab setup cell. Closing: the last cell holds `## Summary`, `## Exercises`
(a numbered list) and a `**Next:**` line.
"""

import re

import nbformat
import pytest

from tools.notebook_code import NOTEBOOKS

LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
NAV = re.compile(
    r"^(?:\*\*Start here\*\*|\[← \d\d · [^\]]+\]\((?P<prev>\d\d\w*\.ipynb)\))"
    r" · \[(?:\d\d · [^\]]+|README) →\]\((?P<next>\d\d\w*\.ipynb|\.\./README\.md)\)$",
    re.MULTILINE,
)


def _cells(path):
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_opening(path):
    cells = _cells(path)
    first = cells[0].source
    assert first.startswith(f"# {path.stem[:2]} · "), "cell 0 must open with '# NN · Title'"
    nav = NAV.search(first)
    assert nav, "cell 0 needs the navigation line '[← NN · Title](…) · [NN · Title →](…)'"
    for link in (nav["prev"], nav["next"]):
        if link:
            assert (NOTEBOOKS / link).is_file(), f"navigation links to a missing {link}"
    labels = [
        line.split(":**")[0] for line in cells[1].source.splitlines() if line.startswith("**")
    ]
    assert labels == ["**Needs", "**Produces", "**Runtime"], "cell 1: Needs, Produces, Runtime"
    assert cells[2].cell_type == "markdown" and cells[2].source.startswith("## Setup")
    assert cells[3].cell_type == "code" and cells[3].source.startswith("# Google Colab only")


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_closing(path):
    cells = _cells(path)
    last = cells[-1].source
    summary, exercises = last.find("## Summary"), last.find("## Exercises")
    assert last.startswith("## Summary") and exercises > summary, "last cell: Summary, Exercises"
    assert re.search(r"^1\. ", last[exercises:], re.MULTILINE), "exercises are a numbered list"
    assert re.search(r"^\*\*Next:\*\* .*\]\(", last, re.MULTILINE), "end with a **Next:** link"


def _exercises(path):
    last = _cells(path)[-1].source
    block = last[last.find("## Exercises") : last.find("**Next:**")]
    return {int(n) for n in re.findall(r"^(\d+)\. ", block, re.MULTILINE)}


def test_the_instructor_table_assigns_exercises_that_exist():
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## For instructors") :]
    rows = re.findall(r"^\| (\d\d) \| [^|]+\| [^|]+\| ([^|]+) \|$", section, re.MULTILINE)
    assert sorted(nn for nn, _ in rows) == [p.stem[:2] for p in LESSONS], "one row per lesson"
    for nn, assign in rows:
        (path,) = [p for p in LESSONS if p.stem.startswith(nn)]
        named = set()
        for first, last in re.findall(r"exercises? (\d+)(?:–(\d+))?", assign):
            named.update(range(int(first), int(last or first) + 1))
        assert named, f"lesson {nn}: the table assigns no numbered exercise ({assign.strip()})"
        assert named <= _exercises(path), f"lesson {nn} has no exercise {sorted(named)}"
