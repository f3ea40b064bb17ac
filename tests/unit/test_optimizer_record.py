"""Lesson 03 records the optimizer it trained with; lessons 04 and 05 continue exactly that one.

Exercise 03.3 changes the schedule's `decay_rate` to 0.9. Before the record existed, lesson 04
wrote `optimizer.json` from `helpers.recipe` and lesson 05 silently continued with 0.6. Here the
lessons' own cells run in sequence (03's optimizer cell with the exercise's edit, the checkpoint,
04's `optimizer.json` cell, 05's handoff cells) on a tiny model, and the Keras Adam must decay by
0.9.
"""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
import tensorflow as tf

from helpers import recipe
from helpers.artifacts import read_json, write_json
from helpers.checkpoint import save_checkpoint
from helpers.lessons.l05_tf_finetune import handed_over_adam
from tests.notebook_code import exec_tagged, tagged_source

STEPS_PER_EPOCH = recipe.STEPS_PER_EPOCH
STEP = 3 * STEPS_PER_EPOCH  # where lesson 03 stops: 702


def _lesson_03_optimizer(decay_rate=None):
    """Run lesson 03's `optimizer` cell; with `decay_rate`, as edited in exercise 03.3."""
    source = tagged_source("03_jax_training.ipynb", "optimizer")
    if decay_rate is not None:
        edited = source.replace("recipe.LEARNING_RATE_EXP_DECAY", repr(decay_rate))
        assert edited != source, "the cell no longer sets decay_rate from recipe: update this test"
        source = edited
    namespace = {"optax": optax, "recipe": recipe, "STEPS_PER_EPOCH": STEPS_PER_EPOCH}
    exec(compile(source, "03_jax_training[optimizer]", "exec"), namespace)
    return namespace


def _through_lessons(tmp_path, decay_rate=None):
    """03's record → checkpoint → 04's optimizer.json → 05's handed-over Keras Adam."""
    lesson03 = _lesson_03_optimizer(decay_rate)
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    opt_state = lesson03["optimizer"].init(params)
    checkpoint = save_checkpoint(
        tmp_path / "checkpoint",
        params=params,
        batch_stats={},
        opt_state=opt_state,
        rng=jax.random.key(0),
        step=STEP,
        meta={"optimizer": lesson03["optimizer_record"]},
    )
    recorded = read_json(checkpoint / "meta.json")["optimizer"]  # as lesson 04 reads it
    param_names = ["params/b", "params/w"]
    exec_tagged(
        "04_export.ipynb",
        "optimizer-json",
        {
            "recorded": recorded,
            "ckpt": {"step": STEP},
            "param_names": param_names,
            "write_json": write_json,
            "OUT": tmp_path,
            "TRAINABLE_DIR": tmp_path / "trainable",
        },
    )
    leaves = [np.zeros(2, np.float32), np.ones((3, 2), np.float32)]
    model = SimpleNamespace(  # what lesson 04's trainable SavedModel offers
        params=[tf.Variable(x) for x in leaves],
        adam_mu=[tf.Variable(0.1 * x) for x in leaves],
        adam_nu=[tf.Variable(0.01 * x) for x in leaves],
        adam_count=tf.Variable(np.int32(STEP)),
    )
    opt_config = read_json(tmp_path / "optimizer.json")  # what lesson 05 reads
    optimizer = handed_over_adam(
        opt_config, model.params, model.adam_mu, model.adam_nu, model.adam_count.numpy()
    )
    return lesson03, opt_config, optimizer


@pytest.mark.parametrize("decay_rate", [None, 0.9], ids=["as-taught", "exercise-03.3"])
def test_lesson_05_continues_the_schedule_lesson_03_trained_with(tmp_path, decay_rate):
    lesson03, config, optimizer = _through_lessons(tmp_path, decay_rate)
    expected = recipe.LEARNING_RATE_EXP_DECAY if decay_rate is None else decay_rate
    assert config["schedule"]["decay_rate"] == expected
    assert config["step"] == STEP and config["param_names"] == ["params/b", "params/w"]
    # Keras 3 keeps the schedule in `_learning_rate`; `.learning_rate` is its current value.
    schedule = optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
    assert schedule.decay_rate == pytest.approx(expected)
    # The next TF step's learning rate is Optax's at the same step (staircase: 3 decays so far).
    optax_rate = float(lesson03["schedule"](STEP))
    assert float(optimizer.learning_rate) == pytest.approx(optax_rate, rel=1e-6)
    assert optax_rate == pytest.approx(recipe.LEARNING_RATE * expected**3, rel=1e-6)
    one_epoch_later = float(schedule(STEP + STEPS_PER_EPOCH))
    assert one_epoch_later == pytest.approx(optax_rate * expected, rel=1e-6)
    for keras_name, optax_name in [("beta_1", "b1"), ("beta_2", "b2")]:
        assert getattr(optimizer, keras_name) == config[optax_name]
    assert optimizer.optax_eps == config["eps"] == 1e-8


def test_lesson_03_builds_its_optimizer_from_the_record(tmp_path):
    """The record is not a description next to the optimizer: the optimizer is built from it."""
    lesson03 = _lesson_03_optimizer(0.9)
    record = lesson03["optimizer_record"]
    rebuilt = optax.adam(
        optax.exponential_decay(**{k: v for k, v in record["schedule"].items() if k != "name"}),
        **{k: record[k] for k in ("b1", "b2", "eps", "eps_root")},
    )
    params = {"w": jnp.arange(6.0).reshape(3, 2)}
    grads = {"w": jnp.full((3, 2), 0.5)}
    ours, theirs = lesson03["optimizer"].init(params), rebuilt.init(params)
    for _ in range(STEPS_PER_EPOCH + 2):  # past a decay
        u1, ours = lesson03["optimizer"].update(grads, ours, params)
        u2, theirs = rebuilt.update(grads, theirs, params)
    np.testing.assert_array_equal(u1["w"], u2["w"])
