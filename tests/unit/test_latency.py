"""helpers.latency: the arithmetic behind lesson 06's latency and size table.

A fake clock makes every timing exact, so the tests check what is reported (median, p90, the
warm-up calls left out, the round-robin order) rather than how fast this machine is.

Used in: 06_deploy.
"""

import os

import numpy as np
import pytest

from helpers.latency import (
    compare_latency,
    dir_size,
    human_bytes,
    in_batches,
    measure_latency,
    percentile,
    summarize,
)


class FakeClock:
    """A timer whose calls return 0, d1, d1, d1+d2, ...: each timed call lasts the next duration."""

    def __init__(self, durations_s):
        self.durations = list(durations_s)
        self.now = 0.0
        self.reads = 0

    def __call__(self):
        self.reads += 1
        if self.reads % 2 == 0:  # the read after a call: advance by that call's duration
            self.now += self.durations.pop(0)
        return self.now


def test_percentile_matches_numpy_linear_interpolation():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    for q in (0, 10, 25, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))
    assert percentile([7.0], 90) == 7.0


def test_percentile_rejects_bad_input():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_summarize_reports_median_p90_min():
    summary = summarize([3.0, 1.0, 2.0, 100.0])
    assert summary["median_ms"] == 2.5  # an outlier moves the mean, not the median
    assert summary["p90_ms"] == pytest.approx(np.percentile([1, 2, 3, 100], 90))
    assert summary["min_ms"] == 1.0 and summary["runs"] == 4
    assert summary["times_ms"] == [3.0, 1.0, 2.0, 100.0]


def test_warmup_calls_are_made_but_not_timed():
    calls = []
    clock = FakeClock([0.004, 0.001, 0.002, 0.003])  # seconds, one per timed call
    result = measure_latency(lambda: calls.append(1), repeats=4, warmup=3, timer=clock)
    assert len(calls) == 7  # 3 warm-up + 4 timed
    assert clock.reads == 8  # the clock is read only around timed calls
    assert result["times_ms"] == pytest.approx([4.0, 1.0, 2.0, 3.0])
    assert result["median_ms"] == pytest.approx(2.5)
    assert result["runs"] == 4


def test_compare_latency_calls_in_turns():
    order = []
    fns = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    clock = FakeClock([0.001, 0.010, 0.002, 0.020])  # a, b, a, b
    result = compare_latency(fns, repeats=2, warmup=1, timer=clock)
    assert order == ["a", "b"] * 3  # one warm-up round, then two timed rounds
    assert result["a"]["times_ms"] == pytest.approx([1.0, 2.0])
    assert result["b"]["times_ms"] == pytest.approx([10.0, 20.0])
    assert result["b"]["median_ms"] == pytest.approx(15.0)


def test_real_clock_measures_something():
    result = measure_latency(lambda: sum(range(1000)), repeats=3, warmup=0)
    assert result["runs"] == 3 and all(t >= 0 for t in result["times_ms"])


@pytest.mark.parametrize(
    "kwargs", [{"repeats": 0}, {"repeats": 2.5}, {"warmup": -1}, {"repeats": True}]
)
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(ValueError, match="repeats|warmup"):
        measure_latency(lambda: None, **kwargs)


def test_non_callables_are_refused_with_the_fix():
    with pytest.raises(TypeError, match="lambda"):
        measure_latency(np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        compare_latency({})


def test_dir_size_of_a_file_and_a_tree(tmp_path):
    (tmp_path / "model.tflite").write_bytes(b"x" * 10)
    saved = tmp_path / "saved_model"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"x" * 100)
    (saved / "variables" / "variables.data").write_bytes(b"x" * 1000)
    assert dir_size(tmp_path / "model.tflite") == 10
    assert dir_size(saved) == 1100
    assert dir_size(tmp_path) == 1110


def test_dir_size_skips_links_and_names_missing_paths(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 500)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "small").write_bytes(b"x" * 5)
    os.symlink(tmp_path / "big", folder / "link")
    assert dir_size(folder) == 5
    with pytest.raises(FileNotFoundError, match="missing"):
        dir_size(tmp_path / "missing")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.00 kB"),
        (7_564_924, "7.56 MB"),
        (3 * 10**12, "3000.00 GB"),
    ],
)
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_human_bytes_rejects_negative():
    with pytest.raises(ValueError, match="negative"):
        human_bytes(-1)


def test_in_batches_pads_the_last_batch_and_keeps_every_call_static():
    sizes = []

    def run(x):
        sizes.append(len(x))
        return x.sum(axis=1)

    images = np.arange(14.0).reshape(7, 2)
    out = in_batches(run, images, batch=3)
    assert out.tolist() == images.sum(axis=1).tolist()
    assert sizes == [3, 3, 3]  # 7 images: 3 + 3 + (1 + 2 padding rows)
    with pytest.raises(ValueError, match="at least 1"):
        in_batches(run, images, batch=0)
