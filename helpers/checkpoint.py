"""A complete JAX training state on disk, restorable exactly, without pickle.

Lesson 03 saves params, batch-norm statistics, the whole Optax state (Adam's count, mu, nu and
the schedule's count), the dropout RNG and the step; lesson 04 restores it to export both the
model and the optimizer state, so TensorFlow can carry on where JAX stopped.

Format: a folder with `state.msgpack` (`flax.serialization`, NumPy arrays only) and `meta.json`,
written through `helpers.artifacts.atomic_dir`, so an interrupted save leaves the previous
checkpoint whole.
"""

import os
from pathlib import Path

import jax
import numpy as np
from flax import serialization

from helpers.artifacts import atomic_dir, read_json, write_json

FORMAT = "jax2tf-workshop/checkpoint/v1"
STATE_FILE = "state.msgpack"
META_FILE = "meta.json"


def save_checkpoint(
    path, *, params, batch_stats, opt_state, rng, step: int, meta: dict | None = None
) -> Path:
    """Write the training state to the folder `path`, replacing any previous one whole."""
    rng_impl = (
        str(jax.random.key_impl(rng))
        if jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key)
        else None
    )
    rng_data = jax.random.key_data(rng) if rng_impl else rng
    tree = {
        "params": params,
        "batch_stats": batch_stats,
        "opt_state": serialization.to_state_dict(opt_state),
        "rng": rng_data,
        "step": np.int64(step),
    }
    tree = jax.tree.map(np.asarray, jax.device_get(tree))
    payload = serialization.msgpack_serialize(tree)
    with atomic_dir(path) as tmp:
        (tmp / STATE_FILE).write_bytes(payload)
        write_json(
            tmp / META_FILE,
            {"format": FORMAT, "step": int(step), "rng_impl": rng_impl, **(meta or {})},
        )
    return Path(path)


def load_checkpoint(path, opt_state_like=None) -> dict:
    """Read a checkpoint folder back.

    Returns a dict with `params`, `batch_stats` (NumPy trees), `opt_state`, `rng` (a JAX key),
    `step` (int) and `meta`. With `opt_state_like` (e.g. `optimizer.init(params)`), the Optax
    state comes back as Optax's own named tuples; without it, as nested dicts keyed '0', '1', …
    (how a consumer without Optax, such as the export, reads `mu` and `nu`).
    """
    path = Path(os.fspath(path))
    meta = read_json(path / META_FILE)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} checkpoint (format={meta.get('format')!r})")
    tree = serialization.msgpack_restore((path / STATE_FILE).read_bytes())
    opt_state = tree["opt_state"]
    if opt_state_like is not None:
        opt_state = serialization.from_state_dict(opt_state_like, opt_state)
    rng = tree["rng"]
    if meta.get("rng_impl"):
        rng = jax.random.wrap_key_data(rng, impl=meta["rng_impl"])
    return {
        "params": tree["params"],
        "batch_stats": tree["batch_stats"],
        "opt_state": opt_state,
        "rng": rng,
        "step": int(tree["step"]),
        "meta": meta,
    }
