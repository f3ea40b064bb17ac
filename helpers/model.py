"""The guide's `ConvModel`, taught in notebooks/02_flax_model.ipynb and promoted here.

Later lessons import it instead of copying it; `tests/unit/test_model.py` fails if this
definition and the notebook's ever differ (same parameter tree, same outputs on a fixed input).

Used in: 03_jax_training, 04_export, 07_fusion, 08_flax_nnx (the Linen side of the comparison). Defined in lesson 02 (the cell tagged
`model-definition`).
"""

import flax.linen as nn
import jax.numpy as jnp
import optax


class ConvModel(nn.Module):
    """Conv(12) → BatchNorm → Dense(200) → BatchNorm → Dropout(0.3) → relu → Dense(10)."""

    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Conv(features=12, kernel_size=(3, 3), padding="SAME", use_bias=False)(x)
        x = nn.BatchNorm(use_running_average=not train, use_scale=False, use_bias=True)(x)
        x = x.reshape((x.shape[0], -1))  # flatten: 28·28·12 = 9408 features
        x = nn.Dense(features=200, use_bias=True)(x)
        x = nn.BatchNorm(use_running_average=not train, use_scale=False, use_bias=True)(x)
        x = nn.Dropout(rate=0.3, deterministic=not train)(x)
        x = nn.relu(x)
        x = nn.Dense(features=10)(x)
        return x  # logits

    def loss(self, params, other_state, rng, data, labels, train: bool):
        """Mean softmax cross-entropy and the updated `{'batch_stats': ...}`.

        `params` is what `jax.grad` differentiates; `other_state` ({'batch_stats': ...}) is not.
        """
        logits, updated = self.apply(
            {"params": params, **other_state},
            data,
            train=train,
            rngs={"dropout": rng},
            mutable=["batch_stats"],
        )
        return optax.softmax_cross_entropy(logits, labels).mean(), updated

    def predict(self, state, data):
        """Log-probabilities in eval mode (running batch-norm averages, no dropout)."""
        return nn.log_softmax(self.apply(state, data, train=False))

    def accuracy(self, state, data, labels):
        """Fraction of `data` whose arg-max prediction equals the one-hot `labels`' class."""
        predictions = jnp.argmax(self.predict(state, data), axis=-1)
        return jnp.mean(predictions == jnp.argmax(labels, axis=-1))
