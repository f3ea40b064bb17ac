"""Check that notebooks hold clean outputs from one complete, in-order execution.

`make lint` runs `python -m tools.notebook_check notebooks/*.ipynb`. The stored outputs are what
readers see on GitHub and what nbval compares, so they must come from `make run` (one top-to-bottom
execution), never from a half-run or hand-edited notebook. For each notebook this reports, one
line per problem naming the notebook and the cell index (0-based, all cells counted, as nbval
does):

- a code cell with source but no `execution_count` (never executed);
- execution counts that are not 1, 2, 3, ... in cell order (executed out of order, or partially);
- an error output, unless the cell is tagged `raises-exception` (an error shown on purpose);
- noise: timing metadata in a cell (`execution`, `ExecuteTime`) or widget state in the
  notebook metadata (`widgets`);
- output a reader should not see: an absolute path of the machine that ran it (show paths
  relative to the repo, `artifacts/...` or `$MNIST_NPZ`), ANSI terminal escapes, or a framework
  log line (`WARNING:tensorflow:...`, LiteRT's `INFO: Created ... delegate`, absl's
  `W0000 00:00:...`, Python's `file.py:12: UserWarning:`): silence it where it is raised, or
  catch it and say in the lesson's own words what it means.

Exit status: 0 when every notebook is clean (or none is given), 1 otherwise.
"""

import re
import sys
from pathlib import Path

import nbformat

FIX = "re-execute it with `make {stem}`"
TIMING_KEYS = ("execution", "ExecuteTime")  # nbclient's record_timing; jupyterlab-execute-time
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|Users|tmp|content|private)/[\w.-]+")
ANSI = "\x1b["
LOG_LINE = re.compile(
    r"^(?:(?:DEBUG|INFO|WARNING|ERROR|CRITICAL|FATAL)(?:: |:[\w.]+:)"  # LiteRT; logging's LEVEL:name:
    r"|[IWEF]\d{4} \d\d:\d\d:\d\d"  # absl / glog (C++)
    r"|\S+:\d+: \w*Warning: )",  # warnings.showwarning
    re.MULTILINE,
)


def _output_text(output) -> str:
    text = output.get("text", "")
    data = output.get("data", {}).get("text/plain", "")
    return "".join(text) + "".join(data)


def check_notebook(nb, name: str = "notebook") -> list[str]:
    """Problems in the `nbformat` notebook `nb`, one message per problem (empty when clean)."""
    problems = []
    stem = Path(name).stem
    fix = FIX.format(stem="solutions" if stem.endswith("_solutions") else stem)
    if "widgets" in nb.metadata:
        problems.append(
            f"{name}: notebook metadata holds widget state ('widgets'); {fix} "
            "(the Makefile passes --ExecutePreprocessor.store_widget_state=False)"
        )
    previous = 0  # the execution count of the last executed code cell
    for index, cell in enumerate(nb.cells):
        where = f"{name}: cell {index}"
        for key in TIMING_KEYS:
            if key in cell.get("metadata", {}):
                problems.append(f"{where}: timing metadata '{key}' in the cell metadata; {fix}")
        if cell.cell_type != "code" or not cell.source.strip():
            continue  # nbclient skips empty code cells: they keep no count
        count = cell.get("execution_count")
        if count is None:
            problems.append(f"{where}: never executed (no execution_count); {fix}")
            continue
        if count != previous + 1:
            problems.append(
                f"{where}: execution_count {count} after {previous}, expected {previous + 1} "
                f"(run out of order or partially); {fix}"
            )
        previous = count
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            text = _output_text(output)
            if ANSI in text:
                problems.append(f"{where}: ANSI terminal escapes in the output; print plain text")
            path = MACHINE_PATH.search(text)
            if path:
                problems.append(
                    f"{where}: a machine path in the output ({path.group(0)}); show it relative "
                    "to the repo (helpers.artifacts.display_path) or as $MNIST_NPZ"
                )
            log = LOG_LINE.search(text)
            if log:
                line = text[log.start() :].splitlines()[0][:80]
                problems.append(
                    f"{where}: a framework log line in the output ({line!r}); silence it where it "
                    "is raised, or catch it and explain it in the lesson's words"
                )
            if output.get("output_type") == "error" and "raises-exception" not in tags:
                problems.append(
                    f"{where}: error output {output.get('ename', '?')}: "
                    f"{output.get('evalue', '')} (fix the cell, or tag it 'raises-exception' "
                    "if the error is shown on purpose)"
                )
    return problems


def check_file(path: str | Path) -> list[str]:
    """`check_notebook` for the file at `path`; an unreadable file is one problem."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # missing file, invalid JSON, not a notebook
        return [f"{path}: cannot read it as a notebook ({type(err).__name__}: {err})"]
    return check_notebook(nb, str(path))


def main(argv: list[str] | None = None) -> int:
    """Check every notebook path in `argv`; print the problems; return the exit status."""
    paths = sys.argv[1:] if argv is None else argv
    bad = 0
    for path in paths:
        problems = check_file(path)
        bad += bool(problems)
        for problem in problems:
            print(problem)
    if bad:
        print(f"{bad} of {len(paths)} notebooks hold unclean or incomplete outputs.")
        return 1
    print(f"{len(paths)} notebooks hold clean outputs from a full in-order run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
