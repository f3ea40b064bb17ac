"""The one random seed of the workshop: `WORKSHOP_SEED` (default 0).

Every random choice of every lesson (initial weights, dropout keys, shuffles, sampled images,
new Keras layers) starts from this number, so a run is repeatable and a different seed gives a
different, equally valid run; the spread over seeds is what the lessons' thresholds are set
from (docs/claims.md). Each lesson records the seed it ran with in its `manifest.json`.
"""

import os

ENV_VAR = "WORKSHOP_SEED"
DEFAULT_SEED = 0


class SeedError(ValueError):
    """`WORKSHOP_SEED` is not a non-negative integer."""


def workshop_seed() -> int:
    """The seed from `$WORKSHOP_SEED`, or 0 when it is unset or empty.

    >>> import os; os.environ.pop("WORKSHOP_SEED", None) and None
    >>> workshop_seed()
    0
    """
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_SEED
    try:
        seed = int(raw)
    except ValueError:
        seed = -1
    if seed < 0 or seed >= 2**32:
        raise SeedError(
            f"{ENV_VAR}={raw!r} is not a seed: use a whole number from 0 to 4294967295, "
            f"e.g. {ENV_VAR}=1 (or unset it for the default, {DEFAULT_SEED})."
        )
    return seed
