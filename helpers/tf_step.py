"""Lesson 05's TensorFlow train step over lesson 04's trainable SavedModel, and the plain route.

`fused_train_loss` gives a `GradientTape` the gradients that lesson 04's converted
`jax.value_and_grad` (`train_loss_and_grads`) already computed, through `tf.custom_gradient`, so
each step runs the forward pass once. `tape_train_step` is the plain route, the tape over
`train_loss`, whose jax2tf gradient module runs the forward pass a second time: lesson 05
measures the two side by side, `make bench` too.

Kept free of JAX (TensorFlow only): lesson 05 runs without it. `tests/unit/test_export_parity.py`
checks that these are the lesson's cells node for node, and that the fused gradients equal
`jax.grad`'s on a tiny exported model.

Used in: 05b_restart_and_speed, benchmarks. Defined in lesson 05 (`05_tf_finetune`, the cells
tagged `fused-train-loss`, `train-step` and `tape-train-step`).
"""

import tensorflow as tf


def fused_train_loss(model):
    """`model.train_loss`, with the gradient JAX computed along with it: one forward pass."""

    @tf.custom_gradient
    def train_loss(images, labels):
        loss, grads = model.train_loss_and_grads(images, labels)  # also updates model_state and rng
        by_variable = {
            variable.ref(): grad for variable, grad in zip(model.params, grads, strict=True)
        }

        def backward(upstream, variables):
            return [None, None], [upstream * by_variable[variable.ref()] for variable in variables]

        return loss, backward

    return train_loss


def make_train_step(model, optimizer):
    """An XLA-compiled train step for `model`'s parameters; returns the batch's train loss."""
    train_loss = fused_train_loss(model)

    @tf.function(jit_compile=True)
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss = train_loss(images, labels)  # also updates model_state and rng
        grads = tape.gradient(loss, model.params)
        optimizer.apply_gradients(zip(grads, model.params, strict=True))
        return loss

    return train_step


def tape_train_step(model, optimizer):
    """The plain route: the tape differentiates train_loss, whose gradient re-runs the forward."""

    @tf.function(jit_compile=True)
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss = model.train_loss(images, labels)
        grads = tape.gradient(loss, model.params)
        optimizer.apply_gradients(zip(grads, model.params, strict=True))
        return loss

    return train_step
