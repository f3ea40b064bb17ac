"""Save an inference SavedModel with the workshop's two serving signatures, on TensorFlow alone.

Lesson 04 saves the JAX model converted by `jax2tf`, lesson 05 its fine-tuned TensorFlow model,
lesson 08 its Flax NNX model; all must look the same to a client
(tests/stages/test_serving_tf_only.py, lesson 06):

- `serving_default`: `images` float32 (None, 28, 28, 1) in [0, 1] → `log_probs` float32 (None, 10);
- `classify_uint8`: `images` uint8 (None, 28, 28) raw pixels → `label` int64 (None,) and
  `probabilities` float32 (None, 10). The scaling happens in TensorFlow inside the signature, with
  the same ops as lesson 01's `make_datasets`, so a client sends the pixels it has.

Lesson 04 writes the module on the page (`ServingModule`, exported by `make export` to
`helpers.lessons.l04_export`); this file adds the argument checks and the atomic save that lessons
05, 08 and 09 save with.

No JAX here, not even lazily: lesson 05 runs without it.

"""

import os
from pathlib import Path

from helpers.artifacts import atomic_dir

NUM_CLASSES = 10
SIGNATURES = ("serving_default", "classify_uint8")


def _check_variables(variables):
    import tensorflow as tf

    variables = list(variables)
    bad = [type(v).__name__ for v in variables if not isinstance(v, tf.Variable)]
    if bad:
        raise TypeError(
            f"save_serving needs a list of tf.Variable (the weights to save as variables), got {bad[:3]}; "
            "wrap the state with tf.Variable, e.g. [tf.Variable(x) for x in leaves]."
        )
    return variables


def _check_output(concrete):
    """The traced `log_probs_fn` must map (b, 28, 28, 1) float32 to (b, 10) float32."""
    import tensorflow as tf

    out = concrete.structured_outputs["log_probs"]
    if out.dtype != tf.float32 or out.shape.rank != 2 or out.shape[-1] != NUM_CLASSES:
        raise ValueError(
            f"log_probs_fn must return float32 log-probabilities of shape (batch, {NUM_CLASSES}), "
            f"got {out.dtype.name} {out.shape}; pass the model's predict function, e.g. the "
            "jax2tf-converted `model.predict` closed over its tf.Variables."
        )


def _check_captures(concrete, variables):
    """Every variable the function reads must be in `variables`, or the save would fail obscurely."""
    tracked = {id(v) for v in variables}
    missing = [v.name for v in concrete.variables if id(v) not in tracked]
    if missing:
        raise ValueError(
            f"log_probs_fn reads {len(missing)} tf.Variable(s) not passed in `variables` "
            f"(e.g. {missing[:3]}); pass every variable it uses so the weights are saved."
        )


def serving_module(log_probs_fn, variables):
    """Lesson 04's `ServingModule(log_probs_fn, variables)`, after checking the arguments.

    Args:
        log_probs_fn: TF callable, images float32 (b, 28, 28, 1) → log-probabilities (b, 10).
        variables: list of `tf.Variable` the callable reads (they are saved as variables, never
            folded into the graph as constants).

    Defined in lesson 04 (`04_export`, the cell tagged `serving-module`).
    """
    if not callable(log_probs_fn):
        raise TypeError(f"log_probs_fn must be callable, got {type(log_probs_fn).__name__}")
    from helpers.lessons.l04_export import ServingModule  # imports TensorFlow, never JAX

    module = ServingModule(log_probs_fn, _check_variables(variables))
    concrete = module.serving_default.get_concrete_function()
    _check_output(concrete)
    _check_captures(concrete, module.model_variables)
    return module


def save_serving(path: str | os.PathLike, log_probs_fn, variables) -> Path:
    """Save the serving SavedModel at `path` (replacing any previous one whole) and return `path`.

    The model is built under a temporary name next to `path` and renamed into place only when
    `tf.saved_model.save` has finished, so a failed or interrupted save leaves the previous model
    intact. Signatures are passed explicitly: TensorFlow only infers `serving_default` for an
    object with exactly one input-signature tf.function.

    Raises:
        TypeError: `variables` holds something other than `tf.Variable`s.
        ValueError: `log_probs_fn` returns the wrong shape or dtype, or reads a variable not
            listed in `variables`.
    """
    import tensorflow as tf

    module = serving_module(log_probs_fn, variables)
    signatures = {name: getattr(module, name) for name in SIGNATURES}
    with atomic_dir(path) as tmp:
        tf.saved_model.save(module, os.fspath(tmp), signatures=signatures)
    return Path(path)
