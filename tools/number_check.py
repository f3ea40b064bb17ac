"""`make lint`: a number that markdown states as measured must be one the notebook printed.

Words must not contradict the output under them. A markdown cell that hand-types a measured-looking
number (a percentage, a ratio like 1.12×, a time, a size, a count of ulps) fails
this check unless that number appears in one of the notebook's stored outputs, so rerunning on
another machine cannot leave the prose promising yesterday's value. A number quoted from elsewhere
(the guide, an earlier lesson's record, a paper, the recipe) is declared in the cell, invisibly,
with the source: `<!-- quoted: 1.45× (the guide), 97.92% (NOTES) -->`. Numbers in code spans,
dimensions (28×28), constants without a unit (1e-8) and plain counts are not checked.

    python -m tools.number_check notebooks/*.ipynb solutions/*.ipynb
"""

import re
import sys
from pathlib import Path

import nbformat

MEASURED = re.compile(  # a number and its unit; `2.5×` is a ratio, `9,408 × 200` a dimension
    r"(?<![\w.\-])(\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?)"
    r"(?:\s?(%|ms\b|µs\b|s\b|min\b|GB\b|MB\b|KB\b|ulps?\b)|(×)(?!\s?\d))"
)
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
QUOTED = re.compile(r"<!--\s*quoted:(.*?)-->", re.S)
LINK = re.compile(r"\]\([^)]*\)|https?://\S+")


def _plain(number: str) -> str:
    return number.replace(",", "")


def printed_text(nb) -> str:
    """Everything the notebook's outputs show, commas dropped (1,234 and 1234 are the same)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(v for k, v in out.get("data", {}).items() if k.startswith("text/"))
    return _plain("\n".join(p if isinstance(p, str) else "".join(p) for p in parts))


def _shown(number: str, unit: str, printed: str) -> bool:
    """`number` is in the outputs as written, or (a percentage) as the fraction it stands for."""
    if re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", printed):
        return True
    if unit == "%":
        try:
            value = float(number) / 100
        except ValueError:
            return False
        decimals = len(number.split(".")[1]) + 2 if "." in number else 2
        return (
            re.search(rf"(?<![\d.]){re.escape(f'{value:.{decimals}f}')}(?![\d])", printed)
            is not None
        )
    return False


def unbacked(markdown: str, printed: str) -> list[str]:
    """The measured-looking numbers of one markdown cell that no output shows and none declares.

    >>> unbacked("the loop runs at 0.76× the step; 28×28 pixels; `1.5%`", "speed 0.76")
    []
    >>> unbacked("accuracy 97.55% after 1.2 s <!-- quoted: 1.2 s (NOTES) -->", "0.9754")
    ['97.55%']
    >>> unbacked("97.5% correct", "accuracy 0.975")
    []
    """
    quoted_numbers = {
        _plain(n) for m in QUOTED.finditer(markdown) for n in NUMBER.findall(m.group(1))
    }
    text = LINK.sub(" ", CODE.sub(" ", QUOTED.sub(" ", markdown)))
    missing = []
    for m in MEASURED.finditer(text):
        number, unit = _plain(m.group(1)), m.group(2) or m.group(3)
        if number in quoted_numbers or _shown(number, unit, printed):
            continue
        missing.append(m.group(0).strip())
    return missing


def check(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    printed = printed_text(nb)
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for token in unbacked(cell.source, printed):
                problems.append(
                    f"{path}: markdown cell {index} states {token!r}, which no output of this "
                    "notebook shows: quote the output, say what to look for instead, or declare "
                    "where it comes from with <!-- quoted: … (source) -->"
                )
    return problems


def main(argv=None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    problems = [p for path in paths for p in check(path)]
    print(
        "\n".join(problems)
        or f"{len(paths)} notebooks: every measured number in markdown is in an output."
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
