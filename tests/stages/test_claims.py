"""Every lesson and deep dive recorded its claims, and every one of them held.

The lessons check their claims as they run (`helpers.claims.Claims`); this re-reads what they recorded,
so a lesson whose claims cell was skipped or edited away fails here, not silently.
"""

import pytest

from helpers.artifacts import read_json
from helpers.claims import load_claims

STAGES = {
    "02_flax_model": 2,
    "03_jax_training": 3,
    "04_export": 8,
    "04b_export_inside": 3,
    "05_tf_finetune": 7,
    "05b_restart_and_speed": 1,
    "06_deploy": 23,
    "07_fusion": 6,
    "08_flax_nnx": 8,
    "09_scale_out": 9,
    "10_ship": 9,
}  # how many claims each lesson checks


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_claim_held(stage):
    recorded = load_claims(stage)
    assert recorded["seed"] == read_json(f"{stage}/manifest.json", producer=stage)["seed"]
    failed = [c for c in recorded["claims"] if not c["holds"]]
    assert not failed, failed
    assert len(recorded["claims"]) == STAGES[stage], [c["name"] for c in recorded["claims"]]
    assert all(c["basis"] for c in recorded["claims"])
