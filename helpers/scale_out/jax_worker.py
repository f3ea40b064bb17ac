"""One process of lesson 09's multi-process (multi-host) JAX training, started by helpers.scale_out.launcher.

Every process runs this same program. `jax.distributed.initialize` joins them into one JAX
runtime whose devices are all processes' devices together; the mesh spans them all, the state is
replicated on every device, and each process feeds only its own rows of every global batch
(`jax.make_array_from_process_local_data`). The train step is lesson 03's, unchanged: the jitted
program is the same global computation as in one process, and XLA's collectives (gloo on CPU)
carry the sums across processes.

On real hosts the same code runs once per host: the coordinator address is host 0's
address instead of 127.0.0.1, `--local-devices` is gone (each host has its GPUs or TPU chips),
and each host reads its own part of the data from storage instead of one shared file.
"""

import argparse
import time
from pathlib import Path

import numpy as np


def restore_state(checkpoint: Path):
    """Lesson 03's checkpoint as (model, optimizer, params, other, opt_state, rng), as lesson 04 does."""
    import jax
    import jax.numpy as jnp
    import optax

    from helpers.artifacts import read_json
    from helpers.checkpoint import load_checkpoint
    from helpers.lessons.l02_flax_model import ConvModel

    model = ConvModel()
    recorded = read_json(Path(checkpoint) / "meta.json")["optimizer"]
    schedule = optax.exponential_decay(
        **{k: v for k, v in recorded["schedule"].items() if k != "name"}
    )
    optimizer = optax.adam(schedule, **{k: recorded[k] for k in ("b1", "b2", "eps", "eps_root")})
    keys = {"params": jax.random.key(0), "dropout": jax.random.key(1)}  # shapes only
    template = model.init(keys, jnp.zeros((1, 28, 28, 1)), train=False)
    ckpt = load_checkpoint(checkpoint, opt_state_like=optimizer.init(template["params"]))
    other = {"batch_stats": ckpt["batch_stats"]}
    return model, optimizer, ckpt["params"], other, ckpt["opt_state"], ckpt["rng"]


def train_shard(checkpoint: Path, batches: Path, steps: int):
    """Lesson 03's train step on every global batch, this process feeding its own rows."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    from helpers.lessons.l03_jax_training import train_step  # lesson 03's, line for line

    model, optimizer, *state = restore_state(checkpoint)
    mesh = jax.make_mesh((jax.device_count(),), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    replicated = NamedSharding(mesh, PartitionSpec())
    by_rows = NamedSharding(mesh, PartitionSpec("data"))
    # Every process holds the same state; together they make one replicated global array.
    params, other, opt_state = jax.tree.map(
        lambda a: jax.make_array_from_process_local_data(replicated, np.asarray(a)), state[:3]
    )
    rng = jax.random.wrap_key_data(
        jax.make_array_from_process_local_data(
            replicated, np.asarray(jax.random.key_data(state[3]))
        )
    )
    with np.load(batches) as data:
        images, labels = data["images"][:steps], data["labels"][:steps]
    rows = len(images[0]) // jax.process_count()
    mine = slice(jax.process_index() * rows, (jax.process_index() + 1) * rows)  # this host's rows
    losses, seconds = [], []
    with jax.set_mesh(mesh):
        for global_x, global_y in zip(images, labels, strict=True):
            start = time.perf_counter()
            x = jax.make_array_from_process_local_data(by_rows, global_x[mine])
            y = jax.make_array_from_process_local_data(by_rows, global_y[mine])
            params, other, opt_state, rng, loss = train_step(
                model, optimizer, params, other, opt_state, rng, x, y
            )
            losses.append(float(loss))  # waits for the step: a per-step time
            seconds.append(time.perf_counter() - start)
    return params, other, np.asarray(losses), np.asarray(seconds)


def main(argv=None) -> int:  # pragma: no cover - runs in the launched processes (lesson 09)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process-id", type=int, required=True)
    parser.add_argument("--num-processes", type=int, required=True)
    parser.add_argument("--local-devices", type=int, default=2)  # simulated CPU devices
    parser.add_argument("--port", type=int, required=True)  # the coordinator's, on 127.0.0.1
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args(argv)

    import jax

    from helpers.artifacts import atomic_write_npz, require

    jax.config.update("jax_platforms", "cpu")  # simulated hosts: CPU devices, as in the lesson
    jax.config.update("jax_num_cpu_devices", args.local_devices)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # cross-process on CPU
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{args.port}",  # process 0 serves as coordinator
        num_processes=args.num_processes,
        process_id=args.process_id,
        initialization_timeout=args.timeout,
    )
    try:
        checkpoint = require("03_jax_training/checkpoint", producer="03_jax_training")
        batches = require("09_scale_out/batches.npz", producer="09_scale_out")
        params, other, losses, seconds = train_shard(checkpoint, batches, args.steps)
        print(
            f"process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} "
            f"of {jax.device_count()} devices; {len(losses)} steps, last loss {losses[-1]:.6f}",
            flush=True,
        )
        if jax.process_index() == 0:  # replicated: process 0's copy is the whole state
            leaves = jax.tree.leaves({"params": params, **other})
            atomic_write_npz(
                args.out,
                losses=losses,
                seconds=seconds,
                **{
                    f"leaf{i}": np.asarray(leaf.addressable_data(0))
                    for i, leaf in enumerate(leaves)
                },
            )
    finally:
        jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
