"""prepare_environment: sets the variables TF and JAX read at import, without overriding a user."""

import os
import platform
from importlib import metadata

import pytest

from helpers.environment import QUIET_AND_SHARE, package_versions, prepare_environment

VARIABLES = [
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "TF_FORCE_GPU_ALLOW_GROWTH",
]


@pytest.fixture
def clean_env(monkeypatch):
    """The four variables unset; monkeypatch restores them (setenv first records the original)."""
    for key in VARIABLES:
        monkeypatch.setenv(key, "placeholder")
        monkeypatch.delenv(key)
    return monkeypatch


def test_the_four_variables(clean_env):
    assert sorted(QUIET_AND_SHARE) == sorted(VARIABLES)
    prepare_environment(show=False)
    assert {key: os.environ[key] for key in VARIABLES} == {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    }


def test_values_already_set_win(clean_env):
    clean_env.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    clean_env.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")
    prepare_environment(show=False)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"  # the unset ones still get defaults


def test_returns_and_prints_versions(clean_env, capsys):
    versions = prepare_environment(("numpy", "pytest"))
    assert versions == {"numpy": metadata.version("numpy"), "pytest": metadata.version("pytest")}
    out = capsys.readouterr().out
    assert f"Python {platform.python_version()}" in out
    assert "numpy" in out and versions["numpy"] in out and versions["pytest"] in out


def test_show_false_prints_nothing(clean_env, capsys):
    assert prepare_environment(("numpy",), show=False) == {"numpy": metadata.version("numpy")}
    assert capsys.readouterr().out == ""


def test_package_versions_skips_missing_packages():
    versions = package_versions(("numpy", "no-such-package-jax2tf-workshop", "tqdm"))
    assert list(versions) == ["numpy", "tqdm"]
    assert versions["tqdm"] == metadata.version("tqdm")


def test_default_packages_include_the_frameworks():
    versions = package_versions()
    assert {"numpy", "jax", "flax", "keras"} <= set(versions)


def test_native_stderr_silenced_drops_fd2_writes_inside_the_block_only(capfd):
    from helpers.environment import native_stderr_silenced

    os.write(2, b"before\n")
    with native_stderr_silenced():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")  # as C++ does
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_native_stderr_silenced_restores_fd2_when_the_block_raises(capfd):
    from helpers.environment import native_stderr_silenced

    with pytest.raises(RuntimeError, match="allocation failed"):
        with native_stderr_silenced():
            raise RuntimeError("allocation failed")
    os.write(2, b"still visible\n")
    assert capfd.readouterr().err == "still visible\n"
