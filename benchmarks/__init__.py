"""`make bench`: side-by-side performance of every path of the workshop, in one process run.

`python -m benchmarks.run [--quick]` measures the machine's matmul limit, training throughput of
the JAX step (lesson 03), lesson 05's TensorFlow step by both routes and TF running the whole
converted JAX step (its limit), the two XLA programs side by side, inference of every deployed
format (lesson 06) and peak memory per training path; it writes
`artifacts/bench/results.json` and `report.md`, and prints the report. The arithmetic lives in
`benchmarks.stats` and is unit-tested (`tests/unit/test_bench_math.py`), so the report cannot
silently drift.

Not a test: nothing here asserts a speed. Goals are reported as held or not.
"""
