"""Lesson 09's launcher, its data-parallel JAX worker and its distributed TensorFlow fine-tune.

The launcher must never leave a process behind (a failure, a timeout, children included) and must
show every process's log when one fails. The workers' training code runs here in-process, on
synthetic data: the JAX worker must take lesson 03's steps, the TensorFlow fine-tune must be the
lesson's code and must train and combine the replicas' statistics.
"""

import re
import socket
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import psutil
import pytest

from helpers.checkpoint import save_checkpoint
from helpers.lessons.l02_flax_model import ConvModel
from helpers.lessons.l03_jax_training import train_step
from helpers.lessons.l09_scale_out import fine_tune
from helpers.scale_out import launcher
from helpers.scale_out.jax_worker import restore_state, train_shard
from helpers.scale_out.launcher import (
    LaunchError,
    free_ports,
    jax_commands,
    launch,
    running_workers,
)

PY = sys.executable


def test_launch_returns_every_process_output_and_status():
    done = launch([[PY, "-c", f"print('hello from', {i})"] for i in range(2)], timeout=60)
    assert [d.returncode for d in done] == [0, 0]
    assert [d.log.strip() for d in done] == ["hello from 0", "hello from 1"]
    assert all(d.seconds >= 0 for d in done)


def test_a_failure_stops_the_others_and_shows_every_log():
    sleeper = [
        PY,
        "-c",
        "import os, time; print('sleeper', os.getpid(), flush=True); time.sleep(60)",
    ]
    failing = [PY, "-c", "import time; time.sleep(1); print('boom'); raise SystemExit(3)"]
    start = time.monotonic()
    with pytest.raises(LaunchError, match="process 1 exited with status 3") as err:
        launch([sleeper, failing], timeout=60)
    assert time.monotonic() - start < 30  # did not wait for the sleeper
    assert "boom" in str(err.value) and "sleeper" in str(err.value)
    pid = int(re.search(r"sleeper (\d+)", str(err.value))[1])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_timeout_stops_the_processes_and_their_children():
    parent = [
        PY,
        "-c",
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print('child', child.pid, flush=True); time.sleep(60)",
    ]
    with pytest.raises(LaunchError, match="within 2 s") as err:
        launch([parent], timeout=2)
    child = int(re.search(r"child (\d+)", str(err.value))[1])
    time.sleep(0.5)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_free_ports_are_distinct_and_free_on_localhost():
    ports = free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_running_workers_finds_a_worker_by_its_module_name():
    proc = subprocess.Popen(
        [PY, "-c", "import time; time.sleep(30)", "helpers.scale_out.jax_worker"]
    )
    try:
        time.sleep(0.5)
        assert proc.pid in running_workers()
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in running_workers()


def test_jax_commands_give_each_process_its_id_and_one_shared_coordinator(tmp_path):
    commands = jax_commands(2, 2, 5, tmp_path / "out.npz")
    assert [c[c.index("--process-id") + 1] for c in commands] == [0, 1]
    ports = {c[c.index("--port") + 1] for c in commands}
    assert len(ports) == 1 and all("helpers.scale_out.jax_worker" in c for c in commands)
    assert set(launcher.WORKER_MODULES) >= {
        "helpers.scale_out.jax_worker",
        "helpers.scale_out.tf_worker",
    }


RECORD = {
    "optimizer": "adam",
    "b1": 0.9,
    "b2": 0.999,
    "eps": 1e-8,
    "eps_root": 0.0,
    "schedule": {
        "name": "exponential_decay",
        "init_value": 0.01,
        "transition_steps": 4,
        "decay_rate": 0.6,
        "staircase": True,
    },
}


@pytest.fixture(scope="module")
def checkpoint_and_batches(tmp_path_factory):
    """A lesson-03-style checkpoint of a fresh ConvModel, and 3 global batches of 8 images."""
    folder = tmp_path_factory.mktemp("scale_out")
    model = ConvModel()
    keys = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
    variables = model.init(keys, jnp.zeros((1, 28, 28, 1)), train=False)
    schedule = optax.exponential_decay(
        **{k: v for k, v in RECORD["schedule"].items() if k != "name"}
    )
    optimizer = optax.adam(schedule, eps=1e-8)
    save_checkpoint(
        folder / "checkpoint",
        params=variables["params"],
        batch_stats=variables["batch_stats"],
        opt_state=optimizer.init(variables["params"]),
        rng=jax.random.key(2),
        step=0,
        meta={"optimizer": RECORD, "seed": 0},
    )
    rng = np.random.default_rng(0)
    images = rng.random((3, 8, 28, 28, 1), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, (3, 8))]
    np.savez(folder / "batches.npz", images=images, labels=labels)
    return folder / "checkpoint", folder / "batches.npz", images, labels


def test_the_jax_worker_takes_lesson_03s_steps(checkpoint_and_batches):
    checkpoint, batches, images, labels = checkpoint_and_batches
    params, other, losses, seconds = train_shard(checkpoint, batches, steps=3)
    model, optimizer, *state = restore_state(checkpoint)
    expected = []
    for x, y in zip(images, labels, strict=True):
        *state, loss = train_step(model, optimizer, *state, x, y)
        expected.append(float(loss))
    np.testing.assert_allclose(losses, expected, rtol=1e-6)  # one device: the same program
    for got, want in zip(jax.tree.leaves(params), jax.tree.leaves(state[0]), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    assert len(seconds) == 3


@pytest.fixture(scope="module")
def tiny_trainable(tmp_path_factory):
    """A SavedModel shaped like lesson 09's `trainable/`: a linear classifier of 4 features."""
    import tensorflow as tf

    class Tiny(tf.Module):
        def __init__(self):
            self.params = [
                tf.Variable(np.zeros((4, 3), np.float32)),
                tf.Variable(np.zeros(3, np.float32)),
            ]
            self.stats = [tf.Variable(np.zeros(4, np.float32), trainable=False)]
            self.adam_mu = [
                tf.Variable(np.zeros((4, 3), np.float32)),
                tf.Variable(np.zeros(3, np.float32)),
            ]
            self.adam_nu = [
                tf.Variable(np.zeros((4, 3), np.float32)),
                tf.Variable(np.zeros(3, np.float32)),
            ]
            self.adam_count = tf.Variable(0, trainable=False)

        @tf.function(
            input_signature=[
                tf.TensorSpec((None, 4), tf.float32),
                tf.TensorSpec((None, 3), tf.float32),
                tf.TensorSpec((2,), tf.uint32),
            ]
        )
        def train_loss(self, x, y, key_data):
            logits = x @ self.params[0] + self.params[1]
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits))
            return loss, [tf.reduce_mean(x, axis=0)]  # "statistics": the batch's feature means

    path = tmp_path_factory.mktemp("tiny") / "trainable"
    tf.saved_model.save(Tiny(), str(path))
    rng = np.random.default_rng(1)
    images = rng.normal(size=(6, 8, 4)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[(images[..., 0] > 0).astype(int) + (images[..., 1] > 0)]
    return path, images, labels


def test_the_distributed_fine_tune_trains_and_keeps_the_batchs_statistics(tiny_trainable):
    import tensorflow as tf

    path, images, labels = tiny_trainable
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model, losses, seconds = fine_tune(strategy, path, images, labels, RECORD)
    assert len(losses) == len(seconds) == 6 and losses[-1] < losses[0]
    np.testing.assert_allclose(model.stats[0].numpy(), images[-1].mean(0), rtol=1e-5, atol=1e-6)
    assert np.abs(model.params[0].numpy()).max() > 0  # the parameters moved
