"""Read code out of the lessons, so tests run cells that are taught but not exported as learners see them."""

from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def tagged_source(notebook: str, tag: str) -> str:
    """The source of the code cells of `notebooks/<notebook>` tagged `tag`, joined."""
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    cells = [
        c.source for c in nb.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])
    ]
    if not cells:
        raise LookupError(f"no code cell tagged {tag!r} in notebooks/{notebook}")
    return "\n\n".join(cells)


def exec_tagged(notebook: str, tag: str, namespace: dict) -> dict:
    """Execute the tagged cells in `namespace` (which supplies the notebook's imports)."""
    exec(compile(tagged_source(notebook, tag), f"notebooks/{notebook}[{tag}]", "exec"), namespace)
    return namespace
