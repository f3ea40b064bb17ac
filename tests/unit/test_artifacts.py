"""Stages hand over through artifacts/: paths, the one-sentence missing-input error, atomic writes.

The autouse fixture in conftest.py gives every test its own ARTIFACTS_DIR.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import helpers
import helpers.artifacts
from helpers.artifacts import (
    MissingArtifactError,
    artifacts_dir,
    atomic_dir,
    atomic_write_bytes,
    atomic_write_npz,
    atomic_write_text,
    read_json,
    require,
    stage_dir,
    write_json,
    write_manifest,
)

MESSAGE = (
    "Missing artifacts/03_jax_training/checkpoint — run notebooks/03_jax_training.ipynb first "
    "(make 03_jax_training)."
)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_artifacts_dir_honours_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "elsewhere"))
    assert artifacts_dir() == tmp_path / "elsewhere"


def test_artifacts_dir_default_is_found_from_the_package(tmp_path, monkeypatch):
    monkeypatch.delenv("ARTIFACTS_DIR")
    monkeypatch.chdir(tmp_path)  # the kernel's cwd must not matter
    repo = Path(helpers.__file__).resolve().parent.parent
    assert artifacts_dir() == repo / "artifacts"
    assert (repo / "pyproject.toml").is_file()


def test_stage_dir_creates(_private_artifacts):
    path = stage_dir("03_jax_training")
    assert path == _private_artifacts / "03_jax_training" and path.is_dir()
    assert not stage_dir("04_export", create=False).exists()


def test_require_returns_existing_paths(_private_artifacts):
    target = stage_dir("03_jax_training") / "history.json"
    target.write_text("{}")
    assert require("03_jax_training/history.json", "03_jax_training") == target
    assert require(target, "03_jax_training") == target  # absolute paths too


def test_require_message_with_a_private_artifacts_dir():
    with pytest.raises(MissingArtifactError) as err:
        require("03_jax_training/checkpoint", "03_jax_training")
    assert str(err.value) == MESSAGE
    assert isinstance(err.value, FileNotFoundError)


def test_require_message_with_the_default_root(tmp_path, monkeypatch):
    """ARTIFACTS_DIR unset: the root is <repo>/artifacts (a fake repo here, so the real one's
    contents cannot make the test pass or fail)."""
    monkeypatch.delenv("ARTIFACTS_DIR")
    monkeypatch.setattr(helpers.artifacts, "REPO_ROOT", tmp_path / "repo")
    with pytest.raises(MissingArtifactError) as err:
        require("03_jax_training/checkpoint", "03_jax_training")
    assert str(err.value) == MESSAGE


def test_require_message_through_a_symlinked_root(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.delenv("ARTIFACTS_DIR")
    monkeypatch.setattr(helpers.artifacts, "REPO_ROOT", tmp_path)
    (tmp_path / "artifacts").symlink_to(tmp_path / "link")
    with pytest.raises(MissingArtifactError) as err:
        require("03_jax_training/checkpoint", "03_jax_training")
    assert str(err.value) == MESSAGE


def test_require_outside_the_root_shows_the_full_path(tmp_path):
    missing = tmp_path / "somewhere" / "model"
    with pytest.raises(MissingArtifactError, match="Missing .*somewhere/model — run"):
        require(missing, "04_export")


def test_atomic_write_replaces_whole(tmp_path):
    path = tmp_path / "sub" / "f.bin"
    assert atomic_write_bytes(path, b"a long first version") == path
    atomic_write_bytes(path, b"short")
    assert path.read_bytes() == b"short"
    atomic_write_text(path, "héllo")
    assert path.read_text(encoding="utf-8") == "héllo"
    assert _leftovers(path.parent) == []


def test_atomic_write_npz_round_trips_and_leaves_no_temp(tmp_path):
    path = atomic_write_npz(tmp_path / "a.npz", x=np.arange(3), y=np.ones((2, 2), np.float32))
    with np.load(path) as saved:
        assert sorted(saved.files) == ["x", "y"] and np.array_equal(saved["x"], np.arange(3))
        assert saved["y"].dtype == np.float32
    assert _leftovers(tmp_path) == []


def test_atomic_write_uses_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = atomic_write_bytes(tmp_path / "f", b"x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    with atomic_dir(tmp_path / "d"):
        pass
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~umask


def test_failed_replace_keeps_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "f.txt", "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_failed_write_keeps_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "f.txt", "old")

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        atomic_write_bytes(path, b"new")
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_unserializable_json_keeps_previous_file(tmp_path):
    path = write_json(tmp_path / "h.json", {"a": 1})
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert _leftovers(tmp_path) == []


def test_atomic_dir_swaps_in_and_removes_the_old(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "v1.bin").write_bytes(b"1")
        assert not target.exists()  # nothing visible until the block ends
    assert sorted(p.name for p in target.iterdir()) == ["v1.bin"]
    with atomic_dir(target) as tmp:
        (tmp / "v2.bin").write_bytes(b"2")
    assert sorted(p.name for p in target.iterdir()) == ["v2.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_atomic_dir_exception_keeps_the_previous_directory(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "good.bin").write_bytes(b"good")
    with pytest.raises(RuntimeError, match="training crashed"), atomic_dir(target) as tmp:
        (tmp / "half.bin").write_bytes(b"half")
        raise RuntimeError("training crashed")
    assert sorted(p.name for p in target.iterdir()) == ["good.bin"]
    assert (target / "good.bin").read_bytes() == b"good"
    assert _leftovers(tmp_path) == []


def test_atomic_dir_failed_swap_restores_the_previous_directory(tmp_path, monkeypatch):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "good.bin").write_bytes(b"good")
    real_replace = os.replace

    def fail_on_swap_in(src, dst):
        if Path(dst) == target and ".tmp-" in Path(src).name:
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_swap_in)
    with pytest.raises(OSError, match="rename failed"), atomic_dir(target) as tmp:
        (tmp / "new.bin").write_bytes(b"new")
    assert sorted(p.name for p in target.iterdir()) == ["good.bin"]
    assert _leftovers(tmp_path) == []


def test_write_json_handles_numpy(tmp_path):
    data = {
        "int": np.int64(3),
        "float": np.float32(0.5),
        "bool": np.bool_(True),
        "array": np.arange(3),
        "nested": [np.float64(1.5)],
        "path": tmp_path / "x",
    }
    path = write_json(tmp_path / "n.json", data)
    text = path.read_text()
    assert text.endswith("\n")
    assert json.loads(text) == {
        "int": 3,
        "float": 0.5,
        "bool": True,
        "array": [0, 1, 2],
        "nested": [1.5],
        "path": str(tmp_path / "x"),
    }


def test_read_json(_private_artifacts):
    write_json(stage_dir("03_jax_training") / "history.json", {"epochs": []})
    assert read_json("03_jax_training/history.json", "03_jax_training") == {"epochs": []}
    assert read_json(_private_artifacts / "03_jax_training" / "history.json") == {"epochs": []}


def test_read_json_with_producer_raises_the_require_message():
    with pytest.raises(MissingArtifactError) as err:
        read_json("03_jax_training/history.json", "03_jax_training")
    assert str(err.value) == (
        "Missing artifacts/03_jax_training/history.json — run notebooks/03_jax_training.ipynb "
        "first (make 03_jax_training)."
    )


def test_write_manifest(_private_artifacts):
    path = write_manifest(
        "05_tf_finetune",
        config={"epochs": 7},
        results={"accuracy": np.float32(0.98)},
        files=["model.keras"],
        inputs=["04_export/saved_model"],
    )
    assert path == _private_artifacts / "05_tf_finetune" / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["stage"] == "05_tf_finetune"
    assert manifest["producer"] == "notebooks/05_tf_finetune.ipynb"
    assert manifest["config"] == {"epochs": 7}
    assert manifest["results"]["accuracy"] == pytest.approx(0.98)
    assert manifest["files"] == ["model.keras"] and manifest["inputs"] == ["04_export/saved_model"]
    assert manifest["versions"]["numpy"] == np.__version__
    assert manifest["created_utc"].endswith("+00:00")
    assert {"python", "machine"} <= set(manifest)


def test_write_manifest_defaults(_private_artifacts):
    manifest = json.loads(write_manifest("01_data").read_text())
    assert (manifest["config"], manifest["results"], manifest["files"], manifest["inputs"]) == (
        {},
        {},
        [],
        [],
    )
