"""The seed knob, the claims recorder and the `make claims` table."""

import json

import numpy as np
import pytest

from helpers import artifacts, claims
from helpers.claims import ClaimFailed, Claims, float32_ulp, load_claims
from helpers.seed import SeedError, workshop_seed
from tools import claims as claims_tool


def test_seed_defaults_to_zero(monkeypatch):
    monkeypatch.delenv("WORKSHOP_SEED", raising=False)
    assert workshop_seed() == 0
    monkeypatch.setenv("WORKSHOP_SEED", "  ")
    assert workshop_seed() == 0


def test_seed_reads_the_environment(monkeypatch):
    monkeypatch.setenv("WORKSHOP_SEED", "4")
    assert workshop_seed() == 4


@pytest.mark.parametrize("bad", ["-1", "one", "1.5", str(2**32)])
def test_bad_seed_says_how_to_fix(monkeypatch, bad):
    monkeypatch.setenv("WORKSHOP_SEED", bad)
    with pytest.raises(SeedError, match=r"WORKSHOP_SEED=.*whole number from 0"):
        workshop_seed()


def test_manifest_records_seed_and_cpus(monkeypatch):
    monkeypatch.setenv("WORKSHOP_SEED", "3")
    path = artifacts.write_manifest("09_demo")
    manifest = json.loads(path.read_text())
    assert manifest["seed"] == 3 and manifest["usable_cpus"] >= 1


def test_claims_are_recorded_as_checked(monkeypatch):
    monkeypatch.setenv("WORKSHOP_SEED", "2")
    c = Claims("09_demo")
    assert c.check("accuracy", np.float32(0.975), ">=", 0.97, basis="measured") == pytest.approx(
        0.975
    )
    c.check("flips", 0, "<=", 3, basis="near ties")
    saved = load_claims("09_demo")
    assert saved["seed"] == 2 and [r["name"] for r in saved["claims"]] == ["accuracy", "flips"]
    assert all(r["holds"] for r in saved["claims"]) and isinstance(
        saved["claims"][0]["value"], float
    )


def test_failed_claim_is_recorded_then_raised():
    c = Claims("09_demo")
    with pytest.raises(
        ClaimFailed, match=r"accuracy = 0\.9, but the claim is >= 0\.97 \(basis: seeds\)"
    ):
        c.check("accuracy", 0.9, ">=", 0.97, basis="seeds")
    (record,) = load_claims("09_demo")["claims"]
    assert record["holds"] is False and record["value"] == 0.9
    assert issubclass(ClaimFailed, AssertionError)  # a failed claim fails its cell like an assert


def test_rechecking_a_claim_replaces_it():
    c = Claims("09_demo")
    c.check("x", 1, "<=", 2, basis="b")
    c.check("x", 2, "<=", 2, basis="b")
    assert [r["value"] for r in load_claims("09_demo")["claims"]] == [2]


def test_nan_never_holds_and_unknown_ops_are_refused():
    c = Claims("09_demo")
    with pytest.raises(ClaimFailed):
        c.check("diff", float("nan"), "<=", 1.0, basis="b")
    with pytest.raises(ValueError, match="unknown comparison"):
        c.check("diff", 1.0, "=<", 1.0, basis="b")


def test_summary_lists_every_claim():
    c = Claims("09_demo")
    c.check("small", 1.5e-6, "<=", 1e-5, basis="b")
    c.check("count", 9733, "==", 9733, basis="exact")
    lines = c.summary().splitlines()
    assert len(lines) == 2 and lines[0].startswith("small") and "1.50e-06" in lines[0]
    assert "9,733" in lines[1] and lines[1].endswith("OK")


def test_float32_ulp_matches_numpy():
    assert float32_ulp(40.0) == pytest.approx(3.814697265625e-06)
    assert float32_ulp(-40.0) == float32_ulp(40.0)
    assert float32_ulp(np.float32(1.0)) == float(np.finfo(np.float32).eps)


def _summary(tmp_path, name, seed, threads, values):
    records = [
        {
            "name": "acc",
            "value": values[0],
            "op": ">=",
            "threshold": 0.97,
            "basis": "measured",
            "holds": True,
        },
        {
            "name": "max |d| ulps",
            "value": values[1],
            "op": "<=",
            "threshold": 16,
            "basis": "u",
            "holds": True,
        },
    ]
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps(
            {
                "seed": seed,
                "threads": threads,
                "cpu": "Test CPU",
                "claims": {"03_jax_training": records},
            }
        )
    )
    return path


def test_table_gives_min_and_max_over_runs(tmp_path):
    paths = [
        _summary(tmp_path, "a", 0, 2, (0.9741, 1.5)),
        _summary(tmp_path, "b", 1, 1, (0.9733, 3.0)),
    ]
    text = claims_tool.table(paths)
    assert "| 03 | acc | >= 0.97 | measured | 0.9733 | 0.9741 | 4.1 | 2 |" in text
    assert (
        "| 03 | max \\|d\\| ulps | <= 16 | u | 1.5 | 3 | – | 2 |" in text
    )  # no margin rule: not measured
    assert "seed 0 × 2 CPUs, seed 1 × 1 CPU" in text and "Test CPU" in text


def test_collect_and_report(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    Claims("03_jax_training").check("acc", 0.975, ">=", 0.97, basis="m")
    found = claims_tool.collect(tmp_path)
    assert list(found) == ["03_jax_training"]
    assert claims_tool.report(found).startswith("OK   03_jax_training")


def test_claims_module_has_no_framework_imports():
    # Lesson 05 blocks jax before importing helpers: the recorder must not need it.
    source = open(claims.__file__).read()
    assert "import jax" not in source and "import tensorflow" not in source


def test_margin_counts_spreads_beyond_the_worst_run():
    assert claims_tool.margin(">=", 0.96, 0.97, 0.975) == pytest.approx(2.0)
    assert claims_tool.margin("<=", 1.05, 0.8, 0.9) == pytest.approx(1.5)
    assert claims_tool.margin("<=", 16, 0, 0) is None  # every run identical
    assert claims_tool.margin("==", 9733, 9733, 9740) is None


def test_table_lists_only_the_claims_the_lessons_make_now(tmp_path):
    old = _summary(tmp_path, "old", 0, 2, (0.9741, 1.5))
    data = json.loads(old.read_text())
    data["claims"]["04b_export_inside"] = [
        {"name": "gone", "value": 1, "op": "<=", "threshold": 2, "basis": "b", "holds": True}
    ]
    old.write_text(json.dumps(data))
    new = _summary(tmp_path, "new", 1, 1, (0.9733, 3.0))
    text = claims_tool.table([old, new])
    assert "gone" not in text and "| 03 | acc |" in text
    data["claims"] = {"04b_export_inside": data["claims"]["04b_export_inside"]}
    new.write_text(json.dumps(data))
    assert "| 04b | gone | <= 2 |" in claims_tool.table([new])


def test_a_claim_that_moves_to_another_lesson_keeps_its_runs(tmp_path):
    old = _summary(tmp_path, "old", 0, 2, (0.9741, 1.5))
    new = _summary(tmp_path, "new", 1, 1, (0.9733, 3.0))
    data = json.loads(new.read_text())
    data["claims"] = {"04_export": data["claims"]["03_jax_training"][:1]}  # "acc" now made by 04
    new.write_text(json.dumps(data))
    text = claims_tool.table([old, new])
    assert "| 04 | acc | >= 0.97 | measured | 0.9733 | 0.9741 | 4.1 | 2 |" in text
    assert "| 03 |" not in text and "max \\|d\\|" not in text


def test_a_claim_name_used_twice_in_one_run_is_refused(tmp_path):
    path = _summary(tmp_path, "twice", 0, 2, (0.9741, 1.5))
    data = json.loads(path.read_text())
    data["claims"]["04_export"] = data["claims"]["03_jax_training"][:1]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="acc"):
        claims_tool.table([path])


def test_docs_claims_is_what_make_claims_table_writes():
    """docs/claims.md is generated: a changed threshold or run shows up as a failure here."""
    runs = sorted(claims_tool.KEPT_RUNS.glob("*.json"))
    written = claims_tool.DOCS.read_text(encoding="utf-8")
    assert written == claims_tool.document(runs), "docs/claims.md is stale: run `make claims-table`"
