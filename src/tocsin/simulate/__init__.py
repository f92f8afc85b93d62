"""Synthetic, labelled sign-in logs in real vendor formats (fixtures, benchmarks, drills).

``tocsin simulate`` (and :func:`simulate`) writes Microsoft Entra ID sign-in logs in the
Azure Monitor diagnostic-settings format for several organisations — ordinary work, traps
that look like attacks, and attacks modelled on public reporting — with ``truth.json``
saying exactly what is in them (schema in :mod:`tocsin.simulate.truth`). See docs/simulate.md.
"""

from tocsin.simulate.profiles import PROFILES, SIZES, Profile
from tocsin.simulate.run import (
    DEFAULT_DAYS,
    DEFAULT_START,
    Result,
    SimulationError,
    prepare_out,
    simulate,
)

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "PROFILES",
    "SIZES",
    "Profile",
    "Result",
    "SimulationError",
    "prepare_out",
    "simulate",
]
