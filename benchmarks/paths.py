"""The contenders: every training and inference path, built from the lessons' artifacts.

Each builder returns `run(n)`: n iterations on one fixed batch, synchronised at the end (the
contract of `benchmarks.stats.interleaved`). Frameworks are imported inside the builders, so a
memory-measuring child process imports only the framework of its own path.

Every path sees the same synthetic batch (uniform pixels, one-hot labels; speed does not depend
on the values), already in memory: this measures the step, not an input pipeline.
"""

import os
from pathlib import Path

import numpy as np

from helpers.artifacts import MissingArtifactError, require

# What the benchmark reads, and the lesson that writes it.
ARTIFACTS = {
    "checkpoint": ("03_jax_training/checkpoint", "03_jax_training"),
    "trainable": ("04_export/trainable", "04_export"),
    "optimizer": ("04_export/optimizer.json", "04_export"),
    "serving": ("04_export/serving", "04_export"),
    "tflite_any_batch": ("06_deploy/model.tflite", "06_deploy"),
    **{f"tflite_b{b}": (f"06_deploy/model_b{b}.tflite", "06_deploy") for b in (1, 256)},
    **{f"tflite_int8_b{b}": (f"06_deploy/model_int8_b{b}.tflite", "06_deploy") for b in (1, 256)},
    **{f"onnx_b{b}": (f"06_deploy/model_b{b}.onnx", "06_deploy") for b in (1, 256)},
    "onnx_jax2onnx": ("10_ship/model_jax2onnx.onnx", "10_ship"),
}

TRAINING = {  # key → label in the report
    "jax": "JAX jit step (lesson 03)",
    "tf_tape": "TF, tape over the exported train_loss (re-runs the forward)",
    "tf_fused": "TF, fused value-and-grad behind tf.custom_gradient (deep dive 05b)",
    "tf_limit": "TF running lesson 03's whole converted step (the limit)",
}
INFERENCE = {
    "jax": "JAX jit (predict)",
    "savedmodel": "SavedModel serving_default (TF)",
    "litert": "LiteRT fp32, static batch (from JAX)",
    "litert_int8": "LiteRT int8 weights, static batch",
    "litert_any_batch": "LiteRT fp32, any batch (from the SavedModel)",
    "litert_compiled": "LiteRT fp32, static batch, CompiledModel (lesson 10)",
    "onnx": "ONNX Runtime, static batch (tf2onnx, lesson 06)",
    "onnx_jax2onnx": "ONNX Runtime, any batch (jax2onnx, lesson 10)",
}


def artifact_paths() -> dict[str, Path]:
    """Every input, checked up front: one `require` sentence per missing one, all at once."""
    found, missing = {}, []
    for key, (path, producer) in ARTIFACTS.items():
        try:
            found[key] = require(path, producer)
        except MissingArtifactError as err:
            if str(err) not in missing:
                missing.append(str(err))
    if missing:
        raise MissingArtifactError("\n".join(missing))
    return found


def synthetic_batch(batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (batch, 28, 28, 1) in [0, 1) and one-hot float32 labels (batch, 10)."""
    rng = np.random.default_rng(seed)
    images = rng.random((batch, 28, 28, 1), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return images, labels


# --------------------------------------------------------------------------- JAX


def restored(checkpoint: Path):
    """Lesson 03's checkpoint restored as lesson 04 does it: model, optimizer, state on the device.

    Through `helpers.scale_out.jax_worker.restore_state` (the optimizer rebuilt from the record lesson 03
    saved with its checkpoint); returns (model, optimizer, (params, other, opt_state, rng)).
    """
    import jax

    from helpers.scale_out.jax_worker import restore_state

    model, optimizer, *state = restore_state(checkpoint)
    return model, optimizer, jax.device_put(tuple(state))


class JaxTraining:
    """Lesson 03's jitted step, carrying its state from call to call like the training loop."""

    def __init__(self, checkpoint: Path, batch: int):
        import jax

        from helpers.lessons.l03_jax_training import (
            train_step,  # lesson 03's, checked against its cell
        )

        self.jax, self.train_step = jax, train_step
        self.model, self.optimizer, self.state = restored(checkpoint)
        self.batch = jax.device_put(synthetic_batch(batch))

    def args(self):
        return (self.model, self.optimizer, *self.state, *self.batch)

    def compiled(self):
        """The step lowered and compiled for this batch (for XLA's cost analysis and HLO)."""
        return self.train_step.lower(*self.args()).compile()

    def run(self, n: int) -> None:
        params, other_state, opt_state, rng = self.state
        for _ in range(n):
            params, other_state, opt_state, rng, loss = self.train_step(
                self.model, self.optimizer, params, other_state, opt_state, rng, *self.batch
            )
        self.jax.block_until_ready(loss)
        self.state = (params, other_state, opt_state, rng)


def matmul(n: int = 2048):
    """`run(k)`: k jitted float32 n×n products (each waited for): the machine's matmul limit."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    a, b = (jax.device_put(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    product = jax.jit(jnp.matmul)

    def run(k: int) -> None:
        for _ in range(k):
            product(a, b).block_until_ready()

    return run


def jax_inference(checkpoint: Path, batch: int):
    """`run(k)`: k calls of the jitted `predict`, NumPy in, NumPy out (like a serving call)."""
    import jax

    from helpers.checkpoint import load_checkpoint
    from helpers.lessons.l02_flax_model import ConvModel

    ckpt = load_checkpoint(checkpoint)
    variables = jax.device_put({"params": ckpt["params"], "batch_stats": ckpt["batch_stats"]})
    predict = jax.jit(ConvModel().predict)
    images, _ = synthetic_batch(batch)

    def run(k: int) -> None:
        for _ in range(k):
            np.asarray(predict(variables, images))

    return run


# --------------------------------------------------------------------------- TensorFlow


def _quiet_tensorflow():
    """Import TensorFlow without the absl warning every jax2tf SavedModel load prints.

    (It is about second-order gradients, which nothing here takes: see NOTES / lesson 04.)
    """
    import logging

    import tensorflow as tf

    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf


def tf_training(trainable: Path, optimizer_json: Path, batch: int, route: str):
    """`run(n)`: a TF train step on a freshly loaded trainable SavedModel, handed-over Adam.

    route: "tape" (lesson 05's: the tape over `train_loss`, whose jax2tf gradient re-runs the
    forward pass) or "fused" (deep dive 05b's: the tape gets the gradients of the converted
    `jax.value_and_grad` through `tf.custom_gradient`). Both compiled with XLA, as in lesson 05.
    """
    tf = _quiet_tensorflow()
    from helpers.artifacts import read_json
    from helpers.lessons import l05_tf_finetune as lesson05
    from helpers.lessons import l05b_restart_and_speed as deep_dive05b

    routes = {"fused": deep_dive05b.fused_train_step, "tape": lesson05.make_train_step}
    if route not in routes:
        raise ValueError(f"route must be one of {sorted(routes)}, not {route!r}")
    loaded = tf.saved_model.load(str(trainable))
    optimizer = lesson05.handed_over_adam(
        read_json(optimizer_json),
        loaded.params,
        loaded.adam_mu,
        loaded.adam_nu,
        loaded.adam_count.numpy(),
    )
    return _tf_runner(routes[route](loaded, optimizer), batch)


def _tf_runner(train_step, batch: int):
    tf = _quiet_tensorflow()
    images, labels = (tf.constant(a) for a in synthetic_batch(batch))

    def run(n: int) -> None:
        for _ in range(n):
            loss = train_step(images, labels)
        loss.numpy()  # waits for the last step (on a GPU, TF runs asynchronously)

    return run


class TfLimit:
    """Lesson 03's whole JAX step (gradient and Optax Adam) converted by jax2tf and run by TF.

    What TF could do at most with JAX's program: one XLA program per step, compiled by TF's
    XLA (`jit_compile=True`), with the batch dimension symbolic as in lesson 04's export. The
    state lives in `tf.Variable`s that each step assigns, like lesson 05's.
    """

    def __init__(self, checkpoint: Path, batch: int):
        import jax
        from jax.experimental import jax2tf

        from helpers.lessons.l03_jax_training import train_step

        tf = _quiet_tensorflow()
        model, optimizer, (params, other, opt_state, rng) = restored(checkpoint)
        leaves, treedef = jax.tree.flatten((params, other, opt_state))

        def step(state_leaves, rng_data, images, labels):
            state = jax.tree.unflatten(treedef, state_leaves)
            key = jax.random.wrap_key_data(rng_data)
            *state, key, loss = train_step(model, optimizer, *state, key, images, labels)
            return jax.tree.leaves(state), jax.random.key_data(key), loss

        converted = jax2tf.convert(
            step,
            polymorphic_shapes=[None, None, "(b, 28, 28, 1)", "(b, 10)"],
            with_gradient=False,
        )
        self.variables = [tf.Variable(np.asarray(x)) for x in leaves]
        self.rng = tf.Variable(np.asarray(jax.random.key_data(rng)))

        @tf.function(jit_compile=True, autograph=False)
        def tf_step(images, labels):
            new_leaves, next_rng, loss = converted(self.variables, self.rng, images, labels)
            for variable, value in zip(self.variables, new_leaves, strict=True):
                variable.assign(value)
            self.rng.assign(next_rng)
            return loss

        self.step = tf_step
        self.run = _tf_runner(tf_step, batch)
        self.batch = batch

    def optimized_hlo(self) -> str:
        """The HLO TF's XLA compiled for this step (to compare with jaxlib's)."""
        images, labels = synthetic_batch(self.batch)
        return self.step.experimental_get_compiler_ir(images, labels)(stage="optimized_hlo")


def savedmodel_inference(serving: Path, batch: int):
    """`run(k)`: k calls of the serving SavedModel's `serving_default`, NumPy in and out."""
    tf = _quiet_tensorflow()
    signature = tf.saved_model.load(str(serving)).signatures["serving_default"]
    images, _ = synthetic_batch(batch)

    def run(k: int) -> None:
        for _ in range(k):
            signature(images=tf.constant(images))["log_probs"].numpy()

    return run


# --------------------------------------------------------------------------- deployed formats


def tflite_inference(model_path: Path, batch: int):
    """`run(k)`: LiteRT's signature runner on `serving_default`, all cores like the other runtimes.

    A static-batch file takes exactly its batch; an any-batch file is resized on the first call
    (one interpreter per batch size, so the interleaved calls never reallocate).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=os.cpu_count())
    runner = interpreter.get_signature_runner("serving_default")
    images, _ = synthetic_batch(batch)
    runner(images=images)  # resize and allocate once

    def run(k: int) -> None:
        for _ in range(k):
            runner(images=images)

    return run


def compiled_model_inference(model_path: Path, batch: int):
    """`run(k)`: LiteRT's CompiledModel on a static-batch file, all cores (lesson 10's runner)."""
    from helpers.lessons.l10_ship import compiled_runner

    runner = compiled_runner(model_path, threads=os.cpu_count())
    images, _ = synthetic_batch(batch)

    def run(k: int) -> None:
        for _ in range(k):
            runner(images=images)

    return run


def onnx_inference(model_path: Path, batch: int):
    """`run(k)`: an ONNX Runtime session (CUDA where available, else CPU), NumPy in and out."""
    import onnxruntime as ort

    wanted = ("CUDAExecutionProvider", "CPUExecutionProvider")
    providers = [p for p in wanted if p in ort.get_available_providers()]
    session = ort.InferenceSession(str(model_path), providers=providers)
    name = session.get_inputs()[0].name
    images, _ = synthetic_batch(batch)

    def run(k: int) -> None:
        for _ in range(k):
            session.run(None, {name: images})

    return run


# --------------------------------------------------------------------------- memory children


def build_training(key: str, paths: dict[str, Path], batch: int):
    """`run(n)` of one training path by its key in `TRAINING` (for the memory children)."""
    if key == "jax":
        return JaxTraining(paths["checkpoint"], batch).run
    if key in ("tf_tape", "tf_fused"):
        return tf_training(paths["trainable"], paths["optimizer"], batch, key.removeprefix("tf_"))
    if key == "tf_limit":
        return TfLimit(paths["checkpoint"], batch).run
    raise KeyError(f"unknown training path {key!r}; one of {sorted(TRAINING)}")


def build_inference(key: str, paths: dict[str, Path], batch: int):
    """`run(k)` of one inference path by its key in `INFERENCE`, for `batch` images per call."""
    if key == "jax":
        return jax_inference(paths["checkpoint"], batch)
    if key == "savedmodel":
        return savedmodel_inference(paths["serving"], batch)
    if key == "litert":
        return tflite_inference(paths[f"tflite_b{batch}"], batch)
    if key == "litert_int8":
        return tflite_inference(paths[f"tflite_int8_b{batch}"], batch)
    if key == "litert_any_batch":
        return tflite_inference(paths["tflite_any_batch"], batch)
    if key == "litert_compiled":
        return compiled_model_inference(paths[f"tflite_b{batch}"], batch)
    if key == "onnx":
        return onnx_inference(paths[f"onnx_b{batch}"], batch)
    if key == "onnx_jax2onnx":
        return onnx_inference(paths["onnx_jax2onnx"], batch)
    raise KeyError(f"unknown inference path {key!r}; one of {sorted(INFERENCE)}")
