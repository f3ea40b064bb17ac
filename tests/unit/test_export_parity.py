"""The export path of lesson 04 in miniature: Flax → jax2tf → SavedModel → reload → same numbers.

A tiny Dense → BatchNorm → Dropout → Dense model goes through exactly what lesson 04 does to the
CNN: state in `tf.Variable`s, a symbolic batch, lowering for CPU and CUDA, a train-mode loss that
updates batch-norm statistics and reads its dropout key from a uint32 variable. After a reload,
outputs and `tf.GradientTape` gradients must equal JAX's, by both routes TensorFlow can train
with: lesson 05's tape over the converted loss (`helpers.lessons.l05_tf_finetune`), and deep dive
05b's fused step (`helpers.lessons.l05b_restart_and_speed`: the tape gets the gradients of a
converted `jax.value_and_grad` through `tf.custom_gradient`). It takes
seconds and needs no MNIST, so a JAX/TensorFlow pin that no longer interoperates fails in
`make unit`, before any notebook runs.

Used in: 04_export, 05_tf_finetune, 05b_restart_and_speed.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import tensorflow as tf
from jax.experimental import jax2tf

from helpers.lessons import l05_tf_finetune as tf_step  # lesson 05's cells, by make export
from helpers.lessons import l05b_restart_and_speed as fused_step  # 05b's cells
from helpers.trees import fix_frozen

PLATFORMS = ("cpu", "cuda")
FEATURES = 6


class Tiny(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Dense(8)(x)
        x = nn.BatchNorm(use_running_average=not train)(x)
        x = nn.Dropout(0.5, deterministic=not train)(x)
        return nn.Dense(3)(nn.relu(x))


MODEL = Tiny()


def loss_fn(params, batch_stats, key, x, y, train):
    logits, updated = MODEL.apply(
        {"params": params, "batch_stats": batch_stats},
        x,
        train=train,
        rngs={"dropout": key},
        mutable=["batch_stats"],
    )
    return optax.softmax_cross_entropy(logits, y).mean(), updated["batch_stats"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Convert and save once; return the JAX state, a batch and the SavedModel's path."""
    variables = MODEL.init(
        {"params": jax.random.key(0), "dropout": jax.random.key(1)},
        jnp.zeros((1, FEATURES)),
        train=False,
    )
    state = fix_frozen(jax.device_get(variables))
    p_def, s_def = jax.tree.structure(state["params"]), jax.tree.structure(state["batch_stats"])

    def predict(p, s, x):
        tree = {"params": jax.tree.unflatten(p_def, p), "batch_stats": jax.tree.unflatten(s_def, s)}
        return nn.log_softmax(MODEL.apply(tree, x, train=False))

    def train_loss(p, s, rng_data, x, y):
        key = jax.random.wrap_key_data(rng_data)
        loss, stats = loss_fn(
            jax.tree.unflatten(p_def, p), jax.tree.unflatten(s_def, s), key, x, y, True
        )
        return loss, jax.tree.leaves(stats)

    def train_grads(p, s, rng_data, x, y):  # lesson 04's train_grads_jax, in miniature
        (loss, stats), grads = jax.value_and_grad(train_loss, has_aux=True)(p, s, rng_data, x, y)
        return loss, grads, stats

    module = tf.Module()
    module.params = [tf.Variable(x) for x in jax.tree.leaves(state["params"])]
    module.stats = [tf.Variable(x, trainable=False) for x in jax.tree.leaves(state["batch_stats"])]
    module.rng = tf.Variable(jax.random.key_data(jax.random.key(7)), trainable=False)
    predict_tf = jax2tf.convert(
        predict, polymorphic_shapes=[None, None, "(b, 6)"], native_serialization_platforms=PLATFORMS
    )
    train_tf = jax2tf.convert(
        train_loss,
        polymorphic_shapes=[None, None, None, "(b, 6)", "(b, 3)"],
        native_serialization_platforms=PLATFORMS,
    )
    grads_tf = jax2tf.convert(
        train_grads,
        polymorphic_shapes=[None, None, None, "(b, 6)", "(b, 3)"],
        native_serialization_platforms=PLATFORMS,
        with_gradient=False,
    )
    x_spec = tf.TensorSpec((None, FEATURES), tf.float32, name="x")
    y_spec = tf.TensorSpec((None, 3), tf.float32, name="y")

    @tf.function(autograph=False, input_signature=[x_spec])
    def tf_predict(x):
        return predict_tf(list(module.params), list(module.stats), x)

    @tf.function(autograph=False, input_signature=[x_spec, y_spec])
    def tf_train_loss(x, y):
        loss, stats = train_tf(list(module.params), list(module.stats), module.rng, x, y)
        for variable, value in zip(module.stats, stats, strict=True):
            variable.assign(value)
        return loss

    @tf.function(autograph=False, input_signature=[x_spec, y_spec])
    def tf_train_loss_and_grads(x, y):
        loss, grads, stats = grads_tf(list(module.params), list(module.stats), module.rng, x, y)
        for variable, value in zip(module.stats, stats, strict=True):
            variable.assign(value)
        return tf.nest.map_structure(tf.stop_gradient, (loss, grads))

    module.predict, module.train_loss = tf_predict, tf_train_loss
    module.train_loss_and_grads = tf_train_loss_and_grads
    path = tmp_path_factory.mktemp("export") / "model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": tf_predict})

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, FEATURES)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=5)]
    return state, (x, y), path


@pytest.fixture
def exported(saved):
    """A fresh reload for each test (train_loss changes the statistics it holds)."""
    state, batch, path = saved
    return state, batch, tf.saved_model.load(str(path))


def test_outputs_match_jax_after_reload_at_any_batch_size(exported):
    state, (x, _), loaded = exported
    expected = np.asarray(nn.log_softmax(MODEL.apply(state, x, train=False)))
    for size in (1, 2, 5):
        got = loaded.predict(x[:size]).numpy()
        np.testing.assert_allclose(got, expected[:size], rtol=1e-5, atol=1e-5)
    served = loaded.signatures["serving_default"](x=tf.constant(x))["output_0"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-5)


def test_gradients_and_batch_statistics_match_jax_after_reload(exported):
    """Train mode, same dropout key on both sides: the gradients TF trains with are JAX's."""
    state, (x, y), loaded = exported
    key = jax.random.wrap_key_data(loaded.rng.numpy())
    (jax_loss, jax_stats), jax_grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state["params"], state["batch_stats"], key, x, y, True
    )
    with tf.GradientTape() as tape:
        tf_loss = loaded.train_loss(x, y)
    tf_grads = tape.gradient(tf_loss, list(loaded.params))

    np.testing.assert_allclose(float(tf_loss), float(jax_loss), rtol=1e-5)
    jax_leaves = [np.asarray(g) for g in jax.tree.leaves(jax_grads)]
    scale = max(np.abs(g).max() for g in jax_leaves)  # a bias before BatchNorm has zero gradient
    assert all(g is not None for g in tf_grads)
    for got, want in zip(tf_grads, jax_leaves, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5 * scale)
    for variable, want in zip(loaded.stats, jax.tree.leaves(jax_stats), strict=True):
        np.testing.assert_allclose(variable.numpy(), np.asarray(want), rtol=1e-5, atol=1e-7)


def test_export_is_native_and_records_both_platforms(saved):
    """One XlaCallModule per converted call, lowered for CPU and CUDA (not just this machine)."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = saved[2]
    model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    library = model.meta_graphs[0].graph_def.library.function
    calls = [node for fn in library for node in fn.node_def if node.op == "XlaCallModule"]
    assert calls
    assert all(
        [p.decode() for p in node.attr["platforms"].list.s] == ["CPU", "CUDA"] for node in calls
    )


@pytest.mark.parametrize("route", ["tape", "fused"])
@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_lesson05_train_step_routes_take_jaxs_adam_step(saved, route, mode):
    """One step of lesson 05's tape route and of 05b's fused step = one Optax step.

    The fused route's `tf.custom_gradient` must hand the tape `jax.grad`'s gradients for every
    parameter, whatever order TensorFlow lists the variables in (a set, in eager mode).
    """
    state, (x, y), path = saved
    loaded = tf.saved_model.load(str(path))
    key = jax.random.wrap_key_data(loaded.rng.numpy())
    jax_grads = jax.grad(lambda p: loss_fn(p, state["batch_stats"], key, x, y, True)[0])(
        state["params"]
    )
    sgd = optax.sgd(0.5)  # plain SGD: the update is the gradient, scaled
    want = optax.apply_updates(state["params"], sgd.update(jax_grads, sgd.init(state["params"]))[0])
    make = fused_step.fused_train_step if route == "fused" else tf_step.make_train_step
    step = make(loaded, tf.keras.optimizers.SGD(0.5))
    if mode != "xla":  # both compile with XLA, as lesson 05 does
        python_step = step.python_function
        step = python_step if mode == "eager" else tf.function(python_step)
    step(tf.constant(x), tf.constant(y))
    for got, expected in zip(loaded.params, jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(got.numpy(), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_fused_loss_gives_the_tape_jax_grads_scaled_by_the_upstream_gradient(saved):
    """tape.gradient through `fused_train_loss` = jax.grad; d(3 * loss) = 3 * d(loss)."""
    state, (x, y), path = saved
    grads = {}
    for factor in (1.0, 3.0):
        loaded = tf.saved_model.load(str(path))  # same dropout key for both
        with tf.GradientTape() as tape:
            loss = factor * fused_step.fused_train_loss(loaded)(tf.constant(x), tf.constant(y))
        grads[factor] = [g.numpy() for g in tape.gradient(loss, list(loaded.params))]
    key = jax.random.wrap_key_data(tf.saved_model.load(str(path)).rng.numpy())
    jax_grads = jax.grad(lambda p: loss_fn(p, state["batch_stats"], key, x, y, True)[0])(
        state["params"]
    )
    for got, want in zip(grads[1.0], jax.tree.leaves(jax_grads), strict=True):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-6)
    for one, three in zip(grads[1.0], grads[3.0], strict=True):
        np.testing.assert_allclose(three, 3 * one, rtol=1e-6)
