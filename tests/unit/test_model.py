"""Lesson 02's model, as `make export` writes it for later lessons: what it computes."""

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers.lessons.l02_flax_model import ConvModel


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    images = rng.random((4, 28, 28, 1), dtype=np.float32)
    labels = jax.nn.one_hot(np.array([3, 1, 4, 1]), 10)
    return images, labels


def _init(model_class, images):
    keys = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
    return model_class().init(keys, images, train=False)


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
    from tests.notebook_code import tagged_source

    with pytest.raises(
        LookupError, match="no code cell tagged 'no-such-tag' in notebooks/02_flax_model.ipynb"
    ):
        tagged_source("02_flax_model.ipynb", "no-such-tag")
