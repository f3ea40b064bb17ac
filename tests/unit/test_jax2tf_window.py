"""The pinned JAX and TensorFlow must sit inside jax2tf's compatibility window.

jax2tf serializes a function as StableHLO inside an `XlaCallModule` op; TensorFlow deserializes
it when the op first runs (and `TFLiteConverter` when it converts). JAX guarantees that for 6
months backward and 3 weeks forward only. Outside the window the failure is late and confusing:
`tf.saved_model.save` succeeds, then running the model or converting it fails with
`unregistered operation 'vhlo.composite_v2' ... failed to deserialize portable artifact`
(jax 0.10.1/0.10.2 emit StableHLO 1.15 composites for `erf`, TensorFlow 2.21 reads up to 1.13).
`erf` is everywhere: `jax.random.truncated_normal`, so Flax's default initialisers whenever they
are traced (e.g. `nnx.bridge.to_linen` inside `keras.layers.FlaxLayer`), and `jax.nn.gelu`.

These tests convert exactly those ops and run them the ways the lessons do, so a pin bump outside
the window fails `make unit` in seconds, naming the cause.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf
from jax.experimental import jax2tf

WINDOW_HINT = (
    "The pinned jax ({jax}) and tensorflow ({tf}) are outside jax2tf's compatibility window: "
    "TensorFlow cannot read the StableHLO this JAX writes. Pin a JAX released at most 6 months "
    "before, and no more than 3 weeks after, the TensorFlow release (docs/stack.md)."
)


def erf_fn(x):
    return jax.scipy.special.erf(x)


def truncated_normal_fn(x):
    # What Flax's default kernel initialiser traces: a truncated normal, scaled.
    noise = jax.random.truncated_normal(jax.random.key(0), -2.0, 2.0, x.shape, x.dtype)
    return x + 0.01 * noise


def gelu_fn(x):
    return jax.nn.gelu(x, approximate=False)


FUNCTIONS = {"erf": erf_fn, "truncated_normal": truncated_normal_fn, "gelu_exact": gelu_fn}
X = np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6)


def _hint() -> str:
    from importlib import metadata

    def version(name):
        for dist in (name, f"{name}-cpu"):
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return "?"

    return WINDOW_HINT.format(jax=jax.__version__, tf=version("tensorflow"))


def _run_or_explain(call):
    try:
        return call()
    except Exception as err:  # TF raises InvalidArgumentError, TFLite a ConverterError
        text = str(err)
        if "deserialize" in text or "vhlo" in text or "unregistered operation" in text:
            pytest.fail(f"{_hint()}\nTensorFlow said: {text[:600]}", pytrace=False)
        raise


# A symbolic batch where TensorFlow 2.21 can run it: `erf` alone with a symbolic batch fails with
# "Module has dynamic shapes" on any JAX (a shape-refinement limit, not the window); inside
# `gelu` it refines fine. The lessons' models use static-rank, symbolic-batch convolutions.
POLYMORPHIC = {"erf": None, "truncated_normal": ["(b, 6)"], "gelu_exact": ["(b, 6)"]}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_tensorflow_runs_converted_function(name):
    fn = FUNCTIONS[name]
    tf_fn = tf.function(jax2tf.convert(fn, polymorphic_shapes=POLYMORPHIC[name]), autograph=False)
    got = _run_or_explain(lambda: tf_fn(tf.constant(X)).numpy())
    # Same StableHLO program compiled by TF's XLA instead of jaxlib's: float32 rounding only.
    np.testing.assert_allclose(got, np.asarray(jax.jit(fn)(X)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_saved_model_reloads_and_runs(name, tmp_path):
    module = tf.Module()
    batch = None if POLYMORPHIC[name] else X.shape[0]
    module.f = tf.function(
        jax2tf.convert(FUNCTIONS[name], polymorphic_shapes=POLYMORPHIC[name]),
        autograph=False,
        input_signature=[tf.TensorSpec((batch, 6), tf.float32)],
    )
    tf.saved_model.save(module, str(tmp_path))  # succeeds even outside the window
    reloaded = tf.saved_model.load(str(tmp_path))
    got = _run_or_explain(lambda: reloaded.f(tf.constant(X)).numpy())
    assert got.shape == X.shape and np.all(np.isfinite(got))


# Not truncated_normal: its threefry bits use uint32 multiplies, which TFLite has no kernel for
# ("failed to legalize operation 'tfl.mul'") on any JAX; a model's initialiser never reaches TFLite.
@pytest.mark.parametrize("name", ["erf", "gelu_exact"])
def test_tflite_converter_reads_converted_function(name):
    tf_fn = tf.function(
        jax2tf.convert(FUNCTIONS[name]),
        autograph=False,
        input_signature=[tf.TensorSpec(X.shape, tf.float32)],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [tf_fn.get_concrete_function()], tf_fn
    )
    flatbuffer = _run_or_explain(converter.convert)
    assert len(flatbuffer) > 0


def test_hint_names_the_cause():
    assert "compatibility window" in _hint() and jax.__version__ in _hint()
    assert jnp.asarray(0.0).dtype == jnp.float32
