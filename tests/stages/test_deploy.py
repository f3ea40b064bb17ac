"""Lesson 06's deployment files load in their own runtimes and agree, without TensorFlow or JAX.

A device team receives `model.tflite` or `model.onnx`, not the notebook. So these tests open the
files the way such a team would (the LiteRT interpreter, ONNX Runtime, `onnx.checker`), classify
test images, and check the figures `report.json` claims against the files themselves.

Used in: 06_deploy.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers.artifacts import read_json, require
from helpers.claims import load_claims
from helpers.data import load_mnist

STAGE = "06_deploy"
IMAGES = 512  # enough to see a disagreement, quick on a CPU
TOL = 1e-5  # max |probability difference| between float32 runtimes (the lesson's tolerance)


def _path(name):
    return require(f"{STAGE}/{name}", producer=STAGE)


@pytest.fixture(scope="module")
def test_images():
    (_, _), (x_test, y_test) = load_mnist()
    return x_test[:IMAGES], y_test[:IMAGES]


def _litert(path, signature, **inputs):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner(signature)
    return runner(**inputs)


def _scaled(x_u8):
    return x_u8.astype(np.float32)[..., None] / np.float32(255)


def test_onnx_model_is_valid_with_a_dynamic_batch():
    """onnx.checker passes and the batch dimension is symbolic in input and output."""
    import onnx

    model = onnx.load(str(_path("model.onnx")))
    onnx.checker.check_model(model, full_check=True)
    assert [v.name for v in model.graph.input] == ["images"]
    assert [v.name for v in model.graph.output] == ["log_probs"]
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param, value.name


def test_litert_and_onnx_agree_on_test_images(test_images):
    """LiteRT fp32 and ONNX Runtime, both from lesson 05's model, give the same predictions."""
    import onnxruntime as ort

    x_u8, y = test_images
    images = _scaled(x_u8)
    litert = _litert(_path("model.tflite"), "serving_default", images=images)["log_probs"]
    session = ort.InferenceSession(str(_path("model.onnx")), providers=["CPUExecutionProvider"])
    onnx_out = session.run(["log_probs"], {"images": images})[0]
    assert litert.shape == onnx_out.shape == (IMAGES, 10)
    assert np.abs(np.exp(litert) - np.exp(onnx_out)).max() <= 2 * TOL
    assert np.array_equal(litert.argmax(-1), onnx_out.argmax(-1))
    assert (litert.argmax(-1) == y).mean() > 0.95


def test_classify_uint8_survives_conversion(test_images):
    """The raw-pixel signature is in the LiteRT file and agrees with the float signature."""
    x_u8, _ = test_images
    path = _path("model.tflite")
    classified = _litert(path, "classify_uint8", images=x_u8)
    log_probs = _litert(path, "serving_default", images=_scaled(x_u8))["log_probs"]
    assert classified["label"].dtype == np.int64
    assert np.array_equal(classified["label"], log_probs.argmax(-1))
    assert np.abs(classified["probabilities"] - np.exp(log_probs)).max() <= TOL


def test_int8_model_keeps_predictions_and_is_smaller(test_images):
    """Int8 weights: about 4× smaller, and (almost) every prediction unchanged."""
    x_u8, _ = test_images
    images = _scaled(x_u8)
    fp32 = _litert(_path("model.tflite"), "serving_default", images=images)["log_probs"]
    int8 = _litert(_path("model_int8.tflite"), "serving_default", images=images)["log_probs"]
    assert (fp32.argmax(-1) == int8.argmax(-1)).mean() >= 0.98
    ratio = os.path.getsize(_path("model.tflite")) / os.path.getsize(_path("model_int8.tflite"))
    assert ratio > 3.5


def test_report_matches_the_files():
    """report.json quotes the files' real sizes and passes its own thresholds."""
    report = read_json(_path("report.json"))
    for name, file in [
        ("LiteRT fp32", "model.tflite"),
        ("LiteRT int8", "model_int8.tflite"),
        ("LiteRT fp16", "model_fp16.tflite"),
        ("ONNX Runtime", "model.onnx"),
        ("ONNX Runtime, static 1", "model_b1.onnx"),
        ("ONNX Runtime, static 256", "model_b256.onnx"),
    ]:
        assert report["sizes_bytes"][name] == os.path.getsize(_path(file)), name
    # The thresholds are the lesson's own, recorded with its claims (tests/stages/test_claims.py
    # checks that they all held); here: the report quotes the values those claims were checked on.
    recorded = {c["name"]: c["value"] for c in load_claims(STAGE)["claims"]}
    for name in ("LiteRT fp32", "LiteRT fp32, static 256", "ONNX Runtime", "JAX jit"):
        key = f"{name} vs SavedModel, max |Δ probability|"
        assert report["parity"][name]["max_abs_prob_diff"] == recorded[key], name
    assert report["int8"]["argmax_agreement"] == recorded["int8: predicted digit unchanged"]
    for batch in ("1", "256"):
        assert set(report["latency_ms"][batch]) >= {
            "JAX jit",
            "SavedModel",
            "LiteRT fp32, any batch",
            "LiteRT fp32, static",
            "LiteRT int8, static",
            "ONNX Runtime, static",
        }


@pytest.mark.parametrize("batch", [1, 256])
def test_static_files_take_exactly_their_batch_and_agree(test_images, batch):
    """model_b{1,256}.tflite/.onnx: a fixed input shape, the same digits as the any-batch file.

    A device team loads the file made for its batch size; the shape is part of the contract.
    """
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    x_u8, _ = test_images
    images = _scaled(x_u8)[:batch]
    reference = _litert(_path("model.tflite"), "serving_default", images=images)["log_probs"]
    interpreter = Interpreter(model_path=str(_path(f"model_b{batch}.tflite")))
    runner = interpreter.get_signature_runner("serving_default")
    assert runner.get_input_details()["images"]["shape_signature"].tolist() == [batch, 28, 28, 1]
    session = ort.InferenceSession(
        str(_path(f"model_b{batch}.onnx")), providers=["CPUExecutionProvider"]
    )
    assert session.get_inputs()[0].shape == [batch, 28, 28, 1]
    outputs = {
        "LiteRT": runner(images=images)["log_probs"],
        "ONNX": session.run(["log_probs"], {"images": images})[0],
        "LiteRT int8": _litert(
            _path(f"model_int8_b{batch}.tflite"), "serving_default", images=images
        )["log_probs"],
    }
    for name, out in outputs.items():
        assert out.shape == (batch, 10), name
    for name in ("LiteRT", "ONNX"):
        assert np.abs(np.exp(outputs[name]) - np.exp(reference)).max() <= 2 * TOL, name
        assert np.array_equal(outputs[name].argmax(-1), reference.argmax(-1)), name


CHILD = r"""
import sys
for name in ("tensorflow", "jax", "keras"):
    sys.modules[name] = None  # from here on, importing them raises ImportError
import json
import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter
x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
litert = Interpreter(model_path=sys.argv[1]).get_signature_runner("serving_default")(images=x)["log_probs"]
onnx_out = ort.InferenceSession(sys.argv[2], providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
print(json.dumps({"shapes": [list(litert.shape), list(onnx_out.shape)]}))
"""


def test_runtimes_need_neither_tensorflow_nor_jax():
    """A process where TensorFlow and JAX cannot be imported runs both files."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(_path("model.tflite")), str(_path("model.onnx"))],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"shapes": [[3, 10], [3, 10]]}
