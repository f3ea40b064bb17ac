"""One worker of lesson 09's `MultiWorkerMirroredStrategy` fine-tune, started by helpers.scale_out.launcher.

`TF_CONFIG` names every worker's address (all on 127.0.0.1 here) and this worker's index; the
strategy then makes one replica per worker and all-reduces the gradients between them. The
fine-tune is lesson 09's `fine_tune` (exported by `make export`), the same code the lesson runs
under a `MirroredStrategy`: only the strategy differs.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np


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
    from helpers.lessons.l09_scale_out import fine_tune  # lesson 09's cells

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
