"""Markdown tables and number formats for the report benchmarks/README.md quotes."""

import math
from collections.abc import Sequence


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_number(value: float | None, digits: int = 0) -> str:
    """`12,345` / `3.14`; a missing value prints as an en dash."""
    return "–" if _missing(value) else f"{value:,.{digits}f}"


def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds with three significant figures: `0.0123` → `12.3 ms`."""
    if _missing(seconds):
        return "–"
    ms = seconds * 1000
    digits = 2 if ms < 10 else 1 if ms < 100 else 0
    return f"{ms:,.{digits}f} ms"


def fmt_ratio(value: float | None) -> str:
    """A speed ratio: `1.08×`."""
    return "–" if _missing(value) else f"{value:.2f}×"


def fmt_gflops(flops_per_second: float | None) -> str:
    """FLOP/s as `71.2 GFLOP/s`."""
    return "–" if _missing(flops_per_second) else f"{flops_per_second / 1e9:,.1f} GFLOP/s"


def fmt_mib(n_bytes: float | None) -> str:
    """Bytes as `1,234 MiB`."""
    return "–" if _missing(n_bytes) else f"{n_bytes / 2**20:,.0f} MiB"


def fmt_percent(fraction: float | None) -> str:
    """`0.345` → `34.5%`."""
    return "–" if _missing(fraction) else f"{100 * fraction:.1f}%"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A GitHub markdown table: the first `left` columns (text) left-aligned, the others
    (numbers) right-aligned.

    Cells are padded to their column's width, so the table also reads well as plain text.
    """
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"every row needs {len(headers)} cells")
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(3, *(len(row[i]) for row in cells)) for i in range(len(headers))]

    def line(row):
        padded = [
            row[i].ljust(widths[i]) if i < left else row[i].rjust(widths[i])
            for i in range(len(row))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        ":" + "-" * (w + 1) if i < left else "-" * (w + 1) + ":" for i, w in enumerate(widths)
    )
    rule += "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])
