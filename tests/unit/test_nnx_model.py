"""Lesson 08's NNX model, Linen-to-NNX names and train step, as `make export` writes them.

The mapping is checked on lesson 02's Linen model: the same weights must give the same outputs,
and a handed-over Adam state the same next step.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from helpers.lessons import l08_flax_nnx as nnx_model
from helpers.lessons.l02_flax_model import ConvModel


def _linen_and_nnx(seed=0):
    """Lesson 02's Linen model with random weights, and the NNX model holding the same ones."""
    images = jax.random.uniform(jax.random.key(seed), (8, 28, 28, 1))
    keys = {"params": jax.random.key(seed + 1), "dropout": jax.random.key(seed + 2)}
    linen = ConvModel().init(keys, images, train=False)
    linen["batch_stats"] = jax.tree.map(lambda x: x + 0.25, linen["batch_stats"])  # not the init
    model = nnx_model.CNN(rngs=nnx.Rngs(params=seed + 3))
    weights = nnx_model.to_nnx_names(linen["params"])
    for layer, stats in nnx_model.to_nnx_names(linen["batch_stats"]).items():
        weights[layer] = {**weights[layer], **stats}
    state = nnx.state(model)
    nnx.replace_by_pure_dict(state, weights)
    nnx.update(model, state)
    return linen, model, images


def test_linen_weights_give_the_same_outputs_in_nnx():
    linen, model, images = _linen_and_nnx()
    expected = ConvModel().apply(linen, images, train=False)
    eval_model = nnx.view(model, deterministic=True, use_running_average=True)
    np.testing.assert_allclose(eval_model(images), expected, rtol=0, atol=1e-5)  # float32 rounding
    assert not np.allclose(
        model(images, rngs=nnx.Rngs(dropout=0)), expected, atol=1e-3
    )  # train mode


def test_an_unknown_linen_layer_is_refused():
    with pytest.raises(KeyError, match="Dense_7"):
        nnx_model.to_nnx_names({"Dense_7": {}})


def test_the_train_step_updates_weights_statistics_and_optimizer_and_lowers_the_loss():
    _, model, images = _linen_and_nnx()
    labels = jax.nn.one_hot(jnp.arange(8) % 10, 10)
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    rngs = nnx.Rngs(dropout=0)
    kernel, mean = np.array(model.dense.kernel[...]), np.array(model.bn2.mean[...])
    losses = [float(nnx_model.train_step(model, optimizer, rngs, images, labels)) for _ in range(5)]
    assert int(optimizer.step[...]) == 5 and losses[-1] < losses[0]
    assert not np.array_equal(model.dense.kernel[...], kernel)
    assert not np.array_equal(model.bn2.mean[...], mean)  # train mode updates the statistics
