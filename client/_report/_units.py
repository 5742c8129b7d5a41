"""Amounts as the reports write them: counts, spans of time, money."""

from __future__ import annotations


def money(amount: float) -> str:
    """An amount in the prices' own currency: cents, or four places under one."""
    return f"{amount:,.2f}" if amount >= 1 or amount == 0 else f"{amount:.4f}"


def count(n: float) -> str:
    """A count in a few characters: 950, 13.5k, 2.1M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}"
    return f"{n:,.0f}"


def duration(seconds: float) -> str:
    """A span of time as people say it: 45 s, 12 min, 3 h 05 min."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
