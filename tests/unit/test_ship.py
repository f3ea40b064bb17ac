"""Lesson 10's model-server replay and lesson 06's `flax_state`, on a tiny SavedModel: no MNIST,
no lesson artifacts. The replay must run every warmup record through the signature it names, and
nothing when told not to; `flax_state` must rebuild the Flax tree from variable names."""

import numpy as np
import tensorflow as tf

from helpers.lessons.l06_deploy import flax_state
from helpers.lessons.l10_ship import prediction_log, serve_like_tf_serving


class Tiny(tf.Module):
    def __init__(self):
        super().__init__()
        self.model_variables = [
            tf.Variable(np.ones((784, 10), np.float32), name="params/Dense_0/kernel"),
            tf.Variable(np.zeros(10, np.float32), name="params/Dense_0/bias"),
        ]
        self.calls = tf.Variable(0, name="calls")  # counts the signature's calls, warmup included

    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28), tf.uint8, name="images")])
    def classify_uint8(self, images):
        self.calls.assign_add(1)
        flat = tf.reshape(tf.cast(images, tf.float32), (-1, 784))
        logits = flat @ self.model_variables[0] + self.model_variables[1]
        return {"label": tf.argmax(logits, axis=-1), "probabilities": tf.nn.softmax(logits)}


def _version(tmp_path, batches=(1, 3)):
    module = Tiny()
    path = tmp_path / "mnist" / "1"
    tf.saved_model.save(module, str(path), signatures={"classify_uint8": module.classify_uint8})
    (path / "assets.extra").mkdir()
    with tf.io.TFRecordWriter(str(path / "assets.extra" / "tf_serving_warmup_requests")) as w:
        for b in batches:
            log = prediction_log("classify_uint8", np.zeros((b, 28, 28), np.uint8))
            w.write(log.SerializeToString())
    return path


def test_the_warmup_file_is_replayed_through_the_named_signature(tmp_path):
    path = _version(tmp_path)
    report = serve_like_tf_serving(path, [2], warmup=True, calls=3)
    assert report["replayed"] == 2 and report["warmup_s"] > 0
    assert set(report["first_ms"]) == set(report["warm_ms"]) == {2}
    assert tf.saved_model.load(str(path)).calls.numpy() == 0  # the replay ran in the loaded copy


def test_without_warmup_nothing_is_replayed(tmp_path):
    report = serve_like_tf_serving(_version(tmp_path), [1, 4], warmup=False, calls=1)
    assert report["replayed"] == 0 and sorted(report["first_ms"]) == [1, 4]


def test_flax_state_rebuilds_the_tree_from_variable_names():
    state = flax_state(Tiny())
    assert list(state) == ["params"] and sorted(state["params"]["Dense_0"]) == ["bias", "kernel"]
    assert state["params"]["Dense_0"]["kernel"].shape == (784, 10)
