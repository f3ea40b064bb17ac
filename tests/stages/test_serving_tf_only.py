"""TensorFlow alone serves the exported models: no JAX in the process, same accuracy as recorded.

A team that receives `serving/` has TensorFlow, not JAX. So a separate Python process makes
`import jax` impossible before anything else, loads the SavedModel, classifies the 10,000 test
images through both signatures, and must count exactly as many correct as the producing lesson
recorded (lesson 03's JAX evaluation for 04's export; lesson 05's own for its fine-tuned model;
lesson 08's for its NNX export).

Used in: 04_export, 05_tf_finetune, 08_flax_nnx.
"""

import json
import os
import subprocess
import sys

import pytest

from helpers.artifacts import read_json, require

# stage whose serving/ is tested → (history.json holding the accuracy to match, its producer)
STAGES = {
    "04_export": ("03_jax_training/history.json", "03_jax_training"),
    "05_tf_finetune": ("05_tf_finetune/history.json", "05_tf_finetune"),
    "08_flax_nnx": ("08_flax_nnx/history.json", "08_flax_nnx"),
}
TEST_IMAGES = 10_000

CHILD = r"""
import sys
for name in ("jax", "jaxlib", "flax", "optax"):
    sys.modules[name] = None  # from here on, `import jax` raises ImportError
import json
import numpy as np
import tensorflow as tf
from helpers.data import load_mnist

model = tf.saved_model.load(sys.argv[1])
(_, _), (x_test, y_test) = load_mnist()
images = x_test.astype(np.float32)[..., None] / np.float32(255)  # the training pipeline's floats
log_probs = model.signatures["serving_default"](images=tf.constant(images))["log_probs"].numpy()
classified = model.signatures["classify_uint8"](images=tf.constant(x_test))
labels = classified["label"].numpy()
try:
    import jax  # noqa: F401
    jax_importable = True
except ImportError:
    jax_importable = False
print(json.dumps({
    "jax_importable": jax_importable,
    "jax_loaded": sorted(m for m in ("jax", "jaxlib", "flax", "optax") if sys.modules.get(m)),
    "images": len(x_test),
    "serving_default_correct": int((log_probs.argmax(-1) == y_test).sum()),
    "classify_uint8_correct": int((labels == y_test).sum()),
    "labels_agree": int((labels == log_probs.argmax(-1)).sum()),
    "label_dtype": str(labels.dtype),
}))
"""


@pytest.mark.parametrize("stage", list(STAGES))
def test_tensorflow_alone_serves_recorded_accuracy(stage):
    """Both signatures, in a process where JAX cannot be imported, match the recorded accuracy."""
    serving = require(f"{stage}/serving", producer=stage)
    history_path, producer = STAGES[stage]
    history = read_json(history_path, producer=producer)
    expected_correct = round(history["epochs"][-1]["eval_accuracy"] * TEST_IMAGES)

    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(serving)],
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, f"TF-only process failed:\n{done.stderr[-4000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["jax_importable"] is False and result["jax_loaded"] == []
    assert result["images"] == TEST_IMAGES
    assert result["label_dtype"] == "int64"
    assert result["labels_agree"] == TEST_IMAGES
    assert result["serving_default_correct"] == expected_correct, (result, expected_correct)
    assert result["classify_uint8_correct"] == expected_correct, (result, expected_correct)
