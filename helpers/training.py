"""Lesson 03's jitted train step, for the lesson that continues lesson 03's training in JAX.

Lesson 04 runs JAX's own epoch 4 from lesson 03's checkpoint: the yardstick that lesson 05's
TensorFlow epoch is compared with. It must be lesson 03's step to the letter;
`tests/unit/test_training.py` checks that this copy and the lesson's cell are the same code.

Used in: 04_export, 09_scale_out (and its worker processes, helpers.dp_worker). Defined in lesson 03
(`03_jax_training`, the cell tagged `train-step`).
"""

from functools import partial

import jax
import optax


@partial(jax.jit, static_argnames=("model", "optimizer"))
def train_step(model, optimizer, params, other_state, opt_state, rng, images, labels):
    rng, dropout_key = jax.random.split(rng)
    (loss, other_state), grads = jax.value_and_grad(model.loss, has_aux=True)(
        params, other_state, dropout_key, images, labels, train=True
    )
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, other_state, opt_state, rng, loss
