"""`make run`'s recorder: each notebook's time and the peak memory of its whole process tree."""

import json
import subprocess
import sys

from tests.decoys import write_dead_python3_kernelspec
from tools import run_notebooks

ALLOCATE = "b = bytearray({mb} * 2**20); b[::4096] = b'x' * len(b[::4096])"  # touch every page


def measured_in_a_fresh_recorder(command: list[str]) -> tuple[int, float, float]:
    """`run_notebooks.run(command)` from a small fresh interpreter, as `make run` calls it.

    On Linux a child started from a large process (this pytest process holds TensorFlow) starts
    its peak-memory count at that process's size, so the test measures from a small one.
    """
    code = f"import json; from tools import run_notebooks; print(json.dumps(run_notebooks.run({command!r})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return tuple(json.loads(done.stdout.splitlines()[-1]))


def test_peak_memory_includes_the_processes_a_command_waited_for():
    """A notebook's kernel is a child of nbconvert: its memory must count, not just nbconvert's."""
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {ALLOCATE.format(mb=400)!r}])"
    code, seconds, peak = measured_in_a_fresh_recorder([sys.executable, "-c", child])
    assert code == 0 and seconds > 0
    assert 400 <= peak < 400 + 200  # the grandchild's 400 MiB plus an interpreter (~10-80 MiB)


def test_failure_stops_the_run_and_writes_no_table(tmp_path, monkeypatch, _private_artifacts):
    monkeypatch.setattr(run_notebooks, "EXECUTE", ["-c", "import sys; sys.exit(3)"])
    assert run_notebooks.main([str(tmp_path / "a.ipynb")]) == 3
    assert not (_private_artifacts / "run_times.tsv").exists()


def test_table_has_a_row_per_notebook(tmp_path, monkeypatch, _private_artifacts):
    monkeypatch.setattr(
        run_notebooks, "EXECUTE", ["-c", ALLOCATE.format(mb=50)]
    )  # the path is argv
    assert run_notebooks.main([str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")]) == 0
    lines = (_private_artifacts / "run_times.tsv").read_text().splitlines()
    assert lines[0] == "notebook\tseconds\tpeak_rss_mb"
    assert [ln.split("\t")[0] for ln in lines[1:]] == [
        str(tmp_path / "a.ipynb"),
        str(tmp_path / "b.ipynb"),
    ]
    # Each row's peak is at least the 50 MiB its notebook's process touched (a child of a large
    # pytest process may start its count higher: no upper bound here, see the first test).
    assert all(float(ln.split("\t")[1]) >= 0 and float(ln.split("\t")[2]) >= 50 for ln in lines[1:])


def test_running_one_notebook_again_replaces_only_its_row(
    tmp_path, monkeypatch, _private_artifacts
):
    monkeypatch.setattr(run_notebooks, "EXECUTE", ["-c", "pass"])
    table = _private_artifacts / "run_times.tsv"
    table.parent.mkdir(parents=True)
    table.write_text(run_notebooks.HEADER + "\na.ipynb\t100\t1000\nb.ipynb\t200\t2000\n")
    assert run_notebooks.main(["b.ipynb"]) == 0
    lines = table.read_text().splitlines()
    assert lines[1] == "a.ipynb\t100\t1000"  # kept, in its place
    assert lines[2].startswith("b.ipynb\t") and lines[2] != "b.ipynb\t200\t2000" and len(lines) == 3


def test_merge_rows_keeps_order_replaces_and_appends():
    old = run_notebooks.HEADER + "\na\t1\t10\nb\t2\t20\n"
    merged = run_notebooks.merge_rows(old, {"b": "b\t3\t30", "c": "c\t4\t40"})
    assert merged.splitlines()[1:] == ["a\t1\t10", "b\t3\t30", "c\t4\t40"]
    older_format = "notebook\tseconds\na\t1\n"  # before peak_rss_mb: not mixed in
    assert run_notebooks.merge_rows(older_format, {"c": "c\t4\t40"}).splitlines()[1:] == [
        "c\t4\t40"
    ]


def decoy_machine(tmp_path) -> dict[str, str]:
    """The environment of a laptop with another Jupyter: its `jupyter-nbconvert` first on PATH,
    and a `python3` kernelspec of another Python in the user's and in JUPYTER_PATH's folders."""
    bin_dir = tmp_path / "other-python" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("jupyter", "jupyter-nbconvert"):
        (bin_dir / name).write_text("#!/bin/sh\necho 'decoy Jupyter ran'\nexit 42\n")
        (bin_dir / name).chmod(0o755)
    for data_dir in (tmp_path / "home/.local/share/jupyter", tmp_path / "jupyter-path"):
        write_dead_python3_kernelspec(data_dir)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("JUPYTER")}
    return {
        **env,
        "PATH": f"{bin_dir}:{env['PATH']}",
        "HOME": str(tmp_path / "home"),
        "JUPYTER_PATH": str(tmp_path / "jupyter-path"),
        "JUPYTER_PREFER_ENV_PATH": "0",  # the user's folders before the venv's
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
    }


def test_make_run_uses_the_venvs_nbconvert_and_kernel_whatever_else_is_installed(tmp_path):
    import nbformat

    env = decoy_machine(tmp_path)
    # The decoys are live: what `make run` used to call, and Jupyter's own lookup, pick them.
    old = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--version"], env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert old.returncode == 42 and "decoy Jupyter ran" in old.stdout
    lookup = "from jupyter_client.kernelspec import KernelSpecManager as M; print(M().get_kernel_spec('python3').argv[0])"
    found = subprocess.run([sys.executable, "-c", lookup], env=env, capture_output=True,
                           text=True, check=True)  # fmt: skip
    assert found.stdout.strip() == "/bin/sh"

    notebook = tmp_path / "which_python.ipynb"
    cell = nbformat.v4.new_code_cell("import sys\nprint(sys.executable, sys.prefix)")
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, notebook)
    done = subprocess.run([sys.executable, "-m", "tools.run_notebooks", str(notebook)], env=env,
                          cwd=run_notebooks.REPO_ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    printed = nbformat.read(notebook, as_version=4).cells[0].outputs[0]["text"].split()
    assert printed == [sys.executable, sys.prefix]  # this venv's interpreter ran the kernel
