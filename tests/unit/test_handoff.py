"""The Optax → Keras Adam handoff reproduces Optax's next steps on a tiny model.

Why: lesson 05 continues lesson 03's optax.adam in Keras; if a Keras release renames or
reorders Adam's moment slots, or changes its update, these fail in seconds (the lesson would
only show a loss jump). The model is two Dense layers (212 parameters), the schedule has
lesson 03's form with a 3-step staircase so the decay kicks in within the test. Both sides get
the same gradients (computed by JAX at each side's own parameters), so only the optimizers are
compared. Tiny gradients on one leaf make epsilon's placement matter, as it does for the real
model's rarely-updated parameters. The handoff tested is lesson 05's own (`OptaxAdam`,
`keras_schedule`, `handed_over_adam`), as `make export` writes it from the lesson's cells.
"""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
import tensorflow as tf

from helpers import handoff
from helpers.lessons.l05_tf_finetune import OptaxAdam, handed_over_adam, keras_schedule

JAX_STEPS = 7  # steps before the handoff (count = 7, two staircase decays)
SCHEDULE = {
    "name": "exponential_decay",
    "init_value": 0.01,
    "transition_steps": 3,  # small for testing: decays at steps 3 and 6
    "decay_rate": 0.6,
    "staircase": True,
}
CONFIG = {"optimizer": "adam", "b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 0.0}
TINY_LEAF = "params/Dense_1/bias"  # its gradients are scaled to ~1e-9: epsilon matters there
TOL = 1e-6  # max over parameters of max|Δ| / max|p|


def _init_params():
    k0, k1 = jax.random.split(jax.random.key(0))
    return {
        "Dense_0": {"bias": jnp.zeros(16), "kernel": 0.3 * jax.random.normal(k0, (8, 16))},
        "Dense_1": {"bias": jnp.zeros(4), "kernel": 0.3 * jax.random.normal(k1, (16, 4))},
    }


def _loss(params, x, y):
    hidden = jnp.tanh(x @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"])
    logits = hidden @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]
    return optax.softmax_cross_entropy(logits, y).mean()


def _names(tree):
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    return ["params/" + "/".join(k.key for k in path) for path, _ in paths]


@jax.jit
def _grads(params, x, y):
    grads = jax.grad(_loss)(params, x, y)
    grads["Dense_1"]["bias"] = grads["Dense_1"]["bias"] * 1e-8
    return grads


def _batch(i):
    rng = np.random.default_rng(i)
    x = rng.normal(size=(32, 8)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=32)]
    return x, y


def _flat(tree):
    return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def exported():
    """Optax state after JAX_STEPS steps, exported like lesson 04 (flat lists + count)."""
    optimizer = optax.adam(
        optax.exponential_decay(**{k: v for k, v in SCHEDULE.items() if k != "name"})
    )
    params = _init_params()
    state = optimizer.init(params)
    for i in range(JAX_STEPS):
        updates, state = optimizer.update(_grads(params, *_batch(i)), state, params)
        params = optax.apply_updates(params, updates)
    adam_state = state[0]
    return {
        "optimizer": optimizer,
        "params": params,
        "state": state,
        "names": _names(params),
        "mu": _flat(adam_state.mu),
        "nu": _flat(adam_state.nu),
        "count": int(adam_state.count),
        "config": {**CONFIG, "step": int(adam_state.count), "schedule": SCHEDULE},
    }


def _jax_steps(exported, n):
    """Optax's own next `n` steps from the exported state: the list of flat params after each."""
    params, state, out = exported["params"], exported["state"], []
    for i in range(n):
        updates, state = exported["optimizer"].update(
            _grads(params, *_batch(JAX_STEPS + i)), state, params
        )
        params = optax.apply_updates(params, updates)
        out.append(_flat(params))
    return out


def _restored_variables(exported, tmp_path):
    """The params as tf.Variables restored from a SavedModel (names end in ':0', as in lesson 05)."""
    module = tf.Module()
    module.params = [
        tf.Variable(p, name=name)
        for p, name in zip(_flat(exported["params"]), exported["names"], strict=True)
    ]
    tf.saved_model.save(module, str(tmp_path / "tiny"))
    return list(tf.saved_model.load(str(tmp_path / "tiny")).params)


def _keras_steps(optimizer, variables, exported, n, jit_compile=False):
    """`n` Keras steps, gradients from JAX at the TF variables' current values."""

    def apply(grads):
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    if jit_compile:  # as lesson 05's train step
        apply = tf.function(apply, jit_compile=True)
    treedef = jax.tree.structure(exported["params"])
    out = []
    for i in range(n):
        params = jax.tree.unflatten(treedef, [v.numpy() for v in variables])
        apply([tf.constant(g) for g in _flat(_grads(params, *_batch(JAX_STEPS + i)))])
        out.append([v.numpy() for v in variables])
    return out


def _rel_diff(a, b):
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(a, b, strict=True))


def test_one_step_matches_optax(exported, tmp_path):
    """From the handed-over state, one Keras step equals Optax's next step (≤ 1e-6 relative)."""
    variables = _restored_variables(exported, tmp_path)
    assert all(v.name.endswith(":0") for v in variables)
    optimizer = handed_over_adam(
        exported["config"], variables, exported["mu"], exported["nu"], exported["count"]
    )
    assert int(optimizer.iterations.numpy()) == exported["count"] == JAX_STEPS
    (tf_params,) = _keras_steps(optimizer, variables, exported, 1)
    (jax_params,) = _jax_steps(exported, 1)
    assert _rel_diff(tf_params, jax_params) <= TOL
    # the update itself, not only the parameters, agrees, on the tiny-gradient leaf too
    before = _flat(exported["params"])
    for name, t, j, p in zip(exported["names"], tf_params, jax_params, before, strict=True):
        np.testing.assert_allclose(
            t - p, j - p, rtol=1e-3, atol=1e-9 * np.max(np.abs(j - p)), err_msg=name
        )


def test_later_steps_stay_close(exported, tmp_path):
    """OptaxAdam recomputes epsilon every step (also XLA-compiled): 10 steps on, still ≤ 1e-6."""
    variables = _restored_variables(exported, tmp_path)
    optimizer = handed_over_adam(
        exported["config"], variables, exported["mu"], exported["nu"], exported["count"]
    )
    tf_run = _keras_steps(optimizer, variables, exported, 10, jit_compile=True)
    jax_run = _jax_steps(exported, 10)
    assert max(_rel_diff(t, j) for t, j in zip(tf_run, jax_run, strict=True)) <= TOL


def test_constant_epsilon_drifts(exported, tmp_path):
    """Why OptaxAdam: a plain Adam with epsilon fixed for the first step drifts on tiny gradients."""
    variables = _restored_variables(exported, tmp_path)
    epsilon = handoff.keras_epsilon(CONFIG["eps"], CONFIG["b2"], exported["count"])
    optimizer = keras.optimizers.Adam(keras_schedule(SCHEDULE), epsilon=epsilon)
    optimizer.build(variables)
    handoff.load_adam_state(optimizer, variables, exported["mu"], exported["nu"], exported["count"])
    tf_run = _keras_steps(optimizer, variables, exported, 10)
    jax_run = _jax_steps(exported, 10)
    assert _rel_diff(tf_run[0], jax_run[0]) <= TOL  # exact at the first step
    assert _rel_diff(tf_run[-1], jax_run[-1]) > 100 * TOL


def test_guides_restart_does_not_match(exported, tmp_path):
    """The guide's way (fresh Adam, iterations set to the step) makes a much larger first step."""
    variables = _restored_variables(exported, tmp_path)
    optimizer = keras.optimizers.Adam(keras_schedule(SCHEDULE))
    optimizer.build(variables)
    optimizer.iterations.assign(exported["count"])
    (tf_params,) = _keras_steps(optimizer, variables, exported, 1)
    (jax_params,) = _jax_steps(exported, 1)
    assert _rel_diff(tf_params, jax_params) > 100 * TOL


def test_keras_default_epsilon_does_not_match(exported, tmp_path):
    """With the moments handed over but Keras' own epsilon, the tiny-gradient leaf moves wrongly."""
    variables = _restored_variables(exported, tmp_path)
    optimizer = keras.optimizers.Adam(keras_schedule(SCHEDULE))  # epsilon=1e-7
    optimizer.build(variables)
    handoff.load_adam_state(optimizer, variables, exported["mu"], exported["nu"], exported["count"])
    (tf_params,) = _keras_steps(optimizer, variables, exported, 1)
    (jax_params,) = _jax_steps(exported, 1)
    tiny = exported["names"].index(TINY_LEAF)
    assert _rel_diff([tf_params[tiny]], [jax_params[tiny]]) > 100 * TOL


def test_schedule_and_epsilon():
    """The Keras schedule follows Optax's staircase; epsilon is Optax's scaled by √(1 - b2^t)."""
    schedule = keras_schedule(SCHEDULE)
    optax_schedule = optax.exponential_decay(**{k: v for k, v in SCHEDULE.items() if k != "name"})
    for step in (0, 2, 3, 7, 100):
        np.testing.assert_allclose(float(schedule(step)), float(optax_schedule(step)), rtol=1e-6)
    assert handoff.keras_epsilon(1e-8, 0.999, 702) == pytest.approx(1e-8 * np.sqrt(1 - 0.999**703))
    optimizer = OptaxAdam(learning_rate=schedule, beta_1=0.9, beta_2=0.999, eps=1e-8)
    optimizer.build([tf.Variable(1.0)])
    optimizer.iterations.assign(702)
    assert float(optimizer.epsilon) == pytest.approx(
        handoff.keras_epsilon(1e-8, 0.999, 702), rel=1e-5
    )


def test_bad_inputs_fail_clearly(exported):
    variables = [tf.Variable(p) for p in _flat(exported["params"])]
    optimizer = OptaxAdam(learning_rate=0.01)
    with pytest.raises(ValueError, match="Build the optimizer first"):
        handoff.load_adam_state(optimizer, variables, exported["mu"], exported["nu"], 7)
    optimizer.build(variables)
    with pytest.raises(ValueError, match="aligned one to one"):
        handoff.load_adam_state(optimizer, variables, exported["mu"][:-1], exported["nu"], 7)
    with pytest.raises(ValueError, match="has shape"):
        handoff.load_adam_state(optimizer, variables, exported["mu"][::-1], exported["nu"][::-1], 7)
    with pytest.raises(ValueError, match="not built on"):
        handoff.moment_slots(optimizer, [tf.Variable(np.zeros(3, np.float32), name="stranger")])
    with pytest.raises(TypeError, match="keras.optimizers.Adam"):
        handoff.moment_slots(keras.optimizers.SGD(), variables)


def test_renamed_slots_fail_loudly(exported, monkeypatch):
    """If Keras stops keeping `_momentums` (or renames the slots), the handoff says so."""
    variables = [tf.Variable(p) for p in _flat(exported["params"])]
    optimizer = OptaxAdam(learning_rate=0.01)
    optimizer.build(variables)
    monkeypatch.setattr(optimizer, "_velocities", optimizer._momentums)  # wrong role
    with pytest.raises(RuntimeError, match="velocity slot"):
        handoff.moment_slots(optimizer, variables)
    monkeypatch.delattr(optimizer, "_momentums")
    with pytest.raises(RuntimeError, match="no longer exposes"):
        handoff.moment_slots(optimizer, variables)
