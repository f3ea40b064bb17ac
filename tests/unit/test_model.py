"""The model taught in lesson 02 and the one later lessons import must stay the same."""

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from helpers.model import ConvModel
from tools.notebook_code import exec_tagged


@pytest.fixture(scope="module")
def notebook_model_class():
    namespace = exec_tagged(
        "02_flax_model.ipynb",
        "model-definition",
        {"nn": nn, "jax": jax, "jnp": jnp, "optax": optax, "flax": flax},
    )
    return namespace["ConvModel"]


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    images = rng.random((4, 28, 28, 1), dtype=np.float32)
    labels = jax.nn.one_hot(np.array([3, 1, 4, 1]), 10)
    return images, labels


def _init(model_class, images):
    keys = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
    return model_class().init(keys, images, train=False)


def test_notebook_and_module_define_the_same_parameter_tree(notebook_model_class, batch):
    ours, theirs = _init(ConvModel, batch[0]), _init(notebook_model_class, batch[0])
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    assert jax.tree.map(jnp.shape, ours) == jax.tree.map(jnp.shape, theirs)
    assert all(
        jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), ours, theirs))
    )


def test_notebook_and_module_compute_the_same_outputs(notebook_model_class, batch):
    images, labels = batch
    state = _init(ConvModel, images)
    ours, theirs = ConvModel(), notebook_model_class()
    assert jnp.array_equal(ours.predict(state, images), theirs.predict(state, images))
    assert ours.accuracy(state, images, labels) == theirs.accuracy(state, images, labels)
    other, params = flax.core.pop(state, "params")
    for train in (True, False):
        a = ours.loss(params, other, jax.random.key(2), images, labels, train)
        b = theirs.loss(params, other, jax.random.key(2), images, labels, train)
        assert all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.array_equal(x, y)), a, b)))


def test_the_guides_parameter_counts(batch):
    state = _init(ConvModel, batch[0])
    assert sum(x.size for x in jax.tree.leaves(state["params"])) == 1_884_130
    assert sum(x.size for x in jax.tree.leaves(state["batch_stats"])) == 424


def test_predict_returns_log_probabilities_and_eval_mode_is_deterministic(batch):
    images, _ = batch
    state = _init(ConvModel, images)
    log_probs = ConvModel().predict(state, images)
    assert log_probs.shape == (4, 10)
    np.testing.assert_allclose(jnp.exp(log_probs).sum(axis=-1), 1.0, rtol=1e-5)
    assert jnp.array_equal(log_probs, ConvModel().predict(state, images))


def test_dropout_changes_train_mode_outputs_only_with_a_new_key(batch):
    images, labels = batch
    other, params = flax.core.pop(_init(ConvModel, images), "params")
    model = ConvModel()
    same_a, _ = model.loss(params, other, jax.random.key(5), images, labels, True)
    same_b, _ = model.loss(params, other, jax.random.key(5), images, labels, True)
    other_key, _ = model.loss(params, other, jax.random.key(6), images, labels, True)
    assert same_a == same_b and same_a != other_key


def test_reading_a_tag_that_no_cell_has_fails_loudly():
    from tools.notebook_code import tagged_source

    with pytest.raises(
        LookupError, match="no code cell tagged 'no-such-tag' in notebooks/02_flax_model.ipynb"
    ):
        tagged_source("02_flax_model.ipynb", "no-such-tag")
