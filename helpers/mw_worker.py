"""One worker of lesson 09's `MultiWorkerMirroredStrategy` fine-tune, started by helpers.launcher.

`TF_CONFIG` names every worker's address (all on 127.0.0.1 here) and this worker's index; the
strategy then makes one replica per worker and all-reduces the gradients between them. The
fine-tune is lesson 09's `fine_tune`, the same code the lesson runs under a
`MirroredStrategy`: only the strategy differs.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def load_for_fine_tune(strategy, trainable_dir, config):
    """The trainable SavedModel and lesson 05's Adam handoff, both under `strategy`."""
    import tensorflow as tf

    from helpers.handoff import adam_from_optax

    with strategy.scope():  # variables and optimizer slots: one copy per replica, kept in sync
        model = tf.saved_model.load(str(trainable_dir))
        mu, nu = [m.numpy() for m in model.adam_mu], [v.numpy() for v in model.adam_nu]
        optimizer = adam_from_optax(  # built inside the scope, before the first step
            config, model.params, mu, nu, int(model.adam_count.numpy())
        )
    return model, optimizer


def distributed_step(strategy, model, optimizer):
    """One training step on every replica: each its own rows, gradients summed across replicas."""
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync

    def replica_step(x, y, key_data):
        with tf.GradientTape() as tape:
            loss, new_stats = model.train_loss(x, y, key_data)
            scaled = loss / replicas  # apply_gradients sums the replicas' gradients: the mean
        grads = tape.gradient(scaled, model.params)
        optimizer.apply_gradients(zip(grads, model.params, strict=True))
        return loss, new_stats

    @tf.function
    def step(x, y, key_data):
        losses, stats = strategy.run(replica_step, args=(x, y, key_data))
        for variable, value in zip(model.stats, stats, strict=True):  # each replica's statistics
            variable.assign(strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None))
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)

    return step


def fine_tune(strategy, trainable_dir, images, labels, config):
    """One step per global batch; replica r takes rows r·n/R ... of each (R replicas)."""
    model, optimizer = load_for_fine_tune(strategy, trainable_dir, config)
    step = distributed_step(strategy, model, optimizer)
    rows = images.shape[1] // strategy.num_replicas_in_sync
    losses, seconds = [], []
    for i, (x, y) in enumerate(zip(images, labels, strict=True)):

        def shard(context, x=x, y=y, i=i):
            r = context.replica_id_in_sync_group
            key = np.array([i, r], np.uint32)  # dropout: another mask per replica and step
            return x[r * rows : (r + 1) * rows], y[r * rows : (r + 1) * rows], key

        start = time.perf_counter()
        losses.append(float(step(*strategy.experimental_distribute_values_from_function(shard))))
        seconds.append(time.perf_counter() - start)
    return model, np.asarray(losses), np.asarray(seconds)


def main(argv=None) -> int:  # pragma: no cover - runs in the launched processes (lesson 09)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--ports", type=int, nargs="+", required=True)  # one per worker
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in args.ports]},
            "task": {"type": "worker", "index": args.index},
        }
    )
    import logging

    import tensorflow as tf

    from helpers.artifacts import atomic_write_npz, read_json, require

    logging.getLogger("absl").setLevel(logging.ERROR)  # "unsaved custom gradients": see lesson 09

    trainable = require("09_scale_out/trainable", producer="09_scale_out")
    config = read_json(require("09_scale_out/optimizer.json", producer="09_scale_out"))
    with np.load(require("09_scale_out/batches.npz", producer="09_scale_out")) as data:
        images, labels = data["images"][: args.steps], data["labels"][: args.steps]
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    model, losses, seconds = fine_tune(strategy, trainable, images, labels, config)
    print(
        f"worker {args.index} of {len(args.ports)}: {strategy.num_replicas_in_sync} replicas, "
        f"{len(losses)} steps, last loss {losses[-1]:.6f}",
        flush=True,
    )
    variables = list(model.params) + list(model.stats)
    atomic_write_npz(
        args.out.with_name(f"{args.out.stem}{args.index}.npz"),
        losses=losses,
        seconds=seconds,
        **{f"var{i}": v.numpy() for i, v in enumerate(variables)},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
