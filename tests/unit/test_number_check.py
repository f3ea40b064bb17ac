"""Words agree with outputs: `make lint` fails on a measured number that no output shows."""

import shutil

import nbformat

from tests.notebook_code import NOTEBOOKS
from tools import number_check


def test_every_notebook_passes():
    paths = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(
        (NOTEBOOKS.parent / "solutions").glob("*.ipynb")
    )
    assert [p for path in paths for p in number_check.check(path)] == []


def test_a_changed_number_in_a_copy_of_a_lesson_fails(tmp_path):
    """Sabotage: a copy of lesson 05 whose prose states a number none of its outputs shows."""
    copy = tmp_path / "05_tf_finetune.ipynb"
    shutil.copy(NOTEBOOKS / "05_tf_finetune.ipynb", copy)
    before = number_check.check(copy)
    nb = nbformat.read(copy, as_version=4)
    assert "0.7321" not in number_check.printed_text(nb)
    nb.cells.append(nbformat.v4.new_markdown_cell("The handoff keeps the loss at 0.7321× JAX's."))
    nbformat.write(nb, copy)
    (problem,) = set(number_check.check(copy)) - set(before)
    assert f"markdown cell {len(nb.cells) - 1} states '0.7321×'" in problem


def test_declared_quotes_and_printed_numbers_pass(tmp_path):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(...)")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="step 54.5 ms; accuracy 0.9755\n")
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "54.5 ms a step, 97.55% correct; the guide's 1.45× <!-- quoted: 1.45× (the guide) -->"
        ),
        code,
        nbformat.v4.new_markdown_cell("but 61.1 ms for the tape route"),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    problems = number_check.check(path)
    assert len(problems) == 1 and "markdown cell 2 states '61.1 ms'" in problems[0]
    assert number_check.main([str(path)]) == 1
