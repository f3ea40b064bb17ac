"""fix_frozen: Flax state of either kind (dict or FrozenDict) becomes plain, unaliased containers.

The export (04, 07) wraps the Flax state in tf.Variables with tf.nest, which only walks plain
dicts, lists and tuples; these tests pin that contract.
"""

from typing import NamedTuple

import numpy as np
import pytest
from flax.core import FrozenDict, freeze

from helpers.trees import fix_frozen


def _assert_plain(tree):
    """No FrozenDict (or other non-dict Mapping) anywhere in `tree`."""
    if isinstance(tree, dict):
        assert type(tree) is dict
        for value in tree.values():
            _assert_plain(value)
    elif isinstance(tree, list | tuple):
        for value in tree:
            _assert_plain(value)
    else:
        assert not isinstance(tree, FrozenDict)


class OptState(NamedTuple):
    count: object
    mu: object


def test_frozendict_input_becomes_nested_plain_dicts():
    w = np.ones((2, 3), np.float32)
    frozen = FrozenDict({"params": {"dense": {"kernel": w}}, "batch_stats": {"mean": 1.0}})
    out = fix_frozen(frozen)
    assert type(out) is dict
    assert type(out["params"]) is dict and type(out["params"]["dense"]) is dict
    assert out["params"]["dense"]["kernel"] is w
    assert out["batch_stats"] == {"mean": 1.0}
    _assert_plain(out)


def test_plain_nested_dict_is_copied_not_returned():
    tree = {"a": {"b": {"c": 1}}, "d": 2}
    out = fix_frozen(tree)
    assert out == tree
    assert out is not tree and out["a"] is not tree["a"] and out["a"]["b"] is not tree["a"]["b"]


def test_idempotent():
    once = fix_frozen(FrozenDict({"a": {"b": [1, (2, 3)]}}))
    twice = fix_frozen(once)
    assert twice == once == {"a": {"b": [1, (2, 3)]}}
    _assert_plain(twice)


def test_no_aliasing_and_input_never_mutated():
    leaf = np.zeros(3)
    tree = {"a": {"b": leaf}, "l": [1, {"x": 2}]}
    out = fix_frozen(tree)
    out["a"]["new"] = 1
    out["a"].pop("b")
    out["l"].append(99)
    out["l"][1]["x"] = 3
    assert tree == {"a": {"b": leaf}, "l": [1, {"x": 2}]}
    assert tree["a"]["b"] is leaf


def test_lists_tuples_and_namedtuples_keep_their_types():
    state = OptState(count=np.int32(3), mu=FrozenDict({"w": 1}))
    tree = {"list": [1, FrozenDict({"a": 2})], "tuple": (3, FrozenDict({"b": 4})), "opt": state}
    out = fix_frozen(tree)
    assert type(out["list"]) is list and out["list"] == [1, {"a": 2}]
    assert type(out["tuple"]) is tuple and out["tuple"] == (3, {"b": 4})
    assert type(out["opt"]) is OptState
    assert out["opt"].count is state.count
    assert type(out["opt"].mu) is dict and out["opt"].mu == {"w": 1}
    _assert_plain(out)


def test_leaves_are_the_same_objects_with_dtype_and_shape():
    leaves = [np.arange(6, dtype=np.int8).reshape(2, 3), np.float16(1.5), "name", None, 7]
    out = fix_frozen(FrozenDict({f"k{i}": leaf for i, leaf in enumerate(leaves)}))
    for i, leaf in enumerate(leaves):
        assert out[f"k{i}"] is leaf
    assert out["k0"].dtype == np.int8 and out["k0"].shape == (2, 3)


def test_guide_name_is_the_same_function():
    from helpers.trees import _fix_frozen

    assert _fix_frozen is fix_frozen


@pytest.mark.parametrize("frozen", [False, True], ids=["dict", "FrozenDict"])
def test_tf_variables_from_a_real_flax_state(frozen):
    """The reason the helper exists: tf.nest over a Flax init state (04_export)."""
    import flax.linen as nn
    import jax
    import tensorflow as tf

    class Tiny(nn.Module):
        @nn.compact
        def __call__(self, x, train=False):
            x = nn.Dense(3)(x)
            return nn.BatchNorm(use_running_average=not train)(x)

    state = Tiny().init(jax.random.key(0), np.ones((1, 4), np.float32))
    if frozen:
        state = freeze(state)
        assert isinstance(state, FrozenDict)
    variables = tf.nest.map_structure(tf.Variable, fix_frozen(state))
    assert set(variables) == {"params", "batch_stats"}
    kernel = variables["params"]["Dense_0"]["kernel"]
    assert isinstance(kernel, tf.Variable)
    assert tuple(kernel.shape) == (4, 3) and kernel.dtype == tf.float32
    np.testing.assert_array_equal(kernel.numpy(), np.asarray(state["params"]["Dense_0"]["kernel"]))
    assert tuple(variables["batch_stats"]["BatchNorm_0"]["mean"].shape) == (3,)
    assert len(tf.nest.flatten(variables)) == len(jax.tree_util.tree_leaves(state))
