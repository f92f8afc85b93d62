"""Durations as people write them (``30m``, ``7d``, ``1h30m``) and as CrowdSec sends them.

CrowdSec's ``duration`` is a Go ``time.Duration`` string of the time left, rounded to the
second: ``3h59m59s``, ``59m0s``, ``45s``, and negative once a decision has expired (``-2m3s``).
Bouncers parse it with Go's ``time.ParseDuration``, so the exact shape matters.
"""

from __future__ import annotations

import re
from typing import Final

MAX_SECONDS: Final = 366 * 86400  # a decision lasts at most a year; renew it if it must last
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+[smhdw])+$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    """Seconds in ``text`` (``90s``, ``30m``, ``12h``, ``7d``, ``2w``, ``1h30m``); ValueError."""
    compact = text.strip().lower()
    if not compact or len(compact) > 32 or not _WHOLE.match(compact):
        raise ValueError(f"not a duration (like 30m, 12h, 7d or 1h30m): {text[:40]!r}")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    if seconds > MAX_SECONDS:
        raise ValueError("a decision lasts at most 366 days")
    return seconds


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` of a whole number of seconds (rounded)."""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total == 0:
        return "0s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"
