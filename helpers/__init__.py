"""Plumbing shared by the jax2tf-workshop lessons.

The lessons (the model, the train step, the conversion) live in `notebooks/`; this package holds
what several stages need and is not itself the lesson. Import names explicitly, e.g.
`from helpers import Progress, load_mnist`, so learners can see where each comes from.

Heavy frameworks are imported lazily (inside functions or submodules that need them), so that
`import helpers` never pulls in JAX: lesson 05 runs on TensorFlow alone.
"""

from helpers.artifacts import (
    MissingArtifactError,
    artifacts_dir,
    atomic_dir,
    atomic_write_bytes,
    atomic_write_npz,
    atomic_write_text,
    display_path,
    read_json,
    require,
    scratch_dir,
    stage_dir,
    write_json,
    write_manifest,
)
from helpers.claims import ClaimFailed, Claims, float32_ulp
from helpers.data import MnistUnavailableError, load_mnist, make_datasets
from helpers.environment import package_versions, prepare_environment
from helpers.plotting import display_train_curves, plot_confusion_matrix, show_digits
from helpers.progress import Progress
from helpers.seed import workshop_seed
from helpers.trees import _fix_frozen, fix_frozen

__all__ = [
    "ClaimFailed",
    "Claims",
    "MissingArtifactError",
    "MnistUnavailableError",
    "Progress",
    "_fix_frozen",
    "artifacts_dir",
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_npz",
    "atomic_write_text",
    "display_path",
    "display_train_curves",
    "fix_frozen",
    "float32_ulp",
    "load_mnist",
    "make_datasets",
    "package_versions",
    "plot_confusion_matrix",
    "prepare_environment",
    "read_json",
    "require",
    "scratch_dir",
    "show_digits",
    "stage_dir",
    "write_json",
    "workshop_seed",
    "write_manifest",
]
