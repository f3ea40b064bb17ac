"""The benchmark's arithmetic: FLOP counts, medians and ratios, interleaving, attribution, tables.

`make bench` prints numbers benchmarks/README.md quotes; these tests pin down how each one is computed, so
the report cannot silently drift. Fast: no artifacts, no timing of real work.

Used in: benchmarks (make bench).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import op_profile, report, stats
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


# ---------------------------------------------------------------------------- per-op profile

HLO = """HloModule jit_train_step, is_scheduled=true

%fused_computation (param_0: f32[256,9408], param_1: f32[9408,200]) -> f32[256,200] {
  %param_0 = f32[256,9408]{1,0} parameter(0)
  %param_1 = f32[9408,200]{1,0} parameter(1)
  ROOT %dot_general.0 = f32[256,200]{1,0} dot(%param_0, %param_1), lhs_contracting_dims={1}, rhs_contracting_dims={0}, metadata={op_name="jit(train_step)/jvp(ConvModel.loss)/ConvModel/Dense_0/dot_general"}
}

%fused_computation.1 (param_0.1: f32[9408,200]) -> f32[9408,200] {
  %param_0.1 = f32[9408,200]{1,0} parameter(0)
  ROOT %add.1 = f32[9408,200]{1,0} add(%param_0.1, %param_0.1), metadata={op_name="jit(train_step)/add"}
}

%fused_computation.2 (param_0.2: f32[256,200]) -> f32[256,200] {
  %param_0.2 = f32[256,200]{1,0} parameter(0)
  ROOT %sub.2 = f32[256,200]{1,0} subtract(%param_0.2, %param_0.2), metadata={op_name="jit(train_step)/jvp(ConvModel.loss)/ConvModel/BatchNorm_1/sub"}
}

ENTRY %main.9 (images: f32[256,28,28,1], kernel: f32[3,3,1,12], w: f32[9408,200]) -> f32[9408,200] {
  %images = f32[256,28,28,1]{3,2,1,0} parameter(0)
  %kernel = f32[3,3,1,12]{3,2,1,0} parameter(1)
  %w = f32[9408,200]{1,0} parameter(2)
  %conv = f32[256,28,28,12]{3,2,1,0} convolution(%images, %kernel), window={size=3x3 pad=1_1x1_1}, dim_labels=b01f_01io->b01f, metadata={op_name="jit(train_step)/jvp(ConvModel.loss)/ConvModel/Conv_0/conv_general_dilated"}
  %flat = f32[256,9408]{1,0} bitcast(%conv)
  %ynn_fusion = f32[256,200]{1,0} fusion(%flat, %w), kind=kCustom, calls=%fused_computation
  %bn = f32[256,200]{1,0} fusion(%ynn_fusion), kind=kLoop, calls=%fused_computation.2
  %dot = f32[9408,200]{1,0} dot(%flat, %bn), lhs_contracting_dims={0}, rhs_contracting_dims={0}
  ROOT %adam = f32[9408,200]{1,0} fusion(%dot), kind=kLoop, calls=%fused_computation.1, metadata={op_name="jit(train_step)/add"}
}
"""


def test_hlo_ops_get_their_flops_from_their_shapes():
    hlo = op_profile.HloModule(HLO)
    assert hlo.flops("conv") == 256 * stats.conv2d_flops(28, 28, 3, 3, 1, 12)
    assert hlo.flops("ynn_fusion") == 256 * stats.dense_flops(9408, 200)  # a dot inside a fusion
    assert hlo.flops("dot") == 2 * 9408 * 200 * 256  # contracting over the batch
    assert hlo.flops("bn") == hlo.flops("adam") == 0


def test_hlo_ops_are_categorised_by_what_they_compute():
    hlo = op_profile.HloModule(HLO)
    assert hlo.category("conv") == "convolution"
    assert hlo.category("ynn_fusion") == hlo.category("dot") == "matmul (dense layers)"
    assert hlo.category("bn") == "batch norm (elementwise + reductions)"
    assert hlo.category("adam") == "Adam update"
    assert hlo.label("ynn_fusion") == "fwd Dense_0 dot_general"
    assert hlo.consumers()["conv"] == {"ynn_fusion", "dot"}  # through the bitcast


def test_attribution_splits_the_whole_step_and_charges_gaps_to_pending_async_ops():
    ops = [
        ("conv", 0.0, 1.0),  # launched; runs asynchronously until its consumer starts at 5
        ("ynn_fusion", 5.0, 9.0),  # then nothing runs from 9 to 10 and nothing is pending
        ("adam", 10.0, 12.0),
        ("bn", 11.0, 12.0),  # overlaps adam: that second is split
    ]
    consumers = {"conv": {"ynn_fusion"}, "ynn_fusion": {"bn"}}
    times = op_profile.attribute_window(ops, (-2.0, 14.0), {"conv"}, consumers)
    assert times == {
        "conv": 5.0,
        "ynn_fusion": 4.0,
        "idle (no op running)": 1.0,
        "adam": 1.5,
        "bn": 0.5,
        "dispatch + sync (outside the program)": 4.0,
    }
    assert sum(times.values()) == 16.0  # the window's length
    # Two such steps back to back in one window: every op name occurs twice, each launch of
    # `conv` waits for the consumer that follows *it*; 12 → 14 between the steps is idle.
    twice = ops + [(name, s + 14.0, e + 14.0) for name, s, e in ops]
    times2 = op_profile.attribute_window(twice, (-2.0, 28.0), {"conv"}, consumers)
    assert times2 == {
        "conv": 10.0,
        "ynn_fusion": 8.0,
        "idle (no op running)": 4.0,
        "adam": 3.0,
        "bn": 1.0,
        "dispatch + sync (outside the program)": 4.0,
    }


def event(name, ts, dur, op=None):
    """A Chrome-trace complete event, as XLA:CPU writes one per op (`hlo_op` in its args)."""
    args = {"hlo_op": op, "hlo_module": "jit_train_step"} if op else {}
    return {"ph": "X", "name": name, "ts": ts, "dur": dur, "args": args}


def fake_trace():
    events = []
    for start in (0.0, 100.0):  # two marked steps of 20 µs each
        events += [
            event(op_profile.MARKER, start, 20.0),
            event("ynn_fusion", start + 2, 10.0, "ynn_fusion"),
            event("adam", start + 12, 6.0, "adam"),
        ]
    return events


def test_breakdown_reports_per_step_times_of_the_median_window():
    events = fake_trace()
    result = op_profile.breakdown(events, HLO, "jit_train_step", matmul_flops_per_s=1e12)
    assert result["windows"] == 2 and result["steps"] == 1
    assert result["wall_ms_per_step"] == pytest.approx(0.02)
    shares = {c["category"]: c["share"] for c in result["categories"]}
    assert shares == pytest.approx(
        {
            "matmul (dense layers)": 0.5,
            "Adam update": 0.3,
            "dispatch + sync (outside the program)": 0.2,
        }
    )
    matmul = next(c for c in result["categories"] if c["category"].startswith("matmul"))
    assert matmul["gflops_per_s"] == pytest.approx(256 * 3_763_200 / 10e-6 / 1e9)
    per_two = op_profile.breakdown(events, HLO, "jit_train_step", steps_per_window=2)
    assert per_two["steps"] == 2 and per_two["wall_ms_per_step"] == pytest.approx(0.01)
    # A third window slowed down by another process is not the one reported (the median is).
    slow = [event(op_profile.MARKER, 200.0, 80.0), event("ynn_fusion", 202, 70.0, "ynn_fusion")]
    robust = op_profile.breakdown(events + slow, HLO, "jit_train_step")
    assert robust["window_ms_per_step"] == pytest.approx([0.02, 0.02, 0.08])
    assert robust["wall_ms_per_step"] == pytest.approx(0.02)


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


def fake_results(
    jax_s=0.1, fused_s=0.05, limit_s=0.05, litert_s=0.001, matmul_s=0.1, with_profile=False
):
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
        "hlo_text": "not written to results.json",
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
    profile = (
        op_profile.breakdown(fake_trace(), HLO, "jit_train_step", 1e12)
        if with_profile
        else {"error": "RuntimeError: no trace"}
    )
    programs = op_profile.compare_programs({"JAX": HLO_A, "TF limit": HLO_B})
    return bench.assemble(timings, flops, inference, memory, profile, lessons, meta, programs)


def test_ratios_fractions_and_goals_come_from_the_medians():
    r = fake_results()
    limit = stats.matmul_flops(2048) / 0.1
    assert r["matmul"]["flops_per_second"] == pytest.approx(limit)
    jax_row = r["training"]["jax"]
    assert jax_row["images_per_second"] == pytest.approx(2560)
    assert jax_row["of_matmul_limit"] == pytest.approx(2560 * 11_809_632 / limit)
    assert r["training"]["tf_fused"]["vs_jax"] == pytest.approx(2.0)
    assert r["inference"]["onnx"]["256"]["images_per_second"] == pytest.approx(250)
    assert "hlo_text" not in r["flops"]
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
    text = bench.render(fake_results())
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
    assert "profile unavailable (RuntimeError: no trace)" in text
    assert "run `make run` to record the lessons' times" in text
    assert "issue" not in text.lower()


def test_the_report_shows_the_profile_by_category_and_op():
    text = bench.render(fake_results(with_profile=True))
    assert "traced 2 windows of 1 consecutive steps; shown: the median window (0.0 ms" in text
    assert "| matmul (dense layers)" in text and "50.0%" in text
    assert "`ynn_fusion` (fwd Dense_0 dot_general)" in text


HLO_A = """HloModule a

%fused_add (p0: f32[4]) -> f32[4] {
  %p0 = f32[4]{0} parameter(0)
  ROOT %add = f32[4]{0} add(f32[4]{0} %p0, f32[4]{0} %p0)
}

ENTRY %main (x: f32[4,8], w: f32[8,4]) -> f32[4] {
  %x = f32[4,8]{1,0} parameter(0)
  %w = f32[8,4]{1,0} parameter(1)
  %dot = f32[4,4]{1,0} dot(f32[4,8]{1,0} %x, f32[8,4]{1,0} %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %copy = f32[4,4]{0,1} copy(f32[4,4]{1,0} %dot)
  ROOT %fusion = f32[4]{0} fusion(f32[4,4]{0,1} %copy), kind=kLoop, calls=%fused_add
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
    from benchmarks.op_profile import op_kinds

    kinds = op_kinds(HLO_A)
    assert kinds == {"dot": 1, "dot f32[4,4]": 1, "copy": 1, "copy f32[4,4]": 1, "fusion:kLoop": 1}


def test_compare_programs_lists_only_what_differs():
    from benchmarks.op_profile import compare_programs

    result = compare_programs({"JAX": HLO_A, "TF": HLO_B})
    assert result["totals"] == {"JAX": 3, "TF": 2}
    kinds = {r["kind"]: (r["JAX"], r["TF"]) for r in result["differences"]}
    assert kinds == {
        "copy": (1, 0),
        "copy f32[4,4]": (1, 0),
        "dot": (1, 0),
        "dot f32[4,4]": (1, 0),
        "custom-call:__onednn$matmul": (0, 1),
        "custom-call:__onednn$matmul f32[4,4]": (0, 1),
    }


def test_a_ratio_within_the_timing_spread_is_called_a_tie():
    programs = op_profile.compare_programs({"JAX": HLO_A, "TF limit": HLO_B})
    tie = "\n".join(bench.render_programs(programs, {"jax_over_tf_limit": 0.99}, noise=0.1))
    assert "as fast as TF running its program, within the timing spread (10%)" in tie
    slower = "\n".join(bench.render_programs(programs, {"jax_over_tf_limit": 0.8}, noise=0.1))
    assert "the JAX step is slower than TF running its program" in slower


def test_paired_ratio_cancels_load_changes_between_rounds():
    fast = [1.0, 2.0, 1.0, 4.0, 1.0]  # the machine slowed down in rounds 2 and 4
    slow = [1.1, 2.2, 1.1, 4.4, 1.1]  # the other contender, 10% slower in every round
    assert stats.paired_ratio(slow, fast) == pytest.approx(1.1)
    assert stats.paired_ratio([], []) is None and stats.paired_ratio([1.0], [1.0, 2.0]) is None
