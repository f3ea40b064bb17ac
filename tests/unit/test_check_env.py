"""`make check-env`: one [OK]/[FAIL] line per exact pin, exit 1 on any mismatch."""

import runpy
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tools import check_env

NUMPY = metadata.version("numpy")
PYTEST = metadata.version("pytest")
REPO = Path(check_env.__file__).resolve().parent.parent


def _requirements(tmp_path, text):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_ok_wrong_version_and_missing(tmp_path, capsys):
    path = _requirements(
        tmp_path,
        f"# the stack\n\nnumpy=={NUMPY}      # everything\n"
        "pytest==0.0.1\nno-such-package-jax2tf-workshop==1.0\n-e .\n",
    )
    assert check_env.main([str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        f"[OK] numpy=={NUMPY}",
        f"[FAIL] pytest: installed {PYTEST}, pinned 0.0.1",
        "[FAIL] no-such-package-jax2tf-workshop: not installed",
    ]
    assert "2 of 3" in lines[3]


def test_all_ok_exits_0(tmp_path, capsys):
    path = _requirements(tmp_path, f"numpy=={NUMPY}\npytest == {PYTEST}  # tests\n")
    assert check_env.main([str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"[OK] numpy=={NUMPY}",
        f"[OK] pytest=={PYTEST}",
    ]


def test_names_are_normalised(tmp_path, capsys):
    version = metadata.version("ml_dtypes")
    path = _requirements(tmp_path, f"ML.Dtypes=={version}\nPyTest=={PYTEST}\n")
    assert check_env.main([str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"[OK] ML.Dtypes=={version}",
        f"[OK] PyTest=={PYTEST}",
    ]


def test_parse_skips_what_is_not_an_exact_pin():
    text = "\n".join(
        [
            "# comment",
            "   ",
            "-e .",
            "-r other.txt",
            "--index-url https://example.org",
            "foo>=1.0",
            "bar",
            "baz[extra]==2.0 ; python_version >= '3.8'  # with extras and a marker",
            "qux==1.0#not-a-comment-without-space",  # pip: not a comment, not a version
            "tensorflow-cpu==2.21.0      # 01 data",
        ]
    )
    assert check_env.parse_requirements(text) == [("baz", "2.0"), ("tensorflow-cpu", "2.21.0")]


@pytest.mark.parametrize(
    ("installed", "pinned", "same"),
    [
        ("2.0", "2.0", True),
        ("2.0.0", "2.0", True),
        ("2.0", "2.0.0", True),
        ("2.0.1", "2.0", False),
        ("2.1.3", "2.*", True),
        ("20.1", "2.*", False),
        ("1.0rc1", "1.0", False),
    ],
)
def test_version_comparison(installed, pinned, same):
    assert check_env._same_version(installed, pinned) is same


def test_missing_requirements_file(tmp_path, capsys):
    assert check_env.main([str(tmp_path / "nope.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_repo_requirements_parse():
    import platform

    pins = dict(check_env.parse_requirements((REPO / "requirements.txt").read_text()))
    assert {"numpy", "jax", "flax", "matplotlib"} <= set(pins)
    dev = dict(check_env.parse_requirements((REPO / "requirements-dev.txt").read_text()))
    assert {"nbformat", "pytest", "jupyterlab", "playwright"} <= set(dev) and not set(dev) & set(
        pins
    )
    assert all(version[0].isdigit() for version in pins.values())
    # one TensorFlow applies on each machine, by its environment marker
    linux_x86 = sys.platform == "linux" and platform.machine() == "x86_64"
    assert ({"tensorflow-cpu", "tensorflow"} & set(pins)) == (
        {"tensorflow-cpu"} if linux_x86 else {"tensorflow"}
    )


def test_pins_whose_marker_excludes_this_machine_are_skipped():
    text = "\n".join(
        [
            'tensorflow-cpu==2.21.0; sys_platform == "no-such-os"',
            'tensorflow==2.21.0; sys_platform != "no-such-os"  # the one that applies',
            "numpy==2.4.6",
        ]
    )
    assert check_env.parse_requirements(text) == [("tensorflow", "2.21.0"), ("numpy", "2.4.6")]


def test_markers_without_any_evaluator_keep_the_pin(monkeypatch):
    """A broken environment without `packaging` (pip's vendored copy too) still checks the pin."""
    import builtins

    real_import = builtins.__import__

    def no_packaging(name, *args, **kwargs):
        if "packaging" in name:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_packaging)
    assert check_env.marker_applies('sys_platform == "no-such-os"') is True


@pytest.mark.parametrize("how", ["module", "script"])
def test_command_line(tmp_path, how):
    path = _requirements(tmp_path, f"numpy=={NUMPY}\nnumpy==0.0.1\n")
    command = ["-m", "tools.check_env"] if how == "module" else [str(REPO / "tools/check_env.py")]
    result = subprocess.run(
        [sys.executable, *command, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[:2] == [
        f"[OK] numpy=={NUMPY}",
        f"[FAIL] numpy: installed {NUMPY}, pinned 0.0.1",
    ]


def test_main_reads_sys_argv(tmp_path, monkeypatch, capsys):
    path = _requirements(tmp_path, f"numpy=={NUMPY}\n")
    monkeypatch.setattr(sys, "argv", ["check_env", str(path)])
    monkeypatch.delitem(sys.modules, "tools.check_env")  # run it fresh, as `python -m` does
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("tools.check_env", run_name="__main__")
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"[OK] numpy=={NUMPY}\n"


def test_every_file_given_is_checked(tmp_path, capsys):
    good = _requirements(tmp_path, f"numpy=={NUMPY}\n")
    bad = tmp_path / "requirements-dev.txt"
    bad.write_text("numpy==0.0.1\n")
    assert check_env.main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"[OK] numpy=={NUMPY}" in out and "do not match" in out and str(bad) in out
