"""Lesson 08's Flax NNX model, its Linen-to-NNX names and its train step, for its solutions.

Lesson 08 writes each of these on the page; `tests/unit/test_nnx_model.py` checks that every
definition here is the lesson's, node for node, and that the mapping carries lesson 02's Linen
weights into the NNX model with identical outputs.

Used in: solutions/08_flax_nnx_solutions.ipynb. Defined in lesson 08 (`08_flax_nnx`, the cells
tagged `nnx-model`, `linen-to-nnx` and `nnx-train-step`).
"""

import optax
from flax import nnx


class CNN(nnx.Module):
    """Lesson 02's ConvModel in NNX: Conv(12) → BatchNorm → Linear(200) → BatchNorm → Dropout(0.3) → relu → Linear(10)."""

    def __init__(self, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(1, 12, kernel_size=(3, 3), padding="SAME", use_bias=False, rngs=rngs)
        self.bn1 = nnx.BatchNorm(12, use_scale=False, rngs=rngs)
        self.dense = nnx.Linear(28 * 28 * 12, 200, rngs=rngs)
        self.bn2 = nnx.BatchNorm(200, use_scale=False, rngs=rngs)
        self.dropout = nnx.Dropout(0.3)
        self.head = nnx.Linear(200, 10, rngs=rngs)

    def features(self, x, rngs=None):
        x = self.bn1(self.conv(x))
        x = x.reshape((x.shape[0], -1))  # flatten: 28·28·12 = 9408 features
        x = self.bn2(self.dense(x))
        return nnx.relu(self.dropout(x, rngs=rngs))

    def __call__(self, x, rngs=None):
        return self.head(self.features(x, rngs))  # logits


LINEN_TO_NNX = {
    "Conv_0": "conv",
    "BatchNorm_0": "bn1",
    "Dense_0": "dense",
    "BatchNorm_1": "bn2",
    "Dense_1": "head",
}


def to_nnx_names(linen_tree):
    """A Linen tree keyed by layer name (params, a batch_stats or an Adam moment) → NNX's names."""
    return {LINEN_TO_NNX[layer]: leaves for layer, leaves in linen_tree.items()}


@nnx.jit
def train_step(model, optimizer, rngs, images, labels):
    def loss_fn(model, rngs):
        logits = model(images, rngs=rngs)  # train mode: dropout on, batch statistics updated
        return optax.softmax_cross_entropy(logits, labels).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model, rngs)
    optimizer.update(model, grads)
    return loss
