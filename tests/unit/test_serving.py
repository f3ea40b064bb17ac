"""`helpers.serving.save_serving`: the serving contract lessons 04 and 05 both write.

A tiny TF-only callable stands in for the model, so these run in seconds without JAX or MNIST.

Used in: 04_export, 05_tf_finetune.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers.serving import save_serving, serving_module


def linear_model(seed):
    """A softmax-regression 'model' reading two tf.Variables, and those variables."""
    rng = np.random.default_rng(seed)
    w = tf.Variable(0.05 * rng.normal(size=(784, 10)).astype(np.float32), name="w")
    b = tf.Variable(rng.normal(size=(10,)).astype(np.float32), name="b")

    def log_probs_fn(images):
        return tf.nn.log_softmax(tf.reshape(images, (-1, 784)) @ w + b)

    return log_probs_fn, [w, b]


@pytest.fixture
def pixels():
    return np.random.default_rng(0).integers(0, 256, size=(13, 28, 28), dtype=np.uint8)


@pytest.fixture
def saved(tmp_path):
    fn, variables = linear_model(seed=1)
    path = save_serving(tmp_path / "serving", fn, variables)
    return path, fn


def test_signatures_have_the_contracted_names_dtypes_and_shapes(saved):
    """Clients rely on these names; a change here breaks lessons 05, 06 and the TF-only test."""
    path, _ = saved
    loaded = tf.saved_model.load(str(path))
    assert sorted(loaded.signatures) == ["classify_uint8", "serving_default"]

    default = loaded.signatures["serving_default"]
    (spec,) = default.structured_input_signature[1].values()
    assert list(default.structured_input_signature[1]) == ["images"]
    assert spec.dtype == tf.float32 and spec.shape.as_list() == [None, 28, 28, 1]
    out = default.structured_outputs
    assert list(out) == ["log_probs"]
    assert out["log_probs"].dtype == tf.float32 and out["log_probs"].shape.as_list() == [None, 10]

    classify = loaded.signatures["classify_uint8"]
    (spec,) = classify.structured_input_signature[1].values()
    assert list(classify.structured_input_signature[1]) == ["images"]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, 28, 28]
    out = classify.structured_outputs
    assert sorted(out) == ["label", "probabilities"]
    assert out["label"].dtype == tf.int64 and out["label"].shape.as_list() == [None]
    assert out["probabilities"].dtype == tf.float32 and out["probabilities"].shape.as_list() == [
        None,
        10,
    ]
    assert (path / "variables").is_dir()  # weights saved as variables


def test_classify_uint8_equals_argmax_of_serving_default(saved, pixels):
    """The uint8 signature scales in TF exactly as the pipeline does, so labels agree exactly."""
    path, fn = saved
    loaded = tf.saved_model.load(str(path))
    images = pixels.astype(np.float32)[..., None] / np.float32(255)
    log_probs = loaded.signatures["serving_default"](images=tf.constant(images))[
        "log_probs"
    ].numpy()
    classified = loaded.signatures["classify_uint8"](images=tf.constant(pixels))
    np.testing.assert_array_equal(classified["label"].numpy(), log_probs.argmax(-1))
    np.testing.assert_allclose(
        classified["probabilities"].numpy(), np.exp(log_probs), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(log_probs, fn(tf.constant(images)).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("signature", "images"),
    [
        ("serving_default", np.zeros((2, 28, 28, 1), np.float64)),  # wrong dtype
        ("classify_uint8", np.zeros((2, 28, 28), np.float32)),  # wrong dtype
        ("serving_default", np.zeros((2, 28, 28), np.float32)),  # missing channel axis
        ("classify_uint8", np.zeros((2, 28, 28, 1), np.uint8)),  # extra channel axis
        ("serving_default", np.zeros((2, 28, 28, 3), np.float32)),  # wrong channel count
    ],
)
def test_wrong_dtype_or_shape_is_rejected(saved, signature, images):
    """A tf.Tensor of the wrong dtype or shape raises instead of returning nonsense."""
    loaded = tf.saved_model.load(str(saved[0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected"):
        loaded.signatures[signature](images=tf.constant(images))


def test_failed_save_leaves_the_previous_model_intact(saved, monkeypatch, pixels):
    """An exception mid-save must not damage what lesson 05 or a server would load."""
    path, _ = saved
    before = tf.saved_model.load(str(path)).signatures["classify_uint8"](images=tf.constant(pixels))
    files_before = sorted(p.relative_to(path) for p in path.rglob("*"))

    def crash_mid_save(obj, export_dir, **kwargs):
        os.makedirs(os.path.join(export_dir, "variables"), exist_ok=True)
        with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
            f.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", crash_mid_save)
    fn, variables = linear_model(seed=2)
    with pytest.raises(OSError, match="disk full"):
        save_serving(path, fn, variables)
    monkeypatch.undo()

    assert sorted(p.relative_to(path) for p in path.rglob("*")) == files_before
    assert [
        p.name for p in path.parent.iterdir() if p.name.startswith(".")
    ] == []  # no temp dirs left
    after = tf.saved_model.load(str(path)).signatures["classify_uint8"](images=tf.constant(pixels))
    np.testing.assert_array_equal(after["probabilities"].numpy(), before["probabilities"].numpy())


def test_successful_save_replaces_the_previous_model(saved, pixels):
    path, _ = saved
    fn, variables = linear_model(seed=3)
    save_serving(path, fn, variables)
    loaded = tf.saved_model.load(str(path))
    got = loaded.signatures["classify_uint8"](images=tf.constant(pixels))["probabilities"].numpy()
    images = pixels.astype(np.float32)[..., None] / np.float32(255)
    np.testing.assert_allclose(got, np.exp(fn(tf.constant(images)).numpy()), rtol=1e-5, atol=1e-6)


def test_bad_arguments_fail_with_a_message_naming_the_fix(tmp_path):
    fn, variables = linear_model(seed=4)
    with pytest.raises(TypeError, match="list of tf.Variable"):
        save_serving(tmp_path / "a", fn, [v.numpy() for v in variables])
    with pytest.raises(TypeError, match="callable"):
        save_serving(tmp_path / "b", "predict", variables)
    with pytest.raises(ValueError, match="not passed in `variables`"):
        save_serving(tmp_path / "c", fn, variables[:1])
    with pytest.raises(ValueError, match=r"shape \(batch, 10\)"):
        save_serving(tmp_path / "d", lambda images: tf.reshape(images, (-1, 784)), [])
    assert not any(tmp_path.iterdir())  # nothing written for a rejected call


def test_serving_module_tracks_the_variables():
    fn, variables = linear_model(seed=5)
    module = serving_module(fn, variables)
    assert {id(v) for v in module.variables} == {id(v) for v in variables}


def test_helpers_serving_imports_without_jax():
    """Lesson 05 has no JAX: importing the helper must not need it."""
    code = "import sys; sys.modules['jax'] = None; import helpers.serving"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
