"""The benchmark's arithmetic: FLOP counts, medians and ratios, interleaving, op kinds, tables.

`make bench` prints numbers benchmarks/README.md quotes; these tests pin down how each one is computed, so
the report cannot silently drift. Fast: no artifacts, no timing of real work.

Used in: benchmarks (make bench).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import report, stats
from benchmarks import run as bench
from helpers.lessons.l02_flax_model import ConvModel

# ---------------------------------------------------------------------------- FLOP counting

MODEL_KERNELS = {
    "Conv_0/kernel": (3, 3, 1, 12),
    "Dense_0/kernel": (9408, 200),
    "Dense_1/kernel": (200, 10),
}


def test_matmul_flops_is_two_n_cubed():
    # 2×2 by 2×2: 4 outputs, each 2 multiplies and 2 adds.
    assert stats.matmul_flops(2) == 16
    assert stats.matmul_flops(2048) == 2 * 2048**3 == 17_179_869_184


def test_xla_counts_matmul_flops_the_same_way():
    cost = (
        jax.jit(jnp.matmul).lower(jnp.ones((64, 64)), jnp.ones((64, 64))).compile().cost_analysis()
    )
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    assert cost["flops"] == stats.matmul_flops(64)


def test_layer_formulas_for_this_models_layers():
    # Conv 3×3, 1 → 12 channels, SAME, on 28×28: 784 outputs × 12 channels × 9 multiply-adds.
    assert stats.conv2d_flops(28, 28, 3, 3, 1, 12) == 2 * 784 * 12 * 9 == 169_344
    assert stats.dense_flops(9408, 200) == 3_763_200
    assert stats.dense_flops(200, 10) == 4_000


def test_the_model_costs_11_8_mflop_per_training_image():
    forward = stats.forward_flops_per_image(MODEL_KERNELS)
    assert forward == 169_344 + 3_763_200 + 4_000 == 3_936_544
    assert stats.train_flops_per_image(MODEL_KERNELS) == 3 * forward == 11_809_632
    assert round(stats.train_flops_per_image(MODEL_KERNELS) / 1e6, 1) == 11.8  # the figure


def test_kernel_shapes_are_read_from_the_real_model():
    """The bench counts FLOPs from the model's params: a changed model changes the count."""
    variables = jax.eval_shape(
        lambda: ConvModel().init(
            {"params": jax.random.key(0), "dropout": jax.random.key(1)},
            jnp.zeros((1, 28, 28, 1)),
            train=False,
        )
    )
    assert stats.kernel_shapes(variables["params"]) == MODEL_KERNELS


def test_a_kernel_that_is_neither_conv_nor_dense_is_refused():
    with pytest.raises(ValueError, match="neither conv nor dense"):
        stats.forward_flops_per_image({"odd/kernel": (3, 3, 3)})


# ---------------------------------------------------------------------------- medians, ratios


def test_median_and_percentiles_match_numpy():
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    values = list(np.random.default_rng(0).random(17))
    for q in (0, 10, 25, 50, 75, 90, 100):
        assert stats.percentile(values, q) == pytest.approx(np.percentile(values, q))
    with pytest.raises(ValueError):
        stats.median([])


def test_ratio_is_none_when_it_cannot_be_computed():
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(1.0, 0.0) is None
    assert stats.ratio(None, 2.0) is None


def test_summarize_gives_throughput_from_the_median_not_the_mean():
    summary = stats.summarize([0.1, 0.1, 0.1, 0.1, 10.0], batch=256)  # one sample hit by a stall
    assert summary["median_s"] == 0.1
    assert summary["images_per_second"] == pytest.approx(2560)
    assert summary["spread"] == 0.0
    assert summary["samples"] == 5


# ---------------------------------------------------------------------------- interleaving


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_interleaved_warms_up_calibrates_and_rotates_the_order():
    clock, calls = FakeClock(), []

    def contender(name, seconds, own=False):
        def run(n):
            calls.append((name, n))
            clock.t += seconds * n
            return seconds * n / 2 if own else None  # `own`: reports half the wall time

        return run

    result = stats.interleaved(
        {"a": contender("a", 0.1), "b": contender("b", 0.2), "k": contender("k", 0.1, own=True)},
        repeats=3,
        target_seconds=1.0,
        warmup=2,
        clock=clock,
    )
    # two single warm-up calls each, then 3 rounds whose first contender rotates
    assert calls[:6] == [("a", 1), ("a", 1), ("b", 1), ("b", 1), ("k", 1), ("k", 1)]
    assert [name for name, _ in calls[6:]] == list("abk" + "bka" + "kab")
    assert {name: r["iterations"] for name, r in result.items()} == {"a": 10, "b": 5, "k": 20}
    assert result["a"]["seconds_per_iteration"] == pytest.approx([0.1] * 3)
    assert result["b"]["seconds_per_iteration"] == pytest.approx([0.2] * 3)
    assert result["k"]["seconds_per_iteration"] == pytest.approx([0.05] * 3)  # its own time wins
    assert result["a"]["first_call_s"] == pytest.approx(0.1)


# ---------------------------------------------------------------------------- tables


def test_markdown_table_pads_and_right_aligns_numbers():
    table = report.markdown_table(["Path", "x"], [["JAX", "1.00×"], ["TF", "12"]])
    assert table.splitlines() == [
        "| Path |     x |",
        "|:-----|------:|",
        "| JAX  | 1.00× |",
        "| TF   |    12 |",
    ]
    assert report.markdown_table(["a", "b", "n"], [["x", "y", "1"]], left=2).splitlines()[1] == (
        "|:----|:----|----:|"
    )
    with pytest.raises(ValueError, match="2 cells"):
        report.markdown_table(["a", "b"], [["only one"]])


def test_number_formats():
    assert report.fmt_ratio(1.0833) == "1.08×"
    assert report.fmt_ms(0.01234) == "12.3 ms" and report.fmt_ms(0.00024) == "0.24 ms"
    assert report.fmt_ms(0.1584) == "158 ms"
    assert report.fmt_gflops(71.2e9) == "71.2 GFLOP/s"
    assert report.fmt_number(4332.4) == "4,332" and report.fmt_percent(0.345) == "34.5%"
    assert report.fmt_mib(603 * 2**20) == "603 MiB"
    for fmt in (report.fmt_ratio, report.fmt_ms, report.fmt_gflops, report.fmt_number):
        assert fmt(None) == "–" and fmt(math.nan) == "–"


# ---------------------------------------------------------------------------- the whole report


def fake_results(jax_s=0.1, fused_s=0.05, limit_s=0.05, litert_s=0.001, matmul_s=0.1):
    per_step = {
        "matmul": matmul_s,
        "jax": jax_s,
        "tf_tape": 0.08,
        "tf_fused": fused_s,
        "tf_limit": limit_s,
    }
    timings = {
        k: {"iterations": 5, "first_call_s": 1.0, "seconds_per_iteration": [v] * 3}
        for k, v in per_step.items()
    }
    per_image = {"jax": 0.001, "savedmodel": 0.002, "litert": litert_s, "litert_int8": 0.001}
    inference = {
        f"{k}@{b}": {
            "iterations": 5,
            "first_call_s": 0.1,
            "seconds_per_iteration": [per_image.get(k, 0.004) * b] * 3,
        }
        for k in bench.P.INFERENCE
        for b in (1, 256)
    }
    flops = {
        "forward_per_image": 3_936_544,
        "train_per_image": 11_809_632,
        "xla_train_per_image": 11.9e6,
        "parameters": 1_884_130,
    }
    memory = {"jax": {"peak_rss_bytes": 600 * 2**20}, "tf_tape": {"error": "exit 1: boom"}}
    meta = {
        "date_utc": "2026-01-01 00:00",
        "quick": False,
        "settings": bench.SETTINGS["full"],
        "machine": {"cpu": "Test CPU", "logical_cpus": 2, "system": "Linux x86_64"},
        "devices": ["JAX cpu:cpu"],
        "load_average_start": 0.5,
        "load_average_end": 0.7,
        "wall_seconds": 300.0,
    }
    lessons = {"error": "no artifacts/run_times.tsv: run `make run` to record the lessons' times"}
    programs = stats.compare_programs({"JAX": HLO_A, "TF limit": HLO_B})
    return bench.assemble(timings, flops, inference, memory, lessons, meta, programs)


def test_ratios_fractions_and_goals_come_from_the_medians():
    r = fake_results()
    limit = stats.matmul_flops(2048) / 0.1
    assert r["matmul"]["flops_per_second"] == pytest.approx(limit)
    jax_row = r["training"]["jax"]
    assert jax_row["images_per_second"] == pytest.approx(2560)
    assert jax_row["of_matmul_limit"] == pytest.approx(2560 * 11_809_632 / limit)
    assert r["training"]["tf_fused"]["vs_jax"] == pytest.approx(2.0)
    assert r["inference"]["onnx"]["256"]["images_per_second"] == pytest.approx(250)
    assert r["inference"]["litert"]["1"]["vs_jax"] == pytest.approx(1.0)
    ratios = r["ratios"]
    assert ratios["tf_fused_over_tf_limit"] == pytest.approx(1.0)
    assert ratios["tf_fused_over_jax"] == pytest.approx(2.0)
    assert ratios["jax_over_tf_limit"] == pytest.approx(0.5)
    assert ratios["tf_fused_over_tf_tape"] == pytest.approx(1.6)
    assert ratios["litert_b256_over_savedmodel"] == pytest.approx(2.0)
    assert ratios["litert_b1_over_savedmodel"] == pytest.approx(2.0)
    assert all(g["held"] for g in r["goals"].values())
    slower = fake_results(fused_s=0.06, litert_s=0.0015)["goals"]
    assert not slower["tf_fused_over_tf_limit"]["held"]  # 0.05 / 0.06 = 0.83 < 0.97
    assert not slower["litert_b256_over_savedmodel"]["held"]  # 0.002 / 0.0015 = 1.33 < 1.5
    assert slower["litert_b1_over_savedmodel"]["held"]  # 1.33 >= 1


def test_the_report_states_date_machine_and_every_table():
    text = report.render(fake_results())
    assert text.startswith(
        "Measured by `make bench` on 2026-01-01 00:00 UTC: Test CPU, 2 logical CPUs"
    )
    assert "| JAX jit step (lesson 03)" in text and "2.00×" in text  # TF fused vs JAX
    assert "| LiteRT int8 weights, static batch" in text
    assert "600 MiB" in text  # memory of a path; a failed child shows a dash and why, no crash
    assert f"Memory of {bench.P.TRAINING['tf_tape']} not measured: exit 1: boom" in text
    assert "| `tf_fused_over_tf_limit`" in text and "goal ≥ 0.97: held" in text
    assert "the JAX step is slower than TF running its program here" in text
    assert "| `custom-call:__onednn$matmul`" in text
    assert "their optimized HLO has 4 ops (jaxlib) and 3 (TF)" in text
    assert "run `make run` to record the lessons' times" in text
    assert "issue" not in text.lower()


HLO_A = """HloModule a

%fused_add (p0: f32[4]) -> f32[4] {
  %p0 = f32[4]{0} parameter(0)
  ROOT %add = f32[4]{0} add(f32[4]{0} %p0, f32[4]{0} %p0)
}

ENTRY %main (x: f32[4,8], w: f32[8,4]) -> (f32[4], f32[4,4]) {
  %x = f32[4,8]{1,0} parameter(0)
  %w = f32[8,4]{1,0} parameter(1)
  %dot = f32[4,4]{1,0} dot(f32[4,8]{1,0} %x, f32[8,4]{1,0} %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %copy = f32[4,4]{0,1} copy(f32[4,4]{1,0} %dot)
  %fusion = f32[4]{0} fusion(f32[4,4]{0,1} %copy), kind=kLoop, calls=%fused_add
  %loop = (s32[], /*index=1*/f32[4]{0}) while((s32[], f32[4]{0}) %init), condition=%c, body=%b
  ROOT %out = (f32[4]{0}, f32[4,4]{1,0}) tuple(f32[4]{0} %fusion, f32[4,4]{1,0} %dot)
}
"""
HLO_B = (
    HLO_A.replace(
        "%dot = f32[4,4]{1,0} dot(f32[4,8]{1,0} %x, f32[8,4]{1,0} %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}",
        '%dot = f32[4,4]{1,0} custom-call(f32[4,8]{1,0} %x, f32[8,4]{1,0} %w), custom_call_target="__onednn$matmul"',
    )
    .replace("  %copy = f32[4,4]{0,1} copy(f32[4,4]{1,0} %dot)\n", "")
    .replace("%copy)", "%dot)")
)


def test_op_kinds_counts_entry_ops_by_kind_and_heavy_ops_by_shape():
    # Not the fused computation's `add`, nor parameters and tuples; a tuple-shaped `while` is read.
    assert stats.op_kinds(HLO_A) == {
        "dot": 1,
        "dot f32[4,4]": 1,
        "copy": 1,
        "copy f32[4,4]": 1,
        "fusion:kLoop": 1,
        "while": 1,
    }
    kcustom = HLO_A.replace("kind=kLoop", "kind=kCustom")  # XNNPACK's ynn_fusion on XLA:CPU
    assert stats.op_kinds(kcustom)["fusion:kCustom"] == 1
    with pytest.raises(ValueError, match="no ENTRY"):
        stats.op_kinds(HLO_A.replace("ENTRY ", ""))


def test_compare_programs_lists_only_what_differs_largest_first():
    result = stats.compare_programs({"JAX": HLO_A, "TF": HLO_B})
    assert result["totals"] == {"JAX": 4, "TF": 3}
    kinds = {r["kind"]: (r["JAX"], r["TF"]) for r in result["differences"]}
    assert kinds == {
        "copy": (1, 0),
        "copy f32[4,4]": (1, 0),
        "dot": (1, 0),
        "dot f32[4,4]": (1, 0),
        "custom-call:__onednn$matmul": (0, 1),
        "custom-call:__onednn$matmul f32[4,4]": (0, 1),
    }
    two_more = HLO_B.replace(
        "  ROOT", "  %c1 = f32[4]{0} copy(%x)\n  %c2 = f32[4]{0} copy(%x)\n  ROOT"
    )
    first = stats.compare_programs({"JAX": HLO_A, "TF": two_more})["differences"][0]
    assert first == {"kind": "copy f32[4]", "JAX": 0, "TF": 2}  # the largest difference first


def test_a_ratio_within_the_timing_spread_is_called_a_tie():
    programs = stats.compare_programs({"JAX": HLO_A, "TF limit": HLO_B})
    tie = "\n".join(report.render_programs(programs, {"jax_over_tf_limit": 0.99}, noise=0.1))
    assert "as fast as TF running its program, within the timing spread (10%)" in tie
    slower = "\n".join(report.render_programs(programs, {"jax_over_tf_limit": 0.8}, noise=0.1))
    assert "the JAX step is slower than TF running its program" in slower
    failed = report.render_programs({"error": "ValueError: no HLO"}, {}, noise=0.1)
    assert failed == ["**The two XLA programs**: not compared (ValueError: no HLO)."]


def test_paired_ratio_cancels_load_changes_between_rounds():
    fast = [1.0, 2.0, 1.0, 4.0, 1.0]  # the machine slowed down in rounds 2 and 4
    slow = [1.1, 2.2, 1.1, 4.4, 1.1]  # the other contender, 10% slower in every round
    assert stats.paired_ratio(slow, fast) == pytest.approx(1.1)
    assert stats.paired_ratio([], []) is None and stats.paired_ratio([1.0], [1.0, 2.0]) is None
