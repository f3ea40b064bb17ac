"""The claims a lesson makes, checked and recorded in one place.

A lesson states a claim ("test accuracy after 3 epochs >= 96.9%") as a threshold with a basis:
a numerical argument, or the spread measured over several seeds and CPU thread counts with a
margin (docs/claims.md). `Claims.check` compares, records the value in
`artifacts/<stage>/claims.json` (so `make claims` can print every claim of a run against its
threshold), and raises `ClaimFailed` with the numbers and the basis when the claim does not hold.
"""

import datetime as _dt
import math
import operator

import numpy as np

from helpers.artifacts import read_json, stage_dir, write_json
from helpers.seed import workshop_seed

OPS = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
FILE = "claims.json"


class ClaimFailed(AssertionError):
    """A lesson's claim did not hold; the message gives value, threshold and basis."""


def _plain(value):
    """NumPy/JAX/TF scalars → Python numbers, so claims.json stays plain JSON."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        value = value.item()
    return value


class Claims:
    """The claims of one lesson (one `stage`), checked one by one and saved as they are checked.

    >>> import os, tempfile; os.environ["ARTIFACTS_DIR"] = tempfile.mkdtemp()
    >>> claims = Claims("00_demo")
    >>> claims.check("answer", 42, "==", 42, basis="exact")
    42
    >>> claims.check("pi", 3.14, ">=", 3.2, basis="a bad guess")
    Traceback (most recent call last):
    ...
    helpers.claims.ClaimFailed: 00_demo: pi = 3.14, but the claim is >= 3.2 (basis: a bad guess)
    """

    def __init__(self, stage: str):
        self.stage = stage
        self.records: list[dict] = []

    def check(self, name: str, value, op: str, threshold, *, basis: str):
        """Record `value op threshold` under `name`; raise `ClaimFailed` unless it holds."""
        if op not in OPS:
            raise ValueError(f"unknown comparison {op!r}; use one of {sorted(OPS)}")
        value, threshold = _plain(value), _plain(threshold)
        if isinstance(value, float) and math.isnan(value):
            holds = False
        else:
            holds = bool(OPS[op](value, threshold))
        record = {
            "name": name,
            "value": value,
            "op": op,
            "threshold": threshold,
            "basis": basis,
            "holds": holds,
        }
        self.records = [r for r in self.records if r["name"] != name] + [record]
        self._save()
        if not holds:
            raise ClaimFailed(
                f"{self.stage}: {name} = {value:g}, but the claim is {op} {threshold:g} (basis: {basis})"
                if isinstance(value, int | float) and isinstance(threshold, int | float)
                else f"{self.stage}: {name} = {value!r}, but the claim is {op} {threshold!r} "
                f"(basis: {basis})"
            )
        return value

    def _save(self) -> None:
        write_json(
            stage_dir(self.stage) / FILE,
            {
                "stage": self.stage,
                "seed": workshop_seed(),
                "checked_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "claims": self.records,
            },
        )

    def summary(self) -> str:
        """One line per claim: name, value, comparison, threshold, and OK."""
        width = max((len(r["name"]) for r in self.records), default=0)
        return "\n".join(
            f"{r['name']:<{width}}  {format_value(r['value']):>10} {r['op']} {format_value(r['threshold']):<10} "
            f"{'OK' if r['holds'] else 'FAILED'}"
            for r in self.records
        )


def format_value(x) -> str:
    """A claim's value or threshold as printed: thousands separators, 4 digits, or 2e-notation."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def float32_ulp(magnitude) -> float:
    """The spacing of float32 numbers at `magnitude`: the smallest change a float32 can show there.

    Two correct float32 computations of the same sum, taken in another order (another CPU, another
    thread count, another runtime), differ by a few of these at the sum's magnitude, so parity
    claims are stated in ulps of the largest value compared.

    >>> float32_ulp(40.0)
    3.814697265625e-06
    >>> float32_ulp(1.0)
    1.1920928955078125e-07
    """
    return float(np.spacing(np.float32(abs(float(magnitude)))))


def load_claims(stage: str) -> dict:
    """What `Claims` recorded for `stage` in the current artifacts root."""
    return read_json(stage_dir(stage, create=False) / FILE, producer=stage)
