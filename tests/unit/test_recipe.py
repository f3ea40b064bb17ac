"""The guide's recipe, shared by the JAX (03) and TensorFlow (05) stages: the same staircase."""

import pytest

from helpers import recipe


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 0.01),
        (233, 0.01),
        (234, 0.006),
        (467, 0.01 * 0.6),
        (468, 0.01 * 0.6**2),
        (702, 0.01 * 0.6**3),
    ],
)
def test_learning_rate_staircase(step, expected):
    assert recipe.learning_rate(step) == pytest.approx(expected, rel=1e-12)


def test_steps_per_epoch_drops_the_partial_batch():
    assert recipe.STEPS_PER_EPOCH == 234 == 60_000 // recipe.BATCH_SIZE
    assert recipe.JAX_EPOCHS * recipe.STEPS_PER_EPOCH == 702  # the handoff step


def test_as_dict():
    assert recipe.as_dict() == {
        "batch_size": 256,
        "learning_rate": 0.01,
        "learning_rate_exp_decay": 0.6,
        "steps_per_epoch": 234,
        "jax_epochs": 3,
        "tf_epochs": 1,
    }


def test_no_framework_imports():
    """Lesson 05 reads the recipe without JAX: the module must not import a framework."""
    import ast
    import inspect

    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(recipe))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"jax", "flax", "optax", "tensorflow", "keras"}
