"""Unit tests never touch the real artifacts/ folder: each gets its own ARTIFACTS_DIR."""

import pytest


@pytest.fixture(autouse=True)
def _private_artifacts(tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    monkeypatch.setenv("ARTIFACTS_DIR", str(root))
    return root
