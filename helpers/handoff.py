"""Hand an Optax Adam over to Keras: same hyperparameters, same schedule, same moments, same step.

The TensorFlow guide restarts training with a fresh Keras Adam and `iterations.assign(step)`.
Its moments are zero, but its bias correction (`1 - beta**t` with `t` in the hundreds) assumes
they were accumulated over all those steps, so the first updates are several times too large
and the loss jumps. Copying Optax's `mu`/`nu` into Keras' moment slots and setting
`iterations` to Optax's `count` continues the same optimizer instead.

Both libraries update the moments identically and bias-correct with `t = count + 1`; they differ
in where epsilon sits (and its default: Optax 1e-8, Keras 1e-7):

    Optax:  p -= lr · m̂ / (√v̂ + ε)            with m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t)
    Keras:  p -= lr · √(1 - b2^t) / (1 - b1^t) · m / (√v + ε_k)
              = lr · m̂ / (√v̂ + ε_k / √(1 - b2^t))

So Keras matches Optax exactly when ε_k = ε · √(1 - b2^t) (`keras_epsilon`). A constant ε_k can
only be right for one step: chosen for the first TensorFlow step after 702 JAX steps, it would
act like Optax with ε = 1e-8 there but 7.5e-9 by the end of 7 more epochs, which matters for
parameters whose gradients are as small as ε. Lesson 05's `OptaxAdam` (exported to
`helpers.lessons.l05_tf_finetune` with `handed_over_adam`) recomputes it at every step.

Kept free of JAX, Flax and Optax (TensorFlow, Keras and NumPy only): lesson 05 runs without them.
`tests/unit/test_handoff.py` checks one step against Optax, so a Keras release that renames the
moment slots fails there, not silently in the lesson.

Here: `moment_slots`, which finds Keras' private moment slots (the lesson calls it), and
`load_adam_state`, which loads Optax's state into any built Keras Adam (deep dive 05b compares
Keras' own epsilon with Optax's this way).
"""

import math
from collections.abc import Sequence

import keras
import numpy as np


def keras_epsilon(eps: float, b2: float, step: int) -> float:
    """The constant Keras epsilon that makes Adam's step `t = step + 1` equal Optax's with `eps`.

    >>> round(keras_epsilon(1e-8, 0.999, 702) / 1e-8, 4)
    0.7107
    """
    return float(eps) * math.sqrt(1.0 - float(b2) ** (int(step) + 1))


def moment_slots(optimizer: keras.optimizers.Adam, variables: Sequence) -> tuple[list, list]:
    """Keras Adam's (first, second) moment variables for `variables`, in the same order.

    Keras 3 has no public accessor for them: it keeps `_momentums` / `_velocities` indexed by
    `_get_variable_index(variable)`. Everything is checked (the slot exists, belongs to the
    optimizer, has the variable's shape, is named for its role), so a Keras release that
    reorganises them raises here instead of loading `mu` into the wrong place.

    Raises:
        RuntimeError: this Keras version stores Adam's moments differently.
        ValueError: the optimizer is not built, or not built on these variables.
    """
    if not isinstance(optimizer, keras.optimizers.Adam):
        raise TypeError(f"Expected keras.optimizers.Adam, got {type(optimizer).__name__}.")
    if not optimizer.built:
        raise ValueError("Build the optimizer first: optimizer.build(variables).")
    if getattr(optimizer, "amsgrad", False) or getattr(
        optimizer, "gradient_accumulation_steps", None
    ):
        raise ValueError(
            "The handoff supports plain Adam only (no amsgrad, no gradient accumulation)."
        )
    momentums = getattr(optimizer, "_momentums", None)
    velocities = getattr(optimizer, "_velocities", None)
    index_of = getattr(optimizer, "_get_variable_index", None)
    if momentums is None or velocities is None or index_of is None:
        raise RuntimeError(
            f"keras {keras.__version__}: Adam no longer exposes _momentums/_velocities/"
            "_get_variable_index, so its moment slots can't be found; update "
            "helpers/handoff.py:moment_slots (tests/unit/test_handoff.py checks it)."
        )
    owned = {id(v) for v in optimizer.variables}
    first, second = [], []
    for variable in variables:
        try:
            i = index_of(variable)
        except KeyError:
            raise ValueError(
                f"The optimizer was not built on {variable.name}; build it on exactly the "
                "variables you hand over (e.g. `loaded.params`)."
            ) from None
        for slots, role, out in ((momentums, "momentum", first), (velocities, "velocity", second)):
            slot = slots[i] if i < len(slots) else None
            if (
                slot is None
                or id(slot) not in owned
                or tuple(slot.shape) != tuple(variable.shape)
                or role not in slot.name
            ):
                raise RuntimeError(
                    f"keras {keras.__version__}: Adam's {role} slot for {variable.name} is "
                    f"{getattr(slot, 'name', slot)!r} with shape {getattr(slot, 'shape', None)}; "
                    "expected an optimizer variable named '…_{role}' of shape "
                    f"{tuple(variable.shape)}. Update helpers/handoff.py:moment_slots."
                )
            out.append(slot)
    return first, second


def load_adam_state(optimizer, variables: Sequence, mu: Sequence, nu: Sequence, count: int):
    """Copy Optax's `mu`/`nu` into the built `optimizer`'s moments and set `iterations = count`.

    `mu[i]`, `nu[i]` belong to `variables[i]` (arrays or tf.Variables). Lesson 05's
    `handed_over_adam` gives steps equal to Optax's; a plain Keras Adam places epsilon differently.
    """
    if not (len(variables) == len(mu) == len(nu)):
        raise ValueError(
            f"{len(variables)} variables but {len(mu)} mu and {len(nu)} nu arrays; "
            "they must be aligned one to one."
        )
    first, second = moment_slots(optimizer, variables)
    for variable, m_slot, v_slot, m, v in zip(variables, first, second, mu, nu, strict=True):
        for slot, raw, name in ((m_slot, m, "mu"), (v_slot, v, "nu")):
            value = np.asarray(raw)
            if value.shape != tuple(variable.shape):
                raise ValueError(
                    f"{name} for {variable.name} has shape {value.shape}, "
                    f"the variable {tuple(variable.shape)}."
                )
            slot.assign(value.astype(slot.dtype))
    optimizer.iterations.assign(int(count))
    return optimizer
