"""Every lesson opens and closes the same way, so a learner always knows where to look.

Opening: `# NN · Title`, what you will do, a navigation line; then **Needs / Produces / Runtime**;
then `## Setup` and the Colab setup cell. Closing: the last cell holds `## Summary`, `## Exercises`
(a numbered list) and a `**Next:**` line. Deep dives (`NNb_…`) open the same way and close with a
summary and a way back; every exercise has a worked solution in `solutions/NN_…_solutions.ipynb`.
"""

import re

import nbformat
import pytest

from tests.notebook_code import NOTEBOOKS
from tools import technique_share

LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
DEEP_DIVES = sorted(NOTEBOOKS.glob("[0-9][0-9]b_*.ipynb"))
SOLUTIONS = NOTEBOOKS.parent / "solutions"
NAV = re.compile(
    r"^(?:\*\*Start here\*\*|\[← \d\db? · [^\]]+\]\((?P<prev>\d\d\w*\.ipynb)\))"
    r" · \[(?:\d\db? · [^\]]+|README) →\]\((?P<next>\d\d\w*\.ipynb|\.\./README\.md)\)$",
    re.MULTILINE,
)


def _cells(path):
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", LESSONS + DEEP_DIVES, ids=[p.stem for p in LESSONS + DEEP_DIVES])
def test_opening(path):
    cells = _cells(path)
    first = cells[0].source
    number = path.stem.split("_")[0]
    assert first.startswith(f"# {number} · "), f"cell 0 must open with '# {number} · Title'"
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


@pytest.mark.parametrize("path", DEEP_DIVES, ids=[p.stem for p in DEEP_DIVES])
def test_deep_dive(path):
    """A deep dive extends one core lesson, which links to it; it closes with a summary."""
    core = [p for p in LESSONS if p.stem[:2] == path.stem[:2]]
    assert core, f"{path.name} extends no lesson {path.stem[:2]}"
    core_text = "".join(c.source for c in _cells(core[0]) if c.cell_type == "markdown")
    assert f"]({path.name}" in core_text, f"{core[0].name} never links to its deep dive {path.name}"
    last = _cells(path)[-1].source
    assert last.startswith("## Summary") and re.search(r"^\*\*Next:\*\* .*\]\(", last, re.MULTILINE)


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_exercise_has_a_worked_solution(path):
    solutions = SOLUTIONS / f"{path.stem}_solutions.ipynb"
    assert solutions.is_file(), f"no solutions notebook solutions/{solutions.name}"
    cells = _cells(solutions)
    assert cells[0].source.startswith(f"# {path.stem[:2]} · Solutions"), (
        "cell 0: '# NN · Solutions…'"
    )
    assert f"](../notebooks/{path.name})" in cells[0].source, "cell 0 links back to its lesson"
    headings = [c.source.splitlines()[0] for c in cells if c.cell_type == "markdown" and c.source]
    solved = {int(m[1]) for h in headings if (m := re.match(r"## Exercise (\d+)\b", h))}
    assert solved == _exercises(path), (
        f"exercises {sorted(_exercises(path))}, solutions {sorted(solved)}"
    )
    code = "".join(c.source for c in cells if c.cell_type == "code")
    assert "assert " in code, "a worked solution checks its answer"
    assert "scratch_dir(" in code or "stage_dir(" not in code, (
        "solutions write only to scratch_dir(...)"
    )


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_core_lessons_fit_a_class(path):
    """A core lesson: at most 30 code cells, none over 25 lines (the rest goes to a deep dive)."""
    code = [c.source for c in _cells(path) if c.cell_type == "code"]
    assert len(code) <= 30, f"{len(code)} code cells: move a deep-dive part to {path.stem[:2]}b_…"
    longest = max(code, key=lambda s: len(s.splitlines()))
    assert len(longest.splitlines()) <= 25, (
        f"a {len(longest.splitlines())}-line cell: {longest[:60]!r}"
    )


ALL_NOTEBOOKS = LESSONS + DEEP_DIVES + sorted(SOLUTIONS.glob("*.ipynb"))


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=[p.stem for p in ALL_NOTEBOOKS])
def test_kernelspec_is_the_standard_python3(path):
    """Colab and any Jupyter open a `python3` notebook without asking for a kernel; `make run` and
    `make lab` map that name to the venv's Python (tools/venv_kernel.py)."""
    spec = nbformat.read(path, as_version=4).metadata.kernelspec
    assert dict(spec) == {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }


def test_the_core_path_fits_three_hours():
    """The README's core path (setup through deployment) adds up to the 180 minutes it promises."""
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    core = readme[readme.index("## For instructors") : readme.index("**Electives**")]
    rows = re.findall(r"^\| (setup|\d\d) \| (\d+) min \|", core, re.MULTILINE)
    assert [name for name, _ in rows] == ["setup", "01", "02", "03", "04", "05", "06"]
    total = sum(int(minutes) for _, minutes in rows)
    assert total <= 180 and f"Core path: {total} minutes" in core


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_core_lessons_teach_first_and_verify_after(path):
    """At least 60% of a core lesson's code (setup excluded) is the technique and what shows its
    result; the checks sit in cells tagged `checks`, each after a markdown cell saying **Checks.**
    in the same section (tools/technique_share.py says how lines are counted)."""
    counted = technique_share.share(path)
    assert counted["share"] >= 0.60, f"{counted}: move checks into `checks` cells, or trim them"
    cells = _cells(path)
    for i, cell in enumerate(cells):
        if "checks" not in cell.metadata.get("tags", []):
            continue
        j = i - 1
        while j >= 0 and not (
            cells[j].cell_type == "markdown" and "**Checks.**" in cells[j].source
        ):
            assert cells[j].cell_type == "code" or not re.search(r"^## ", cells[j].source, re.M), (
                f"cell {i} is tagged `checks` but its section never says **Checks.**"
            )
            j -= 1
        assert j >= 0, f"cell {i} is tagged `checks` with no **Checks.** markdown before it"
