"""tocsin: detect, attribute, block and report nation-state attacks on people at risk."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tocsin")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"
