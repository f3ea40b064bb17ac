"""Lesson 03's train step (read from the notebook itself) and the checkpoint it saves."""

import json

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import helpers.checkpoint as checkpoint
from helpers.checkpoint import load_checkpoint, save_checkpoint
from helpers.lessons.l02_flax_model import ConvModel

STEPS = 4  # small for testing efficiency: a 4-batch "epoch" of 32 synthetic images each


@pytest.fixture(scope="module")
def train_step():
    """Lesson 03's step as `make export` wrote it from the lesson's cell (`make lint` checks that)."""
    from helpers.lessons.l03_jax_training import train_step

    return train_step


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.random((STEPS, 32, 28, 28, 1), dtype=np.float32)
    labels = np.asarray(jax.nn.one_hot(rng.integers(0, 10, (STEPS, 32)), 10))
    return images, labels


def fresh_state(seed=0):
    model = ConvModel()
    params_key, dropout_key, rng = jax.random.split(jax.random.key(seed), 3)
    variables = model.init(
        {"params": params_key, "dropout": dropout_key}, jnp.zeros((1, 28, 28, 1)), train=False
    )
    other_state, params = flax.core.pop(variables, "params")
    optimizer = optax.adam(
        optax.exponential_decay(0.01, transition_steps=STEPS, decay_rate=0.6, staircase=True)
    )
    return model, optimizer, params, other_state, optimizer.init(params), rng


def run_epoch(train_step, data, seed=0):
    model, optimizer, params, other_state, opt_state, rng = fresh_state(seed)
    losses = []
    for images, labels in zip(*data, strict=True):
        params, other_state, opt_state, rng, loss = train_step(
            model, optimizer, params, other_state, opt_state, rng, images, labels
        )
        losses.append(float(loss))
    return (params, other_state, opt_state, rng), losses


def test_a_train_step_lowers_the_loss_on_a_fixed_batch(train_step, data):
    model, optimizer, params, other_state, opt_state, rng = fresh_state()
    images, labels = data[0][0], data[1][0]
    eval_loss = lambda p, s: float(model.loss(p, s, rng, images, labels, train=False)[0])  # noqa: E731
    before = eval_loss(params, other_state)
    for _ in range(3):
        params, other_state, opt_state, rng, _ = train_step(
            model, optimizer, params, other_state, opt_state, rng, images, labels
        )
    assert eval_loss(params, other_state) < before


def test_the_same_seed_gives_the_same_first_epoch_losses(train_step, data):
    _, first = run_epoch(train_step, data, seed=0)
    _, again = run_epoch(train_step, data, seed=0)
    _, other = run_epoch(train_step, data, seed=1)
    assert first == again
    assert first != other


def test_each_step_uses_a_new_dropout_key(train_step, data):
    model, optimizer, params, other_state, opt_state, rng = fresh_state()
    *_, next_rng, _ = train_step(
        model, optimizer, params, other_state, opt_state, rng, data[0][0], data[1][0]
    )
    assert not np.array_equal(jax.random.key_data(next_rng), jax.random.key_data(rng))


@pytest.fixture
def trained(train_step, data):
    (params, other_state, opt_state, rng), _ = run_epoch(train_step, data)
    return params, other_state, opt_state, rng


def _save(path, trained, step=STEPS, **meta):
    params, other_state, opt_state, rng = trained
    return save_checkpoint(
        path,
        params=params,
        batch_stats=other_state["batch_stats"],
        opt_state=opt_state,
        rng=rng,
        step=step,
        meta=meta,
    )


def _equal_trees(a, b):
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(np.array_equal(x, y)), a, b)))


def test_a_restored_checkpoint_is_bitwise_equal_and_takes_the_same_next_step(
    tmp_path, train_step, trained, data
):
    params, other_state, opt_state, rng = trained
    _save(tmp_path / "ckpt", trained, epoch=1)
    model, optimizer, *_ = fresh_state()
    restored = load_checkpoint(tmp_path / "ckpt", opt_state_like=optimizer.init(params))

    assert _equal_trees(restored["params"], params)
    assert _equal_trees(restored["batch_stats"], other_state["batch_stats"])
    assert jax.tree.structure(restored["opt_state"]) == jax.tree.structure(opt_state)
    assert _equal_trees(restored["opt_state"], opt_state)
    assert np.array_equal(jax.random.key_data(restored["rng"]), jax.random.key_data(rng))
    assert restored["step"] == STEPS and restored["meta"]["epoch"] == 1

    images, labels = data[0][0], data[1][0]
    from_memory = train_step(model, optimizer, params, other_state, opt_state, rng, images, labels)
    from_disk = train_step(
        model,
        optimizer,
        restored["params"],
        {"batch_stats": restored["batch_stats"]},
        restored["opt_state"],
        restored["rng"],
        images,
        labels,
    )
    assert _equal_trees(from_memory[:3], from_disk[:3])
    assert float(from_memory[-1]) == float(from_disk[-1])


def test_without_an_optax_target_the_adam_moments_come_back_as_plain_dicts(tmp_path, trained):
    params, _, opt_state, _ = trained
    _save(tmp_path / "ckpt", trained)
    raw = load_checkpoint(tmp_path / "ckpt")["opt_state"]
    assert set(raw["0"]) == {"count", "mu", "nu"} and int(raw["0"]["count"]) == STEPS
    assert _equal_trees(raw["0"]["mu"], opt_state[0].mu)
    assert jax.tree.structure(raw["0"]["nu"]) == jax.tree.structure(params)


def test_saving_twice_replaces_the_checkpoint_whole(tmp_path, trained):
    _save(tmp_path / "ckpt", trained, step=1, run="first")
    (tmp_path / "ckpt" / "stray.txt").write_text("left by an old run")
    _save(tmp_path / "ckpt", trained, step=2, run="second")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["meta.json", "state.msgpack"]
    assert load_checkpoint(tmp_path / "ckpt")["meta"]["run"] == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary folders left behind


def test_an_interrupted_save_leaves_the_previous_checkpoint_intact_and_loadable(
    tmp_path, trained, monkeypatch
):
    _save(tmp_path / "ckpt", trained, step=1, run="good")
    before = {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("interrupted while writing meta.json")

    monkeypatch.setattr(
        checkpoint, "write_json", crash
    )  # state.msgpack is written, then the save dies
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path / "ckpt", trained, step=2, run="bad")
    assert {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()} == before
    assert load_checkpoint(tmp_path / "ckpt")["meta"]["run"] == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "meta.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a jax2tf-workshop/checkpoint/v1 checkpoint"):
        load_checkpoint(tmp_path / "ckpt")


def test_legacy_uint32_keys_are_saved_as_they_are(tmp_path, trained):
    params, other_state, opt_state, _ = trained
    legacy = jax.random.PRNGKey(7)  # raw uint32[2], the guide's style
    save_checkpoint(
        tmp_path / "ckpt",
        params=params,
        batch_stats=other_state["batch_stats"],
        opt_state=opt_state,
        rng=legacy,
        step=0,
    )
    restored = load_checkpoint(tmp_path / "ckpt")
    assert restored["meta"]["rng_impl"] is None and np.array_equal(restored["rng"], legacy)
