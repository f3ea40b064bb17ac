"""What lesson 10 shipped works where it will be used, outside the notebook's process.

- The model-server layout: each version directory loads in a process that cannot import JAX, and
  replaying its warmup file runs every recorded request, as TF Serving does at load.
- The `uint8` batch-1 LiteRT file classifies like the SavedModel's `classify_uint8`, through
  LiteRT's `CompiledModel`.
- The `jax.export` file runs in a process that cannot import TensorFlow.
- Every LiteRT file lessons 06 and 10 wrote holds builtin operators only (no `Flex…`).

Used in: 06_deploy, 10_ship.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers.artifacts import require, stage_dir
from helpers.data import load_mnist
from helpers.lessons.l06_deploy import non_builtin_ops
from helpers.lessons.l10_ship import compiled_runner

SERVER = "10_ship/model_server/mnist"
WARMUP = "assets.extra/tf_serving_warmup_requests"


def _child(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


TF_ONLY = r"""
import json, sys
for name in ("jax", "jaxlib", "flax", "optax"):
    sys.modules[name] = None  # a model server has no JAX
from helpers.lessons.l10_ship import serve_like_tf_serving
report = serve_like_tf_serving(sys.argv[1], [1, 8], warmup=True, calls=2)
print(json.dumps({"replayed": report["replayed"], "jax": [m for m in ("jax", "flax") if sys.modules.get(m)]}))
"""


@pytest.mark.parametrize("version", ["1", "2"])
def test_each_version_loads_and_replays_its_warmup_without_jax(version):
    path = require(f"{SERVER}/{version}", producer="10_ship")
    assert (path / "saved_model.pb").is_file() and (path / WARMUP).is_file()
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    records = [
        prediction_log_pb2.PredictionLog.FromString(r.numpy())
        for r in tf.data.TFRecordDataset(str(path / WARMUP))
    ]
    signatures = {r.predict_log.request.model_spec.signature_name for r in records}
    assert signatures == {"serving_default", "classify_uint8"}, signatures
    result = json.loads(_child(TF_ONLY, path))
    assert result == {"replayed": len(records), "jax": []}, result


def test_the_uint8_device_file_classifies_like_the_savedmodel():
    import tensorflow as tf

    path = require("10_ship/model_uint8_b1.tflite", producer="10_ship")
    served = tf.saved_model.load(str(require("05_tf_finetune/serving", producer="05_tf_finetune")))
    (_, _), (x_test, _) = load_mnist()
    pixels = x_test[:300]
    want = served.signatures["classify_uint8"](images=tf.constant(pixels))
    device = compiled_runner(path)  # lesson 10's CompiledModel runner
    answers = [device(images=image[None]) for image in pixels]
    labels = np.concatenate([a["label"] for a in answers])
    probabilities = np.concatenate([a["probabilities"] for a in answers])
    assert np.array_equal(labels, want["label"].numpy())  # 300 images, none a near tie (lesson 10)
    assert np.abs(probabilities - want["probabilities"].numpy()).max() <= 2e-5  # lesson 10's TOL


NO_TF = r"""
import json, sys
sys.modules["tensorflow"] = None  # no TensorFlow in this process
import numpy as np
from jax import export
exported = export.deserialize(bytearray(open(sys.argv[1], "rb").read()))
out = np.asarray(exported.call(np.zeros((3, 28, 28, 1), np.float32)))
print(json.dumps({"shape": list(out.shape), "sums": np.exp(out).sum(axis=1).tolist(),
                  "tensorflow": bool(sys.modules.get("tensorflow"))}))
"""


def test_the_jax_export_file_runs_without_tensorflow():
    path = require("10_ship/predict.jax_exported", producer="10_ship")
    result = json.loads(_child(NO_TF, path))
    assert result["shape"] == [3, 10] and not result["tensorflow"]
    assert np.allclose(
        result["sums"], 1.0, atol=1e-5
    )  # probabilities: 10 float32 terms, a few ulps of 1


def test_every_litert_file_holds_builtin_operators_only():
    files = sorted(
        [*stage_dir("06_deploy").glob("*.tflite"), *stage_dir("10_ship").glob("*.tflite")]
    )
    assert len(files) >= 8, files  # 06: 7 files; 10: the uint8 device file
    assert {f.name: ops for f in files if (ops := non_builtin_ops(f))} == {}
