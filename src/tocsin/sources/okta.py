"""(being written)"""

from __future__ import annotations

from tocsin.sources.base import SourceFormat

FORMATS: tuple[SourceFormat, ...] = ()
