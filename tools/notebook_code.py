"""Read code out of the lessons, so tests and benchmarks run the code learners actually see."""

import ast
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


def definitions(tree: ast.Module) -> dict:
    """The top-level classes, functions and `NAME = ...` assignments of `tree`, by name."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node
    return found


def tagged_definitions(notebook: str, tags) -> dict:
    """`definitions` of the code cells of `notebooks/<notebook>` tagged with each of `tags`."""
    found = {}
    for tag in tags:
        found |= definitions(ast.parse(tagged_source(notebook, tag)))
    return found
