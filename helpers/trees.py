"""Turn Flax state trees into plain Python containers."""

from collections.abc import Mapping
from typing import Any


def fix_frozen(tree: Any) -> Any:
    """Return `tree` with every Mapping (Flax `FrozenDict` included) turned into a plain dict.

    Flax < 0.7 returned `FrozenDict`s from `init`; newer Flax returns dicts. `tf.nest` and
    `tf.Module` track only plain dicts, lists and tuples, so the export wraps a Flax state in
    `tf.Variable`s only after this call. Lists and tuples are kept, leaves are returned as they
    are (no copy, no conversion), and the input is never mutated.

    >>> from flax.core import FrozenDict
    >>> fix_frozen(FrozenDict({"params": {"w": 1}}))
    {'params': {'w': 1}}
    """
    if isinstance(tree, Mapping):
        return {key: fix_frozen(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [fix_frozen(value) for value in tree]
    if isinstance(tree, tuple) and not hasattr(tree, "_fields"):
        return tuple(fix_frozen(value) for value in tree)
    if isinstance(tree, tuple):  # a NamedTuple (e.g. an Optax state): keep its type
        return type(tree)(*(fix_frozen(value) for value in tree))
    return tree


_fix_frozen = fix_frozen  # the name the TensorFlow guide uses
