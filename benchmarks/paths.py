"""The contenders: every training and inference path, built from the lessons' artifacts.

Each builder returns `run(n)`: n iterations on one fixed batch, synchronised at the end (the
contract of `benchmarks.stats.interleaved`). Frameworks are imported inside the builders, so a
memory-measuring child process imports only the framework of its own path.

Every path sees the same synthetic batch (uniform pixels, one-hot labels; speed does not depend
on the values), already in memory: this measures the step, not an input pipeline. Keras `fit`
reads it through `tf.data` (`from_tensors(...).repeat()`), as `fit` must.

Used in: benchmarks.run.
"""

import functools
import os
import time
from pathlib import Path

import numpy as np

from helpers import recipe
from helpers.artifacts import MissingArtifactError, require

# What the benchmark reads, and the lesson that writes it.
ARTIFACTS = {
    "checkpoint": ("03_jax_training/checkpoint", "03_jax_training"),
    "trainable": ("04_export/trainable", "04_export"),
    "serving": ("04_export/serving", "04_export"),
    "tflite": ("06_deploy/model.tflite", "06_deploy"),
    "tflite_int8": ("06_deploy/model_int8.tflite", "06_deploy"),
    "onnx": ("06_deploy/model.onnx", "06_deploy"),
}

TRAINING = {  # key → label in the report
    "jax": "JAX jit step (lesson 03)",
    "tf_eager": "TF eager, exported model",
    "tf_function": "TF tf.function, exported model",
    "tf_xla": "TF tf.function(jit_compile=True), exported model",
    "keras_fit": "Keras fit, native model (default compile)",
    "keras_fit_xla": "Keras fit, native model, jit_compile=True",
}
INFERENCE = {
    "jax": "JAX jit (predict)",
    "savedmodel": "SavedModel serving_default (TF)",
    "tflite": "TFLite fp32 (LiteRT)",
    "tflite_int8": "TFLite int8 dynamic range (LiteRT)",
    "onnx": "ONNX Runtime",
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


def lesson03_train_step():
    """The train step as lesson 03 defines it: its notebook cell tagged `train-step`, executed."""
    import jax
    import optax

    from tools.notebook_code import exec_tagged  # the notebook reader

    namespace = {"jax": jax, "optax": optax, "partial": functools.partial}
    return exec_tagged("03_jax_training.ipynb", "train-step", namespace)["train_step"]


def jax_optimizer():
    """Lesson 03's optimizer: Adam on the guide's staircase exponential decay."""
    import optax

    schedule = optax.exponential_decay(
        recipe.LEARNING_RATE,
        transition_steps=recipe.STEPS_PER_EPOCH,
        decay_rate=recipe.LEARNING_RATE_EXP_DECAY,
        staircase=True,
    )
    return optax.adam(schedule)


def jax_state(checkpoint: Path, optimizer):
    """params, {'batch_stats'}, Optax state and RNG of lesson 03's checkpoint, on the device."""
    import jax

    from helpers.checkpoint import load_checkpoint

    params = load_checkpoint(checkpoint)["params"]
    ckpt = load_checkpoint(checkpoint, opt_state_like=optimizer.init(params))
    state = (ckpt["params"], {"batch_stats": ckpt["batch_stats"]}, ckpt["opt_state"], ckpt["rng"])
    return jax.device_put(state)


class JaxTraining:
    """Lesson 03's jitted step, carrying its state from call to call like the training loop."""

    def __init__(self, checkpoint: Path, batch: int):
        import jax

        from helpers.model import ConvModel

        self.jax = jax
        self.model, self.optimizer = ConvModel(), jax_optimizer()
        self.train_step = lesson03_train_step()
        self.state = jax_state(checkpoint, self.optimizer)
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
    from helpers.model import ConvModel

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


def keras_adam():
    """Lesson 05's optimizer: Keras Adam on the same staircase schedule as Optax's."""
    import keras

    schedule = keras.optimizers.schedules.ExponentialDecay(
        recipe.LEARNING_RATE,
        decay_steps=recipe.STEPS_PER_EPOCH,
        decay_rate=recipe.LEARNING_RATE_EXP_DECAY,
        staircase=True,
    )
    return keras.optimizers.Adam(schedule)


def tf_training(trainable: Path, batch: int, mode: str):
    """`run(n)`: lesson 05's step on a freshly loaded trainable SavedModel.

    mode: "eager" (plain Python), "function" (`tf.function`) or "xla"
    (`tf.function(jit_compile=True)`, what lesson 05 uses).
    """
    tf = _quiet_tensorflow()
    loaded = tf.saved_model.load(str(trainable))
    optimizer = keras_adam()

    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss = loaded.train_loss(images, labels)
        grads = tape.gradient(loss, loaded.params)
        optimizer.apply_gradients(zip(grads, loaded.params, strict=True))
        return loss

    if mode in ("function", "xla"):
        train_step = tf.function(train_step, jit_compile=mode == "xla")
    elif mode != "eager":
        raise ValueError(f"mode must be eager, function or xla, not {mode!r}")
    images, labels = (tf.constant(a) for a in synthetic_batch(batch))

    def run(n: int) -> None:
        for _ in range(n):
            loss = train_step(images, labels)
        loss.numpy()  # waits for the last step (on a GPU, TF runs asynchronously)

    return run


def keras_model():
    """Lesson 02's ConvModel written natively in Keras (what a TensorFlow user would write).

    Same layers and sizes as `helpers.model.ConvModel`; batch norm with Flax's epsilon (1e-5)
    and momentum (0.99), no scale, so the trainable parameter count is the same: 1,884,130.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(12, 3, padding="same", use_bias=False),
            layers.BatchNormalization(scale=False, epsilon=1e-5, momentum=0.99),
            layers.Flatten(),
            layers.Dense(200),
            layers.BatchNormalization(scale=False, epsilon=1e-5, momentum=0.99),
            layers.Dropout(0.3),
            layers.ReLU(),
            layers.Dense(10),
        ]
    )


class KerasFit:
    """`run(n)`: `model.fit` for one epoch of n steps; returns that epoch's time.

    The time comes from a callback (epoch begin → end), so `fit`'s per-call set-up (data adapter,
    callbacks list) is left out and the per-step overhead `fit` really has is kept. The first
    call compiles; the train function is then reused by every later `fit` call.
    """

    def __init__(self, batch: int, jit_compile="auto"):
        tf = _quiet_tensorflow()
        import keras

        self.model = keras_model()
        self.model.compile(
            optimizer=keras_adam(),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
        self.dataset = tf.data.Dataset.from_tensors(synthetic_batch(batch)).repeat()
        self.seconds = None
        outer = self

        class EpochTimer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.seconds = time.perf_counter() - self.start

        self.timer = EpochTimer()

    @property
    def jit_compile(self) -> bool:
        """What `compile` resolved to ("auto" is False on a CPU-only machine)."""
        return bool(self.model.jit_compile)

    def trainable_parameters(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.model.trainable_variables))

    def run(self, n: int) -> float:
        self.model.fit(
            self.dataset,
            steps_per_epoch=n,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[self.timer],
        )
        return self.seconds


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
    """`run(k)`: LiteRT's signature runner on `serving_default`, one interpreter per batch size.

    The runner resizes the input to the batch it is given; a separate interpreter per batch size
    keeps the interleaved calls from reallocating. All cores, like the other runtimes.
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
    if key.startswith("tf_"):
        return tf_training(paths["trainable"], batch, mode=key.removeprefix("tf_"))
    if key == "keras_fit":
        return KerasFit(batch).run
    if key == "keras_fit_xla":
        return KerasFit(batch, jit_compile=True).run
    raise KeyError(f"unknown training path {key!r}; one of {sorted(TRAINING)}")
