"""`make lint`'s notebook check: stored outputs come from one complete, in-order, clean run."""

import runpy
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
)

from tools import notebook_check


def _good():
    """What `make NN` leaves: markdown, counts 1..n, an empty unexecuted cell, outputs."""
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    nb.cells = [
        new_markdown_cell("# 01 · Title"),
        new_code_cell("x = 1", execution_count=1),
        new_code_cell(
            "print(x)",
            execution_count=2,
            outputs=[new_output("stream", name="stdout", text="1\n")],
        ),
        new_code_cell("", execution_count=None),  # nbclient skips empty cells
        new_code_cell(
            "1 / 0",
            execution_count=3,
            metadata={"tags": ["raises-exception"]},
            outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero")],
        ),
        new_code_cell(
            "x",
            execution_count=4,
            outputs=[new_output("execute_result", data={"text/plain": "1"}, execution_count=4)],
        ),
    ]
    return nb


def _write(tmp_path, nb, name="01_data.ipynb"):
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_good_notebook_passes(tmp_path, capsys):
    path = _write(tmp_path, _good())
    assert notebook_check.check_file(path) == []
    assert notebook_check.main([str(path)]) == 0
    assert "1 notebooks hold clean outputs" in capsys.readouterr().out


def test_no_notebooks_is_not_an_error(capsys):
    assert notebook_check.main([]) == 0


def _problems(nb):
    return notebook_check.check_notebook(nb, "notebooks/01_data.ipynb")


def test_never_executed_cell():
    nb = _good()
    nb.cells[2].execution_count = None
    nb.cells[4].execution_count = 2
    nb.cells[4].outputs = []  # keep the rest consistent: only the one defect
    nb.cells[4].metadata = {}
    nb.cells[5].execution_count = 3
    (problem,) = _problems(nb)
    assert problem.startswith("notebooks/01_data.ipynb: cell 2: never executed")
    assert "make 01_data" in problem


def test_unexecuted_notebook_reports_every_code_cell():
    nb = _good()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = []
    assert [p.split(": ")[1] for p in _problems(nb)] == ["cell 1", "cell 2", "cell 4", "cell 5"]


@pytest.mark.parametrize(
    ("counts", "bad_cells"),
    [
        ((2, 3, 4, 5), ["cell 1"]),  # the first cell ran twice (kernel not restarted)
        ((1, 2, 3, 7), ["cell 5"]),  # cells run again by hand
        ((1, 3, 2, 4), ["cell 2", "cell 4", "cell 5"]),  # out of order
    ],
    ids=["not from 1", "gap", "out of order"],
)
def test_execution_counts_must_be_1_to_n_in_order(counts, bad_cells):
    nb = _good()
    for index, count in zip((1, 2, 4, 5), counts, strict=True):
        nb.cells[index].execution_count = count
    problems = _problems(nb)
    assert [p.split(": ")[1] for p in problems] == bad_cells
    assert all("execution_count" in p for p in problems)


def test_error_output_fails_unless_tagged():
    nb = _good()
    nb.cells[4].metadata = {"tags": ["nbval-ignore-output"]}
    (problem,) = _problems(nb)
    assert "cell 4: error output ZeroDivisionError: division by zero" in problem
    assert "raises-exception" in problem


@pytest.mark.parametrize("key", ["execution", "ExecuteTime"])
def test_timing_metadata_fails(key):
    nb = _good()
    nb.cells[2].metadata[key] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    (problem,) = _problems(nb)
    assert f"cell 2: timing metadata '{key}'" in problem


def test_timing_metadata_on_markdown_cells_fails_too():
    nb = _good()
    nb.cells[0].metadata["execution"] = {}
    (problem,) = _problems(nb)
    assert "cell 0: timing metadata" in problem


def test_widget_state_fails():
    nb = _good()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    (problem,) = _problems(nb)
    assert "notebook metadata holds widget state" in problem


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    (problem,) = notebook_check.check_file(path)
    assert problem.startswith(f"{path}: cannot read it as a notebook")
    (missing,) = notebook_check.check_file(tmp_path / "missing.ipynb")
    assert "cannot read" in missing


def test_command_line_exit_status_and_one_line_per_problem(tmp_path):
    good = _write(tmp_path, _good(), "01_data.ipynb")
    bad_nb = _good()
    bad_nb.cells[1].execution_count = None
    bad_nb.metadata["widgets"] = {}
    bad = _write(tmp_path, bad_nb, "02_flax_model.ipynb")
    result = subprocess.run(
        [sys.executable, "-m", "tools.notebook_check", str(good), str(bad)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4  # widgets, cell 1 never run, cell 2 count 2 after 0, summary
    assert all(line.startswith(str(bad)) for line in lines[:3])
    assert lines[-1] == "1 of 2 notebooks hold unclean or incomplete outputs."


def test_main_reads_sys_argv_and_prints_each_problem(tmp_path, monkeypatch, capsys):
    nb = _good()
    nb.cells[5].execution_count = 9
    bad = _write(tmp_path, nb)
    monkeypatch.setattr(sys, "argv", ["notebook_check", str(bad)])
    monkeypatch.delitem(sys.modules, "tools.notebook_check")  # run it fresh, as `python -m` does
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("tools.notebook_check", run_name="__main__")
    assert exit_info.value.code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{bad}: cell 5: execution_count 9 after 3, expected 4")
    assert lines[1] == "1 of 1 notebooks hold unclean or incomplete outputs."


def test_machine_paths_and_ansi_in_outputs_are_reported():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook(
        cells=[
            new_code_cell(
                "print(p)",
                execution_count=1,
                outputs=[
                    new_output("stream", name="stdout", text="Reading /home/ana/data/mnist.npz\n")
                ],
            ),
            new_code_cell(
                "t",
                execution_count=2,
                outputs=[
                    new_output(
                        "execute_result",
                        data={"text/plain": "\x1b[3mTable\x1b[0m"},
                        execution_count=2,
                    )
                ],
            ),
            new_code_cell(
                "print(q)",
                execution_count=3,
                outputs=[
                    new_output(
                        "stream",
                        name="stdout",
                        text="wrote artifacts/04_export/serving; 2/3 done\n",
                    )
                ],
            ),
        ]
    )
    problems = notebook_check.check_notebook(nb, "x.ipynb")
    assert len(problems) == 2, problems
    assert "cell 0: a machine path in the output (/home/ana)" in problems[0]
    assert "cell 1: ANSI terminal escapes" in problems[1]


@pytest.mark.parametrize(
    "line",
    [
        "WARNING:tensorflow:Mapping types may not work well with tf.nest.",
        "WARNING:absl:Importing a function (__inference_f_12) with ops with unsaved custom gradients.",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "W0000 00:00:1764512345.123456   12345 cpu_feature_guard.cc:210] This TensorFlow binary",
        "I0000 00:00:1764512345.123456 grpc_server.cc:1] started",
        "notebook.py:12: UserWarning: something noisy",
    ],
)
def test_framework_log_lines_in_outputs_are_reported(line):
    nb = new_notebook(
        cells=[
            new_code_cell(
                "run()",
                execution_count=1,
                outputs=[new_output("stream", name="stderr", text=f"ok\n{line}\nmore\n")],
            )
        ]
    )
    (problem,) = notebook_check.check_notebook(nb, "x.ipynb")
    assert "cell 0: a framework log line in the output" in problem
    assert line[:40] in problem


@pytest.mark.parametrize(
    "text",
    [
        "Warning: read the table below\n",  # a lesson's own words
        "epoch 3: WARNING: not a log line, mid-sentence\n",
        "claim held: 'accuracy' 0.97 >= 0.962\n",
        "INFO is a word too\n",
    ],
)
def test_lesson_text_that_mentions_warnings_is_not_a_log_line(text):
    nb = new_notebook(
        cells=[
            new_code_cell(
                "print(x)",
                execution_count=1,
                outputs=[new_output("stream", name="stdout", text=text)],
            )
        ]
    )
    assert notebook_check.check_notebook(nb, "x.ipynb") == []
