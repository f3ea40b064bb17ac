"""Lesson 09 left no worker process behind, and every worker wrote what the lesson compared.

The lesson starts JAX processes (`helpers.scale_out.jax_worker`) and TensorFlow workers
(`helpers.scale_out.tf_worker`) through `helpers.scale_out.launcher`; a process that outlived the notebook would hold
ports and memory on a learner's machine. This runs after `make test` has re-executed the lesson
and its solutions (which start and deliberately break more of them).

Used in: 09_scale_out.
"""

import numpy as np

from helpers.artifacts import read_json, require
from helpers.scale_out.launcher import running_workers


def test_no_worker_process_outlives_the_lesson():
    require("09_scale_out/manifest.json", producer="09_scale_out")  # the lesson ran
    assert running_workers() == [], "a worker process of lesson 09 is still running"


def test_every_worker_wrote_its_result_and_the_tf_workers_agree():
    results = [
        np.load(require(f"09_scale_out/{name}", producer="09_scale_out"))
        for name in ("jax_processes.npz", "tf_worker0.npz", "tf_worker1.npz")
    ]
    assert (
        len(results[0]["losses"])
        == read_json("09_scale_out/manifest.json", producer="09_scale_out")["config"]["steps"]
    )
    tf0, tf1 = results[1], results[2]
    assert sorted(tf0.files) == sorted(tf1.files)
    assert all(np.array_equal(tf0[k], tf1[k]) for k in tf0.files if k.startswith("var"))
